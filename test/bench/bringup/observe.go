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

// watchReady starts following every Pod: a list, then a watch from it, and again whenever the apiserver ends the
// watch (it drops a watcher that falls behind, as a bench on a busy machine can), so no transition is missed.
func watchReady(ctx context.Context, c *cluster.Cluster) (*readyCounter, error) {
	rc := &readyCounter{pods: map[string]podSeen{}}
	w, err := rc.relist(ctx, c)
	if err != nil {
		return nil, err
	}
	go func() {
		for {
			rc.follow(w)
			for w, err = rc.relist(ctx, c); err != nil; w, err = rc.relist(ctx, c) {
				if ctx.Err() != nil {
					return
				}
				time.Sleep(time.Second)
			}
		}
	}()
	return rc, nil
}

// relist brings the counts up to a list of every Pod and returns a watch from it.
func (rc *readyCounter) relist(ctx context.Context, c *cluster.Cluster) (watch.Interface, error) {
	list, err := c.Clientset.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	listed := map[string]bool{}
	for i := range list.Items {
		listed[rc.see(&list.Items[i], false)] = true
	}
	rc.mu.Lock()
	for key, seen := range rc.pods {
		if !listed[key] {
			if seen.ready {
				rc.count.Add(-1)
			}
			delete(rc.pods, key)
		}
	}
	rc.mu.Unlock()
	return c.Clientset.CoreV1().Pods("").Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
}

// follow counts what a watch shows until it ends.
func (rc *readyCounter) follow(w watch.Interface) {
	defer w.Stop()
	for ev := range w.ResultChan() {
		if pod, ok := ev.Object.(*corev1.Pod); ok {
			rc.see(pod, ev.Type == watch.Deleted)
		}
	}
}

// see records one Pod's state and returns its key.
func (rc *readyCounter) see(pod *corev1.Pod, deleted bool) string {
	key := pod.Namespace + "/" + pod.Name
	now := !deleted && plan.Ready(pod)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	seen, known := rc.pods[key]
	if !known {
		rc.seenAt = time.Now()
	}
	if pod.Spec.NodeName != "" && !seen.bound {
		seen.bound, rc.boundAt = true, time.Now()
	}
	was := seen.ready
	seen.ready = now
	if deleted {
		delete(rc.pods, key)
	} else {
		rc.pods[key] = seen
	}
	switch {
	case now && !was:
		rc.count.Add(1)
	case was && !now:
		rc.count.Add(-1)
	}
	return key
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

// requestCounts are apiserver_request_total summed over all clients, and by verb and resource.
type requestCounts struct {
	total, writes float64
	byKind        map[string]float64
}

func apiserverRequests(ctx context.Context, c *cluster.Cluster) (requestCounts, error) {
	raw, err := c.Clientset.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return requestCounts{}, fmt.Errorf("reading the apiserver's metrics: %w", err)
	}
	out := requestCounts{byKind: map[string]float64{}}
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
		verb := metricLabel(line, "verb")
		if verb != "GET" && verb != "LIST" && verb != "WATCH" {
			out.writes += v
		}
		kind := verb + " " + metricLabel(line, "resource")
		if sub := metricLabel(line, "subresource"); sub != "" {
			kind += "/" + sub
		}
		out.byKind[kind] += v
	}
	return out, sc.Err()
}

// metricLabel is a label's value in a line of the Prometheus text format; "" when the line has no such label.
func metricLabel(line, name string) string {
	_, after, ok := strings.Cut(line, ","+name+`="`)
	if !ok {
		_, after, ok = strings.Cut(line, "{"+name+`="`)
	}
	if !ok {
		return ""
	}
	value, _, _ := strings.Cut(after, `"`)
	return value
}

// since is what was requested between before and c, by verb and resource, the most first.
func (c requestCounts) since(before requestCounts) []string {
	delta := map[string]int{}
	for kind, v := range c.byKind {
		if d := int(v - before.byKind[kind]); d > 0 {
			delta[kind] = d
		}
	}
	return sortedCounts(delta)
}

// sortedCounts lists counts by name as "name count", the most first.
func sortedCounts(counts map[string]int) []string {
	kinds := slices.Collect(maps.Keys(counts))
	slices.SortFunc(kinds, func(a, b string) int { return cmp.Or(counts[b]-counts[a], strings.Compare(a, b)) })
	out := make([]string, 0, len(kinds))
	for _, k := range kinds {
		out = append(out, fmt.Sprintf("%s %d", k, counts[k]))
	}
	return out
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
	return sortedCounts(t.byKind)
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
