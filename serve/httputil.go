package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"time"
)

// statusClientGone is the status counted for a client that disconnected
// before its answer (nginx's 499; nothing is written).
const statusClientGone = 499

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v) // the client may be gone
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

// httpError is a failed request: its status and message.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

func badRequest(format string, args ...any) *httpError {
	return &httpError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

// readBody reads a request body of at most MaxBody bytes and decodes it
// into v, counting a body too large or malformed as abnormal.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, v any) *httpError {
	body, err := readAll(http.MaxBytesReader(w, r.Body, s.opts.MaxBody), r.ContentLength, s.opts.MaxBody)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			s.ab.record(AbnormalTooLarge, fmt.Sprintf("body over %d bytes", s.opts.MaxBody))
			return &httpError{http.StatusRequestEntityTooLarge, fmt.Sprintf("request body over %d bytes", s.opts.MaxBody)}
		}
		return badRequest("reading the request body: %v", err)
	}
	if req, ok := v.(*v2Request); ok {
		if fast, ok := decodeV2Fast(body); ok {
			*req = fast
			return nil
		}
	}
	if err := json.Unmarshal(body, v); err != nil {
		s.ab.record(AbnormalMalformed, err.Error())
		return badRequest("malformed JSON: %v", err)
	}
	return nil
}

// readAll is io.ReadAll with its buffer sized from the request's
// Content-Length (when given and within limit), so a body is read without
// growing the buffer.
func readAll(rd io.Reader, contentLength, limit int64) ([]byte, error) {
	if contentLength <= 0 || contentLength > limit {
		return io.ReadAll(rd)
	}
	b := make([]byte, 0, contentLength+1) // +1: EOF is seen without growing
	for {
		n, err := rd.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // more than Content-Length said: grow
		}
	}
}

// flatten decodes a JSON array of numbers, or of nested arrays of
// numbers, into its values in row-major order.
func flatten(raw json.RawMessage) ([]float64, error) {
	if flat, ok := parseNumbers(raw); ok {
		return flat, nil
	}
	return flattenJSON(raw)
}

// flattenJSON is flatten by encoding/json alone: what the fast path
// (parseNumbers) declines, and its reference in tests.
func flattenJSON(raw json.RawMessage) ([]float64, error) {
	var flat []float64
	if err := json.Unmarshal(raw, &flat); err == nil {
		return flat, nil
	}
	var nested any
	if err := json.Unmarshal(raw, &nested); err != nil {
		return nil, err
	}
	var walk func(v any) error
	walk = func(v any) error {
		switch t := v.(type) {
		case float64:
			flat = append(flat, t)
		case []any:
			for _, e := range t {
				if err := walk(e); err != nil {
					return err
				}
			}
		default:
			return fmt.Errorf("want numbers or arrays of numbers, got %T", v)
		}
		return nil
	}
	if _, ok := nested.([]any); !ok {
		return nil, fmt.Errorf("want an array, got %T", nested)
	}
	if err := walk(nested); err != nil {
		return nil, err
	}
	return flat, nil
}

// toInputs converts values to float32 model inputs: a value that is not
// finite as float32 is an error (abnormal nonfinite); values outside the
// training range are counted (out_of_range) but accepted.
func (s *Server) toInputs(vals []float64, info *Info) ([]float32, *httpError) {
	x := make([]float32, len(vals))
	outside := 0
	for i, v := range vals {
		f := float32(v)
		if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
			s.ab.record(AbnormalNonFinite, fmt.Sprintf("value %d is %v as float32", i, v))
			return nil, badRequest("value %d (%v) is not a finite float32", i, v)
		}
		if info.HasRange && (v < info.Min || v > info.Max) {
			outside++
		}
		x[i] = f
	}
	if outside > 0 {
		s.ab.record(AbnormalOutOfRange, fmt.Sprintf("%d of %d values outside the training range [%v, %v]", outside, len(vals), info.Min, info.Max))
	}
	return x, nil
}

// run submits n instances (leaving a, the handler's arrival) and waits
// for their result under the request's deadline.
func (s *Server) run(r *http.Request, a *arrival, x []float32, n int) (result, *httpError) {
	if !s.ready.Load() {
		return result{}, &httpError{http.StatusServiceUnavailable, ErrDraining.Error()}
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.Timeout)
	defer cancel()
	req := &request{ctx: ctx, x: x, n: n, enq: time.Now(), done: make(chan result, 1)}
	switch err := s.b.submit(req, a); {
	case errors.Is(err, ErrQueueFull):
		return result{}, &httpError{http.StatusTooManyRequests, "the request queue is full: retry later"}
	case err != nil:
		return result{}, &httpError{http.StatusServiceUnavailable, err.Error()}
	}
	var res result
	select {
	case res = <-req.done:
	case <-ctx.Done():
		res.err = ctx.Err()
	}
	switch {
	case res.err == nil:
		return res, nil
	case errors.Is(res.err, context.DeadlineExceeded):
		return result{}, &httpError{http.StatusGatewayTimeout, fmt.Sprintf("no answer within the request deadline of %v", s.opts.Timeout)}
	case errors.Is(res.err, context.Canceled):
		return result{}, &httpError{statusClientGone, "the client went away"}
	}
	return result{}, &httpError{http.StatusInternalServerError, res.err.Error()}
}

// finish writes v (or e) and records the request's status and latency.
func (s *Server) finish(w http.ResponseWriter, endpoint string, start time.Time, version int64, v any, e *httpError) {
	code := http.StatusOK
	switch {
	case e == nil:
		w.Header().Set("X-Model-Version", strconv.FormatInt(version, 10))
		writeJSON(w, code, v)
	case e.code == statusClientGone:
		code = e.code
	default:
		code = e.code
		if code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "1")
		}
		writeError(w, code, e.msg)
	}
	s.met.observe(endpoint, code, time.Since(start))
}
