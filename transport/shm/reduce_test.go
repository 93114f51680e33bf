//go:build linux

package shm

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/ringtrain/ringtrain/allreduce"
	"github.com/ringtrain/ringtrain/internal/testutil"
)

// RecvReduce gives exactly what Recv into a scratch slice and then
// allreduce.Combine give (the dumb reference), for frames of every awkward
// length and at every ring position: around the ring's end, larger than the
// ring (streamed piece by piece), after odd-sized frames. Every other frame
// goes through plain Recv, so the two interleave on one ring; with the bulk
// hint on, Recv copies out with non-temporal stores, and must give the same
// bytes.
func TestRecvReduceMatchesRecvThenCombine(t *testing.T) {
	ring := MinRingBytes / 4
	lengths := []int{0, 1, 7, 8, 33, ring/2 - 8, ring - 8, ring, ring + 1, 3*ring + 5, 5, pieceBytes/4 + 3}
	for _, op := range []allreduce.ReduceOp{allreduce.Sum, allreduce.Mean, allreduce.Max} {
		for _, bulk := range []bool{false, true} {
			t.Run(fmt.Sprintf("%v/bulk=%v", op, bulk), func(t *testing.T) {
				testRecvReduce(t, op, bulk, lengths)
			})
		}
	}
}

func testRecvReduce(t *testing.T, op allreduce.ReduceOp, bulk bool, lengths []int) {
	ts := attachAll(t, Spec{Generation: 4, Size: 2, RingBytes: MinRingBytes}, Config{IOTimeout: 10 * time.Second})
	ts[0].Bulk(bulk)
	rng := rand.New(rand.NewPCG(3, uint64(op)))
	frames := make([][]float32, 2*len(lengths))
	for i := range frames {
		frames[i] = randomFloats(rng, lengths[i/2])
	}
	ctx := context.Background()
	errc := make(chan error, 1)
	go func() {
		for i, d := range frames {
			if err := ts[1].Send(ctx, 0, tag(i), d); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	for i, d := range frames {
		dst := randomFloats(rng, len(d))
		if i%2 == 1 {
			if err := ts[0].Recv(ctx, 1, tag(i), dst); err != nil {
				t.Fatalf("frame %d: %v", i, err)
			}
			if j := testutil.FirstBitDiff(dst, d); j >= 0 {
				t.Fatalf("frame %d (Recv) differs at %d", i, j)
			}
			continue
		}
		want := slices.Clone(dst)
		allreduce.Combine(op, want, d)
		if err := ts[0].RecvReduce(ctx, 1, tag(i), dst, op); err != nil {
			t.Fatalf("frame %d of %d values: %v", i, len(d), err)
		}
		if j := testutil.FirstBitDiff(dst, want); j >= 0 {
			t.Fatalf("frame %d of %d values: value %d is %v, want %v", i, len(d), j, dst[j], want[j])
		}
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// randomFloats returns n values with a NaN, infinities and signed zeros
// among them, so that Max's NaN rule is exercised.
func randomFloats(rng *rand.Rand, n int) []float32 {
	specials := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, float32(math.Copysign(0, -1))}
	out := make([]float32, n)
	for i := range out {
		if rng.IntN(50) == 0 {
			out[i] = specials[rng.IntN(len(specials))]
		} else {
			out[i] = rng.Float32()*2 - 1
		}
	}
	return out
}

// A RecvReduce of a frame with the wrong tag or length fails with
// ErrProtocol and leaves dst as it was.
func TestRecvReduceChecksTheFrame(t *testing.T) {
	for _, tc := range []struct {
		name    string
		sendTag allreduce.Tag
		sendN   int
	}{
		{"wrong tag", tag(2), 100},
		{"wrong length", tag(1), 99},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := attachAll(t, Spec{Generation: 4, Size: 2}, Config{IOTimeout: 10 * time.Second})
			ctx := context.Background()
			if err := ts[1].Send(ctx, 0, tc.sendTag, make([]float32, tc.sendN)); err != nil {
				t.Fatal(err)
			}
			dst := []float32{1, 2, 3}
			dst = append(dst, make([]float32, 97)...)
			before := slices.Clone(dst)
			err := ts[0].RecvReduce(ctx, 1, tag(1), dst, allreduce.Sum)
			if !errors.Is(err, allreduce.ErrProtocol) {
				t.Fatalf("got %v, want ErrProtocol", err)
			}
			if !slices.Equal(dst, before) {
				t.Fatal("dst changed by a refused frame")
			}
		})
	}
}

// copyTo (non-temporal stores where the CPU has them) copies exactly what
// copy does (the dumb reference) and not a byte more, for every alignment
// of both ends and lengths around the non-temporal cut and its 128-byte
// blocks.
func TestCopyToMatchesCopy(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	src := make([]byte, ntMinBytes+1024)
	for i := range src {
		src[i] = byte(rng.Uint32())
	}
	for _, n := range []int{0, 1, 127, 4096, ntMinBytes - 1, ntMinBytes, ntMinBytes + 1, ntMinBytes + 127, ntMinBytes + 129} {
		for _, so := range []int{0, 1, 4, 31, 32, 60} {
			for _, do := range []int{0, 1, 4, 31, 32, 60} {
				got := make([]byte, n+200)
				want := make([]byte, n+200)
				for i := range got {
					got[i], want[i] = 0xA5, 0xA5
				}
				copyTo(got[do:], src[so:so+n])
				copy(want[do:], src[so:so+n])
				if !slices.Equal(got, want) {
					t.Fatalf("n %d src+%d dst+%d: differs from copy", n, so, do)
				}
			}
		}
	}
}

// Attach faults in the rank's own rings, both directions with every peer,
// and no others (where the kernel has MADV_POPULATE_WRITE).
func TestAttachPopulatesItsRings(t *testing.T) {
	spec := Spec{Generation: 2, Size: 3, RingBytes: MinRingBytes}
	seg, err := Create(spec)
	if err != nil {
		t.Fatal(err)
	}
	defer seg.Close()
	tr, err := Attach(seg.File(), 2, 1, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	probe := tr.mem[ringOffset(3, MinRingBytes, 0, 2):][:pageBytes]
	if err := unix.Madvise(probe, unix.MADV_POPULATE_WRITE); err != nil {
		t.Skipf("no MADV_POPULATE_WRITE here: %v", err)
	}
	resident := func(from, to int) bool {
		off := ringOffset(3, MinRingBytes, from, to)
		vec := make([]byte, ringStride(MinRingBytes)/pageBytes)
		m := tr.mem[off : off+ringStride(MinRingBytes)]
		if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
			t.Fatal(errno)
		}
		for _, v := range vec {
			if v&1 == 0 {
				return false
			}
		}
		return true
	}
	for _, pair := range [][2]int{{1, 0}, {0, 1}, {1, 2}, {2, 1}} {
		if !resident(pair[0], pair[1]) {
			t.Errorf("ring %d->%d of rank 1 not resident after Attach", pair[0], pair[1])
		}
	}
	if resident(2, 0) {
		t.Error("ring 2->0 (not rank 1's) resident after rank 1's Attach")
	}
}

// Of a ring larger than populateMaxBytes, Attach readies only the first
// populateMaxBytes.
func TestAttachPopulatesAtMostItsBound(t *testing.T) {
	const ringBytes = 16 << 20
	seg, err := Create(Spec{Generation: 2, Size: 2, RingBytes: ringBytes})
	if err != nil {
		t.Fatal(err)
	}
	defer seg.Close()
	tr, err := Attach(seg.File(), 2, 0, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	off := ringOffset(2, ringBytes, 0, 1)
	m := tr.mem[off : off+ringStride(ringBytes)]
	if err := unix.Madvise(m[:pageBytes], unix.MADV_POPULATE_WRITE); err != nil {
		t.Skipf("no MADV_POPULATE_WRITE here: %v", err)
	}
	vec := make([]byte, len(m)/pageBytes)
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		t.Fatal(errno)
	}
	resident := 0
	for _, v := range vec {
		resident += int(v & 1)
	}
	if want := populateMaxBytes / pageBytes; resident != want {
		t.Errorf("%d pages of the 16 MiB ring resident, want %d", resident, want)
	}
}
