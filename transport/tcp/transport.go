package tcp

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ringtrain/ringtrain/allreduce"
	"github.com/ringtrain/ringtrain/internal/wire"
)

// Transport is one rank's set of links for one generation. It implements
// allreduce.Transport.
type Transport struct {
	l          *Listener
	reg        *registration
	log        *slog.Logger
	gen        uint64
	rank, size int
	ioTimeout  time.Duration
	maxFrame   int
	link       Link
	checksum   bool        // Spec.PayloadChecksum
	peers      []*peerConn // by rank; nil where not a peer
	sendBuf    int         // SendBuffer: the smallest link's kernel send buffer

	abortOnce sync.Once
	aborted   atomic.Bool
	cause     error // set once before aborted becomes true

	// Context watching without allocation per call: each distinct context
	// is registered once (context.AfterFunc) and counts its calls in flight.
	watchMu sync.Mutex
	watches []*watch

	closeOnce sync.Once
}

type watch struct {
	done     <-chan struct{}
	inflight int
	stop     func() bool
}

// peerConn is the link to one peer. Sends to it are serialized by the
// allreduce contract (one sender per destination), and so are receives.
type peerConn struct {
	rank int
	conn net.Conn
	r    *bufio.Reader
	rhdr [HeaderSize]byte
	whdr [HeaderSize]byte
	iov  [2][]byte
	bufs net.Buffers
	w    *frameWriter // nil: write through bufs
	spin *spinReader  // nil when spinning is off
	// emulate: Spec.Link applies to sends to this peer (Spec.LinkPeers);
	// link, when the Link is not zero, carries them.
	emulate bool
	link    *linkEmu
}

var (
	_ allreduce.Transport    = (*Transport)(nil)
	_ allreduce.SendBufferer = (*Transport)(nil)
)

func newTransport(l *Listener, reg *registration, spec Spec, conns map[int]net.Conn) *Transport {
	t := &Transport{
		l: l, reg: reg, gen: spec.Generation, rank: spec.Rank, size: spec.Size,
		log:       l.log.With("generation", spec.Generation, "rank", spec.Rank),
		ioTimeout: l.cfg.IOTimeout, maxFrame: l.cfg.MaxFrameBytes,
		peers: make([]*peerConn, spec.Size),
	}
	if spec.IOTimeout > 0 {
		t.ioTimeout = spec.IOTimeout
	}
	t.link, t.checksum = spec.Link, spec.PayloadChecksum
	t.sendBuf = -1
	for p, c := range conns {
		sb := 0
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetNoDelay(true)
			if b := l.cfg.SocketBufferBytes; b > 0 {
				tc.SetReadBuffer(b)
				tc.SetWriteBuffer(b)
			} else {
				tc.SetWriteBuffer(defaultSendBufferBytes)
			}
			sb = sendBufferBytes(tc)
		}
		if t.sendBuf < 0 || sb < t.sendBuf {
			t.sendBuf = sb
		}
		var src io.Reader = c
		sr, ok := newSpinReader(c, l.cfg.ReadSpin)
		if ok {
			src = sr
		}
		pc := &peerConn{rank: p, conn: c, r: bufio.NewReaderSize(src, 16<<10), spin: sr, w: newFrameWriter(c),
			emulate: spec.LinkPeers == nil || spec.LinkPeers[p]}
		if pc.emulate && spec.Link != (Link{}) {
			pc.link = newLinkEmu(t.linkWriter(pc), nil)
		}
		t.peers[p] = pc
	}
	t.sendBuf = max(t.sendBuf, 0)
	return t
}

// defaultSendBufferBytes is SO_SNDBUF when Config.SocketBufferBytes is 0
// (the kernel caps it at net.core.wmem_max, and doubles it: 4 MiB, the
// usual ceiling of the kernel's own autotuning, tcp_wmem). It holds every
// step allreduce runs sequentially (at most 2 MiB per call); 4 MiB (8 MiB
// granted) made 64 MiB all-reduces 8–17% slower (docs/benchmarks.md).
const defaultSendBufferBytes = 2 << 20

// SendBuffer implements allreduce.SendBufferer: the bytes of frames every
// link's kernel send buffer holds while the peer reads none of them (half
// of the SO_SNDBUF Linux reports, the other half being its bookkeeping), or
// 0 when unknown. allreduce runs a collective whose every step fits on the
// calling goroutine, each step sending before it receives.
func (t *Transport) SendBuffer() int { return t.sendBuf }

