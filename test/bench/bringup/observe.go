package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"fmt"
	"maps"
	"net/http"
	"os"
	"slices"
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
	pods  map[string]podSeen
	count atomic.Int64
	// seenAt and boundAt are when a Pod was last seen for the first time, and seen bound for the first time.
	seenAt, boundAt time.Time
}

func watchReady(ctx context.Context, c *cluster.Cluster) (*readyCounter, error) {
	w, err := c.Clientset.CoreV1().Pods("").Watch(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	rc := &readyCounter{pods: map[string]podSeen{}}
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
			seen, known := rc.pods[key]
			if !known {
				rc.seenAt = time.Now()
			}
			if pod.Spec.NodeName != "" && !seen.bound {
				seen.bound, rc.boundAt = true, time.Now()
			}
			was := seen.ready
			seen.ready = now
			rc.pods[key] = seen
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

// podSeen is what the watch showed of one Pod so far.
type podSeen struct{ bound, ready bool }

// stages are when the last Pod was seen created and seen bound to a node.
func (rc *readyCounter) stages() (created, bound time.Time) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.seenAt, rc.boundAt
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

// countingTransport counts the requests and writes one client sends, and by verb and resource.
type countingTransport struct {
	next            http.RoundTripper
	requests, write atomic.Int64
	mu              sync.Mutex
	byKind          map[string]int
}

func (t *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.requests.Add(1)
	if req.Method != http.MethodGet {
		t.write.Add(1)
		if os.Getenv("BENCH_TRACE_WRITES") != "" {
			fmt.Fprintln(os.Stderr, "write:", req.Method, req.URL.Path)
		}
	}
	kind := req.Method + " " + resourceOf(req.URL.Path)
	if req.URL.Query().Get("watch") == "true" {
		kind = "WATCH " + resourceOf(req.URL.Path)
	}
	t.mu.Lock()
	t.byKind[kind]++
	t.mu.Unlock()
	return t.next.RoundTrip(req)
}

// breakdown is the requests sent so far by verb and resource, the most first.
func (t *countingTransport) breakdown() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	kinds := slices.Collect(maps.Keys(t.byKind))
	slices.SortFunc(kinds, func(a, b string) int { return cmp.Or(t.byKind[b]-t.byKind[a], strings.Compare(a, b)) })
	out := make([]string, 0, len(kinds))
	for _, k := range kinds {
		out = append(out, fmt.Sprintf("%s %d", k, t.byKind[k]))
	}
	return out
}

// resourceOf names the resource a request path is for: /api/v1/namespaces/ns/pods/name/status is pods/status.
func resourceOf(path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case len(parts) > 0 && parts[0] == "api":
		parts = parts[min(2, len(parts)):]
	case len(parts) > 0 && parts[0] == "apis":
		parts = parts[min(3, len(parts)):]
	default:
		return path
	}
	if len(parts) >= 2 && parts[0] == "namespaces" {
		parts = parts[2:]
		if len(parts) == 0 {
			return "namespaces"
		}
	}
	switch len(parts) {
	case 0:
		return path
	case 1, 2:
		return parts[0]
	default:
		return parts[0] + "/" + parts[2]
	}
}

func counted(cfg *rest.Config) (*rest.Config, *countingTransport) {
	cfg = rest.CopyConfig(cfg)
	ct := &countingTransport{byKind: map[string]int{}}
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { ct.next = rt; return ct }
	return cfg, ct
}
