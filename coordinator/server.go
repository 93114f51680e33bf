package coordinator

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/ringtrain/ringtrain/checkpoint"
	"github.com/ringtrain/ringtrain/control"
	"github.com/ringtrain/ringtrain/internal/secret"
	"github.com/ringtrain/ringtrain/job"
	"github.com/ringtrain/ringtrain/membership"
	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
	"github.com/ringtrain/ringtrain/telemetry"
)

// Config configures a coordinator Server.
type Config struct {
	// Job is the run's spec; JobBytes its YAML as handed to workers.
	Job      job.Spec
	JobBytes []byte
	// GRPCAddr is the control-plane listen address. Default "0.0.0.0:7070".
	GRPCAddr string
	// GossipAddr and GossipPort: the memberlist bind address (default
	// "0.0.0.0", port 7946; port 0 picks a free one).
	GossipAddr string
	GossipPort int
	// Secret is the cluster secret (at least 16 bytes).
	Secret []byte
	// TLS is the control plane's server configuration (pki.Bundle's
	// ServerConfig: mutual TLS). Without it Start refuses unless Insecure
	// says that plaintext gRPC is meant.
	TLS      *tls.Config
	Insecure bool
	// RunID names the run. Version is this binary's version; workers must
	// match it.
	RunID, Version string
	// Tick is the core's logical clock period. Default 100 ms.
	Tick time.Duration
	// OnReport, if set, sees every accepted worker report (progress display).
	OnReport func(*pb.ReportRequest)
	// Checkpoints, if set, receives the workers' checkpoint shards and
	// serves restores. RestoreStep > 0 makes the first generation resume
	// from that committed checkpoint.
	Checkpoints *checkpoint.Store
	RestoreStep int64
	// MetricsAddr is where the Prometheus endpoint listens ("" disables it).
	MetricsAddr string
	// Trace, if set, receives the workers' trace events (job.Spec.Trace).
	Trace  *telemetry.TraceWriter
	Logger *slog.Logger
}

// Result is the outcome of a run.
type Result struct {
	Phase   Phase
	Reason  string
	Summary *pb.Summary
}

// Server is the coordinator process: the driver around Core.
type Server struct {
	pb.UnimplementedCoordinatorServer
	cfg  Config
	log  *slog.Logger
	hash string
	// runKey is this run's random key, handed to every admitted worker
	// (JoinResponse.DataKey): it is mixed into the data-plane handshakes and
	// the gossip key (membership.GossipKey), so the secret alone gets into
	// neither.
	runKey []byte
	start  time.Time

	// mu guards the core and the signalling of its changes (version,
	// changed, ended), which change together. It is also held while the
	// core's events are published (so they are published in the order the
	// core logged them) and while a report is fenced against the core's
	// generation (accept). The owners below take their own locks inside it,
	// and never take it while holding theirs.
	mu struct {
		sync.Mutex
		core    *Core
		changed chan struct{} // closed and replaced when the core's version moves
		version uint64
	}
	// Each of these owns its state behind its own lock.
	workers   *roster        // worker ids and their info (version, host, last seen)
	board     *board         // rank 0's latest progress, the latest evaluation, the summary
	history   *history       // the dashboard's curves and step-time split
	anomalies *detectors     // loss spikes, stragglers, repeated failures
	recovery  *recoveryClock // how long the current recovery has taken
	events    *eventLog      // the recent events, for Status; logs each one
	streams   *planStreams   // the open WatchPlan streams per worker (liveness.go)
	// reportObservers are told every accepted report, eventObservers every
	// published event, in order.
	reportObservers []reportObserver
	eventObservers  []eventObserver

	ckMu    sync.Mutex // guards pending and shardLocks
	pending map[int64]*pendingCheckpoint
	// shardLocks serialize the uploads of one (step, rank) across
	// generations (shardlock.go).
	shardLocks map[shardKey]chan struct{}

	metrics    *metricsMirror // an observer of reports and events; the metrics are safe for concurrent use
	metricsSrv *telemetry.Server
	ln         net.Listener
	grpc       *grpc.Server
	ml         *membership.Membership
	ended      chan struct{}
	cancel     context.CancelFunc
	wg         sync.WaitGroup
	once       sync.Once
}

