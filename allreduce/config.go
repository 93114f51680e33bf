package allreduce

import "fmt"

// Config tunes a Comm. Every rank of a generation must use the same Config:
// the algorithm choice and the segmentation are part of the protocol.
type Config struct {
	// SegmentBytes is the pipeline segment (and frame payload) size in bytes.
	// Smaller segments overlap sending, receiving and reducing more; larger
	// ones cost fewer system calls. Multiple of 4, in [4 KiB, 64 MiB], or 0
	// (the default): the transport's advice (SegmentAdvisor: 256 KiB when
	// every rank is reached through shared memory) or DefaultSegmentBytes
	// (measured: see docs/benchmarks.md).
	SegmentBytes int
	// SmallBytes: AllReduce of at most this many bytes uses recursive
	// doubling (log2 N latency-bound steps, whole buffer each) instead of the
	// ring (2(N-1) steps of 1/N of the buffer). 0 disables it. At most
	// 64 MiB. Default 64 KiB (measured: see docs/benchmarks.md).
	SmallBytes int
	// DirectBytes: AllReduce of more than SmallBytes and at most this many
	// bytes runs the direct two-round algorithm (DirectAllReduce: each
	// chunk straight to its owner, then straight back to everyone) instead
	// of the ring, in worlds where every pair of ranks is linked (3 and 4
	// ranks; see Peers), unless the hierarchical all-reduce applies. 0
	// disables it. At most 64 MiB. Default 2 MiB (measured: see
	// docs/benchmarks.md).
	DirectBytes int
	// HalvingBytes: AllReduce of more than SmallBytes and at most this many
	// bytes runs recursive halving and doubling (HalvingAllReduce: the
	// ring's bytes in 2·log2 N steps) in a power-of-two world of 4 or more
	// ranks, unless the hierarchical all-reduce applies; it is checked
	// before DirectBytes. 0 disables it. At most 64 MiB. Default 1 MiB
	// (measured: see docs/benchmarks.md). Where DirectBytes applies too, a
	// transport may lower it (HalvingAdvisor; shared memory: 256 KiB).
	HalvingBytes int
	// Compress sends the partial sums of ReduceScatter and ReduceScatterRange
	// at half width (see Compression); every other collective stays exact
	// float32. Default CompressNone.
	Compress Compression
	// NoShared keeps AllReduce on the frame schedules (recursive doubling,
	// halving, direct, ring) even when the transport can all-reduce
	// through memory every rank shares (SharedReducer: transport/shm, and
	// transport/route when every rank is on one host). Default false: the
	// shared all-reduce runs at every length (measured: see
	// docs/benchmarks.md).
	NoShared bool
	// Hosts is the host index of every rank (len = world size), or nil
	// when all ranks share one host or the layout is unknown. When it spans
	// at least two hosts and some host holds two or more ranks, AllReduce
	// of more than SmallBytes (and at least one element per host) runs the
	// hierarchical algorithm (HierAllReduce): reduce inside each host,
	// ring across one leader per host, broadcast inside each host. Host
	// indices are in [0, world size) and need not be contiguous or in rank
	// order. Every rank must pass the same map. Default nil.
	Hosts []int
}

// DefaultSegmentBytes is the segment size when Config.SegmentBytes is 0 and
// the transport gives no advice.
const DefaultSegmentBytes = 1 << 20

// DefaultConfig returns the measured defaults.
func DefaultConfig() Config {
	return Config{SmallBytes: 64 << 10, DirectBytes: 2 << 20, HalvingBytes: 1 << 20}
}

// Validate reports the first invalid field.
func (c Config) Validate() error {
	if c.SegmentBytes != 0 && (c.SegmentBytes < 4<<10 || c.SegmentBytes > 64<<20 || c.SegmentBytes%4 != 0) {
		return fmt.Errorf("allreduce: SegmentBytes %d: want 0 (automatic) or a multiple of 4 in [4096, %d]", c.SegmentBytes, 64<<20)
	}
	if c.SmallBytes < 0 || c.SmallBytes > 64<<20 {
		return fmt.Errorf("allreduce: SmallBytes %d: want 0..%d", c.SmallBytes, 64<<20)
	}
	if c.DirectBytes < 0 || c.DirectBytes > 64<<20 {
		return fmt.Errorf("allreduce: DirectBytes %d: want 0..%d", c.DirectBytes, 64<<20)
	}
	if c.HalvingBytes < 0 || c.HalvingBytes > 64<<20 {
		return fmt.Errorf("allreduce: HalvingBytes %d: want 0..%d", c.HalvingBytes, 64<<20)
	}
	if !c.Compress.valid() {
		return fmt.Errorf("allreduce: Compress %v: want none, bf16 or fp16", c.Compress)
	}
	if err := validateHosts(c.Hosts, len(c.Hosts)); err != nil {
		return err
	}
	return nil
}
