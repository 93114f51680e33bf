package tcp

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// The handshake, dialer C and acceptor S, all integers little-endian:
//
//	C→S hello:     "RTH1" | gen u64 | rank u32 | size u32 | peer u32 | nonceC [32]
//	S→C challenge: "RTC1" | nonceS [32] | HMAC(k, "S" | hello | nonceS)
//	C→S proof:     HMAC(k, "C" | hello | nonceS)
//	S→C result:    code u8 | len u16 | reason | HMAC(k, "R" | hello | nonceS | code | len | reason)
//
// k is derived from the cluster secret (dataKey). Both sides prove they know
// it over fresh nonces, so neither a replayed transcript nor a party without
// the secret gets a link. peer is the rank the dialer believes it reaches.
const (
	helloSize     = 4 + 8 + 4 + 4 + 4 + 32
	challengeSize = 4 + 32 + 32
	macSize       = 32
	maxReason     = 512
)

var (
	helloMagic     = [4]byte{'R', 'T', 'H', '1'}
	challengeMagic = [4]byte{'R', 'T', 'C', '1'}
)

// Result codes of the handshake.
const (
	codeOK byte = iota
	codeAuth
	codeStale
	codeRefused
)

// ErrRefused is returned by Connect when a peer refused the handshake (the
// error text carries the peer's reason).
var ErrRefused = errors.New("tcp: handshake refused")

// ErrAuth is returned when the other side could not prove knowledge of the
// cluster secret.
var ErrAuth = errors.New("tcp: authentication failed (different cluster secret?)")

type hello struct {
	Gen              uint64
	Rank, Size, Peer uint32
	Nonce            [32]byte
}

func (h *hello) marshal() []byte {
	b := make([]byte, helloSize)
	copy(b, helloMagic[:])
	binary.LittleEndian.PutUint64(b[4:], h.Gen)
	binary.LittleEndian.PutUint32(b[12:], h.Rank)
	binary.LittleEndian.PutUint32(b[16:], h.Size)
	binary.LittleEndian.PutUint32(b[20:], h.Peer)
	copy(b[24:], h.Nonce[:])
	return b
}

func parseHello(b []byte) (hello, error) {
	var h hello
	if len(b) != helloSize || [4]byte(b[:4]) != helloMagic {
		return h, errors.New("not a ringtrain data-plane hello (bad magic)")
	}
	h.Gen = binary.LittleEndian.Uint64(b[4:])
	h.Rank = binary.LittleEndian.Uint32(b[12:])
	h.Size = binary.LittleEndian.Uint32(b[16:])
	h.Peer = binary.LittleEndian.Uint32(b[20:])
	copy(h.Nonce[:], b[24:])
	if h.Size == 0 || h.Rank >= h.Size || h.Peer >= h.Size || h.Rank == h.Peer {
		return h, fmt.Errorf("hello with impossible ranks: rank %d, peer %d, world size %d", h.Rank, h.Peer, h.Size)
	}
	return h, nil
}

func mac(key []byte, label string, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(label))
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

func nonce() ([32]byte, error) {
	var n [32]byte
	_, err := rand.Read(n[:])
	return n, err
}

func resultBody(code byte, reason string) []byte {
	if len(reason) > maxReason {
		reason = reason[:maxReason]
	}
	b := make([]byte, 3+len(reason))
	b[0] = code
	binary.LittleEndian.PutUint16(b[1:], uint16(len(reason)))
	copy(b[3:], reason)
	return b
}

// clientHandshake runs the dialer's side over rw (deadlines are the
// caller's). It returns nil when the acceptor accepted the link.
func clientHandshake(rw io.ReadWriter, key []byte, h hello) error {
	hb := h.marshal()
	if _, err := rw.Write(hb); err != nil {
		return fmt.Errorf("send hello: %w", err)
	}
	var ch [challengeSize]byte
	if _, err := io.ReadFull(rw, ch[:]); err != nil {
		return fmt.Errorf("read challenge: %w", err)
	}
	if [4]byte(ch[:4]) != challengeMagic {
		return errors.New("peer is not a ringtrain data port (bad challenge magic)")
	}
	nonceS := ch[4:36]
	if _, err := rw.Write(mac(key, "C", hb, nonceS)); err != nil {
		return fmt.Errorf("send proof: %w", err)
	}
	if !hmac.Equal(ch[36:], mac(key, "S", hb, nonceS)) {
		return ErrAuth
	}
	var head [3]byte
	if _, err := io.ReadFull(rw, head[:]); err != nil {
		return fmt.Errorf("read result: %w", err)
	}
	n := int(binary.LittleEndian.Uint16(head[1:]))
	if n > maxReason {
		return fmt.Errorf("result reason of %d bytes: %w", n, ErrRefused)
	}
	rest := make([]byte, n+macSize)
	if _, err := io.ReadFull(rw, rest); err != nil {
		return fmt.Errorf("read result: %w", err)
	}
	body := append(head[:], rest[:n]...)
	if !hmac.Equal(rest[n:], mac(key, "R", hb, nonceS, body)) {
		return fmt.Errorf("result: %w", ErrAuth)
	}
	if head[0] != codeOK {
		return fmt.Errorf("%w: %s", ErrRefused, rest[:n])
	}
	return nil
}

// serverConn is the acceptor's side of one handshake in progress.
type serverConn struct {
	rw     io.ReadWriter
	key    []byte
	hb     []byte
	nonceS []byte
	hello  hello
}

// serverHandshake authenticates the dialer. On an authentication failure it
// tells the dialer and returns an error wrapping ErrAuth; the caller then
// decides and calls finish.
func serverHandshake(rw io.ReadWriter, key []byte) (*serverConn, error) {
	hb := make([]byte, helloSize)
	if _, err := io.ReadFull(rw, hb); err != nil {
		return nil, fmt.Errorf("read hello: %w", err)
	}
	h, err := parseHello(hb)
	if err != nil {
		return nil, err
	}
	n, err := nonce()
	if err != nil {
		return nil, err
	}
	sc := &serverConn{rw: rw, key: key, hb: hb, nonceS: n[:], hello: h}
	ch := make([]byte, 0, challengeSize)
	ch = append(ch, challengeMagic[:]...)
	ch = append(ch, n[:]...)
	ch = append(ch, mac(key, "S", hb, n[:])...)
	if _, err := rw.Write(ch); err != nil {
		return nil, fmt.Errorf("send challenge: %w", err)
	}
	proof := make([]byte, macSize)
	if _, err := io.ReadFull(rw, proof); err != nil {
		return nil, fmt.Errorf("read proof: %w", err)
	}
	if !hmac.Equal(proof, mac(key, "C", hb, n[:])) {
		_ = sc.finish(codeAuth, "authentication failed: wrong cluster secret")
		return nil, fmt.Errorf("rank %d claiming generation %d: %w", h.Rank, h.Gen, ErrAuth)
	}
	return sc, nil
}

// finish sends the authenticated result.
func (sc *serverConn) finish(code byte, reason string) error {
	body := resultBody(code, reason)
	msg := append(body, mac(sc.key, "R", sc.hb, sc.nonceS, body)...)
	_, err := sc.rw.Write(msg)
	return err
}
