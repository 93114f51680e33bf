package telemetry

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func scrape(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestWorkerAndCoordinatorEndpoints(t *testing.T) {
	w := NewWorker()
	w.StepPhase.WithLabelValues(PhaseCompute.String()).Observe(0.02)
	w.Steps.Add(3)
	w.Loss.Set(0.5)
	s, err := Serve("127.0.0.1:0", w.Registry)
	if err != nil {
		t.Fatal(err)
	}
	body := scrape(t, s.Addr())
	for _, want := range []string{`ringtrain_step_phase_seconds_bucket{phase="compute"`, "ringtrain_steps_total 3", "ringtrain_loss 0.5", "go_goroutines"} {
		if !strings.Contains(body, want) {
			t.Errorf("worker metrics lack %q", want)
		}
	}
	s.Close()

	c := NewCoordinator()
	c.Members.WithLabelValues("ranked").Set(2)
	c.Failures.Inc()
	s, err = Serve("127.0.0.1:0", c.Registry)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	body = scrape(t, s.Addr())
	for _, want := range []string{`ringtrain_members{state="ranked"} 2`, "ringtrain_failures_total 1", "ringtrain_recovery_seconds_bucket"} {
		if !strings.Contains(body, want) {
			t.Errorf("coordinator metrics lack %q", want)
		}
	}
}

func TestServeBadAddress(t *testing.T) {
	if _, err := Serve("256.0.0.1:1", NewWorker().Registry); err == nil {
		t.Fatal("listening on a bad address succeeded")
	}
}
