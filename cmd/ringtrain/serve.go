package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ringtrain/ringtrain/checkpoint"
	"github.com/ringtrain/ringtrain/serve"
)

// serveFlags are the settings of ringtrain serve.
type serveFlags struct {
	addr       string
	name       string
	step       int64
	inputScale float64
	opts       serve.Options
	// TLS files and the bearer token's file (security).
	tlsCert, tlsKey, tlsClientCA string
	tokenFile                    string
}

func newServeCmd(g *globals) *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve MODEL_FILE|RUN_DIR [--addr :8080] [--name NAME]",
		Short: "Answer prediction requests over HTTP with a trained classifier (KServe v2 protocol, /predict, /metrics)",
		Long: `Serve a classifier (model.kind mlp, cnn or layers) from a file written by "ringtrain checkpoint export", a
run directory (its checkpoints/) or a checkpoint directory. Served from a directory, it follows LATEST: each
newly committed checkpoint is loaded in the background and swapped in between two batches, without failing a
request in flight. Endpoints: the KServe v2 / Triton open inference protocol (GET /v2/health/live,
/v2/health/ready, /v2/models/NAME, POST /v2/models/NAME/infer: one FP32 input [N, ...], outputs logits,
probabilities and class, and ood_score when asked for), POST /predict {"instances": [[...], ...]}, Prometheus
metrics at /metrics and a status page at /.
Inputs are raw: the export's input_scale (1/255 for IDX images; a run directory's job.yaml says the same) and
its input_normalization (the job's data.normalize) are applied by the server. Concurrent requests are batched (--max-batch): the batcher takes a request and what is
queued behind it, and waits (at most --max-delay) only while other requests are still being received, so a
lone request is computed at once. A full queue answers 429 with Retry-After, a request still queued at its
deadline (--timeout) 504. SIGTERM or Ctrl-C drains: readiness turns false, new requests get 503, queued ones are
answered, then it exits.
Security: --tls-cert and --tls-key serve HTTPS (make them with ringtrain certs issue --server --hosts HOST;
--tls-client-ca requires client certificates); a bearer token from --token-file or the environment variable
RINGTRAIN_SERVE_TOKEN is then required by every endpoint but /v2/health/live and /v2/health/ready
(docs/security.md, "Serving").`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.validate(); err != nil {
				return err
			}
			src, err := loadSource(g, args[0], f.step)
			if err != nil {
				return err
			}
			opts := f.opts
			if opts.TLS, opts.Token, err = f.security(); err != nil {
				return err
			}
			opts.OODSamples = servingSamples(g, args[0], f.step)
			opts.Name = f.name
			if opts.Name == "" {
				opts.Name = modelName(args[0])
			}
			opts.InputScale = f.inputScale
			opts.Log = g.logger()
			srv, err := serve.New(src, opts)
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", f.addr)
			if err != nil {
				srv.Close()
				return err
			}
			info := srv.Info()
			scheme, auth := "http", ""
			if opts.TLS != nil {
				scheme = "https"
			}
			if opts.Token != nil {
				auth = " (bearer token required)"
				if opts.TLS == nil {
					fmt.Fprintln(g.stderr, "warning: a bearer token without TLS crosses the network in the clear: add --tls-cert and --tls-key unless a proxy terminates TLS on this host")
				}
			}
			fmt.Fprintf(g.stderr, "serving %s (%s, step %d) on %s://%s/v2/models/%s%s\n", opts.Name, info.Spec.Kind, info.Version, scheme, ln.Addr(), opts.Name, auth)
			return srv.Serve(cmd.Context(), ln)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.addr, "addr", ":8080", "HTTP listen address")
	fl.StringVar(&f.name, "name", "", "the model's name in /v2/models/NAME (default: the file's or directory's base name)")
	fl.Int64Var(&f.step, "step", 0, "serve this checkpoint step and do not follow LATEST (default: the latest, followed)")
	fl.Float64Var(&f.inputScale, "input-scale", 0, "multiply raw inputs by this before the model (default: the export's input_scale, else 1)")
	fl.IntVar(&f.opts.MaxBatch, "max-batch", 32, "most instances per forward pass")
	fl.DurationVar(&f.opts.MaxDelay, "max-delay", 2*time.Millisecond, "longest wait for a batch to fill, while other requests are being received (a lone request does not wait)")
	fl.IntVar(&f.opts.Queue, "queue", 256, "most requests waiting for a batch; more are answered 429")
	fl.DurationVar(&f.opts.Timeout, "timeout", 5*time.Second, "request deadline: a request not answered by then gets 504")
	fl.Int64Var(&f.opts.MaxBody, "max-body", 8<<20, "largest request body in bytes (413 beyond)")
	fl.DurationVar(&f.opts.WatchInterval, "watch-interval", time.Second, "how often a followed directory's LATEST is read")
	fl.StringVar(&f.tlsCert, "tls-cert", "", "serve HTTPS with this PEM certificate (e.g. NAME.crt of ringtrain certs issue --server --hosts HOST); needs --tls-key")
	fl.StringVar(&f.tlsKey, "tls-key", "", "the PEM private key of --tls-cert")
	fl.StringVar(&f.tlsClientCA, "tls-client-ca", "", "mutual TLS: require client certificates signed by a CA in this PEM file (e.g. ca.crt of ringtrain certs init)")
	fl.StringVar(&f.tokenFile, "token-file", "", "require Authorization: Bearer TOKEN on all but the health endpoints, TOKEN being this file's content (or set "+tokenEnv+")")
	return cmd
}

