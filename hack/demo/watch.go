package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	coreinformers "k8s.io/client-go/informers/core/v1"
	discoveryinformers "k8s.io/client-go/informers/discovery/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/peapod-io/peapod/internal/desired"
	"github.com/peapod-io/peapod/test/cluster"
	"github.com/peapod-io/peapod/test/utils"
)

// world follows the sample group's Pods (a MemberWatch), its Service's EndpointSlices and the nodes through
// informers. It says what changes as it changes, remembers when each Pod entered the Service, and lets the story
// wait for a state of its choosing.
type world struct {
	say func(format string, args ...any)
	// pods are the group's Pods, live until their deletion begins, with when each became Ready and left, and
	// the Ready count over time.
	pods *utils.MemberWatch

	mu sync.Mutex
	// changed is closed on every change and replaced: a broadcast to waitFor.
	changed   chan struct{}
	slices    map[string]*discoveryv1.EndpointSlice
	inService map[types.UID]time.Time
	endpoints string
	nodeReady map[string]corev1.ConditionStatus
}

// describe names a Pod, and its member when the Pod name differs (a migration's replacement).
func describe(p utils.MemberPod) string {
	member := p.Identity.String()
	if p.Name == member {
		return "Pod " + p.Name
	}
	if p.Migration != "" {
		return fmt.Sprintf("Pod %s (member %s, PodMigration %s)", p.Name, member, p.Migration)
	}
	return fmt.Sprintf("Pod %s (member %s)", p.Name, member)
}

// watchWorld starts the watches and returns once they have listed what exists; they stop with ctx.
func watchWorld(ctx context.Context, cs kubernetes.Interface, say func(string, ...any)) (*world, error) {
	w := &world{say: say, changed: make(chan struct{}), slices: map[string]*discoveryv1.EndpointSlice{},
		inService: map[types.UID]time.Time{}, nodeReady: map[string]corev1.ConditionStatus{}}
	pods, err := utils.WatchMemberPods(ctx, cs, namespace, utils.MemberWatchOptions{
		Selector: labels.SelectorFromSet(desired.SelectorLabels(group)).String(), OnChange: w.observePod})
	if err != nil {
		return nil, err
	}
	w.pods = pods
	context.AfterFunc(ctx, pods.Stop)
	endpointSlices := discoveryinformers.NewFilteredEndpointSliceInformer(cs, namespace, 0, cache.Indexers{}, func(o *metav1.ListOptions) {
		o.LabelSelector = discoveryv1.LabelServiceName + "=" + group
	})
	nodes := coreinformers.NewNodeInformer(cs, 0, cache.Indexers{})
	handlers := map[cache.SharedIndexInformer]func(obj any, deleted bool){
		endpointSlices: func(obj any, deleted bool) { w.observeSlice(obj.(*discoveryv1.EndpointSlice), deleted) },
		nodes:          func(obj any, _ bool) { w.observeNode(obj.(*corev1.Node)) },
	}
	for informer, observe := range handlers {
		if _, err := informer.AddEventHandler(utils.EventHandler(observe)); err != nil {
			return nil, err
		}
		go informer.Run(ctx.Done())
	}
	if !cache.WaitForCacheSync(ctx.Done(), endpointSlices.HasSynced, nodes.HasSynced) {
		return nil, errors.New("the watches of EndpointSlices and nodes did not start")
	}
	return w, nil
}

// waitFor waits until cond, called under the world's lock after every change, holds. It fails after timeout,
// saying what did not happen.
func (w *world) waitFor(ctx context.Context, timeout time.Duration, what string, cond func() bool) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		w.mu.Lock()
		done, changed := cond(), w.changed
		w.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-changed:
		case <-deadline.C:
			return fmt.Errorf("%s did not happen within %s", what, timeout)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (w *world) broadcast() {
	close(w.changed)
	w.changed = make(chan struct{})
}

// observePod says what changed of a Pod, with the Ready count it leaves.
func (w *world) observePod(pods *utils.MemberWatch, c utils.MemberChange) {
	w.mu.Lock()
	defer w.mu.Unlock()
	defer w.broadcast()
	was, p := c.Before, c.After
	if was.Node == "" && p.Node != "" {
		w.say("%s scheduled on %s", describe(p), p.Node)
	}
	var change string
	switch {
	case p.Deleting() && !was.Deleting():
		change = fmt.Sprintf("%s on %s deleted", describe(p), p.Node)
	case p.Ready && !was.Ready:
		change = fmt.Sprintf("%s Ready on %s (IP %s)", describe(p), p.Node, p.IP)
	case !p.Ready && was.Ready:
		change = fmt.Sprintf("%s on %s no longer Ready", describe(p), p.Node)
	}
	if change != "" {
		w.say("%s; Ready Pods: %d", change, pods.ReadyPods(group))
	}
}

// observeSlice says the Service's ready endpoints whenever they change.
func (w *world) observeSlice(slice *discoveryv1.EndpointSlice, deleted bool) {
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	defer w.broadcast()
	if deleted {
		delete(w.slices, slice.Name)
	} else {
		w.slices[slice.Name] = slice
	}
	ready := w.readyEndpoints()
	for _, e := range ready {
		if _, seen := w.inService[e.uid]; !seen {
			w.inService[e.uid] = now
		}
	}
	// By member: the line reads the same whatever order the slices and their endpoints come in.
	slices.SortFunc(ready, func(a, b endpoint) int { return cmp.Or(strings.Compare(a.who, b.who), strings.Compare(a.ip, b.ip)) })
	parts := make([]string, 0, len(ready))
	for _, e := range ready {
		parts = append(parts, fmt.Sprintf("%s (%s)", e.ip, e.who))
	}
	line := strings.Join(parts, ", ")
	if line == "" {
		line = "none Ready"
	}
	if line != w.endpoints {
		w.endpoints = line
		w.say("Service %s endpoints: %s", group, line)
	}
}

// endpoint is one of the Service's Ready endpoints: the member (and Pod) behind it, and its address.
type endpoint struct {
	who, ip string
	uid     types.UID
}

// readyEndpoints are the Service's Ready endpoints, as the slices last seen list them. The caller holds w.mu.
func (w *world) readyEndpoints() []endpoint {
	var ready []endpoint
	for _, s := range w.slices {
		for _, e := range s.Endpoints {
			if e.Conditions.Ready == nil || !*e.Conditions.Ready || e.TargetRef == nil || len(e.Addresses) == 0 {
				continue
			}
			who := e.TargetRef.Name
			if pod, known := w.pods.Pod(e.TargetRef.UID); known && pod.Identity.String() != who {
				who = pod.Identity.String() + ", Pod " + who
			}
			ready = append(ready, endpoint{who: who, ip: e.Addresses[0], uid: e.TargetRef.UID})
		}
	}
	return ready
}

// serviceAddresses are the addresses of the Service's Ready endpoints now.
func (w *world) serviceAddresses() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	ready := w.readyEndpoints()
	out := make([]string, 0, len(ready))
	for _, e := range ready {
		out = append(out, e.ip)
	}
	slices.Sort(out)
	return out
}

// observeNode says when a node's Ready condition changes: the controller-manager's view of it.
func (w *world) observeNode(node *corev1.Node) {
	w.mu.Lock()
	defer w.mu.Unlock()
	status := cluster.ReadyStatus(node)
	was, seen := w.nodeReady[node.Name]
	w.nodeReady[node.Name] = status
	if seen && was != status {
		w.say("node %s Ready=%s: so the controller-manager sees it now", node.Name, status)
	}
}
