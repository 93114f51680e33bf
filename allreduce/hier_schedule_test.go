package allreduce

import (
	"fmt"
	"slices"
	"testing"
)

// hostMaps are the layouts the hierarchical tests run: blocks, interleaved,
// uneven, a lone rank, non-contiguous host numbers, and ones where the
// hierarchical algorithm does not apply (nil: the flat ring).
var hostMaps = []struct {
	hosts []int
	hier  bool
}{
	{[]int{0, 0, 1, 1}, true},
	{[]int{0, 1, 0, 1}, true},
	{[]int{0, 0, 0, 1}, true},
	{[]int{1, 0, 0, 0}, true},
	{[]int{2, 0, 2, 1, 0, 2}, true},
	{[]int{0, 0, 1, 1, 2, 2, 3, 3}, true},
	{[]int{0, 1, 2}, false},
	{[]int{0, 0, 0}, false},
	{[]int{0}, false},
}

// simulatePipelined runs every rank's steps the way the executor may: a
// send cursor and a receive cursor per rank, the send of a SendAfterRecv
// step waiting only for the previous step's receive. With sendFirst every
// sender runs as far ahead as it may (a send that reads data before it is
// final shows up as a wrong result); otherwise receivers run ahead (a
// receive that overwrites data not yet sent shows up the same way).
func simulatePipelined(t *testing.T, steps [][]Step, in [][]float32, sendFirst bool) [][]float32 {
	t.Helper()
	size := len(steps)
	bufs := make([][]float32, size)
	for r := range bufs {
		bufs[r] = slices.Clone(in[r])
	}
	type key struct{ from, to, wire int }
	msgs := map[key][]float32{}
	sendPos := make([]int, size)
	recvPos := make([]int, size)
	sendOne := func(r int) bool {
		for sendPos[r] < len(steps[r]) && steps[r][sendPos[r]].To < 0 {
			sendPos[r]++
		}
		k := sendPos[r]
		if k == len(steps[r]) {
			return false
		}
		st := steps[r][k]
		if st.SendAfterRecv && recvPos[r] < k {
			return false
		}
		m := key{r, st.To, st.SendWire}
		if _, dup := msgs[m]; dup {
			return false // the previous one is still in flight
		}
		msgs[m] = slices.Clone(bufs[r][st.SendLo:st.SendHi])
		sendPos[r]++
		return true
	}
	recvOne := func(r int) bool {
		k := recvPos[r]
		if k == len(steps[r]) {
			return false
		}
		st := steps[r][k]
		if st.From >= 0 {
			m := key{st.From, r, st.RecvWire}
			data, ok := msgs[m]
			if !ok {
				return false
			}
			delete(msgs, m)
			if len(data) != st.RecvHi-st.RecvLo {
				t.Fatalf("rank %d step %d receives %d values into a range of %d", r, k, len(data), st.RecvHi-st.RecvLo)
			}
			if st.Reduce {
				for i, v := range data {
					bufs[r][st.RecvLo+i] += v
				}
			} else {
				copy(bufs[r][st.RecvLo:], data)
			}
		}
		recvPos[r]++
		return true
	}
	for progress := true; progress; {
		progress = false
		for r := range size {
			first, second := recvOne, sendOne
			if sendFirst {
				first, second = sendOne, recvOne
			}
			for first(r) {
				progress = true
			}
			if second(r) {
				progress = true
			}
		}
	}
	for r := range size {
		if sendPos[r] < len(steps[r]) || recvPos[r] < len(steps[r]) {
			t.Fatalf("deadlock: rank %d stuck at send step %d, receive step %d of %d", r, sendPos[r], recvPos[r], len(steps[r]))
		}
	}
	if len(msgs) != 0 {
		t.Fatalf("%d messages never received", len(msgs))
	}
	return bufs
}

