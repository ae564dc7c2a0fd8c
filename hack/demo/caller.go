package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

const (
	// callEvery is how often the caller calls; callTimeout how long it waits for an answer.
	callEvery   = 100 * time.Millisecond
	callTimeout = time.Second
)

// caller calls the sample's members over HTTP as a client of the Service does: each call to the next of the
// Service's Ready endpoints in turn, which is kube-proxy's part (the test bed runs no kube-proxy; the machine
// reaches the Pods' addresses on the nodes' bridge). It counts who answered and what failed, so the story can
// tell what a client saw at each step.
type caller struct {
	// calling is read-held through each call and its record, and held by a take, so a take waits for the calls in
	// flight: a call is told in the step it started in.
	calling  sync.RWMutex
	mu       sync.Mutex
	since    time.Time // the start of the step being counted
	calls    int
	answered map[string]int // by the Pod that answered
	failed   []string
}

// startCaller calls until ctx ends.
func startCaller(ctx context.Context, w *world) *caller {
	c := &caller{answered: map[string]int{}, since: time.Now()}
	client := &http.Client{Timeout: callTimeout, Transport: &http.Transport{}} // no proxy: the Pods are on this machine
	go func() {
		tick := time.NewTicker(callEvery)
		defer tick.Stop()
		for turn := 0; ; turn++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			// Each call on its own, so one waiting for a dead endpoint's timeout does not hold back the others:
			// the caller calls at its pace through a failover as a Service's many clients would.
			c.calling.RLock()
			go func() {
				defer c.calling.RUnlock()
				c.call(ctx, client, w.serviceAddresses(), turn)
			}()
		}
	}()
	return c
}

// call calls the turn's endpoint and records the answer or the failure.
func (c *caller) call(ctx context.Context, client *http.Client, addrs []string, turn int) {
	if len(addrs) == 0 {
		c.record("", "no Ready endpoint")
		return
	}
	addr := addrs[turn%len(addrs)]
	answer, err := get(ctx, client, "http://"+addr+":8080/")
	switch {
	case ctx.Err() != nil:
	case err != nil:
		c.record("", fmt.Sprintf("%s: %v", addr, err))
	default:
		who, _, _ := strings.Cut(answer, " ")
		c.record(who, "")
	}
}

func (c *caller) record(who, failure string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	if failure != "" {
		c.failed = append(c.failed, failure)
		return
	}
	c.answered[who]++
}

// take says what the caller saw since the last take, and starts counting afresh.
func (c *caller) take() string {
	c.calling.Lock()
	defer c.calling.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	parts := make([]string, 0, len(c.answered))
	for _, who := range slices.Sorted(maps.Keys(c.answered)) {
		parts = append(parts, fmt.Sprintf("%s %d", who, c.answered[who]))
	}
	line := fmt.Sprintf("%d calls in %s, %d failed; answered by %s",
		c.calls, seconds(time.Since(c.since)), len(c.failed), strings.Join(parts, ", "))
	if len(c.failed) > 0 {
		line += fmt.Sprintf("; first failure: %s; last: %s", c.failed[0], c.failed[len(c.failed)-1])
	}
	c.calls, c.failed, c.since = 0, nil, time.Now()
	clear(c.answered)
	return line
}

func get(ctx context.Context, client *http.Client, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("HTTP %s", resp.Status)
	}
	return strings.TrimSpace(string(body)), err
}
