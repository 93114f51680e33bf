package job

import (
	"strings"
	"testing"
)

func TestMicroBatch(t *testing.T) {
	for _, tc := range []struct {
		name              string
		gb, acc, min, max int
		world             int
		want              int
		err               string // the whole message when want is 0
	}{
		{name: "no accumulation", gb: 64, acc: 1, min: 1, max: 8, world: 4, want: 16},
		{name: "accumulate 4", gb: 64, acc: 4, min: 1, max: 8, world: 4, want: 4},
		{name: "one sample", gb: 64, acc: 8, min: 1, max: 8, world: 8, want: 1},
		{name: "zero accumulate counts as 1", gb: 60, acc: 0, min: 1, max: 8, world: 6, want: 10},
		{name: "no world works", gb: 64, acc: 3, min: 1, max: 8, world: 4,
			err: "train.global_batch 64 with train.accumulate 3 on 4 workers: 64 is not divisible by 4 x 3 = 12; " +
				"with 4 workers use train.accumulate 1, 2, 4, 8 or 16; " +
				"with accumulate 3 no world size in 1..8 works (global_batch must be a multiple of 3 x world)"},
		{name: "world does not divide", gb: 64, acc: 2, min: 1, max: 8, world: 5,
			err: "train.global_batch 64 with train.accumulate 2 on 5 workers: 64 is not divisible by 5 x 2 = 10; " +
				"no train.accumulate works on 5 workers (64 is not a multiple of 5); " +
				"with accumulate 2 use 1, 2, 4 or 8 workers"},
		{name: "too few samples", gb: 64, acc: 32, min: 1, max: 8, world: 4,
			err: "train.global_batch 64 with train.accumulate 32 on 4 workers: 64 is not divisible by 4 x 32 = 128; " +
				"with 4 workers use train.accumulate 1, 2, 4, 8 or 16; " +
				"with accumulate 32 use 1 or 2 workers"},
		{name: "long lists are cut", gb: 720, acc: 7, min: 2, max: 64, world: 1,
			err: "train.global_batch 720 with train.accumulate 7 on 1 worker: 720 is not divisible by 1 x 7 = 7; " +
				"with 1 worker use train.accumulate 1, 2, 3, 4, 5, 6, 8, 9 (and 22 more divisors of 720); " +
				"with accumulate 7 no world size in 2..64 works (global_batch must be a multiple of 7 x world)"},
		{name: "long world list", gb: 720, acc: 2, min: 1, max: 64, world: 7,
			err: "train.global_batch 720 with train.accumulate 2 on 7 workers: 720 is not divisible by 7 x 2 = 14; " +
				"no train.accumulate works on 7 workers (720 is not a multiple of 7); " +
				"with accumulate 2 use 1, 2, 3, 4, 5, 6, 8, 9 workers (and 11 more world sizes in 1..64)"},
		{name: "one value each", gb: 7, acc: 7, min: 1, max: 7, world: 7,
			err: "train.global_batch 7 with train.accumulate 7 on 7 workers: 7 is not divisible by 7 x 7 = 49; " +
				"with 7 workers use train.accumulate 1; with accumulate 7 use 1 worker"},
		{name: "one worker", gb: 7, acc: 1, min: 1, max: 6, world: 2,
			err: "train.global_batch 7 with train.accumulate 1 on 2 workers: 7 is not divisible by 2 x 1 = 2; " +
				"no train.accumulate works on 2 workers (7 is not a multiple of 2); with accumulate 1 use 1 worker"},
		{name: "world 0", gb: 64, acc: 1, min: 1, max: 8, world: 0, err: "world size must be at least 1, got 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Default()
			s.Train.GlobalBatch, s.Train.Accumulate = tc.gb, tc.acc
			s.Cluster.MinWorkers, s.Cluster.MaxWorkers = tc.min, tc.max
			got, err := s.MicroBatch(tc.world)
			if tc.want > 0 {
				if err != nil || got != tc.want {
					t.Fatalf("MicroBatch(%d) = %d, %v; want %d", tc.world, got, err, tc.want)
				}
				return
			}
			if err == nil || err.Error() != tc.err {
				t.Fatalf("MicroBatch(%d) = %d, %v\nwant error %s", tc.world, got, err, tc.err)
			}
		})
	}
}

