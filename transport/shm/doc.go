// Package shm is an allreduce.Transport for ranks on the same host: one
// single-producer/single-consumer byte ring per directed pair of ranks in a
// memory mapping the ranks share, and one staging area per rank for its own
// all-reduce (allreduce.SharedReducer, stage.go), which moves no frames.
//
// Training uses it through transport/route, which runs the rendezvous for
// independently started workers (over their authenticated TCP links: the
// segment's key and where its descriptor is) and routes each peer to shared
// memory or TCP. `ringtrain bench allreduce --transport shm` instead passes
// one segment to its rank processes as fd 3, and the conformance tests share
// it in one process and with a real child process.
//
// Linux only (memfd_create, futex, pidfd_open).
//
// Segment (segment.go): Create makes an anonymous memory file (memfd) of
// the world's size, seals its length (it can never be shrunk under a
// mapping) and writes a header: magic, version, world size, generation and
// ring size, the key, then one slot per rank (attach state, pid); the rings
// and the staging areas follow. The memfd has no
// name in any file system: only a process handed its descriptor, or one
// allowed to ptrace the holder (and so read its memory anyway), can map it.
// Attach maps it as one rank: it refuses a segment of another generation
// (ErrStaleGeneration), one whose key is not the one it was given
// (ErrWrongKey), a bad header or a length that does not match it, and a
// rank slot already taken.
//
// Frames (ring.go, transport.go): a 32-byte header (generation, op, seq,
// step, chunk, value count) followed by the payload, padded to 32 bytes so
// that a header never wraps. Send copies the caller's float32 bytes straight
// into the ring and Recv copies them straight out into the caller's slice:
// one copy each side; RecvReduce (allreduce.RecvReducer) instead combines
// them into the caller's values straight from the ring, so a reduce step
// costs one pass over its values, not a copy and a pass. Frames move in
// pieces of at most 512 KiB: the producer publishes its head (an atomic
// store) after each piece, the consumer its tail after each piece it read,
// so a receiver starts on a frame while its sender writes the rest, and a
// frame larger than the ring streams through it. Copies of 64 KiB or more
// into the ring use non-temporal stores on amd64 (ntcopy_amd64.s): the
// ring's lines were last read by the consumer, and an ordinary store would
// first fetch each line back from that core's cache. Copies out of the
// ring use them too while a collective of 16 MiB or more is running
// (allreduce.BulkHinter): its destination is not read again soon, and an
// ordinary store would first read each line of it. Attach faults in the
// rank's own rings (MADV_POPULATE_WRITE) and reads each line once, which
// spares the first ~500 small calls the cost of first touches. Recv checks generation, tag
// and length against what it expects and fails with allreduce.ErrProtocol
// (a generation mismatch also wraps ErrStaleGeneration); the transport is
// then aborted, as the ring is out of step.
//
// Waiting (wait.go, futex.go): a few rounds of spinning on the atomic
// index; then, for frames of up to 256 KiB or any receive of a sequential
// call (allreduce.SequentialHinter), up to 100µs of sched_yield (handing
// the core to a peer process that is ready to run: the ranks outnumber the
// cores on small machines), for larger frames two yields to the Go
// scheduler; then futex_wait on a word in the ring's control block, or the
// staging area's (a shared futex: the processes map the same page), at most
// 1ms at a time. A publisher makes the futex_wake system call only when a
// waiter announced that it sleeps (a count: a staging area has a sleeper
// per peer). Between rounds a rank checks its own abort, its context, its
// peer's slot (Abort and Close mark it gone and wake every sleeper on the
// rank's rings and staging areas: waiters on it fail with
// allreduce.ErrPeerLost at once) and
// every 2ms the peer's process through a pidfd, which becomes readable when
// that process exits, killed or not: the survivors fail fast instead of
// hanging. Config.IOTimeout bounds a wait with allreduce.ErrTimeout. Bytes
// a peer published before it went are still delivered. docs/benchmarks.md
// has the variants measured.
//
// Shared all-reduce (stage.go): a staging area is a control block (three
// epoch counters, a futex word, the call's description per half) and two
// halves of min(RingBytes, 2 MiB). A call runs in blocks of a half; in
// each, a rank copies the chunks its peers own into its area and publishes
// staged, combines its own chunk from its peers' areas (own value first,
// then rank order) and publishes reduced, then copies its peers' results
// out and publishes done. The halves alternate, so a rank reuses one only
// once every peer is done with the block before the last. Waits are those
// of a receive (yield, then futex; abort, context, liveness, IOTimeout),
// and a peer's description that is not this rank's call (length, operator,
// sequence number) fails with allreduce.ErrProtocol.
//
// Transport.SendBuffer (allreduce.SendBufferer) is the ring size: a Send
// returns once its frame is in the ring, so allreduce may send a step of up
// to that many bytes before receiving it.
//
// Failure semantics match transport/tcp: Abort makes in-flight and later
// calls return allreduce.ErrAborted; a cancelled context aborts the
// transport (a half-moved frame cannot be resumed); Close aborts, waits for
// in-flight calls and unmaps. The transport starts no goroutine.
//
// Race builds: the race detector cannot see ordering made by atomics on
// the shared mapping, so race builds also annotate each publish and each
// observed publish as I/O (race_on.go), as a socket's bytes are.
package shm
