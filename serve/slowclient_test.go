package serve_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// slowClient is a request over a raw TCP connection whose body is sent in
// two parts: the server's handler is reading it (counted in
// ringtrain_serve_requests_receiving) until finish sends the rest or abort
// closes the connection.
type slowClient struct {
	conn net.Conn
	rest string
}

// sendPart sends a POST of body to path on the server at base
// (http://host:port) with all of its headers but only the first half of
// the body.
func sendPart(t *testing.T, base, path, body string) *slowClient {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	half := len(body) / 2
	_, err = fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", path, len(body), body[:half])
	if err != nil {
		conn.Close()
		t.Fatal(err)
	}
	c := &slowClient{conn: conn, rest: body[half:]}
	t.Cleanup(c.abort)
	return c
}

// finish sends the rest of the body and returns the response's status and
// body (safe to call from any goroutine).
func (c *slowClient) finish() (int, string, error) {
	if _, err := io.WriteString(c.conn, c.rest); err != nil {
		return 0, "", err
	}
	if err := c.conn.SetReadDeadline(time.Now().Add(20 * time.Second)); err != nil {
		return 0, "", err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c.conn), nil)
	if err != nil {
		return 0, "", fmt.Errorf("reading the response: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, "", fmt.Errorf("reading the response: %w", err)
	}
	return resp.StatusCode, string(b), nil
}

// abort closes the connection before the body is complete (idempotent).
func (c *slowClient) abort() { c.conn.Close() }

// waitMetric waits up to 10s for the sample prefix to read want.
func waitMetric(t *testing.T, base, prefix string, want float64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for metric(t, base, prefix) != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v after 10s, want %v", prefix, metric(t, base, prefix), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
