package serve

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Options configure a Server. Zero values take the defaults below.
type Options struct {
	// Name is the model's name in the /v2/models/{name} paths.
	Name string
	// MaxBatch is the most instances per forward pass (default 32).
	MaxBatch int
	// MaxDelay is the longest the batcher waits for a batch to fill
	// (default 2ms). It waits only while other requests are being received
	// (their body read, not yet queued): a lone request runs at once.
	MaxDelay time.Duration
	// Queue is the most requests waiting for the batcher; more are
	// answered 429 (default 256).
	Queue int
	// Timeout is each request's deadline (default 5s): one still queued
	// then is answered 504 and not computed.
	Timeout time.Duration
	// MaxBody bounds a request body in bytes (default 8 MiB; 413 beyond).
	MaxBody int64
	// WatchInterval is how often a followed checkpoint directory's LATEST
	// is read (default 1s).
	WatchInterval time.Duration
	// InputScale > 0 overrides the export's input_scale.
	InputScale float64
	// Log receives the server's events (default slog.Default()).
	Log *slog.Logger
	// LogInterval is the least time between two log lines about abnormal
	// requests of one kind (default 1s).
	LogInterval time.Duration
	// Token, if not empty, is the bearer token every request but the
	// health probes must carry (auth.go; at least MinTokenLen bytes).
	Token []byte
	// TLS, if not nil, serves HTTPS with it (TLSConfig).
	TLS *tls.Config
	// SampleInterval is how often the status page's history is sampled
	// (default 1s; page.go).
	SampleInterval time.Duration
	// OODSamples are raw training inputs (rows of the model's input size)
	// to calibrate the out-of-distribution score on, for a model whose
	// metadata has no ood_threshold (ood.go); nil: none.
	OODSamples []float32
}

func (o Options) withDefaults() Options {
	if o.MaxBatch <= 0 {
		o.MaxBatch = 32
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = 2 * time.Millisecond
	}
	if o.Queue <= 0 {
		o.Queue = 256
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	if o.MaxBody <= 0 {
		o.MaxBody = 8 << 20
	}
	if o.WatchInterval <= 0 {
		o.WatchInterval = time.Second
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.LogInterval <= 0 {
		o.LogInterval = time.Second
	}
	if o.Name == "" {
		o.Name = "model"
	}
	if o.SampleInterval <= 0 {
		o.SampleInterval = time.Second
	}
	return o
}

// Server serves one model over HTTP. Build it with New, run it with Serve.
type Server struct {
	opts  Options
	src   Source
	info  atomic.Pointer[Info]
	ready atomic.Bool
	met   *metrics
	ab    *abnormalLog
	b     *batcher
	mux   *http.ServeMux
	// ood scores instances of the version being served (nil: no score).
	ood atomic.Pointer[oodScorer]
	// hist is the status page's history, sampled by a goroutine that
	// stopHist stops.
	hist     *history
	stopHist func()
}

// New loads src's model and starts the batcher. Call Serve, which stops
// it, or Close if Serve is never called.
func New(src Source, opts Options) (*Server, error) {
	opts = opts.withDefaults()
	if len(opts.Token) > 0 && len(opts.Token) < MinTokenLen {
		return nil, fmt.Errorf("serve: the bearer token has %d bytes, want at least %d", len(opts.Token), MinTokenLen)
	}
	snap, err := src.Load()
	if err != nil {
		return nil, err
	}
	p, err := NewPredictor(snap, opts.InputScale)
	if err != nil {
		return nil, err
	}
	if err := p.Warm(opts.MaxBatch); err != nil {
		p.Close()
		return nil, err
	}
	s := &Server{opts: opts, src: src}
	ood, err := s.scorerFor(snap, p)
	if err != nil {
		p.Close()
		return nil, err
	}
	s.ood.Store(ood)
	s.info.Store(p.info)
	var queueLen, receiving func() float64
	s.met = newMetrics(func() float64 { return queueLen() }, func() float64 { return receiving() })
	s.met.version.Set(float64(p.info.Version))
	s.ab = newAbnormalLog(opts.Log, s.met, opts.LogInterval)
	s.b = newBatcher(p, opts.Queue, opts.MaxBatch, opts.MaxDelay, s.met, opts.Log)
	queueLen = func() float64 { return float64(len(s.b.queue)) }
	receiving = func() float64 { return float64(s.b.receiving.Load()) }
	s.mux = s.routes()
	s.hist = newHistory(time.Now(), p.info.Version)
	s.stopHist = s.sampleHistory(opts.SampleInterval)
	s.ready.Store(true)
	return s, nil
}

// Registry is the server's Prometheus registry (served at /metrics).
func (s *Server) Registry() *prometheus.Registry { return s.met.reg }

// Info describes the model being served now.
func (s *Server) Info() *Info { return s.info.Load() }

// Handler is the server's HTTP handler (with the token check when
// Options.Token is set).
func (s *Server) Handler() http.Handler {
	if len(s.opts.Token) > 0 {
		return s.requireToken(s.mux)
	}
	return s.mux
}

// Close stops the batcher after it answered what is queued (for a Server
// whose Serve was not called).
func (s *Server) Close() {
	s.ready.Store(false)
	s.b.drain()
	<-s.b.exited
	s.stopHist()
}

// Serve answers requests on ln until ctx ends, following the source's
// LATEST if it Follows; then it drains: /v2/health/ready turns false, new
// requests get 503, the requests in flight and queued are answered, and
// Serve returns (nil after a clean drain).
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.Handler(),
		TLSConfig:         s.opts.TLS,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       s.opts.Timeout + 5*time.Second,
		WriteTimeout:      s.opts.Timeout + 5*time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.opts.Log.Handler(), slog.LevelDebug),
	}
	var wg sync.WaitGroup
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	if s.src.Follows() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.watch(watchCtx)
		}()
	}
	errc := make(chan error, 1)
	go func() {
		if s.opts.TLS != nil {
			errc <- srv.ServeTLS(ln, "", "") // the certificate is in TLSConfig
			return
		}
		errc <- srv.Serve(ln)
	}()
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	s.opts.Log.Info("draining", "model", s.opts.Name)
	s.ready.Store(false)
	stopWatch()
	wg.Wait()
	// Handlers already running finish (their requests are queued or being
	// computed); Shutdown waits for them while refusing new connections.
	shutCtx, cancel := context.WithTimeout(context.Background(), s.opts.Timeout+5*time.Second)
	defer cancel()
	shutErr := srv.Shutdown(shutCtx)
	s.b.drain()
	<-s.b.exited
	s.stopHist()
	if serveErr == nil {
		serveErr = <-errc
	}
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	if err := errors.Join(serveErr, shutErr); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// watch polls LATEST and swaps in each newly committed checkpoint. Each
// new content of LATEST is acted on once: a checkpoint that fails to load
// is logged and counted, and the next commit is tried afresh.
func (s *Server) watch(ctx context.Context) {
	t := time.NewTicker(s.opts.WatchInterval)
	defer t.Stop()
	seen := s.info.Load().Version
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		step, err := s.src.LatestStep()
		if err != nil || step == seen {
			continue
		}
		seen = step
		cur := s.info.Load()
		if err := s.reload(ctx, step); err != nil {
			s.met.reloads.WithLabelValues("error").Inc()
			s.hist.reloaded(time.Now(), step, err)
			s.opts.Log.Error("loading a new checkpoint failed; still serving the old one", "latest", step, "serving", cur.Version, "err", err)
		}
	}
}

