package tcp

import (
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Config configures a Listener and the Transports it connects.
type Config struct {
	// Secret is the cluster secret shared by every process of the job. The
	// data-plane HMAC key is derived from it; it is never sent or logged.
	// Required, at least 16 bytes.
	Secret []byte
	// HandshakeTimeout bounds an incoming or outgoing handshake, including
	// the time an early connection waits for its generation to be
	// registered here. Default 5 s.
	HandshakeTimeout time.Duration
	// DialTimeout bounds one connection attempt. Default 2 s.
	DialTimeout time.Duration
	// ConnectTimeout bounds Listener.Connect when its context has no
	// deadline. Default 60 s.
	ConnectTimeout time.Duration
	// IOTimeout fails a Send or Recv that makes no progress for this long
	// (a silent peer). It must exceed the longest legitimate wait: the
	// slowest worker's compute time per step. 0 disables it. Default 120 s.
	IOTimeout time.Duration
	// MaxFrameBytes is the largest payload accepted in one frame; larger
	// headers are refused as garbage. Default 64 MiB (allreduce's largest
	// segment).
	MaxFrameBytes int
	// MaxHandshakes bounds concurrent incoming handshakes; extra
	// connections are closed at once. Default 64.
	MaxHandshakes int
	// MaxHandshakesPerHost bounds concurrent incoming handshakes from one
	// IP address, so that one host holding idle connections cannot take
	// every slot from the peers. Default 16.
	MaxHandshakesPerHost int
	// SocketBufferBytes sets SO_SNDBUF and SO_RCVBUF on data connections.
	// 0 (default) sets SO_SNDBUF to 2 MiB (the kernel caps it at
	// net.core.wmem_max) and keeps the receive side's autotuning. Otherwise
	// at least 64 KiB. allreduce sends a step before receiving it when the
	// step fits in half of the send buffer the kernel granted
	// (Transport.SendBuffer), so a larger buffer lets larger collectives
	// skip the hand-off to its sender goroutine.
	SocketBufferBytes int
	// ReadSpin: a receive that finds no data yields the CPU for up to this
	// long before parking in the netpoller (see spinreader.go). 0 parks at
	// once. Default 50 µs.
	ReadSpin time.Duration
	// Logger receives refusals and link failures. Default slog.Default().
	Logger *slog.Logger
}

// DefaultConfig returns the defaults with the given secret.
func DefaultConfig(secret []byte) Config {
	return Config{
		Secret:               secret,
		HandshakeTimeout:     5 * time.Second,
		DialTimeout:          2 * time.Second,
		ConnectTimeout:       60 * time.Second,
		IOTimeout:            120 * time.Second,
		MaxFrameBytes:        64 << 20,
		MaxHandshakes:        64,
		MaxHandshakesPerHost: 16,
		ReadSpin:             50 * time.Microsecond,
	}
}

// Validate reports the first invalid field.
func (c Config) Validate() error {
	switch {
	case len(c.Secret) < 16:
		return fmt.Errorf("tcp: cluster secret is %d bytes, want at least 16", len(c.Secret))
	case c.HandshakeTimeout <= 0:
		return errors.New("tcp: HandshakeTimeout must be positive")
	case c.DialTimeout <= 0:
		return errors.New("tcp: DialTimeout must be positive")
	case c.ConnectTimeout <= 0:
		return errors.New("tcp: ConnectTimeout must be positive")
	case c.IOTimeout < 0:
		return errors.New("tcp: IOTimeout must not be negative")
	case c.MaxFrameBytes < 4<<10 || c.MaxFrameBytes > 1<<30:
		return fmt.Errorf("tcp: MaxFrameBytes %d: want 4 KiB..1 GiB", c.MaxFrameBytes)
	case c.ReadSpin < 0 || c.ReadSpin > time.Second:
		return fmt.Errorf("tcp: ReadSpin %v: want 0..1s", c.ReadSpin)
	case c.MaxHandshakes < 1:
		return errors.New("tcp: MaxHandshakes must be at least 1")
	case c.MaxHandshakesPerHost < 1:
		return errors.New("tcp: MaxHandshakesPerHost must be at least 1")
	case c.SocketBufferBytes != 0 && (c.SocketBufferBytes < 64<<10 || c.SocketBufferBytes > 1<<30):
		return fmt.Errorf("tcp: SocketBufferBytes %d: want 0 (the default) or 64 KiB..1 GiB", c.SocketBufferBytes)
	}
	return nil
}

func (c Config) logger() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.Default()
}

// dataKey derives the data-plane HMAC key from the cluster secret.
func dataKey(secret []byte) ([]byte, error) {
	return hkdf.Key(sha256.New, secret, nil, "ringtrain data-plane handshake v1", 32)
}

// sessionKey derives the handshake key of a session (Listener.SetSessionKey)
// from the secret's data-plane key and the session's key.
func sessionKey(base, session []byte) ([]byte, error) {
	return hkdf.Key(sha256.New, base, session, "ringtrain data-plane session v1", 32)
}
