package worker

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"

	"github.com/ringtrain/ringtrain/allreduce"
	"github.com/ringtrain/ringtrain/control"
	"github.com/ringtrain/ringtrain/internal/secret"
	"github.com/ringtrain/ringtrain/job"
	"github.com/ringtrain/ringtrain/membership"
	"github.com/ringtrain/ringtrain/model/device"
	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
	"github.com/ringtrain/ringtrain/telemetry"
	"github.com/ringtrain/ringtrain/transport/tcp"
)

// Config configures a worker process.
type Config struct {
	// Join is the coordinator's control-plane address (host:port).
	Join string
	// DataAddr is where the data plane listens. Default "0.0.0.0:0".
	DataAddr string
	// GossipAddr and GossipPort: memberlist bind. Defaults "0.0.0.0", 0.
	GossipAddr string
	GossipPort int
	// AdvertiseHost is the host peers use to reach this worker's data port
	// and gossip; default: the local address this machine uses to reach the
	// coordinator.
	AdvertiseHost string
	// Secret is the cluster secret.
	Secret []byte
	// TLS is the control-plane client configuration (pki.Bundle's
	// ClientConfig: mutual TLS). Without it Run refuses unless Insecure says
	// that plaintext gRPC is meant.
	TLS      *tls.Config
	Insecure bool
	// Version of this binary; must equal the coordinator's.
	Version string
	// JobHash, if set, must equal the coordinator's job.
	JobHash string
	// JoinTimeout bounds how long to keep trying to reach the coordinator.
	// Default 60 s.
	JoinTimeout time.Duration
	// MetricsAddr is where the Prometheus endpoint listens; "" uses the
	// advertised host with any free port; "off" disables it.
	MetricsAddr string
	// Device is where this worker computes ("cpu", "emu", "gpu", "gpu:N");
	// "" follows the job's model.device.
	Device string
	// LeaveAtStep > 0: leave the run (exit cleanly) once every rank has
	// completed that step: right after this rank's reduce-scatter of the
	// next one, which every rank took part in. A planned scale-down at an
	// exact step; the survivors go on from its replica.
	LeaveAtStep int
	Logger      *slog.Logger
}

// ErrRunFailed: the coordinator ended the run with a failure.
var ErrRunFailed = errors.New("worker: the run failed")

// Run is the worker process: it returns nil when the run completes.
func Run(ctx context.Context, cfg Config) error {
	if cfg.DataAddr == "" {
		cfg.DataAddr = "0.0.0.0:0"
	}
	if cfg.GossipAddr == "" {
		cfg.GossipAddr = "0.0.0.0"
	}
	if cfg.JoinTimeout <= 0 {
		cfg.JoinTimeout = 60 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	log := cfg.Logger.With("component", "worker")
	if cfg.TLS == nil && !cfg.Insecure {
		return errors.New("worker: no TLS configuration for the control plane (Config.TLS), and plaintext was not asked for (Config.Insecure)")
	}
	token, err := secret.ControlToken(cfg.Secret)
	if err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	host := cfg.AdvertiseHost
	if host == "" {
		if host, err = localHostFor(cfg.Join); err != nil {
			return err
		}
	} else if host, err = resolveHost(ctx, host); err != nil {
		return err
	}
	tcfg := tcp.DefaultConfig(cfg.Secret)
	tcfg.Logger = cfg.Logger
	// The collectives run under the computation (worker/overlap.go): a
	// receive that spins while it waits for a peer's next bucket would take
	// the CPU from this rank's own forward and backward. Park at once.
	tcfg.ReadSpin = 0
	ln, err := tcp.Listen(cfg.DataAddr, tcfg)
	if err != nil {
		return err
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr())
	dataAddr := net.JoinHostPort(host, port)

	opts := []grpc.DialOption{keepaliveOption()}
	if cfg.AdvertiseHost != "" {
		// Reach the coordinator from the advertised address too, so that all
		// of this worker's traffic leaves from one address (multi-homed hosts).
		if ip := net.ParseIP(host); ip != nil {
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}}
			opts = append(opts, grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
				return d.DialContext(ctx, "tcp", addr)
			}))
		}
	}
	client, err := control.Dial(cfg.Join, cfg.TLS, token, opts...)
	if err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	defer client.Close()
	if cfg.Device != "" {
		if err := job.CheckDevice(cfg.Device); err != nil {
			return fmt.Errorf("worker: --device: %w", err)
		}
	}
	w := &process{cfg: cfg, log: log, client: client, ln: ln, host: host, dataAddr: dataAddr,
		metrics: telemetry.NewWorker()}
	if cfg.MetricsAddr != "off" {
		addr := cfg.MetricsAddr
		if addr == "" {
			addr = net.JoinHostPort(host, "0")
		}
		ms, err := telemetry.Serve(addr, w.metrics.Registry)
		if err != nil {
			return err
		}
		defer ms.Close()
		w.metricsAddr = ms.Addr()
	}
	defer w.closeDevice()
	var lost error // why the last session lost the coordinator
	for {
		err := w.session(ctx)
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, errLeft):
			log.Info("left the run", "reason", err)
			return nil
		case errors.Is(err, errRejoin), errors.Is(err, errCoordinatorLost):
			lost = nil
			if errors.Is(err, errCoordinatorLost) {
				lost = err
			}
			log.Warn("joining again as a new member", "reason", err)
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(200 * time.Millisecond):
			}
		default:
			return gaveUp(lost, err, cfg.JoinTimeout)
		}
	}
}

