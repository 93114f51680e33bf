package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ringtrain/ringtrain/internal/connlimit"
)

// Server serves a registry at /metrics.
type Server struct {
	ln  *connlimit.Listener
	srv *http.Server
	wg  sync.WaitGroup
}

// HTTPLimits bound what the clients of a Server can hold: the endpoint is
// unauthenticated, so a client that opens connections and leaves them quiet
// must not exhaust the process's file descriptors.
type HTTPLimits struct {
	// Conns bounds the connections held at once, in all and from one IP
	// address; extras are closed as they arrive.
	Conns connlimit.Limits
	// ReadHeader is the time to send a request's headers, Read the whole
	// request, Write the response; Idle is how long a kept-alive
	// connection may wait for its next request.
	ReadHeader, Read, Write, Idle time.Duration
}

// DefaultHTTPLimits are Serve's: 64 connections, 16 from one IP address (a
// Prometheus server and a browser on the dashboard need a few), 5 s for
// the headers, 10 s for a request, 30 s for a response, 10 s idle (the
// dashboard reloads every 2 s and keeps its connection).
func DefaultHTTPLimits() HTTPLimits {
	return HTTPLimits{Conns: connlimit.Limits{Total: 64, PerHost: 16},
		ReadHeader: 5 * time.Second, Read: 10 * time.Second, Write: 30 * time.Second, Idle: 10 * time.Second}
}

// Serve listens on addr ("127.0.0.1:0" picks a port) and serves reg at
// /metrics, plus any extra handlers by path, within DefaultHTTPLimits;
// refused connections are logged to slog.Default().
func Serve(addr string, reg *prometheus.Registry, extra ...Route) (*Server, error) {
	return ServeWithin(addr, DefaultHTTPLimits(), nil, reg, extra...)
}

// ServeWithin is Serve within lim, logging refused connections to log (nil:
// slog.Default()).
func ServeWithin(addr string, lim HTTPLimits, log *slog.Logger, reg *prometheus.Registry, extra ...Route) (*Server, error) {
	if lim.ReadHeader <= 0 || lim.Read <= 0 || lim.Write <= 0 || lim.Idle <= 0 {
		return nil, fmt.Errorf("metrics: every HTTP timeout must be positive, got %+v", lim)
	}
	if log == nil {
		log = slog.Default()
	}
	gate, err := connlimit.NewGate("metrics", lim.Conns, log)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: listen on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	for _, r := range extra {
		mux.Handle(r.Pattern, r.Handler)
	}
	s := &Server{ln: connlimit.Wrap(ln, gate), srv: &http.Server{Handler: mux,
		ReadHeaderTimeout: lim.ReadHeader, ReadTimeout: lim.Read, WriteTimeout: lim.Write, IdleTimeout: lim.Idle,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = err // Close reports nothing more useful
		}
	}()
	return s, nil
}

// Addr is the address the endpoint listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the server and waits for its goroutine.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = s.srv.Close() // a response still being written after 2 s
	}
	s.wg.Wait()
	return err
}

// Route is an extra handler for Serve.
type Route struct {
	Pattern string
	Handler http.Handler
}
