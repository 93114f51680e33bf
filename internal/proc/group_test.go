package proc

import (
	"bufio"
	"context"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary doubles as the child: RINGTRAIN_PROC_TEST selects a mode.
func TestMain(m *testing.M) {
	switch os.Getenv("RINGTRAIN_PROC_TEST") {
	case "echo":
		s := bufio.NewScanner(os.Stdin)
		for s.Scan() {
			os.Stdout.WriteString("echo " + s.Text() + "\n")
		}
		os.Exit(0)
	case "sleep":
		time.Sleep(time.Minute)
		os.Exit(0)
	case "stubborn": // ignores SIGTERM
		signal.Ignore(syscall.SIGTERM)
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestPipesAndOutputAfterExit(t *testing.T) {
	var g Group
	defer g.Stop(time.Second)
	c, err := g.Start(Spec{Name: "echo", Args: []string{"-test.run=^$"}, Env: []string{"RINGTRAIN_PROC_TEST=echo"}, Pipes: true})
	if err != nil {
		t.Fatal(err)
	}
	c.Stdin.Write([]byte("a\nb\n"))
	c.Stdin.Close()
	if err := c.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The child has exited; what it wrote is still readable.
	out, _ := bufio.NewReader(c.Stdout).ReadString(0)
	if out != "echo a\necho b\n" {
		t.Fatalf("output %q", out)
	}
}

func TestStopTerminatesAndKills(t *testing.T) {
	var g Group
	soft, _ := g.Start(Spec{Name: "sleep", Args: []string{"-test.run=^$"}, Env: []string{"RINGTRAIN_PROC_TEST=sleep"}})
	hard, _ := g.Start(Spec{Name: "stubborn", Args: []string{"-test.run=^$"}, Env: []string{"RINGTRAIN_PROC_TEST=stubborn"}})
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	g.Stop(300 * time.Millisecond)
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Stop took %v", d)
	}
	for _, c := range []*Child{soft, hard} {
		select {
		case <-c.Done():
		default:
			t.Fatalf("%s still running after Stop", c.Name)
		}
	}
	if !strings.Contains(soft.Err().Error(), "terminated") || !strings.Contains(hard.Err().Error(), "killed") {
		t.Fatalf("exit: %v / %v", soft.Err(), hard.Err())
	}
	if _, err := g.Start(Spec{Name: "late"}); err == nil {
		t.Fatal("Start after Stop succeeded")
	}
}