var (
	// errRejoin: the coordinator removed this worker (it was declared
	// failed, e.g. while it was stopped or cut off); it joins again.
	errRejoin = errors.New("removed from the run")
	// errCoordinatorLost: the plan stream broke; the coordinator may be
	// restarting. The worker joins again (Join retries for JoinTimeout).
	errCoordinatorLost = errors.New("lost the coordinator")
	// errLeft: the worker left the run as asked (Config.LeaveAtStep).
	errLeft = errors.New("left the run")
)

// deviceName names the device for status: "cpu" or the device's own name.
func (w *process) deviceName() string {
	if w.dev == nil {
		return "cpu"
	}
	return w.dev.Name()
}

// closeDevice releases the device at the worker's end.
func (w *process) closeDevice() {
	if w.dev != nil {
		if err := w.dev.Close(); err != nil {
			w.log.Warn("closing the device", "device", w.dev.Name(), "err", err)
		}
	}
}

// process is the worker across its sessions (one per membership).
type process struct {
	cfg         Config
	log         *slog.Logger
	client      Control
	ln          *tcp.Listener
	host        string
	dataAddr    string
	metrics     *telemetry.Worker
	metricsAddr string
	// The device, opened once the first job is known (nil: the CPU).
	dev       device.Device
	devOpened bool
	// Cached across sessions of the same job.
	jobHash string
	corpus  *Corpus
}