// Start opens the control plane and the memberlist node and starts the
// ticker. It returns once both listen.
func Start(cfg Config) (*Server, error) {
	if cfg.GRPCAddr == "" {
		cfg.GRPCAddr = "0.0.0.0:7070"
	}
	if cfg.GossipAddr == "" {
		cfg.GossipAddr = "0.0.0.0"
	}
	if cfg.Tick <= 0 {
		cfg.Tick = 100 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if err := cfg.Job.Validate(); err != nil {
		return nil, err
	}
	if cfg.TLS == nil && !cfg.Insecure {
		return nil, errors.New("coordinator: no TLS configuration for the control plane (Config.TLS), and plaintext was not asked for (Config.Insecure)")
	}
	if cfg.Job.Checkpoint.Enabled() && cfg.Checkpoints == nil {
		return nil, fmt.Errorf("coordinator: job %q asks for checkpoints (%s) but this coordinator has no checkpoint store: give it a checkpoint directory, or set the job's checkpoint triggers to 0",
			cfg.Job.Name, cfg.Job.Checkpoint.Triggers())
	}
	token, err := secret.ControlToken(cfg.Secret)
	if err != nil {
		return nil, fmt.Errorf("coordinator: %w", err)
	}
	s := &Server{cfg: cfg, log: cfg.Logger.With("component", "coordinator"), hash: job.Hash(cfg.JobBytes),
		start: time.Now(), ended: make(chan struct{})}
	settle := int(cfg.Job.Cluster.Settle / cfg.Tick)
	s.runKey = make([]byte, 32)
	if _, err := rand.Read(s.runKey); err != nil {
		return nil, fmt.Errorf("coordinator: run key: %w", err)
	}
	s.mu.core = NewCore(CoreConfig{WorldSize: cfg.Job.WorldSize, MaxWorkers: cfg.Job.Cluster.MaxWorkers, SettleTicks: settle,
		Elastic: cfg.Checkpoints != nil, GenerationBase: uint64(time.Now().UnixMilli()) << 8,
		MaxCheckpointFailures: cfg.Job.Checkpoint.MaxFailures})
	s.mu.changed = make(chan struct{})
	s.pending = map[int64]*pendingCheckpoint{}
	s.shardLocks = map[shardKey]chan struct{}{}
	s.workers, s.board, s.history, s.recovery = newRoster(), &board{}, &history{}, &recoveryClock{}
	s.streams = newPlanStreams()
	s.events, s.metrics = newEventLog(s.log), newMetricsMirror()
	s.anomalies = newDetectors(s.anomaly)
	s.reportObservers = []reportObserver{s.board, s.history, s.metrics, s.anomalies}
	s.eventObservers = []eventObserver{s.events, s.metrics, s.recovery}
	if cfg.RestoreStep > 0 {
		s.mu.core.Checkpointed(cfg.RestoreStep)
	}

	s.ln, err = listenControl(cfg.GRPCAddr, cfg.Job, s.log) // connlimits.go
	if err != nil {
		return nil, err
	}
	s.ml, err = membership.Start(membership.NodeSpec{Name: "coordinator-" + cfg.RunID, BindAddr: cfg.GossipAddr, BindPort: cfg.GossipPort,
		Secret: cfg.Secret, RunKey: s.runKey, ProbeInterval: cfg.Job.Cluster.ProbeInterval, SuspicionMult: cfg.Job.Cluster.SuspicionMult,
		Meta:   membership.Meta{Role: membership.RoleCoordinator, ID: cfg.RunID, GRPCAddr: s.ln.Addr().String(), Version: cfg.Version},
		Logger: cfg.Logger}.Config())
	if err != nil {
		s.ln.Close()
		return nil, fmt.Errorf("coordinator: %w", err) // membership's errors name it
	}
	if cfg.MetricsAddr != "" {
		if s.metricsSrv, err = telemetry.Serve(cfg.MetricsAddr, s.metrics.Registry, telemetry.Route{Pattern: "/", Handler: http.HandlerFunc(s.dashboard)}); err != nil {
			s.ml.Close()
			s.ln.Close()
			return nil, fmt.Errorf("coordinator: %w", err)
		}
	}
	opts := []grpc.ServerOption{grpc.ChainUnaryInterceptor(control.AuthUnary(token)), grpc.ChainStreamInterceptor(control.AuthStream(token)),
		// A connection that has not finished its TLS handshake in 10 s is
		// dropped (garbage or idle connections cannot pile up for long).
		grpc.ConnectionTimeout(10 * time.Second)}
	opts = append(opts, keepaliveOptions()...) // liveness.go
	if cfg.TLS != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(cfg.TLS)))
	}
	s.grpc = grpc.NewServer(opts...)
	pb.RegisterCoordinatorServer(s.grpc, s)
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.wg.Add(3)
	go func() { defer s.wg.Done(); s.grpc.Serve(s.ln) }()
	go func() { defer s.wg.Done(); s.tickLoop(ctx) }()
	go func() { defer s.wg.Done(); s.memberLoop(ctx) }()
	s.log.Info("coordinator listening", "grpc", s.Addr(), "gossip", s.ml.Addr(), "job", cfg.Job.Name, "hash", s.hash[:12])
	return s, nil
}

