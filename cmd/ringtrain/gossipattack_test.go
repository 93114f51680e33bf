package main

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/ringtrain/ringtrain/control"
	"github.com/ringtrain/ringtrain/internal/secret"
	"github.com/ringtrain/ringtrain/membership"
	"github.com/ringtrain/ringtrain/pki"
	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
)

// gossipAttackJob: two workers, no checkpoints, so losing a worker fails
// the run at once (the attack the review ran); long, so that the test ends
// it with SIGTERM once it has checked what it checks.
const gossipAttackJob = "model: {hidden: [64]}\ntrain: {global_batch: 48, steps: 1000000}\ncluster: {min_workers: 2, max_workers: 2, settle: 200ms}\ncheckpoint: {every_epochs: 0}\n"

// Gossip with forged "dead" messages (memberlist's own deadMsg) against a
// running 2-worker run without checkpoints, real processes on loopback.
//
//   - An intruder with the cluster secret but no certificate knows only what
//     the secret alone derives (the gossip key as it was before it was bound
//     to the run: HKDF of the secret, info "ringtrain memberlist gossip v1").
//     A memberlist node keyed with it cannot join the coordinator's gossip,
//     and a dead message about a worker sealed with it is dropped (the
//     coordinator logs "Decrypt packet failed").
//   - An admitted but malicious member (this test joins over mutual TLS with
//     the cluster's certificate and secret, and derives the real gossip key
//     from the run key Join hands out) sends dead messages about both live
//     workers: one as if another node found it dead, one as if the worker
//     itself had left (memberlist then marks it left; without ringtrain's
//     leaving flag in its metadata, membership reports that as a failure).
//     The coordinator records each verdict as a "gossip" event and does
//     nothing else while the workers' control streams are open: the
//     generation does not change and the run keeps running.
//
// memberlist has no API to declare another node dead, so the test sends
// what a member's memberlist would: one UDP datagram to the coordinator's
// gossip port, memberlist's deadMsg (message type 5, msgpack) sealed with
// AES-GCM under the gossip key in memberlist's packet format (encryption
// version 1: version byte, 12-byte nonce, ciphertext; no label). Its
// incarnation is far above the worker's, which memberlist requires to
// believe it; the coordinator rebroadcasts it and the worker refutes.
func TestForgedGossipCannotEndTheRun(t *testing.T) {
	c := newCluster(t, gossipAttackJob)
	st := c.startTraining(2)
	gen := st.Generation
	var victims []string
	for _, m := range st.Members {
		victims = append(victims, m.WorkerID)
	}
	sec := []byte(faultSecret[len("RINGTRAIN_SECRET="):])
	gossipAddr := fmt.Sprintf("127.0.0.1:%d", c.gossip)

	// The secret alone.
	secretOnly, err := hkdf.Key(sha256.New, sec, nil, "ringtrain memberlist gossip v1", 32)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := joinGossipWithKey(gossipAddr, secretOnly); err == nil {
		t.Errorf("a gossip node keyed with the secret alone joined the coordinator's gossip (%d nodes)", n)
	}
	if err := sendDead(gossipAddr, secretOnly, victims[0], "intruder"); err != nil {
		t.Fatal(err)
	}
	c.noChurn(t, "a dead message sealed with the secret alone", gen, 3*time.Second)

	// An admitted member: the run key from Join, the real gossip key.
	runKey := joinForRunKey(t, c)
	key, err := membership.GossipKey(sec, runKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ victim, from string }{
		{victims[0], "intruder"}, // another node declares it dead
		{victims[1], victims[1]}, // as if the worker itself had left
	} {
		if err := sendDead(gossipAddr, key, tc.victim, tc.from); err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("gossip says worker %s failed", tc.victim)
		c.waitEvents("the coordinator records the forged verdict on "+tc.victim, 30*time.Second, func(evs []statusEvent) bool {
			return slices.ContainsFunc(evs, func(e statusEvent) bool { return e.Kind == "gossip" && strings.Contains(e.Message, want) })
		})
		c.noChurn(t, "a dead message about "+tc.victim+" with the real gossip key", gen, 3*time.Second)
	}

	c.coord.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- c.coord.Wait() }()
	select {
	case <-done:
		c.coord = nil
	case <-time.After(60 * time.Second):
		t.Fatalf("coordinator did not stop after SIGTERM\n%s", c.coordOut.String())
	}
	out := c.coordOut.String()
	if !strings.Contains(out, "interrupted: the run is stopped") {
		t.Errorf("coordinator did not stop cleanly after SIGTERM:\n%s", out)
	}
	if !strings.Contains(out, "Decrypt packet failed") {
		t.Errorf("the coordinator never dropped the datagram sealed with the secret alone (no \"Decrypt packet failed\"):\n%s", out)
	}
}

// noChurn fails the test if, within d, the run stops running or its
// generation moves on from gen (a worker was lost).
func (c *cluster) noChurn(t *testing.T, after, gen string, d time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		s, err := c.fullStatus()
		if err != nil {
			t.Fatalf("status after %s: %v (the run ended?)\ncoordinator:\n%s", after, err, c.logTail())
		}
		if s.Phase != "running" || s.Generation != gen {
			t.Fatalf("after %s the run is %s in generation %s (was running in %s): %s", after, s.Phase, s.Generation, gen, s.Error)
		}
	}
}