// session is one membership: join, gossip, follow plans until STOP, removal
// or the coordinator's loss.
func (w *process) session(ctx context.Context) error {
	cfg := w.cfg
	hostname, _ := os.Hostname()
	devName := cfg.Device
	if w.devOpened {
		devName = w.deviceName()
	}
	joined, err := w.client.Join(ctx, &pb.JoinRequest{Version: cfg.Version, DataAddr: w.dataAddr, Hostname: hostname,
		JobHash: cfg.JobHash, MetricsAddr: w.metricsAddr, Device: devName}, cfg.JoinTimeout)
	if err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	log := w.log.With("worker", joined.WorkerId)
	client := w.client
	// From here on, a setup failure is told to the coordinator, which ends
	// the run with this reason instead of discovering a silent exit.
	fail := func(err error) error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		client.Report(ctx, &pb.ReportRequest{WorkerId: joined.WorkerId, Body: &pb.ReportRequest_Failure{Failure: err.Error()}})
		return err
	}
	if w.jobHash != "" && joined.JobHash != w.jobHash {
		return fail(fmt.Errorf("worker: the coordinator now runs another job (%.12s, was %.12s)", joined.JobHash, w.jobHash))
	}
	spec, err := job.Parse(joined.JobSpec)
	if err != nil {
		return fail(fmt.Errorf("worker: the coordinator's job: %w", err))
	}
	// The data plane's handshakes and the gossip key need the key the
	// coordinator hands to the workers it admitted (its per-run key),
	// besides the secret.
	if len(joined.DataKey) < 16 {
		return fail(fmt.Errorf("worker: the coordinator sent a data-plane key of %d bytes, want at least 16", len(joined.DataKey)))
	}
	if err := w.ln.SetSessionKey(joined.DataKey); err != nil {
		return fail(fmt.Errorf("worker: %w", err))
	}
	log.Info("joined", "coordinator", cfg.Join, "data", w.dataAddr, "job", spec.Name, "run", joined.RunId)

	ml, err := membership.Start(membership.NodeSpec{Name: joined.WorkerId, BindAddr: cfg.GossipAddr, BindPort: cfg.GossipPort, AdvertiseAddr: w.host,
		Secret: cfg.Secret, RunKey: joined.DataKey, ProbeInterval: spec.Cluster.ProbeInterval, SuspicionMult: spec.Cluster.SuspicionMult,
		Meta:   membership.Meta{Role: membership.RoleWorker, ID: joined.WorkerId, DataAddr: w.dataAddr, Version: cfg.Version},
		Logger: cfg.Logger}.Config())
	if err != nil {
		return fail(fmt.Errorf("worker: %w", err)) // membership's errors name it
	}
	defer ml.Close()
	jctx, jcancel := context.WithTimeout(ctx, 30*time.Second)
	_, err = ml.Join(jctx, []string{joined.GossipSeed})
	jcancel()
	if err != nil {
		// This worker cannot gossip (cut off?): not the job's fault. Try again
		// as a new member rather than failing the run.
		return fmt.Errorf("%w: join gossip at %s: %v", errCoordinatorLost, joined.GossipSeed, err)
	}

	if w.corpus == nil {
		if w.corpus, err = LoadDataWith(spec, LoadOptions{Ctx: ctx, Logger: log}); err != nil {
			return fail(err)
		}
		logPreprocessing(log, spec, w.corpus)
		w.jobHash = joined.JobHash
	}
	if !w.devOpened {
		if w.dev, err = openDevice(deviceChoice(cfg.Device, spec)); err != nil {
			return fail(err)
		}
		w.devOpened = true
		log.Info("device", "device", w.deviceName())
	}
	rep := newReporter(client, joined.WorkerId, log)
	grace := 5 * time.Second // for the queued reports when the session ends
	defer func() { rep.close(grace) }()

	// The session ends when the plan stream breaks or gossip declares the
	// coordinator dead (liveness.go), whichever comes first.
	sctx, cancel := context.WithCancelCause(ctx)
	var watch sync.WaitGroup
	watch.Go(func() { watchCoordinator(sctx, ml.Events(), joined.RunId, cfg.Join, cancel) })
	defer func() { cancel(nil); watch.Wait() }()
	stream, err := client.WatchPlan(sctx, joined.WorkerId)
	if err != nil {
		grace = 0
		return fmt.Errorf("%w %s: control stream refused (%s)", errCoordinatorLost, cfg.Join, rpcText(err))
	}
	g := &generations{ln: w.ln, spec: spec, corpus: w.corpus, dev: w.dev, rep: rep, log: log, client: client, id: joined.WorkerId,
		metrics: w.metrics, live: newLiveState(), leaveAt: cfg.LeaveAtStep,
		leave: func(step int) { cancel(fmt.Errorf("%w after step %d (--leave-at-step)", errLeft, step)) }}
	defer g.live.close() // after g.stop: no generation uses it any more
	defer g.stop()
	for {
		plan, err := stream.Recv()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if cause := context.Cause(sctx); errors.Is(cause, errLeft) {
				return cause
			}
			grace = 0 // nobody to deliver them to
			if cause := context.Cause(sctx); errors.Is(cause, errCoordinatorLost) {
				return cause
			}
			return fmt.Errorf("%w %s: %s", errCoordinatorLost, cfg.Join, streamBreak(err))
		}
		switch plan.Action {
		case pb.Plan_ACTION_RUN:
			g.start(sctx, plan)
		case pb.Plan_ACTION_WAIT:
			g.stop()
			log.Info("waiting", "reason", plan.Reason)
		case pb.Plan_ACTION_STOP:
			g.stop()
			switch {
			case plan.Rejoin:
				return fmt.Errorf("%w: %s", errRejoin, plan.Reason)
			case plan.Failed:
				return fmt.Errorf("%w: %s", ErrRunFailed, plan.Reason)
			}
			log.Info("run complete", "reason", plan.Reason)
			return nil
		}
	}
}

