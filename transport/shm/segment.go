//go:build linux

package shm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Segment layout (all little-endian, native atomics):
//
//	[0, headerBytes)   header: magic, version, world size, generation, ring
//	                   bytes, key (16 bytes at 32), then one 64-byte slot
//	                   per rank (state, pid)
//	then size*size ring blocks (the diagonal is never touched, so never
//	backed by memory), each ringCtlBytes of control (head and tail on their
//	own cache lines) followed by RingBytes of data;
//	then one staging area per rank (stage.go): stageCtlBytes of control
//	followed by two halves of stageHalfBytes(RingBytes) each.
const (
	magic        = 0x31304d4853545221 // "!RTSHM01"
	version      = 3
	keyOffset    = 32
	slotOffset   = 64
	slotBytes    = 64
	ringCtlBytes = 4096
	pageBytes    = 4096

	// MaxSize bounds the world size one segment serves.
	MaxSize = 256
	// MinRingBytes and MaxRingBytes bound Spec.RingBytes.
	MinRingBytes = 64 << 10
	MaxRingBytes = 256 << 20
	// DefaultRingBytes is the ring size used when Spec.RingBytes is 0.
	DefaultRingBytes = 2 << 20
	// maxSegmentBytes bounds the whole mapping (virtual; rings are backed
	// only once touched).
	maxSegmentBytes = 1 << 40
)

// Rank slot states.
const (
	slotFree     = 0
	slotAttached = 1
	slotGone     = 2 // aborted or closed: peers fail instead of waiting
)

// Spec describes one generation's segment.
type Spec struct {
	Generation uint64 // > 0; every frame carries it
	Size       int    // world size, 1..MaxSize
	RingBytes  int    // per directed pair; power of two; 0 = DefaultRingBytes
	// Key is a secret the creator chooses (random) and hands to the ranks
	// over an authenticated channel with the descriptor's whereabouts;
	// Attach refuses a segment whose key is not Config.Key, so a rank never
	// maps another cluster's (or a recycled descriptor's) segment. Zero for
	// callers that hand the descriptor itself to their own children.
	Key [16]byte
}

func (s Spec) normalized() (Spec, error) {
	if s.RingBytes == 0 {
		s.RingBytes = DefaultRingBytes
	}
	switch {
	case s.Generation == 0:
		return s, errors.New("shm: generation must be > 0")
	case s.Size < 1 || s.Size > MaxSize:
		return s, fmt.Errorf("shm: world size %d outside [1, %d]", s.Size, MaxSize)
	case s.RingBytes < MinRingBytes || s.RingBytes > MaxRingBytes || s.RingBytes&(s.RingBytes-1) != 0:
		return s, fmt.Errorf("shm: ring bytes %d: want a power of two in [%d, %d]", s.RingBytes, MinRingBytes, MaxRingBytes)
	}
	if segmentBytes(s.Size, s.RingBytes) > maxSegmentBytes {
		return s, fmt.Errorf("shm: world size %d with %d-byte rings exceeds %d bytes", s.Size, s.RingBytes, int64(maxSegmentBytes))
	}
	return s, nil
}

func headerBytes(size int) int64 {
	n := int64(slotOffset + size*slotBytes)
	return (n + pageBytes - 1) / pageBytes * pageBytes
}

func ringStride(ringBytes int) int64 { return int64(ringCtlBytes + ringBytes) }

func segmentBytes(size, ringBytes int) int64 {
	return stagesOffset(size, ringBytes) + int64(size)*stageStride(ringBytes)
}

// stagesOffset is where the staging areas begin, after the rings.
func stagesOffset(size, ringBytes int) int64 {
	return headerBytes(size) + int64(size)*int64(size)*ringStride(ringBytes)
}

func ringOffset(size, ringBytes, from, to int) int64 {
	return headerBytes(size) + int64(from*size+to)*ringStride(ringBytes)
}

// Segment is a freshly created shared mapping for one generation, held as an
// anonymous memory file (memfd): it has no name in any file system, so only
// a process handed its descriptor (or one allowed to ptrace this process)
// can map it.
type Segment struct {
	spec Spec
	f    *os.File
}

