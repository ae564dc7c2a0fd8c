package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"

	"github.com/peapod-io/peapod/internal/plan"
	"github.com/peapod-io/peapod/test/cluster"
)

// readyCounter follows every Pod through one watch and counts the Ready ones. It keeps names only, so it adds
// little to the heap the bench measures.
type readyCounter struct {
	mu    sync.Mutex
	ready map[string]bool
	count atomic.Int64
}

func watchReady(ctx context.Context, c *cluster.Cluster) (*readyCounter, error) {
	w, err := c.Clientset.CoreV1().Pods("").Watch(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	rc := &readyCounter{ready: map[string]bool{}}
	go func() {
		defer w.Stop()
		for ev := range w.ResultChan() {
			pod, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			key := pod.Namespace + "/" + pod.Name
			now := ev.Type != watch.Deleted && plan.Ready(pod)
			rc.mu.Lock()
			was := rc.ready[key]
			rc.ready[key] = now
			rc.mu.Unlock()
			switch {
			case now && !was:
				rc.count.Add(1)
			case was && !now:
				rc.count.Add(-1)
			}
		}
	}()
	return rc, nil
}

func (rc *readyCounter) waitFor(ctx context.Context, n int, timeout time.Duration) error {
	err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
		return int(rc.count.Load()) >= n, nil
	})
	if err != nil {
		return fmt.Errorf("only %d of %d pods Ready: %w", rc.count.Load(), n, err)
	}
	return nil
}

// requestCounts are apiserver_request_total summed over all clients.
type requestCounts struct{ total, writes float64 }

func apiserverRequests(ctx context.Context, c *cluster.Cluster) (requestCounts, error) {
	raw, err := c.Clientset.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return requestCounts{}, fmt.Errorf("reading the apiserver's metrics: %w", err)
	}
	var out requestCounts
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "apiserver_request_total{") {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			continue
		}
		out.total += v
		for _, verb := range []string{`verb="POST"`, `verb="PUT"`, `verb="PATCH"`, `verb="DELETE"`, `verb="APPLY"`} {
			if strings.Contains(line, verb) {
				out.writes += v
			}
		}
	}
	return out, sc.Err()
}

// countingTransport counts the requests and writes one client sends.
type countingTransport struct {
	next            http.RoundTripper
	requests, write atomic.Int64
}

func (t *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.requests.Add(1)
	if req.Method != http.MethodGet {
		t.write.Add(1)
		if os.Getenv("BENCH_TRACE_WRITES") != "" {
			fmt.Fprintln(os.Stderr, "write:", req.Method, req.URL.Path)
		}
	}
	return t.next.RoundTrip(req)
}

func counted(cfg *rest.Config) (*rest.Config, *countingTransport) {
	cfg = rest.CopyConfig(cfg)
	ct := &countingTransport{}
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { ct.next = rt; return ct }
	return cfg, ct
}