// localHostFor returns the local IP this machine uses to reach addr (no
// packet is sent: a UDP "connection" only picks the route).
// resolveHost turns an advertised host name into the IP address peers and
// the gossip use (memberlist advertises IPs): the first non-loopback IPv4
// address of the name, else its first address.
func resolveHost(ctx context.Context, host string) (string, error) {
	if net.ParseIP(host) != nil {
		return host, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil || len(addrs) == 0 {
		return "", fmt.Errorf("worker: --advertise-host %q: %w", host, errors.Join(err, errors.New("no address")))
	}
	for _, a := range addrs {
		if a.IP.To4() != nil && !a.IP.IsLoopback() {
			return a.IP.String(), nil
		}
	}
	return addrs[0].IP.String(), nil
}

func localHostFor(addr string) (string, error) {
	c, err := net.Dial("udp", addr)
	if err != nil {
		return "", fmt.Errorf("worker: route to coordinator %q: %w (set --advertise-host)", addr, err)
	}
	defer c.Close()
	h, _, err := net.SplitHostPort(c.LocalAddr().String())
	return h, err
}

// generations runs at most one generation at a time.
type generations struct {
	ln      *tcp.Listener
	spec    job.Spec
	corpus  *Corpus
	dev     device.Device // nil: the CPU
	rep     *reporter
	log     *slog.Logger
	client  Control
	id      string
	metrics *telemetry.Worker
	cancel  context.CancelFunc
	done    chan struct{}
	current uint64
	// live is this session's unique training state, kept across its
	// generations (cluster.replicate_every); a new session (a rejoin, a
	// restarted coordinator) starts without.
	live *liveState
	// leaveAt > 0: leave the run after that step (Config.LeaveAtStep), by
	// calling leave, which ends the session.
	leaveAt int
	leave   func(step int)
}

func (g *generations) stop() {
	if g.cancel == nil {
		return
	}
	g.cancel()
	<-g.done
	g.cancel = nil
}

func (g *generations) start(ctx context.Context, plan *pb.Plan) {
	if g.cancel != nil && plan.Generation == g.current {
		return
	}
	g.stop()
	ctx, cancel := context.WithCancel(ctx)
	g.cancel, g.done, g.current = cancel, make(chan struct{}), plan.Generation
	go func() {
		defer close(g.done)
		err := g.run(ctx, plan)
		if errors.Is(err, errLeaving) {
			g.log.Info("leaving the run: every rank completed the step", "step", g.leaveAt)
			g.leave(g.leaveAt)
			return
		}
		if err != nil && ctx.Err() == nil {
			g.ended(ctx, plan, err) // ending.go
		}
	}()
}

func (g *generations) run(ctx context.Context, plan *pb.Plan) error {
	rank, world := int(plan.Rank), int(plan.WorldSize)
	peers := map[int]string{}
	for _, p := range allreduce.Peers(rank, world) {
		a, ok := plan.Peers[int32(p)]
		if !ok {
			return fmt.Errorf("plan for generation %d lacks the address of rank %d", plan.Generation, p)
		}
		peers[p] = a
	}
	g.log.Info("generation starting", "generation", plan.Generation, "rank", rank, "world", world)
	link := tcp.Link{Bandwidth: g.spec.Cluster.LinkMbps * 1e6 / 8, Latency: g.spec.Cluster.LinkLatency}
	t, err := g.ln.Connect(ctx, tcp.Spec{Generation: plan.Generation, Rank: rank, Size: world, Peers: peers,
		IOTimeout: g.spec.Cluster.StepTimeout, Link: link, PayloadChecksum: g.spec.Cluster.FrameChecksum})
	if err != nil {
		return err
	}
	rt, err := g.links(ctx, t, rank)
	if err != nil {
		t.Close()
		return err
	}
	defer rt.Close()
	acfg, err := commConfig(g.spec)
	if err != nil {
		return err
	}
	comm, err := allreduce.New(rt, acfg)
	if err != nil {
		return err
	}
	defer comm.Close()
	stopAbort := context.AfterFunc(ctx, comm.Abort)
	defer stopAbort()
	tr, err := NewTrainerOn(g.spec, g.corpus, comm, g.dev)
	if err != nil {
		return err
	}
	defer tr.Close()
	from, err := g.restoreState(ctx, plan, comm, tr)
	if err != nil {
		return err
	}
	tr.SetLive(g.live, plan.Generation)
	tr.leaveAt = g.leaveAt
	tr.sharedPeer = rt.Shared
	if err := tr.replicateNow(ctx); err != nil {
		return err
	}
	if sh := tr.share; sh.why != "" {
		g.log.Warn("a live-state arena is not shared with a ring neighbour on this host: that replica is streamed", "rank", rank, "why", sh.why)
	}
	if b := g.live.bytes(); b > 0 {
		g.metrics.LiveBytes.Set(float64(b))
		g.log.Info("live state replicated", "step", tr.Steps(), "every", g.spec.Cluster.ReplicateEvery, "bytes", b, "replicas", tr.share.mode(world))
	}
	g.rep.setGeneration(plan.Generation, rank)
	if plan.RecoverLive || plan.RestoreStep > 0 {
		g.rep.setRestored(from.proto())
	}
	rep := attach(tr, g.metrics, g.rep, g.spec.Trace, workerNumber(g.id))
	g.metrics.Generation.Set(float64(plan.Generation))
	start := time.Now()
	tr.onFirstStep = func() {
		g.log.Info("first step of generation", "generation", plan.Generation, "rank", rank, "step", tr.Steps(), "since_plan", time.Since(start).String())
	}
	up := &uploader{client: g.client, log: g.log, id: g.id, gen: plan.Generation, rank: rank, world: world}
	defer up.Flush(ctx)
	sum, err := tr.Run(ctx, rep, up)
	rep.flushTrace() // the spans after the last progress report, before done
	if err != nil {
		return err
	}
	if rank == 0 {
		g.rep.done(summaryProto(sum))
	}
	g.log.Info("generation finished", "generation", plan.Generation, "steps", sum.Steps, "test_accuracy", sum.TestAccuracy)
	return nil
}

// workerNumber is the sequence number in a worker id ("w12-host" → 12),
// the trace's process id.
func workerNumber(id string) int {
	n := 0
	for _, c := range strings.TrimPrefix(id, "w") {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int(c-'0')
	}
	return n
}