// Addr is the control-plane address workers join.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// MetricsAddr is the Prometheus endpoint's address ("" when disabled).
func (s *Server) MetricsAddr() string {
	if s.metricsSrv == nil {
		return ""
	}
	return s.metricsSrv.Addr()
}

// GossipAddr is the memberlist address.
func (s *Server) GossipAddr() string { return s.ml.Addr() }

// Wait blocks until the run has ended (done, failed or stopped), or ctx
// ends.
func (s *Server) Wait(ctx context.Context) (Result, error) {
	select {
	case <-s.ended:
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
	s.mu.Lock()
	phase, reason := s.mu.core.Phase(), s.mu.core.Reason()
	s.mu.Unlock()
	_, _, summary := s.board.latest() // recorded before the core hears of Done
	return Result{Phase: phase, Reason: reason, Summary: summary}, nil
}

// Stop ends a run that has not ended without failing it (Core.Stop):
// every worker is told STOP, and workers that go away afterwards are not
// logged as failures. Call it before stopping the workers of an
// interrupted run; Close calls it too.
func (s *Server) Stop(reason string) {
	s.update(func(c *Core) { c.Stop(reason) })
}

// Close stops the run if it has not ended (Stop), then the control plane
// (letting workers receive their STOP plans for up to grace), the
// memberlist node and the goroutines.
func (s *Server) Close(grace time.Duration) error {
	s.once.Do(func() {
		s.Stop("the coordinator is shutting down")
		done := make(chan struct{})
		go func() { s.grpc.GracefulStop(); close(done) }()
		select {
		case <-done:
		case <-time.After(grace):
			s.grpc.Stop()
			<-done
		}
		s.cancel()
		s.ml.Close()
		if s.metricsSrv != nil {
			s.metricsSrv.Close()
		}
		s.wg.Wait()
	})
	return nil
}

// update runs f on the core under the lock and publishes what changed: the
// core's events (to the eventObservers, in order), its state (to the
// metrics), a new version (to the WatchPlan streams) and the run's end.
func (s *Server) update(f func(c *Core)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.mu.core
	f(c)
	now := time.Now()
	for _, e := range c.TakeEvents() {
		s.publish(published{Event: e, Generation: c.Generation(), At: now})
	}
	s.metrics.observeCore(coreState{generation: c.Generation(), worldSize: c.WorldSize(), latest: c.Latest(), members: c.MemberCounts()})
	if v := c.Version(); v != s.mu.version {
		s.mu.version = v
		close(s.mu.changed)
		s.mu.changed = make(chan struct{})
	}
	if c.Ended() {
		select {
		case <-s.ended:
		default:
			close(s.ended)
		}
	}
}

// publish tells every eventObserver about e.
func (s *Server) publish(e published) {
	for _, o := range s.eventObservers {
		o.observeEvent(e)
	}
}

// record publishes an event of the Server's own (not a core decision) in
// the current generation.
func (s *Server) record(kind EventKind, message string) {
	s.publish(published{Event: Event{Kind: kind, Message: message}, Generation: s.generation(), At: time.Now()})
}

// generation is the core's current generation.
func (s *Server) generation() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.core.Generation()
}

func (s *Server) tickLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.Tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.update(func(c *Core) { c.Tick() })
		}
	}
}

// memberLoop hands memberlist's failures and departures of workers to
// gossipVerdict (liveness.go), which acts on them only for a worker without
// an open control stream.
func (s *Server) memberLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-s.ml.Events():
			if !ok {
				return
			}
			if ev.Node.Meta.Role != membership.RoleWorker {
				continue
			}
			if ev.Kind == membership.EventFail || ev.Kind == membership.EventLeave {
				s.gossipVerdict(ev)
			}
		}
	}
}

// failWorker records a worker's failure in the core and tells the anomaly
// detectors once per failure (several signals often report the same one).
func (s *Server) failWorker(id, reason string) {
	var addr string // set when this call failed the worker
	s.update(func(c *Core) {
		before, ok := c.Member(id)
		c.Fail(id, reason)
		if after, _ := c.Member(id); ok && before.State != StateFailed && before.State != StateLeft && after.State == StateFailed {
			addr = after.DataAddr
		}
	})
	if addr != "" {
		s.anomalies.failed(id, addr)
	}
}

func hostnameOr(h string) string {
	if h != "" {
		return h
	}
	if n, err := os.Hostname(); err == nil {
		return n
	}
	return "unknown"
}

var errNotJoined = errors.New("unknown worker id: join first")
