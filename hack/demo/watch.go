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

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/desired"
	"github.com/peapod-io/peapod/internal/plan"
	"github.com/peapod-io/peapod/test/cluster"
)

// world follows the sample group's Pods, its Service's EndpointSlices and the nodes through informers. It says
// what changes as it changes, remembers when each Pod became Ready, left, and entered the Service, and lets the
// story wait for a state of its choosing.
type world struct {
	say func(format string, args ...any)

	mu sync.Mutex
	// changed is closed on every change and replaced: a broadcast to waitFor.
	changed chan struct{}
	pods    map[types.UID]*memberPod
	// memberOf keeps the member of every Pod name seen, also once the Pod is gone.
	memberOf  map[string]string
	slices    map[string]*discoveryv1.EndpointSlice
	inService map[types.UID]time.Time
	endpoints string
	nodeReady map[string]corev1.ConditionStatus
	// readyCounts are the numbers of Ready Pods, one entry per change of it, since trackReady.
	readyCounts []int
}

// memberPod is what the world keeps of one Pod of the group, also after it is gone.
type memberPod struct {
	uid                    types.UID
	name, member, node, ip string
	migration              string
	ready                  bool
	readyAt, goneAt        time.Time
}

func (p *memberPod) gone() bool { return !p.goneAt.IsZero() }

// String names the Pod, and its member when the Pod name differs (a migration's replacement).
func (p *memberPod) String() string {
	if p.name == p.member {
		return "Pod " + p.name
	}
	if p.migration != "" {
		return fmt.Sprintf("Pod %s (member %s, PodMigration %s)", p.name, p.member, p.migration)
	}
	return fmt.Sprintf("Pod %s (member %s)", p.name, p.member)
}

// watchWorld starts the informers and returns once they have listed what exists; they stop with ctx.
func watchWorld(ctx context.Context, cs kubernetes.Interface, say func(string, ...any)) (*world, error) {
	w := &world{say: say, changed: make(chan struct{}), pods: map[types.UID]*memberPod{}, memberOf: map[string]string{},
		slices: map[string]*discoveryv1.EndpointSlice{}, inService: map[types.UID]time.Time{},
		nodeReady: map[string]corev1.ConditionStatus{}}
	pods := coreinformers.NewFilteredPodInformer(cs, namespace, 0, cache.Indexers{}, func(o *metav1.ListOptions) {
		o.LabelSelector = labels.SelectorFromSet(desired.SelectorLabels(group)).String()
	})
	endpointSlices := discoveryinformers.NewFilteredEndpointSliceInformer(cs, namespace, 0, cache.Indexers{}, func(o *metav1.ListOptions) {
		o.LabelSelector = discoveryv1.LabelServiceName + "=" + group
	})
	nodes := coreinformers.NewNodeInformer(cs, 0, cache.Indexers{})
	handlers := map[cache.SharedIndexInformer]func(obj any, deleted bool){
		pods:           func(obj any, deleted bool) { w.observePod(obj.(*corev1.Pod), deleted) },
		endpointSlices: func(obj any, deleted bool) { w.observeSlice(obj.(*discoveryv1.EndpointSlice), deleted) },
		nodes:          func(obj any, _ bool) { w.observeNode(obj.(*corev1.Node)) },
	}
	for informer, observe := range handlers {
		_, err := informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { observe(obj, false) },
			UpdateFunc: func(_, obj any) { observe(obj, false) },
			DeleteFunc: func(obj any) {
				if gone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
					obj = gone.Obj
				}
				observe(obj, true)
			},
		})
		if err != nil {
			return nil, err
		}
		go informer.Run(ctx.Done())
	}
	if !cache.WaitForCacheSync(ctx.Done(), pods.HasSynced, endpointSlices.HasSynced, nodes.HasSynced) {
		return nil, errors.New("the watches of Pods, EndpointSlices and nodes did not start")
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

// read runs fn under the world's lock.
func (w *world) read(fn func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	fn()
}

// live lists the Pods of a member that are not being deleted: one, or two during a migration. Lock held.
func (w *world) live(member string) []*memberPod {
	var out []*memberPod
	for _, p := range w.pods {
		if p.member == member && !p.gone() {
			out = append(out, p)
		}
	}
	return out
}

// readyPods counts the Ready Pods of the group. Lock held.
func (w *world) readyPods() int {
	n := 0
	for _, p := range w.pods {
		if p.ready {
			n++
		}
	}
	return n
}

// trackReady starts a new record of the Ready count, from its current value. Lock held.
func (w *world) trackReady() { w.readyCounts = []int{w.readyPods()} }

func (w *world) broadcast() {
	close(w.changed)
	w.changed = make(chan struct{})
}

func (w *world) observePod(pod *corev1.Pod, deleted bool) {
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	defer w.broadcast()
	p := w.pods[pod.UID]
	if p == nil {
		p = &memberPod{uid: pod.UID, name: pod.Name, member: memberName(pod), migration: pod.Labels[peapodv1alpha1.MigrationLabel]}
		w.pods[pod.UID] = p
		w.memberOf[pod.Name] = p.member
	}
	if p.node == "" && pod.Spec.NodeName != "" {
		p.node = pod.Spec.NodeName
		w.say("%s scheduled on %s", p, p.node)
	}
	p.ip = pod.Status.PodIP
	ready := !deleted && plan.Ready(pod)
	var change string
	switch {
	case !p.gone() && (deleted || pod.DeletionTimestamp != nil):
		p.goneAt, p.ready = now, false
		change = fmt.Sprintf("%s on %s deleted", p, p.node)
	case ready && !p.ready:
		p.ready = true
		if p.readyAt.IsZero() {
			p.readyAt = now
		}
		change = fmt.Sprintf("%s Ready on %s (IP %s)", p, p.node, p.ip)
	case !ready && p.ready:
		p.ready = false
		change = fmt.Sprintf("%s on %s no longer Ready", p, p.node)
	}
	n := w.readyPods()
	if change != "" {
		w.say("%s; Ready Pods: %d", change, n)
	}
	if len(w.readyCounts) > 0 && w.readyCounts[len(w.readyCounts)-1] != n {
		w.readyCounts = append(w.readyCounts, n)
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
	type endpoint struct{ who, ip string }
	var ready []endpoint
	for _, s := range w.slices {
		for _, e := range s.Endpoints {
			if e.Conditions.Ready == nil || !*e.Conditions.Ready || e.TargetRef == nil || len(e.Addresses) == 0 {
				continue
			}
			if _, seen := w.inService[e.TargetRef.UID]; !seen {
				w.inService[e.TargetRef.UID] = now
			}
			who, member := e.TargetRef.Name, w.memberOf[e.TargetRef.Name]
			if member != "" && member != who {
				who = member + ", Pod " + who
			}
			ready = append(ready, endpoint{who: who, ip: e.Addresses[0]})
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

// memberName is the member a Pod is, by its ordinal label: a replacement's Pod name carries a suffix.
func memberName(pod *corev1.Pod) string {
	if ordinal, ok := desired.OrdinalOf(pod.Labels); ok {
		return desired.MemberName(pod.Labels[peapodv1alpha1.GroupLabel], ordinal)
	}
	return pod.Name
}