// Every world size WorldSize picks splits into micro-batches, and it is the
// largest that does.
func TestWorldSizeWithAccumulate(t *testing.T) {
	s := Default()
	s.Train.GlobalBatch = 96
	s.Cluster.MinWorkers, s.Cluster.MaxWorkers = 2, 16
	for _, tc := range []struct{ acc, avail, want int }{
		{1, 16, 16}, {1, 15, 12}, {2, 16, 16}, {2, 15, 12}, {3, 16, 16}, {3, 15, 8}, {4, 16, 12}, {4, 11, 8}, {4, 7, 6},
		{8, 16, 12}, {8, 11, 6}, {32, 16, 3}, {32, 2, 0}, {96, 16, 0}, {0, 15, 12},
	} {
		s.Train.Accumulate = tc.acc
		got, ok := s.WorldSize(tc.avail)
		if got != tc.want || ok != (tc.want > 0) {
			t.Errorf("accumulate %d, available %d: %d %v, want %d", tc.acc, tc.avail, got, ok, tc.want)
		}
		if ok {
			if _, err := s.MicroBatch(got); err != nil {
				t.Errorf("accumulate %d: world %d from WorldSize: %v", tc.acc, got, err)
			}
		}
	}
}

func TestAccumulateAndBucketBytesParse(t *testing.T) {
	s, err := Parse([]byte("train: {global_batch: 96, accumulate: 4}\ncluster: {bucket_bytes: 0}"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Train.Accumulate != 4 || s.Cluster.BucketBytes != 0 {
		t.Fatalf("accumulate %d, bucket_bytes %d", s.Train.Accumulate, s.Cluster.BucketBytes)
	}
	d, err := Parse(nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.Train.Accumulate != 1 || d.Cluster.BucketBytes != 1<<20 {
		t.Fatalf("defaults: accumulate %d, bucket_bytes %d", d.Train.Accumulate, d.Cluster.BucketBytes)
	}
	for _, ok := range []string{"4096", "1073741824", "65536"} {
		if _, err := Parse([]byte("cluster: {bucket_bytes: " + ok + "}")); err != nil {
			t.Errorf("bucket_bytes %s: %v", ok, err)
		}
	}
}

func TestAccumulateAndBucketBytesErrors(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"train: {accumulate: 0}", "train.accumulate: must be in 1..1024 (micro-batches per optimizer step), got 0"},
		{"train: {accumulate: 1025}", "train.accumulate: must be in 1..1024"},
		{"train: {accumulate: -2}", "train.accumulate: must be in 1..1024"},
		{"train: {global_batch: 64, accumulate: 3}",
			"train.accumulate: 3 does not divide train.global_batch 64: use train.accumulate 1, 2, 4, 8, 16, 32 or 64, " +
				"or a train.global_batch that is a multiple of 3 x the world size"},
		{"train: {global_batch: 64, accumulate: 32}\ncluster: {min_workers: 4}",
			"train.accumulate: train.global_batch 64 / train.accumulate 32 = 2 samples per micro-batch over all workers, fewer than cluster.min_workers 4"},
		{"cluster: {bucket_bytes: 4095}", "cluster.bucket_bytes: must be 0 (one bucket for the whole model, no overlap) or in 4096..1073741824 bytes, got 4095"},
		{"cluster: {bucket_bytes: 1073741825}", "cluster.bucket_bytes: must be 0"},
		{"cluster: {bucket_bytes: -1}", "cluster.bucket_bytes: must be 0"},
		{"cluster: {bucket_bytes: 1MiB}", "cannot unmarshal !!str `1MiB` into int64"},
	} {
		_, err := Parse([]byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v\nwant it to contain %q", tc.yaml, err, tc.want)
		}
	}
}