func (f serveFlags) validate() error {
	switch {
	case f.opts.MaxBatch < 1:
		return fmt.Errorf("--max-batch %d: want >= 1", f.opts.MaxBatch)
	case f.opts.MaxDelay <= 0:
		return fmt.Errorf("--max-delay %v: want > 0", f.opts.MaxDelay)
	case f.opts.Queue < 1:
		return fmt.Errorf("--queue %d: want >= 1", f.opts.Queue)
	case f.opts.Timeout <= 0:
		return fmt.Errorf("--timeout %v: want > 0", f.opts.Timeout)
	case f.opts.MaxBody < 1:
		return fmt.Errorf("--max-body %d: want >= 1", f.opts.MaxBody)
	case f.opts.WatchInterval <= 0:
		return fmt.Errorf("--watch-interval %v: want > 0", f.opts.WatchInterval)
	case f.inputScale < 0:
		return fmt.Errorf("--input-scale %v: want > 0", f.inputScale)
	case (f.tlsCert == "") != (f.tlsKey == ""):
		return errors.New("--tls-cert and --tls-key go together")
	case f.tlsClientCA != "" && f.tlsCert == "":
		return errors.New("--tls-client-ca needs --tls-cert and --tls-key: client certificates are checked over TLS")
	case strings.ContainsAny(f.name, "/?#% "):
		return fmt.Errorf("--name %q: a model name cannot hold /, ?, #, %% or spaces", f.name)
	}
	return nil
}

// modelName is the default model name: a file's base name without its
// extension, or the run's directory name (for RUN_DIR, RUN_DIR/checkpoints
// and RUN_DIR/checkpoints/step-N alike).
func modelName(arg string) string {
	p := filepath.Clean(arg)
	if abs, err := filepath.Abs(p); err == nil {
		p = abs
	}
	if isDir(p) {
		if _, ok := checkpoint.ParseStepDirName(filepath.Base(p)); ok {
			p = filepath.Dir(p)
		}
		if filepath.Base(p) == "checkpoints" {
			p = filepath.Dir(p)
		}
	}
	base := filepath.Base(p)
	if ext := filepath.Ext(base); ext != "" && ext != base && !isDir(p) {
		base = strings.TrimSuffix(base, ext)
	}
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune("/?#% ", r) {
			return '_'
		}
		return r
	}, base)
}

// tokenEnv is the environment variable that may hold serve's bearer token
// (a flag's value would show in ps).
const tokenEnv = "RINGTRAIN_SERVE_TOKEN"

// security reads the TLS files and the bearer token: from --token-file, or
// else the environment; nil for none.
func (f serveFlags) security() (*tls.Config, []byte, error) {
	var cfg *tls.Config
	if f.tlsCert != "" {
		var err error
		if cfg, err = serve.TLSConfig(f.tlsCert, f.tlsKey, f.tlsClientCA); err != nil {
			return nil, nil, err
		}
	}
	env, inEnv := os.LookupEnv(tokenEnv)
	var token string
	switch {
	case f.tokenFile != "" && inEnv:
		return nil, nil, fmt.Errorf("--token-file and %s both give a token: use one", tokenEnv)
	case f.tokenFile != "":
		b, err := os.ReadFile(f.tokenFile)
		if err != nil {
			return nil, nil, fmt.Errorf("--token-file: %w", err)
		}
		token = strings.TrimSpace(string(b))
		if token == "" {
			return nil, nil, fmt.Errorf("--token-file %s is empty", f.tokenFile)
		}
	case inEnv:
		token = strings.TrimSpace(env)
		if token == "" {
			return nil, nil, fmt.Errorf("%s is set but empty", tokenEnv)
		}
	default:
		return cfg, nil, nil
	}
	if len(token) < serve.MinTokenLen {
		return nil, nil, fmt.Errorf("the bearer token has %d characters, want at least %d (e.g. openssl rand -hex 32)", len(token), serve.MinTokenLen)
	}
	if strings.ContainsAny(token, " \t\r\n") {
		return nil, nil, errors.New("the bearer token holds white space: want one line of printable characters")
	}
	return cfg, []byte(token), nil
}
