// Package allreduce implements the collectives that keep data-parallel
// workers in sync: ReduceScatter, AllGather, AllReduce (sum, mean, max),
// Broadcast and Barrier over []float32 buffers, ReduceScatterRange and
// AllGatherRange, the same reduce-scatter and all-gather one sub-range
// (bucket) of the buffer at a time, and Shift, one step of the ring (send to
// the next rank, receive from the previous: the worker's replica stream).
//
// The package owns three things and nothing else:
//
//   - Transport, the small interface it needs from a network: send and
//     receive tagged float32 frames to and from a peer rank, and abort.
//     transport/tcp and transport/mem implement it.
//   - Schedules, pure functions of (rank, world size, length) that say which
//     element range moves to and from which peer at every step
//     (RingAllReduce, RingReduceScatter, RingAllGather, ChainBroadcast,
//     RangeReduceScatter, RangeAllGather, HierAllReduce). They are tested without any I/O.
//   - Comm, one executor that runs those schedules: a segmented, full-duplex
//     pipeline for the bandwidth-optimal ring (large buffers) and recursive
//     doubling for small ones, picked by Config.SmallBytes; for medium
//     ones recursive halving and doubling (HalvingAllReduce) on 4, 8, 16,
//     ... ranks up to Config.HalvingBytes, and the direct two-round
//     all-reduce (DirectAllReduce) on 3 and 4 ranks up to
//     Config.DirectBytes (and the hierarchical all-reduce, HierAllReduce,
//     where Config.Hosts says the ranks share hosts).
//
// Execution by size, automatic and local: a call whose every step fits in
// what the transport buffers per link (SendBufferer: transport/tcp's
// kernel send buffer, 2 MiB by default; transport/shm's ring, 2 MiB) and
// that sends at most 2 MiB in all runs on the calling goroutine, each step
// sent and then received (no hand-off to the sender goroutine, whose two
// scheduler wake-ups per step dominated messages up to about 1 MiB); so
// does any call whose steps send at most 16 KiB, over any transport. A
// larger call of a lockstep schedule (every step sends and receives: the
// ring's, halving's) runs there too when the buffer holds two segments or
// more (transport/shm: 2 MiB rings, 256 KiB segments): each step sends as
// many segments as fit but one, then alternates one send and one receive,
// so a rank is one goroutine instead of the pipeline's two. Other calls use
// the pipeline. The choice changes no frame (same frames, same
// order, same reduction order, same bits), so ranks may choose differently;
// why it cannot deadlock is argued in inline.go. The algorithm (recursive
// doubling up to Config.SmallBytes; then halving and doubling up to
// Config.HalvingBytes on a power-of-two world of 4 or more, or up to the
// transport's HalvingAdvisor advice where it is lower and direct applies
// too (shared memory: 256 KiB); then direct up to Config.DirectBytes on 3
// and 4 ranks; else the ring) and the
// segmentation (Config.SegmentBytes, or when it is 0 the transport's
// SegmentAdvisor advice, which a transport gives only from what every rank
// knows alike, else 1 MiB) are part of the protocol and the same on every
// rank.
//
// Optional transport methods (transport_opt.go): a transport that can
// combine a frame into the caller's values where the frame arrives
// (RecvReducer; transport/shm combines straight from its shared ring, one
// pass over the values instead of a copy into scratch and a second pass)
// gets reduce steps through it, for the peers it names, with Combine, the
// kernel Comm uses, so the bits are the same. A SequentialHinter is told
// when a call runs on the calling goroutine, so that its waits may hold the
// CPU (no sender goroutine of the rank needs it); a BulkHinter when a call
// moves 16 MiB or more (transport/shm then copies frames out of its rings
// with non-temporal stores). A SegmentAdvisor and a HalvingAdvisor may set
// the segment size and lower the halving threshold, from what every rank
// knows alike.
//
// The direct all-reduce sends each chunk straight to its owner, which
// reduces it and sends it straight back to everyone: the ring's bytes in 2
// rounds instead of 2(N-1) steps. With more ranks than cores each step
// waits for its peer to be scheduled, and 1–2 MiB on 4 ranks over 2 cores
// took 17–43% less time than the ring (docs/benchmarks.md). It needs a
// link between every pair of ranks, which Peers gives only on 3 and 4
// ranks (DirectApplies). Recursive halving and doubling (Rabenseifner's)
// also moves the ring's bytes, in 2·log2 N exchanges with recursive
// doubling's partners: on 4 ranks over 2 cores it took 20–37% less time
// than the direct all-reduce at 256 KiB (at 1 MiB from 32% less to 3%
// more), and on 8 ranks 22–42% less than the ring (docs/benchmarks.md).
//
// Caller's duties, in order:
//
//  1. Build a Transport for the current generation (every rank of the
//     generation must use the same world size and the same Config).
//  2. comm, err := New(transport, cfg) — one Comm per transport.
//  3. Call collectives in the same order with the same lengths on every rank
//     (SPMD). A Comm runs one collective at a time; concurrent calls are
//     serialized.
//  4. On a generation change call comm.Abort(): every in-flight call on this
//     rank returns ErrAborted promptly.
//  5. comm.Close() when done; it waits for the Comm's goroutine.
//
// Failure model: the first error in a collective (peer lost, timeout,
// protocol desync, cancelled context, Abort) breaks the Comm for good and
// aborts its Transport, which closes this rank's links so that every peer's
// in-flight call fails fast too instead of hanging. Recovery is a new
// generation: a new Transport and a new Comm.
//
// Hierarchical all-reduce: with Config.Hosts (the host index of every
// rank) spanning two or more hosts, at least one of them holding two or
// more ranks, AllReduce of more than SmallBytes (and at least one element
// per host) runs HierAllReduce instead of the flat ring: each host's ranks
// reduce into its leader (the host's lowest rank) along a pipelined chain,
// the leaders run the ring all-reduce among themselves (ordered by rank),
// and each leader broadcasts the result along the same chain. All three
// phases are one Step schedule run by the same executor, chunk by chunk
// (1/hosts of the buffer), so that the phases overlap where a chunk's
// next phase needs only that chunk (HierAllReduce).
// A chain rather than a reduce-scatter + gather inside the host: the leader
// receives the buffer once (n) instead of 2(L-1)/L·n, and every link inside
// the host carries n once each way. Its worth is the links: with R ranks
// and H hosts the flat ring sends 2(R-1)/R of the buffer over every
// inter-host link in 2(R-1) steps, the leaders' ring 2(H-1)/H in 2(H-1)
// steps, at the price of the buffer crossing each host's chain twice —
// a win when links inside a host are fast enough (ringtrain simulate
// --ranks-per-node models both; docs/benchmarks.md measures 2 hosts × 2
// ranks). The leader's result is broadcast, so every rank ends bitwise
// identical; Mean divides once, by the world size, in the leaders' ring.
// Small buffers keep recursive doubling, and every other collective stays
// on the flat ring. PeersHosts names the links this needs.
//
// Buckets: to overlap communication with the backward pass, a caller with a
// ZeRO-1 layout (rank r owns ShardRange(n, Size(), r) of the flat buffer)
// calls ReduceScatterRange on each bucket [lo, hi) as soon as its gradients
// are ready, and AllGatherRange on each bucket of updated parameters. Both
// run the ring schedule with chunk c = [lo, hi) ∩ shard(c): every piece
// travels from the rank after its owner to the owner, reduced at each hop
// in the ring's own order, so every shard ends bitwise as ReduceScatter
// leaves it, whatever the buckets. A bucket spread over the shards keeps
// every link busy like the whole-buffer ring; a bucket inside one shard
// becomes a chain toward its owner, pipelined when it spans several
// segments (SegmentBytes), with only the chain's links busy (measured:
// BenchmarkReduceScatterBuckets). Each rank sends the same volume as the
// whole-buffer ring.
//
// Determinism: for a given world size, rank order, length and Config every
// rank ends a collective with bitwise identical values, and repeated runs
// give bitwise identical results. Every element is reduced exactly once in
// a fixed order and then copied, never reduced again.
//
// Compression (Config.Compress = CompressBF16 or CompressFP16): ReduceScatter
// and ReduceScatterRange send every partial sum rounded to 16 bits
// (round-to-nearest-even, finite values saturate rather than become ±Inf),
// two per float32 carrier slot, bit-packed, so every Transport carries them
// unchanged. Each hop widens what it receives to float32, adds its own
// float32 value, and rounds again to send; the owner adds its own value last
// and keeps the float32 result. The determinism property holds in this form:
// the owner's shard is a fixed function of the inputs, the world size and
// the format (the ring's order and the rounding points are fixed, whatever
// the buckets), so repeated runs give the same bits and the exact all-gather
// that follows gives every rank the same buffer. The result differs from
// the float32 one by at most (N-1)·u·Σ|x| (u = 2^-8 for bf16, 2^-11 for
// fp16). AllGather, AllReduce, Broadcast, Barrier and Shift are never compressed.
// Error feedback (keeping what rounding lost for the next step) is the
// caller's: Compression.Round gives the value a sent x arrives as. On amd64
// the conversions run AVX2 (bf16) and F16C (fp16) kernels, half_amd64.s,
// bit-identical to the portable Go code of half.go, which runs elsewhere
// and is their reference; the receiver widens each frame and adds it in
// one pass (combineHalf).
//
// Steady state allocates nothing: schedules are cached per (collective,
// length, root, sub-range; up to 1024 of them), scratch space is allocated
// once, the sender goroutine is persistent.
package allreduce