// Rank is this rank.
func (t *Transport) Rank() int { return t.rank }

// Size is the world size.
func (t *Transport) Size() int { return t.size }

// Generation is the generation the links were made for.
func (t *Transport) Generation() uint64 { return t.gen }

// Abort closes every link: in-flight and later calls return
// allreduce.ErrAborted, and peers see their links to this rank drop.
func (t *Transport) Abort() { t.abort(allreduce.ErrAborted) }

func (t *Transport) abort(cause error) {
	t.abortOnce.Do(func() {
		t.cause = cause
		t.aborted.Store(true)
		for _, pc := range t.peers {
			if pc != nil {
				pc.conn.Close()
			}
		}
		for _, pc := range t.peers {
			if pc != nil && pc.link != nil {
				pc.link.stop()
			}
		}
	})
}

// Close aborts the transport and releases its registration and context
// watches. It is idempotent. Frames still on an emulated link (Spec.Link)
// are written first, within the I/O timeout.
func (t *Transport) Close() error {
	t.closeOnce.Do(func() {
		flushFor := t.ioTimeout
		if flushFor <= 0 {
			flushFor = 30 * time.Second
		}
		for _, pc := range t.peers {
			if pc != nil && pc.link != nil && !t.aborted.Load() {
				pc.link.flush(flushFor)
			}
		}
		t.abort(fmt.Errorf("tcp: transport closed: %w", allreduce.ErrClosed))
		t.watchMu.Lock()
		for _, w := range t.watches {
			w.stop()
		}
		t.watches = nil
		t.watchMu.Unlock()
		t.l.unregister(t.reg)
	})
	return nil
}

func (t *Transport) peer(p int) (*peerConn, error) {
	if p < 0 || p >= t.size || t.peers[p] == nil {
		return nil, fmt.Errorf("tcp: rank %d has no link to rank %d: %w", t.rank, p, allreduce.ErrProtocol)
	}
	return t.peers[p], nil
}

// enter registers a call in flight under ctx; leave must follow.
func (t *Transport) enter(ctx context.Context) (*watch, error) {
	if t.aborted.Load() {
		return nil, t.cause
	}
	done := ctx.Done()
	if done == nil {
		return nil, nil
	}
	t.watchMu.Lock()
	var w *watch
	for _, x := range t.watches {
		if x.done == done {
			w = x
			break
		}
	}
	if w == nil {
		w = &watch{done: done}
		if len(t.watches) >= 8 { // drop an idle watch
			for i, x := range t.watches {
				if x.inflight == 0 {
					x.stop()
					t.watches = append(t.watches[:i], t.watches[i+1:]...)
					break
				}
			}
		}
		t.watches = append(t.watches, w)
		w.stop = context.AfterFunc(ctx, func() {
			t.watchMu.Lock()
			busy := w.inflight > 0
			for i, x := range t.watches {
				if x == w {
					t.watches = append(t.watches[:i], t.watches[i+1:]...)
					break
				}
			}
			t.watchMu.Unlock()
			if busy {
				t.abort(ctx.Err())
			}
		})
	}
	w.inflight++
	t.watchMu.Unlock()
	if err := ctx.Err(); err != nil {
		t.leave(w)
		return nil, err
	}
	return w, nil
}

func (t *Transport) leave(w *watch) {
	if w == nil {
		return
	}
	t.watchMu.Lock()
	w.inflight--
	t.watchMu.Unlock()
}

// ioErr classifies an I/O failure on the link to peer.
func (t *Transport) ioErr(what string, peer int, err error) error {
	if t.aborted.Load() {
		if errors.Is(t.cause, allreduce.ErrAborted) || errors.Is(t.cause, allreduce.ErrClosed) {
			return fmt.Errorf("tcp: %s rank %d: %w", what, peer, t.cause)
		}
		return t.cause // the context's error
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("tcp: %s rank %d: no progress for %v: %w", what, peer, t.ioTimeout, allreduce.ErrTimeout)
	}
	if errors.Is(err, allreduce.ErrProtocol) {
		return err
	}
	return fmt.Errorf("tcp: %s rank %d: %v: %w", what, peer, err, allreduce.ErrPeerLost)
}