// reload loads the checkpoint LATEST names (step, as last read) in this
// goroutine and hands it to the batcher.
func (s *Server) reload(ctx context.Context, step int64) error {
	snap, err := s.src.Load()
	if err != nil {
		return err
	}
	cur := s.info.Load()
	if snap.Step == cur.Version {
		return nil
	}
	p, err := NewPredictor(snap, s.opts.InputScale)
	if err != nil {
		return err
	}
	if err := p.Warm(s.opts.MaxBatch); err != nil {
		p.Close()
		return err
	}
	ni := p.info
	if ni.InputSize() != cur.InputSize() || ni.Classes() != cur.Classes() {
		p.Close()
		return fmt.Errorf("step %d takes %d inputs and gives %d classes, the served model %d and %d: restart the server to change the model's shape",
			snap.Step, ni.InputSize(), ni.Classes(), cur.InputSize(), cur.Classes())
	}
	ood, err := s.scorerFor(snap, p)
	if err != nil {
		p.Close()
		return err
	}
	if !s.b.swap(ctx, p) {
		p.Close()
		return nil
	}
	s.ood.Store(ood)
	s.info.Store(ni)
	s.hist.reloaded(time.Now(), ni.Version, nil)
	s.met.reloads.WithLabelValues("ok").Inc()
	s.opts.Log.Info("serving a new checkpoint", "step", ni.Version, "previous", cur.Version, "latest", step)
	return nil
}

func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v2/health/live", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]bool{"live": true})
	})
	mux.HandleFunc("GET /v2/health/ready", s.handleReady)
	mux.HandleFunc("GET /v2/models/{name}/ready", s.withModel(s.handleReady))
	mux.HandleFunc("GET /v2", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"name": "ringtrain", "version": "v2", "extensions": []string{}})
	})
	mux.HandleFunc("GET /v2/models/{name}", s.withModel(s.handleMetadata))
	mux.HandleFunc("POST /v2/models/{name}/infer", s.withModel(s.handleInfer))
	mux.HandleFunc("GET /v2/models/{name}/versions/{version}", s.withModel(s.handleMetadata))
	mux.HandleFunc("GET /v2/models/{name}/versions/{version}/ready", s.withModel(s.handleReady))
	mux.HandleFunc("POST /v2/models/{name}/versions/{version}/infer", s.withModel(s.handleInfer))
	mux.HandleFunc("POST /predict", s.handlePredict)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.met.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /{$}", s.handlePage)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no route %s %s", r.Method, r.URL.Path))
	})
	return mux
}

func (s *Server) withModel(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if name := r.PathValue("name"); name != s.opts.Name {
			writeError(w, http.StatusNotFound, fmt.Sprintf("no model %q (this server serves %q)", name, s.opts.Name))
			return
		}
		// A version in the path must be the one served (the step; it
		// changes as a followed directory commits checkpoints).
		if v := r.PathValue("version"); v != "" && v != strconv.FormatInt(s.Info().Version, 10) {
			writeError(w, http.StatusNotFound, fmt.Sprintf("model %q has no version %q (serving step %d)", s.opts.Name, v, s.Info().Version))
			return
		}
		h(w, r)
	}
}

func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	if !s.ready.Load() {
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusServiceUnavailable, map[string]bool{"ready": false})
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ready": true})
}
