// Package tcp is the production allreduce.Transport: persistent, mutually
// authenticated TCP connections between the ranks of one generation,
// carrying framed float32 payloads.
//
// A process opens one Listener (its data address) for its whole life and
// calls Listener.Connect once per generation with its rank, the world size
// and the data addresses of its peers (allreduce.Peers says which). Each
// pair of peers shares one full-duplex connection; the higher rank dials
// the lower one. Connect returns a Transport when every peer link is up.
//
// Handshake (see handshake.go): the dialer states generation, rank, world
// size and the rank it expects to reach, with a fresh nonce; the acceptor
// answers with its own nonce and an HMAC-SHA256 over both; the dialer
// proves itself the same way; the acceptor then accepts or refuses with a
// reason, itself authenticated. The HMAC key is derived from the cluster
// secret with HKDF and, once Listener.SetSessionKey was called (workers: the
// key the coordinator hands out at Join), from that key too. A wrong secret, a stale generation, an unexpected rank,
// a duplicate or garbage bytes are refused and logged with the reason;
// handshakes run on their own goroutines, bounded in number and time, so
// they never disturb established links. A dialer retries a peer whose
// handshake fails authentication for one second (authGrace: a worker that
// rejoined a restarted coordinator installs the run's new key just after a
// faster peer may dial it) before the failure is final. Payloads are not
// encrypted (see
// docs/architecture.md, "Security").
//
// Frames (see frame.go) have a 40-byte little-endian header — magic,
// version, op, sequence, generation, step, chunk, payload length, flags,
// the payload's CRC32C and a CRC32C of the header — followed by the raw
// float32 bytes, sent with one writev straight from the caller's slice and
// read straight into the receiver's slice: no conversion copies. The
// payload's CRC32C is opt-in (Spec.PayloadChecksum: it costs a pass over
// every byte on both sides); receivers check it wherever a frame carries
// it, and a mismatch, like a header's, is ErrChecksum.
//
// Socket buffers: every data connection gets TCP_NODELAY and, unless
// Config.SocketBufferBytes says otherwise, a 2 MiB SO_SNDBUF (capped by the
// kernel's net.core.wmem_max; the receive side keeps its autotuning).
// Transport.SendBuffer reports half of what the kernel granted (Linux
// doubles the request and keeps the other half for its bookkeeping): that
// many bytes of frames go out to a peer that reads none of them.
// allreduce relies on it to run a collective's steps on one goroutine, each
// rank sending before it receives (allreduce.SendBufferer). Receives of
// small frames yield the CPU for up to Config.ReadSpin before parking in
// the netpoller (spinread.go). On Linux the reads, the frame's writev and
// the yields are raw system calls (rawio_linux.go): they never block, and
// syscall.Syscall would wake the Go scheduler's sleeping monitor thread
// on each.
//
// Link emulation (Spec.Link, linkemu.go): frames to an emulated peer go
// through a queue of up to two copies and one goroutine per such peer,
// which writes each frame when its time on the link is over. On Linux that
// goroutine waits on a timerfd through the netpoller (linktimer_linux.go):
// Go's timers wake an otherwise idle process only at the runtime's
// whole-millisecond epoll timeouts, which charged every frame up to a
// millisecond more than its link time. Close writes what is queued; Abort
// drops it.
//
// Failure semantics: a broken connection, or a payload whose checksum does
// not match, fails the call that uses it with allreduce.ErrPeerLost; no progress within Config.IOTimeout fails it with
// allreduce.ErrTimeout; Abort closes every connection, so in-flight calls
// return allreduce.ErrAborted at once and peers see the links drop; a
// cancelled context aborts the transport the same way (a half-sent frame
// cannot be resumed). Close aborts and releases everything; no goroutine
// outlives Close (nor Abort, for the emulated links' goroutines).
package tcp