// Send writes one frame to peer to with a single writev.
func (t *Transport) Send(ctx context.Context, to int, tag allreduce.Tag, data []float32) error {
	pc, err := t.peer(to)
	if err != nil {
		return err
	}
	if len(data)*4 > t.maxFrame {
		return fmt.Errorf("tcp: frame of %d bytes exceeds MaxFrameBytes %d: %w", len(data)*4, t.maxFrame, allreduce.ErrProtocol)
	}
	w, err := t.enter(ctx)
	if err != nil {
		return err
	}
	defer t.leave(w)
	payload := asBytes(data)
	h := Header{Gen: t.gen, Tag: tag, Length: uint32(len(payload)), Checksummed: t.checksum}
	if t.checksum {
		h.PayloadCRC = wire.CRC32C(payload)
	}
	EncodeHeader(pc.whdr[:], h)
	if pc.link != nil {
		if err := pc.link.send(ctx, pc.whdr[:], payload, t.link.delay(HeaderSize+len(payload))); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return t.ioErr("send to", to, err)
		}
		return nil
	}
	if t.ioTimeout > 0 {
		pc.conn.SetWriteDeadline(time.Now().Add(t.ioTimeout))
	}
	if pc.w != nil {
		if err := pc.w.writeFrame(pc.whdr[:], payload); err != nil {
			return t.ioErr("send to", to, err)
		}
		return nil
	}
	pc.iov[0], pc.iov[1] = pc.whdr[:], payload
	pc.bufs = pc.iov[:]
	if _, err := pc.bufs.WriteTo(pc.conn); err != nil {
		return t.ioErr("send to", to, err)
	}
	return nil
}

// Recv reads the next frame from peer from straight into buf and checks it
// against tag and len(buf).
func (t *Transport) Recv(ctx context.Context, from int, tag allreduce.Tag, buf []float32) error {
	pc, err := t.peer(from)
	if err != nil {
		return err
	}
	w, err := t.enter(ctx)
	if err != nil {
		return err
	}
	defer t.leave(w)
	if t.ioTimeout > 0 {
		pc.conn.SetReadDeadline(time.Now().Add(t.ioTimeout))
	}
	if pc.spin != nil {
		pc.spin.on = len(buf)*4 <= spinMaxBytes
	}
	if _, err := io.ReadFull(pc.r, pc.rhdr[:]); err != nil {
		return t.ioErr("recv from", from, err)
	}
	h, err := DecodeHeader(pc.rhdr[:], t.maxFrame)
	if err != nil {
		return t.ioErr("recv from", from, fmt.Errorf("tcp: recv from rank %d: generation %d, expecting %v call %d step %d chunk %d: %w",
			from, t.gen, tag.Op, tag.Seq, tag.Step, tag.Chunk, err))
	}
	if h.Gen != t.gen || h.Tag != tag || int(h.Length) != len(buf)*4 {
		return fmt.Errorf("tcp: recv from rank %d: got generation %d %v with %d bytes, want generation %d %v with %d bytes: %w",
			from, h.Gen, h.Tag, h.Length, t.gen, tag, len(buf)*4, allreduce.ErrProtocol)
	}
	if !h.Checksummed {
		if _, err := io.ReadFull(pc.r, asBytes(buf)); err != nil {
			return t.ioErr("recv from", from, err)
		}
		return nil
	}
	crc, err := readPayload(pc.r, asBytes(buf))
	if err != nil {
		return t.ioErr("recv from", from, err)
	}
	if crc != h.PayloadCRC {
		return fmt.Errorf("tcp: recv from rank %d: generation %d, %v call %d step %d chunk %d: payload of %d bytes has CRC32C %08x, its frame says %08x: %w: %w",
			from, t.gen, tag.Op, tag.Seq, tag.Step, tag.Chunk, h.Length, crc, h.PayloadCRC, ErrChecksum, allreduce.ErrPeerLost)
	}
	return nil
}

// linkWriter writes pc's frames as the emulated link's goroutine hands
// them over: one whole frame, under the I/O timeout.
func (t *Transport) linkWriter(pc *peerConn) linkWrite {
	return func(frame []byte) error {
		if t.ioTimeout > 0 {
			pc.conn.SetWriteDeadline(time.Now().Add(t.ioTimeout))
		}
		if pc.w != nil {
			return pc.w.writeFrame(frame[:HeaderSize], frame[HeaderSize:])
		}
		_, err := pc.conn.Write(frame)
		return err
	}
}
