// Package bench implements the `ringtrain bench` measurements that need
// several real processes.
//
// AllReduce (the parent) starts one child process of this binary per rank
// on loopback, exchanges their data addresses over the children's stdin and
// stdout (the cluster secret too, never on a command line), and collects
// per-iteration timings. Timing follows the nccl-tests / OSU convention that
// ../shared/bench uses for Gloo and Open MPI, so the numbers sit side by
// side: warm-up iterations, then per timed iteration: refill the input
// (untimed) → barrier → t0 → all-reduce → t1; the iteration's time is the
// maximum over ranks and the reported time the median over iterations.
// With an emulated link (--link-mbps) a barrier comes before the refill too:
// the link's goroutine writes a call's last frames after the call returned,
// and the refill's copy, on the same process, would delay them.
// algbw = bytes/time, busbw = algbw·2(N-1)/N. Every rank checks its result
// against the reference after the first warm-up and the last timed
// iteration.
//
// Worker is the child's side; the parent and child speak JSON lines.
//
// ServeBench (`ringtrain bench serve`) runs in one process: it times the
// server's Predictor in-process (the limit), then starts serve.Server on
// 127.0.0.1:0 (max batch 1, then batching) and loads it over real HTTP
// with Load, an open-loop generator like wrk2: request i is due at
// start + i/rate and its latency counts from then, so queueing is not
// hidden (coordinated omission). Percentiles are exact (sorted latencies,
// nearest rank). A server answering a canned body measures the floor of
// the generator and loopback HTTP on the same machine.
package bench
