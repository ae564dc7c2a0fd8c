package cluster

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A component that exits by itself is started again with its flags and named in Restarts; one the cluster kills
// on purpose is not.
func TestSuperviseRestartsAnUnrequestedExit(t *testing.T) {
	c := &Cluster{logf: t.Logf}
	dir := t.TempDir()
	// It exits twice, then runs until killed.
	script := `n=$(cat count 2>/dev/null || echo 0); echo $((n+1)) > count; ` +
		`if [ "$n" -lt 2 ]; then echo cache is corrupted; exit 3; fi; exec sleep 60`
	p, err := launch("crasher", "/bin/sh", []string{"-c", "cd " + dir + " && " + script}, filepath.Join(dir, "crasher.log"), os.O_CREATE)
	if err != nil {
		t.Fatal(err)
	}
	c.procs = []*process{p}
	c.supervise(p)
	t.Cleanup(c.stopProcesses)

	deadline := time.Now().Add(10 * time.Second)
	for (len(c.Restarts()) < 2 || !running(c)) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	restarts := c.Restarts()
	if len(restarts) < 2 {
		t.Fatalf("restarts after 10 s: %v, want 2", restarts)
	}
	if got, want := restarts[0].Reason, "exit status 3: cache is corrupted"; got != want {
		t.Errorf("reason %q, want %q", got, want)
	}
	if err := c.Failed(); err != nil {
		t.Errorf("Failed() = %v for a component that restarts", err)
	}

	_, current := c.component("crasher")
	current.kill()
	time.Sleep(2 * firstBackoff)
	if _, now := c.component("crasher"); now != current || len(c.Restarts()) != 2 {
		t.Errorf("a component killed on purpose was started again; restarts %v", c.Restarts())
	}
}

func running(c *Cluster) bool {
	_, p := c.component("crasher")
	return p != nil && !p.hasExited()
}
