package coordinator

import (
	"fmt"
	"sync"
	"time"

	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
)

// workerInfo is what the Server knows about a worker beyond the core.
type workerInfo struct {
	version, hostname string
	lastSeen          time.Time
	metricsAddr       string
	device            string // JoinRequest.device ("" : the job's)
}

// roster names the workers that join and keeps their workerInfo. It owns
// its lock. A worker is in the roster before the core hears of it, so
// every member the core knows has its info.
type roster struct {
	mu   sync.Mutex // guards seq and info
	seq  int
	info map[string]*workerInfo
}

func newRoster() *roster { return &roster{info: map[string]*workerInfo{}} }

// add names a joining worker ("w<n>-<host>", n counting joins) and records
// its info.
func (r *roster) add(req *pb.JoinRequest, now time.Time) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq++
	id := fmt.Sprintf("w%d-%s", r.seq, hostnameOr(req.Hostname))
	r.info[id] = &workerInfo{version: req.Version, hostname: req.Hostname, lastSeen: now, metricsAddr: req.MetricsAddr, device: req.Device}
	return id
}

// known reports whether id joined.
func (r *roster) known(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.info[id]
	return ok
}

// seen records that id was heard from at now.
func (r *roster) seen(id string, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if w := r.info[id]; w != nil {
		w.lastSeen = now
	}
}

// get returns a copy of id's info.
func (r *roster) get(id string) (workerInfo, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	w, ok := r.info[id]
	if !ok {
		return workerInfo{}, false
	}
	return *w, true
}
