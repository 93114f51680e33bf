package tcp

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/ringtrain/ringtrain/allreduce"
)

func FuzzDecodeHeader(f *testing.F) {
	good := make([]byte, HeaderSize)
	EncodeHeader(good, Header{Gen: 3, Tag: allreduce.Tag{Op: allreduce.OpAllGather, Seq: 9, Step: 2, Chunk: 1}, Length: 64})
	f.Add(good)
	summed := make([]byte, HeaderSize)
	EncodeHeader(summed, Header{Gen: 3, Tag: allreduce.Tag{Op: allreduce.OpReduceScatter, Seq: 1}, Length: 8, Checksummed: true, PayloadCRC: 0xdeadbeef})
	f.Add(summed)
	f.Add(make([]byte, HeaderSize))
	f.Add([]byte("RT"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := DecodeHeader(b, 1<<20)
		if err != nil {
			if !errors.Is(err, allreduce.ErrProtocol) {
				t.Fatalf("error does not wrap ErrProtocol: %v", err)
			}
			return
		}
		if h.Length%4 != 0 || h.Length > 1<<20 {
			t.Fatalf("accepted bad length %d", h.Length)
		}
		again := make([]byte, HeaderSize)
		EncodeHeader(again, h)
		if !bytes.Equal(again, b[:HeaderSize]) {
			t.Fatalf("re-encoding differs:\n%x\n%x", again, b[:HeaderSize])
		}
	})
}

// scripted replays fixed bytes as the other side and swallows writes.
type scripted struct{ r io.Reader }

func (s *scripted) Read(p []byte) (int, error)  { return s.r.Read(p) }
func (s *scripted) Write(p []byte) (int, error) { return len(p), nil }

// The acceptor's handshake on arbitrary bytes from a dialer: an error or a
// valid authenticated hello, never a panic. Without the key no input can
// authenticate.
func FuzzServerHandshake(f *testing.F) {
	h := hello{Gen: 1, Rank: 1, Size: 2, Peer: 0}
	f.Add(h.marshal())
	f.Add(append(h.marshal(), make([]byte, macSize)...))
	f.Add([]byte("RTH1"))
	key, _ := dataKey(secret)
	f.Fuzz(func(t *testing.T, b []byte) {
		sc, err := serverHandshake(&scripted{bytes.NewReader(b)}, key)
		if err == nil {
			t.Fatalf("unauthenticated input accepted: hello %+v", sc.hello)
		}
	})
}

// The dialer's handshake on arbitrary bytes from an acceptor: never a panic,
// never success without the key.
func FuzzClientHandshake(f *testing.F) {
	ch := append(append(challengeMagic[:], make([]byte, 32)...), make([]byte, 32)...)
	f.Add(ch)
	f.Add(append(ch, 0, 0, 0))
	f.Add([]byte("RTC1"))
	key, _ := dataKey(secret)
	f.Fuzz(func(t *testing.T, b []byte) {
		err := clientHandshake(&scripted{bytes.NewReader(b)}, key, hello{Gen: 1, Rank: 1, Size: 2})
		if err == nil {
			t.Fatal("unauthenticated acceptor accepted")
		}
	})
}

// A genuine handshake over a pipe succeeds, and a tampered result does not.
func TestHandshakeOverPipe(t *testing.T) {
	key, _ := dataKey(secret)
	for _, tc := range []struct {
		name    string
		code    byte
		wantErr error
	}{
		{"accepted", codeOK, nil},
		{"refused", codeStale, ErrRefused},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, s := netPipe()
			defer c.Close()
			defer s.Close()
			go func() {
				sc, err := serverHandshake(s, key)
				if err == nil {
					sc.finish(tc.code, "because")
				}
			}()
			err := clientHandshake(c, key, hello{Gen: 1, Rank: 1, Size: 2, Peer: 0})
			if !errors.Is(err, tc.wantErr) && !(tc.wantErr == nil && err == nil) {
				t.Fatalf("got %v, want %v", err, tc.wantErr)
			}
		})
	}
}
