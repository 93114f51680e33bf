package bench

import "time"

// Messages between the parent (AllReduce) and its rank processes (Worker),
// one JSON object per line.

// hello is the child's first line: where its data port listens.
type hello struct {
	Addr string `json:"addr"`
}

// plan is the parent's only message to a child.
type plan struct {
	Rank         int            `json:"rank"`
	World        int            `json:"world"`
	Peers        map[int]string `json:"peers"`
	Secret       []byte         `json:"secret"`
	Sizes        []int64        `json:"sizes"` // bytes
	Iters        []int          `json:"iters"`
	Warmup       []int          `json:"warmup"`
	Segment      int            `json:"segment"`
	SmallBytes   int            `json:"small_bytes"`
	DirectBytes  int            `json:"direct_bytes"`
	HalvingBytes int            `json:"halving_bytes"`
	NoShared     bool           `json:"no_shared,omitempty"`
	Data         string         `json:"data"` // "pattern" or "random"
	Op           string         `json:"op"`   // "allreduce", "reduce-scatter", "all-gather"
	ReadSpin     time.Duration  `json:"read_spin"`
	// FrameChecksum: the rank's frames carry a CRC32C of their payload.
	FrameChecksum bool `json:"frame_checksum"`
	// Transport: "tcp" (or empty) connects over loopback TCP; "shm"
	// attaches the shared segment the parent passed as fd 3; "auto"
	// connects over TCP, then runs transport/route's rendezvous.
	Transport string `json:"transport"`
	// Compress: allreduce.Config.Compress ("none", "bf16", "fp16").
	Compress string `json:"compress"`
	// LinkMbps: tcp.Link bandwidth emulated on the rank's sends (0: off).
	LinkMbps float64 `json:"link_mbps"`
	// Hosts: the emulated node of every rank (nil: one node). LinkMbps
	// applies only to peers on other nodes; with Hier the Comm also gets
	// it as allreduce.Config.Hosts.
	Hosts []int `json:"hosts,omitempty"`
	Hier  bool  `json:"hier,omitempty"`
}

// ready is the child's line once its links are up.
type ready struct {
	Ready bool `json:"ready"`
}

// sizeResult is a child's line per size.
type sizeResult struct {
	Bytes  int64     `json:"bytes"`
	Times  []float64 `json:"times"`   // seconds per timed iteration
	MaxErr float64   `json:"max_err"` // max |result - reference| / max(1, |reference|)
	Procs  int       `json:"procs"`   // the rank's GOMAXPROCS
	Error  string    `json:"error,omitempty"`
}
