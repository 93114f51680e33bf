package route

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/ringtrain/ringtrain/allreduce"
)

// Net is the network transport Establish starts from: connected to every
// peer a collective needs (transport/tcp's Transport).
type Net interface {
	allreduce.Transport
	Close() error
	Generation() uint64
}

// Options configure Establish. Every rank of a generation must call it
// (with Off or not): the rendezvous is three collectives.
type Options struct {
	// Off keeps this rank on TCP (cluster.shm: off). Peers on its host then
	// stay on TCP with it.
	Off bool
	// HostKey overrides HostKey(): ranks with equal overrides are treated
	// as one host (bench's emulated nodes, tests). "" = HostKey().
	HostKey string
	// RingBytes is the shared ring per directed pair (0 = shm's default).
	RingBytes int
	// IOTimeout bounds a wait on a silent peer (0 = none; a dead peer is
	// noticed anyway).
	IOTimeout time.Duration
	Logger    *slog.Logger // nil = slog.Default()

	// attachErr, when set, makes this rank's attach fail (tests).
	attachErr error
}

// The rendezvous all-gathers one record of stride values per rank. Every
// value is a small integer (a key byte, a pid, a descriptor number, a
// flag), exact in float32.
const (
	keyBytes = 16
	stride   = keyBytes + 4
	fieldPID = keyBytes
	fieldFD  = keyBytes + 1
	fieldOK  = keyBytes + 2
)

// Establish returns a Transport that reaches the peers on this rank's host
// through shared memory and the others through net, which it takes over
// (Close closes it). See the package documentation for the rendezvous. An
// error means the links themselves failed (a peer died, ctx ended): net is
// then aborted and the caller closes it. A host whose shared memory could
// not be set up is not an error: its ranks stay on TCP and Info says why.
func Establish(ctx context.Context, net Net, opts Options) (*Transport, Info, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	rank, size := net.Rank(), net.Size()
	t := &Transport{net: net, rank: rank, size: size, slot: make([]int, size)}
	for p := range t.slot {
		t.slot[p] = -1
	}
	var info Info
	key, want, why := hostKey(opts)
	info.Host = hex.EncodeToString(key[:])
	if size == 1 {
		return t, info, nil
	}
	comm, err := allreduce.New(net, allreduce.DefaultConfig())
	if err != nil {
		return nil, info, err
	}
	defer comm.Close()

	// 1. Who shares a host with whom.
	recs := make([]float32, stride*size)
	mine := recs[rank*stride : (rank+1)*stride]
	putBytes(mine, key[:])
	if want {
		mine[fieldOK] = 1
	}
	if err := comm.AllGather(ctx, recs); err != nil {
		return nil, info, fmt.Errorf("route: exchange host keys: %w", err)
	}
	info.Hosts = hostMap(recs, size)
	group := hostGroup(recs, rank, size)
	if want {
		info.Group = group
	}
	if !want || len(group) < 2 {
		group = nil
	}
	leader := len(group) > 0 && group[0] == rank

	// 2. The leader creates and publishes; the others open and attach.
	var seg segment
	var failed error
	defer func() { closeSegment(seg) }() // every member has opened it (or given up) once step 3 is done
	fail := func(what string, err error) (*Transport, Info, error) {
		if t.local != nil {
			t.local.Close()
		}
		return nil, info, fmt.Errorf("route: %s: %w", what, err)
	}
	clear(recs)
	if leader {
		var segKey [keyBytes]byte
		rand.Read(segKey[:])
		seg, failed = createGroup(net.Generation(), len(group), segKey, opts)
		if failed == nil {
			t.local = seg.transport
			putBytes(mine, segKey[:])
			mine[fieldPID], mine[fieldFD], mine[fieldOK] = float32(seg.pid), float32(seg.fd), 1
		}
	}
	if err := comm.AllGather(ctx, recs); err != nil {
		return fail("exchange shared segments", err)
	}
	if len(group) > 0 && !leader {
		lr := recs[group[0]*stride : (group[0]+1)*stride]
		if lr[fieldOK] != 1 {
			failed = fmt.Errorf("rank %d (this host's leader) could not create a shared segment", group[0])
		} else if opts.attachErr != nil {
			failed = opts.attachErr
		} else {
			var segKey [keyBytes]byte
			getBytes(segKey[:], lr)
			t.local, failed = attachGroup(int(lr[fieldPID]), int(lr[fieldFD]), net.Generation(), slices.Index(group, rank), segKey, opts)
		}
	}

	// 3. A group uses shared memory only if all of its members attached.
	votes := make([]float32, size)
	if failed != nil {
		votes[rank] = 1
	}
	if err := comm.AllReduce(ctx, votes, allreduce.Sum); err != nil {
		return fail("agree on shared memory", err)
	}
	switch {
	case !want:
		info.Fallback = why
	case len(group) == 0:
		info.Fallback = "no other rank on this host"
	case failed != nil:
		info.Fallback = failed.Error()
	default:
		for _, p := range group {
			if votes[p] != 0 {
				info.Fallback = fmt.Sprintf("rank %d of this host could not attach to the shared segment (its log says why)", p)
				break
			}
		}
	}
	if info.Fallback != "" || len(group) == 0 {
		if t.local != nil {
			t.local.Close()
			t.local = nil
		}
		t.sendBuf, t.shared = t.sendBuffer(), t.sharedAllReduces()
		return t, info, nil
	}
	for i, p := range group {
		if p != rank {
			t.slot[p] = i
			info.Shared = append(info.Shared, p)
		}
	}
	t.sendBuf, t.shared = t.sendBuffer(), t.sharedAllReduces()
	return t, info, nil
}

// hostKey is the key this rank announces, whether it wants shared memory,
// and why not.
func hostKey(opts Options) (key [keyBytes]byte, want bool, why string) {
	if opts.HostKey != "" {
		sum := sha256.Sum256([]byte("ringtrain host override\x00" + opts.HostKey))
		copy(key[:], sum[:])
		return key, !opts.Off, "off (cluster.shm: off)"
	}
	k, err := HostKey()
	if err != nil {
		return key, false, err.Error()
	}
	if opts.Off {
		return k, false, "off (cluster.shm: off)"
	}
	return k, true, ""
}

// hostGroup is the ranks (in order) whose record has rank's key and wants
// shared memory; nil when rank does not want it.
func hostGroup(recs []float32, rank, size int) []int {
	mine := recs[rank*stride : (rank+1)*stride]
	if mine[fieldOK] != 1 {
		return nil
	}
	var g []int
	for p := range size {
		r := recs[p*stride : (p+1)*stride]
		if r[fieldOK] == 1 && slices.Equal(r[:keyBytes], mine[:keyBytes]) {
			g = append(g, p)
		}
	}
	return g
}

// hostMap numbers the hosts by their first rank: Hosts[p] is the index of
// rank p's host (whether or not it shares memory).
func hostMap(recs []float32, size int) []int {
	hosts := make([]int, size)
	var keys [][]float32
	for p := range size {
		k := recs[p*stride : p*stride+keyBytes]
		i := slices.IndexFunc(keys, func(x []float32) bool { return slices.Equal(x, k) })
		if i < 0 {
			i = len(keys)
			keys = append(keys, k)
		}
		hosts[p] = i
	}
	return hosts
}

func putBytes(dst []float32, b []byte) {
	for i, c := range b {
		dst[i] = float32(c)
	}
}

func getBytes(dst []byte, src []float32) {
	for i := range dst {
		dst[i] = byte(src[i])
	}
}