// logTail is the end of the coordinator's output.
func (c *cluster) logTail() string {
	out := c.coordOut.String()
	return out[max(0, len(out)-3000):]
}

type statusEvent struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

// fullStatus is status --json with the run's error and events, read also
// when status exits non-zero (a failed run).
func (c *cluster) fullStatus() (s struct {
	Phase      string        `json:"phase"`
	Generation string        `json:"generation"`
	Error      string        `json:"error"`
	Events     []statusEvent `json:"events"`
}, err error) {
	cmd := exec.Command(binary, "status", "--coordinator", c.addr, "--json")
	cmd.Env = c.env()
	out, runErr := cmd.Output()
	if err := json.Unmarshal(out, &s); err != nil {
		return s, fmt.Errorf("%w (status: %v)", err, runErr)
	}
	return s, nil
}

// waitEvents polls status until cond holds for its events.
func (c *cluster) waitEvents(what string, within time.Duration, cond func([]statusEvent) bool) {
	c.t.Helper()
	for deadline := time.Now().Add(within); ; time.Sleep(100 * time.Millisecond) {
		s, err := c.fullStatus()
		if err != nil {
			c.t.Fatalf("waiting for %s: status: %v (the run ended?)\ncoordinator:\n%s", what, err, c.logTail())
		}
		if cond(s.Events) {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("timed out waiting for %s; run %s (%s), events %+v", what, s.Phase, s.Error, s.Events)
		}
	}
}

// joinForRunKey joins the run over mutual TLS with the cluster's
// certificate and secret, as a worker would, and returns the run key the
// coordinator hands out. The joined member stands by (the generation is
// full) and never opens a plan stream.
func joinForRunKey(t *testing.T, c *cluster) []byte {
	t.Helper()
	out, _, code := cli(t, nil, "version", "--json")
	var v struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal([]byte(out), &v); code != 0 || err != nil {
		t.Fatalf("version --json: %d %v %q", code, err, out)
	}
	b, err := pki.Load(filepath.Join(c.dir, "tls"))
	if err != nil {
		t.Fatal(err)
	}
	host, _, _ := net.SplitHostPort(c.addr)
	token, err := secret.ControlToken([]byte(faultSecret[len("RINGTRAIN_SECRET="):]))
	if err != nil {
		t.Fatal(err)
	}
	client, err := control.Dial(c.addr, b.ClientConfig(host), token)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	r, err := client.Join(context.Background(), &pb.JoinRequest{Version: v.Version, DataAddr: "127.0.0.1:9", Hostname: "malicious"}, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.DataKey) < 16 {
		t.Fatalf("Join handed out a run key of %d bytes", len(r.DataKey))
	}
	return r.DataKey
}

// joinGossipWithKey starts a memberlist node on loopback whose gossip is
// sealed with key (verified both ways, as ringtrain's) and tries to join
// addr; it returns what memberlist's Join returned.
func joinGossipWithKey(addr string, key []byte) (int, error) {
	cfg := memberlist.DefaultLANConfig()
	cfg.Name, cfg.BindAddr, cfg.BindPort, cfg.AdvertiseAddr = "intruder", "127.0.0.1", 0, "127.0.0.1"
	cfg.SecretKey, cfg.GossipVerifyIncoming, cfg.GossipVerifyOutgoing = key, true, true
	cfg.TCPTimeout, cfg.LogOutput = 2*time.Second, io.Discard
	m, err := memberlist.Create(cfg)
	if err != nil {
		return 0, err
	}
	defer m.Shutdown()
	return m.Join([]string{addr})
}

// sendDead sends addr one UDP datagram: memberlist's dead message saying
// that from found node dead, sealed with key.
func sendDead(addr string, key []byte, node, from string) error {
	msg := append([]byte{5}, msgpackDead(1<<30, node, from)...) // 5: memberlist's deadMsg
	block, err := aes.NewCipher(key)
	if err != nil {
		return err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return err
	}
	nonce := make([]byte, gcm.NonceSize())
	rand.Read(nonce)
	packet := append(append([]byte{1}, nonce...), gcm.Seal(nil, nonce, msg, nil)...) // 1: encryption version without padding
	conn, err := net.Dial("udp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = conn.Write(packet)
	return err
}

// msgpackDead is memberlist's dead struct as its msgpack codec writes it:
// a map of the field names Incarnation (uint32), Node and From (strings).
func msgpackDead(incarnation uint32, node, from string) []byte {
	var b bytes.Buffer
	str := func(s string) {
		if len(s) < 32 {
			b.WriteByte(0xa0 | byte(len(s)))
		} else {
			b.WriteByte(0xd9)
			b.WriteByte(byte(len(s)))
		}
		b.WriteString(s)
	}
	b.WriteByte(0x83)
	str("Incarnation")
	b.WriteByte(0xce)
	b.Write([]byte{byte(incarnation >> 24), byte(incarnation >> 16), byte(incarnation >> 8), byte(incarnation)})
	str("Node")
	str(node)
	str("From")
	str(from)
	return b.Bytes()
}