func TestHierAllReduceSchedule(t *testing.T) {
	for _, hm := range hostMaps {
		size := len(hm.hosts)
		hosts := map[int]bool{}
		for _, h := range hm.hosts {
			hosts[h] = true
		}
		for _, n := range []int{len(hosts), len(hosts) + 1, 10*size + 3, 1000} {
			t.Run(fmt.Sprintf("%v/n%d", hm.hosts, n), func(t *testing.T) {
				steps := make([][]Step, size)
				for r := range size {
					steps[r] = HierAllReduce(r, hm.hosts, n)
					if (steps[r] != nil) != hm.hier {
						t.Fatalf("rank %d: hierarchical schedule %v, want %v", r, steps[r] != nil, hm.hier)
					}
					checkLinkedSends(t, r, steps[r])
				}
				if !hm.hier {
					return
				}
				in := ramp(size, n)
				for _, sendFirst := range []bool{true, false} {
					out := simulatePipelined(t, steps, in, sendFirst)
					for r := range size {
						for i := range n {
							if want := float32(size * (size + 1) / 2 * (i%7 + 1)); out[r][i] != want {
								t.Fatalf("sendFirst=%v: rank %d [%d] = %v, want %v", sendFirst, r, i, out[r][i], want)
							}
						}
					}
				}
				// Every link the schedule uses is one PeersHosts lists.
				for r := range size {
					peers, err := PeersHosts(r, size, hm.hosts)
					if err != nil {
						t.Fatal(err)
					}
					for _, st := range steps[r] {
						for _, p := range []int{st.To, st.From} {
							if p >= 0 && !slices.Contains(peers, p) {
								t.Fatalf("rank %d talks to %d, not in PeersHosts %v", r, p, peers)
							}
						}
					}
				}
			})
		}
	}
}

// checkLinkedSends: a SendAfterRecv step sends exactly the range the step
// before it received (the executor pairs their segments), and every step
// moves a non-empty range.
func checkLinkedSends(t *testing.T, r int, steps []Step) {
	t.Helper()
	for k, st := range steps {
		if st.SendAfterRecv && (k == 0 || steps[k-1].From < 0 || steps[k-1].RecvLo != st.SendLo || steps[k-1].RecvHi != st.SendHi) {
			t.Fatalf("rank %d step %d: linked send [%d,%d) does not follow a receive of the same range", r, k, st.SendLo, st.SendHi)
		}
		if (st.To >= 0 && st.SendHi <= st.SendLo) || (st.From >= 0 && st.RecvHi <= st.RecvLo) {
			t.Fatalf("rank %d step %d moves an empty range: %+v", r, k, st)
		}
	}
}

func TestHierNeedsOneElementPerHost(t *testing.T) {
	if s := HierAllReduce(0, []int{0, 0, 1, 1, 2}, 2); s != nil {
		t.Fatalf("n < hosts: want nil (flat ring), got %d steps", len(s))
	}
}

func TestPeersHostsSymmetricAndValidated(t *testing.T) {
	for _, hm := range hostMaps {
		size := len(hm.hosts)
		for r := range size {
			ps, err := PeersHosts(r, size, hm.hosts)
			if err != nil {
				t.Fatal(err)
			}
			if !hm.hier && !slices.Equal(ps, Peers(r, size)) {
				t.Fatalf("%v rank %d: %v, want Peers %v", hm.hosts, r, ps, Peers(r, size))
			}
			for _, p := range ps {
				qs, _ := PeersHosts(p, size, hm.hosts)
				if p == r || !slices.Contains(qs, r) {
					t.Fatalf("%v: %d lists %d but not vice versa", hm.hosts, r, p)
				}
			}
		}
	}
	for _, bad := range []struct {
		rank, size int
		hosts      []int
	}{{0, 3, []int{0, 0}}, {0, 2, []int{0, -1}}, {0, 2, []int{0, 2}}, {2, 2, []int{0, 1}}} {
		if _, err := PeersHosts(bad.rank, bad.size, bad.hosts); err == nil {
			t.Errorf("PeersHosts(%d, %d, %v): want an error", bad.rank, bad.size, bad.hosts)
		}
	}
}