// Create makes and initialises the segment for spec. The caller hands
// File() to the ranks that Attach (same process, or another one through fd
// passing) and then closes the Segment; the memory lives while any rank
// has it mapped.
func Create(spec Spec) (*Segment, error) {
	spec, err := spec.normalized()
	if err != nil {
		return nil, err
	}
	fd, err := unix.MemfdCreate(fmt.Sprintf("ringtrain-shm-g%d", spec.Generation), unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("shm: memfd_create: %w", err)
	}
	f := os.NewFile(uintptr(fd), "ringtrain-shm")
	total := segmentBytes(spec.Size, spec.RingBytes)
	if err := unix.Ftruncate(fd, total); err != nil {
		f.Close()
		return nil, fmt.Errorf("shm: size segment to %d bytes: %w", total, err)
	}
	// The size can never change again: a mapping can never be cut short.
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_SEAL); err != nil {
		f.Close()
		return nil, fmt.Errorf("shm: seal segment: %w", err)
	}
	hdr, err := unix.Mmap(fd, 0, int(headerBytes(spec.Size)), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("shm: map header: %w", err)
	}
	binary.LittleEndian.PutUint32(hdr[8:], version)
	binary.LittleEndian.PutUint32(hdr[12:], uint32(spec.Size))
	binary.LittleEndian.PutUint64(hdr[16:], spec.Generation)
	binary.LittleEndian.PutUint64(hdr[24:], uint64(spec.RingBytes))
	copy(hdr[keyOffset:keyOffset+16], spec.Key[:])
	// The magic goes last: a header with a magic is complete.
	(*atomic.Uint64)(unsafe.Pointer(&hdr[0])).Store(magic)
	if err := unix.Munmap(hdr); err != nil {
		f.Close()
		return nil, fmt.Errorf("shm: unmap header: %w", err)
	}
	return &Segment{spec: spec, f: f}, nil
}

// File is the segment's descriptor, to Attach to or pass to another process.
func (s *Segment) File() *os.File { return s.f }

// Spec is the segment's normalised spec.
func (s *Segment) Spec() Spec { return s.spec }

// Close releases the creator's descriptor; attached ranks keep their maps.
func (s *Segment) Close() error { return s.f.Close() }

// mapSegment maps f and checks it is a segment of generation gen whose
// length matches its header; it returns the mapping and the header's spec.
func mapSegment(f *os.File, gen uint64) ([]byte, Spec, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return nil, Spec{}, fmt.Errorf("shm: stat segment: %w", err)
	}
	if st.Size < pageBytes {
		return nil, Spec{}, fmt.Errorf("shm: segment of %d bytes is too short for a header", st.Size)
	}
	hdr, err := unix.Mmap(int(f.Fd()), 0, pageBytes, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, Spec{}, fmt.Errorf("shm: map header: %w", err)
	}
	m := (*atomic.Uint64)(unsafe.Pointer(&hdr[0])).Load()
	ver := binary.LittleEndian.Uint32(hdr[8:])
	spec := Spec{
		Size:       int(binary.LittleEndian.Uint32(hdr[12:])),
		Generation: binary.LittleEndian.Uint64(hdr[16:]),
		RingBytes:  int(binary.LittleEndian.Uint64(hdr[24:])),
	}
	copy(spec.Key[:], hdr[keyOffset:keyOffset+16])
	_ = unix.Munmap(hdr)
	if m != magic {
		return nil, Spec{}, fmt.Errorf("shm: not a ringtrain segment (magic %#x)", m)
	}
	if ver != version {
		return nil, Spec{}, fmt.Errorf("shm: segment version %d, want %d", ver, version)
	}
	if spec.Generation != gen {
		return nil, Spec{}, fmt.Errorf("shm: segment of generation %d, want %d: %w", spec.Generation, gen, ErrStaleGeneration)
	}
	if spec.Size < 1 || spec.Size > MaxSize || spec.RingBytes < MinRingBytes || spec.RingBytes > MaxRingBytes || spec.RingBytes&(spec.RingBytes-1) != 0 {
		return nil, Spec{}, fmt.Errorf("shm: corrupt header: size %d, ring bytes %d", spec.Size, spec.RingBytes)
	}
	total := segmentBytes(spec.Size, spec.RingBytes)
	if st.Size != total {
		return nil, Spec{}, fmt.Errorf("shm: segment is %d bytes, header says %d", st.Size, total)
	}
	mem, err := unix.Mmap(int(f.Fd()), 0, int(total), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, Spec{}, fmt.Errorf("shm: map %d bytes: %w", total, err)
	}
	return mem, spec, nil
}

// ErrStaleGeneration: a segment or frame of another generation.
var ErrStaleGeneration = errors.New("shm: stale generation")

// ErrWrongKey: the segment's key is not the one the rank was given (not this
// cluster's segment).
var ErrWrongKey = errors.New("shm: segment key does not match the one given (not this cluster's segment)")

func u32At(mem []byte, off int64) *atomic.Uint32 {
	return (*atomic.Uint32)(unsafe.Pointer(&mem[off]))
}

func u64At(mem []byte, off int64) *atomic.Uint64 {
	return (*atomic.Uint64)(unsafe.Pointer(&mem[off]))
}

func slotState(mem []byte, rank int) *atomic.Uint32 {
	return u32At(mem, int64(slotOffset+rank*slotBytes))
}

func slotPid(mem []byte, rank int) *atomic.Uint32 {
	return u32At(mem, int64(slotOffset+rank*slotBytes+4))
}
