package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/peapod-io/peapod/test/cluster"
	"github.com/peapod-io/peapod/test/procfs"
	"github.com/peapod-io/peapod/test/utils"
)

// managerProcess is peapod's manager as its own process, as it runs in a cluster, with its metrics served over
// plain HTTP on loopback for the bench to read.
type managerProcess struct {
	*utils.ManagerProcess
	metrics string
}

// startManager runs the manager with extra flags and returns once it is ready (its informers synced).
func startManager(ctx context.Context, c *cluster.Cluster, binary, log string, args ...string) (*managerProcess, error) {
	ports, err := cluster.FreePorts(2)
	if err != nil {
		return nil, err
	}
	args = append([]string{fmt.Sprintf("--metrics-bind-address=127.0.0.1:%d", ports[0]), "--metrics-secure=false",
		fmt.Sprintf("--health-probe-bind-address=127.0.0.1:%d", ports[1]), "--zap-log-level=info"}, args...)
	m, err := utils.StartManagerProcess(binary, c.KubeconfigPath, filepath.Join(c.Dir, log), args...)
	if err != nil {
		return nil, err
	}
	ready := fmt.Sprintf("http://127.0.0.1:%d/readyz", ports[1])
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		body, err := get(ctx, ready)
		return err == nil && body == "ok", nil
	})
	if err != nil {
		m.Kill()
		return nil, fmt.Errorf("the manager did not get ready: %w", err)
	}
	return &managerProcess{ManagerProcess: m, metrics: fmt.Sprintf("http://127.0.0.1:%d/metrics", ports[0])}, nil
}

func get(ctx context.Context, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s", url, resp.Status)
	}
	return string(body), err
}

// usage is the manager's CPU time so far and its resident memory now.
type usage struct {
	cpu   time.Duration
	rssKB int64
}

func (m *managerProcess) usage() (usage, error) {
	pid := strconv.Itoa(m.Pid())
	cpu, err := procfs.CPUTime(pid)
	if err != nil {
		return usage{}, err
	}
	rss, err := procfs.ResidentKB(pid)
	return usage{cpu: cpu, rssKB: rss}, err
}

// usageSampler samples the manager's usage every second from start until stop: average and peak CPU (in cores)
// and peak RSS over the window.
type usageSampler struct {
	mu          sync.Mutex
	first, last usage
	began       time.Time
	peakCores   float64
	peakRSSKB   int64
	stop        context.CancelFunc
	done        chan struct{}
}

func sampleUsage(ctx context.Context, m *managerProcess) (*usageSampler, error) {
	first, err := m.usage()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &usageSampler{first: first, last: first, began: time.Now(), peakRSSKB: first.rssKB, stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		ticker := time.NewTicker(time.Second)
		defer ticker.Stop()
		prev, prevAt := first, time.Now()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-ticker.C:
				u, err := m.usage()
				if err != nil {
					return
				}
				s.mu.Lock()
				s.last = u
				s.peakCores = max(s.peakCores, (u.cpu-prev.cpu).Seconds()/now.Sub(prevAt).Seconds())
				s.peakRSSKB = max(s.peakRSSKB, u.rssKB)
				s.mu.Unlock()
				prev, prevAt = u, now
			}
		}
	}()
	return s, nil
}

// finish stops the sampler and returns the average cores, the peak cores over a second and the peak RSS in MiB.
func (s *usageSampler) finish() (avgCores, peakCores, peakRSSMiB float64) {
	s.stop()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	elapsed := time.Since(s.began).Seconds()
	return (s.last.cpu - s.first.cpu).Seconds() / elapsed, s.peakCores, float64(s.peakRSSKB) / 1024
}

// reconcileTimes reads controller-runtime's reconcile-time histogram of the podgroup controller.
func (m *managerProcess) reconcileTimes(ctx context.Context) (utils.Histogram, error) {
	return m.histogram(ctx, "controller_runtime_reconcile_time_seconds", `controller="podgroup"`)
}

func (m *managerProcess) histogram(ctx context.Context, name, label string) (utils.Histogram, error) {
	text, err := get(ctx, m.metrics)
	if err != nil {
		return utils.Histogram{}, err
	}
	var h utils.Histogram
	for line := range strings.Lines(text) {
		if !strings.HasPrefix(line, name+"_bucket{") || !strings.Contains(line, label) {
			continue
		}
		le := line[strings.Index(line, `le="`)+4:]
		le = le[:strings.IndexByte(le, '"')]
		fields := strings.Fields(line)
		count, _ := strconv.ParseFloat(fields[len(fields)-1], 64)
		bound, _ := strconv.ParseFloat(le, 64) // +Inf parses as infinity
		h.Bounds, h.Counts = append(h.Bounds, bound), append(h.Counts, count)
		h.Count = count
	}
	if len(h.Bounds) == 0 {
		return utils.Histogram{}, fmt.Errorf("no %s{%s} in the manager's metrics", name, label)
	}
	return h, nil
}

// series reads the value of one series, named as the metrics text prints it (`name{label="value"}`); 0 when absent.
func (m *managerProcess) series(ctx context.Context, series string) (float64, error) {
	text, err := get(ctx, m.metrics)
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(text) {
		if value, found := strings.CutPrefix(line, series+" "); found {
			return strconv.ParseFloat(strings.TrimSpace(value), 64)
		}
	}
	return 0, nil
}
