package main

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/scheme"
	"github.com/peapod-io/peapod/test/utils"
)

// chaosUserAgent names the campaign's own requests in the audit log.
const chaosUserAgent = "peapod-chaos"

// round is what the watch knows of the round under way; number 0 is between rounds.
type round struct {
	number int
	kind   faultKind
}

// watcher follows every member Pod of the campaign's namespace through an informer (a watch that relists by
// itself after a control-plane outage) and checks invariants (a) and (b) on every change it sees, against what
// the rounds say they did to the nodes.
type watcher struct {
	cache  cache.Cache
	reader client.Reader
	groups map[string]group
	cancel context.CancelFunc
	// running ends with the cache; resolving counts the retirements being checked (see invariants.go), which
	// read with ctx: the campaign's, so they finish after the watch is stopped.
	running   chan struct{}
	resolving sync.WaitGroup
	ctx       context.Context
	stopOnce  sync.Once

	// after is the groups' nodeFailure.after: a node unheard for longer, unasked, is noted.
	after time.Duration
	// timeline is the run's log of every change seen, for reading a violation after the fact.
	timeline *bufio.Writer

	mu sync.Mutex
	// members are the member Pods: live until gone from the API (on a silent node nobody knows whether one being
	// deleted still runs) and not finished (a Succeeded or Failed Pod runs nothing).
	members *utils.MemberPods
	// ghosts are Pods of fenced groups deleted from the API while their node was silent and not fenced: the
	// node may still run them, until it is back or fenced.
	ghosts map[types.UID]utils.MemberPod
	// silent nodes have their kubelet stopped by the round; fenced ones carry the out-of-service taint it wrote;
	// faulted are all the nodes the round faulted (silent, fenced, zone, drained), until it ends.
	silent, fenced, faulted map[string]bool
	// silencedAt is when each silent node was silenced; heard is when each node's Lease renewal was last seen,
	// renew its renewTime; noted remembers the nodes whose unexpected renewals or silence were noted.
	silencedAt, heard map[string]time.Time
	renew             map[string]time.Time
	noted             map[string]bool
	round             round
	violations        []violation
	notes             []string
	// flagged remembers the (a) violations already recorded, once per round and member.
	flagged map[string]bool
	// retired counts migration sources deleted once their own replacement was Ready; unserved, migration
	// replacements deleted before they were ever Ready (their migration gave up).
	retired, unserved int
}

// watchMembers starts the watch and returns once it has listed the namespace's member Pods and the node Leases.
// Its timeline goes to dir/pods.log.
func watchMembers(ctx context.Context, cfg *rest.Config, groups []group, o options, dir string) (*watcher, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.UserAgent = chaosUserAgent
	hasGroup, err := labels.NewRequirement(peapodv1alpha1.GroupLabel, selection.Exists, nil)
	if err != nil {
		return nil, err
	}
	cch, err := cache.New(cfg, cache.Options{
		Scheme:            scheme.New(),
		DefaultNamespaces: map[string]cache.Config{chaosNamespace: {}},
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Pod{}:           {Label: labels.NewSelector().Add(*hasGroup)},
			&coordinationv1.Lease{}: {Namespaces: map[string]cache.Config{corev1.NamespaceNodeLease: {}}},
		},
	})
	if err != nil {
		return nil, err
	}
	reader, err := client.New(cfg, client.Options{Scheme: scheme.New()})
	if err != nil {
		return nil, err
	}
	timeline, err := os.Create(filepath.Join(dir, "pods.log"))
	if err != nil {
		return nil, err
	}
	watchCtx, cancel := context.WithCancel(ctx)
	w := &watcher{cache: cch, reader: reader, groups: map[string]group{}, cancel: cancel, running: make(chan struct{}), ctx: ctx,
		after: o.after(), timeline: bufio.NewWriter(timeline),
		members: utils.NewMemberPods(utils.LiveUntilGoneOrFinished), ghosts: map[types.UID]utils.MemberPod{},
		silent: map[string]bool{}, fenced: map[string]bool{},
		faulted: map[string]bool{}, silencedAt: map[string]time.Time{}, heard: map[string]time.Time{},
		renew: map[string]time.Time{}, noted: map[string]bool{}, flagged: map[string]bool{}}
	for _, g := range groups {
		w.groups[g.name] = g
	}
	pods, err := cch.GetInformer(watchCtx, &corev1.Pod{})
	if err == nil {
		_, err = pods.AddEventHandler(utils.PodEventHandler(w.observe))
	}
	if err == nil {
		// The PodMigrations, for whether a deleted source was its own migration's (invariants.go).
		_, err = cch.GetInformer(watchCtx, &peapodv1alpha1.PodMigration{})
	}
	if err == nil {
		err = w.watchLeases(watchCtx)
	}
	if err != nil {
		cancel()
		_ = timeline.Close()
		return nil, err
	}
	go func() {
		defer close(w.running)
		defer func() {
			w.mu.Lock()
			defer w.mu.Unlock()
			_ = w.timeline.Flush()
			_ = timeline.Close()
		}()
		go w.checkSilences(watchCtx)
		_ = cch.Start(watchCtx)
	}()
	if !cch.WaitForCacheSync(watchCtx) {
		w.stop()
		return nil, fmt.Errorf("the watch of member Pods did not sync")
	}
	return w, nil
}

// stop ends the watch and waits for the checks under way; it may be called again.
func (w *watcher) stop() {
	w.stopOnce.Do(func() {
		w.cancel()
		<-w.running
		w.resolving.Wait()
	})
}

// observe records one change of a member Pod and checks the invariants it may break.
func (w *watcher) observe(pod *corev1.Pod, deleted bool) {
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	before, p, ok := w.members.Observe(pod, deleted, now)
	if !ok {
		return
	}
	w.logf(now, "%s %s (%s) on %s: phase %s, ready %t, deleting %t", eventName(deleted), pod.Name, pod.UID,
		cmp.Or(p.Node, "no node"), pod.Status.Phase, p.Ready, pod.DeletionTimestamp != nil)
	if p.Deleting() && !before.Deleting() {
		w.checkDeletion(p, before.Ready, now)
	}
	if deleted && w.groups[p.Identity.Group].fenced && !p.Finished && p.Node != "" && w.silent[p.Node] && !w.fenced[p.Node] {
		w.ghosts[pod.UID] = p
		w.logf(now, "%s deleted from the API while %s is silent and not fenced: it may still run there", pod.Name, p.Node)
	}
	w.checkIdentity(p.Identity, now)
}

func eventName(deleted bool) string {
	if deleted {
		return "deleted"
	}
	return "seen"
}

// logf writes a line of the timeline; the caller holds w.mu.
func (w *watcher) logf(at time.Time, format string, args ...any) {
	_, _ = fmt.Fprintf(w.timeline, "%s [round %d] %s\n", at.Format(clockFormat), w.round.number, fmt.Sprintf(format, args...))
}

// note keeps something the report says after the table, once per key; the caller holds w.mu.
func (w *watcher) note(key, format string, args ...any) {
	if w.noted[key] {
		return
	}
	w.noted[key] = true
	s := fmt.Sprintf(format, args...)
	w.notes = append(w.notes, s)
	w.logf(time.Now(), "note: %s", s)
}

// beginRound tells the watch a round starts; its faulted nodes are counted from now.
func (w *watcher) beginRound(number int, kind faultKind) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.round = round{number: number, kind: kind}
	w.logf(time.Now(), "round begins: %s", kind)
}

// endRound clears the round's faulted nodes: a member deleted from now on is deleted on a healthy node.
func (w *watcher) endRound() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.logf(time.Now(), "round ends")
	w.round = round{}
	clear(w.faulted)
}

// faultNodes marks nodes faulted by the round (drained, silenced, fenced): deletions there are the fault's.
func (w *watcher) faultNodes(nodes ...string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, n := range nodes {
		w.faulted[n] = true
	}
}

// setSilent says a node's kubelet is stopped, or back: told before either happens. A silent node is faulted
// too, until the round ends.
func (w *watcher) setSilent(node string, silent bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := time.Now()
	w.silent[node] = silent
	w.logf(now, "node %s silent: %t", node, silent)
	if !silent {
		w.forgetGhosts(node)
		return
	}
	w.faulted[node] = true
	w.silencedAt[node] = now
	delete(w.noted, "renewed/"+node)
	for m := range w.membersOn(node) {
		w.checkIdentity(m, now)
	}
}

// forgetGhosts drops the ghosts of a node that is back (its kubelet stops what the API no longer has) or
// fenced (it is off); the caller holds w.mu.
func (w *watcher) forgetGhosts(node string) {
	for uid, g := range w.ghosts {
		if g.Node == node {
			delete(w.ghosts, uid)
		}
	}
}

// setFenced says a node is fenced: called before the taint is written, and after it is removed.
func (w *watcher) setFenced(node string, fenced bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.fenced[node] = fenced
	w.logf(time.Now(), "node %s fenced: %t", node, fenced)
	if fenced {
		w.faulted[node] = true
		w.forgetGhosts(node)
	}
}

func (w *watcher) membersOn(node string) map[utils.Identity]bool {
	out := map[utils.Identity]bool{}
	for _, p := range w.members.LivePods() {
		if p.Node == node {
			out[p.Identity] = true
		}
	}
	return out
}

// nodesWithMembers counts the live member Pods on each node.
func (w *watcher) nodesWithMembers() map[string]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]int{}
	for _, p := range w.members.LivePods() {
		if p.Node != "" {
			out[p.Node]++
		}
	}
	return out
}

// podsOn names the live member Pods on a node, for the round's log line.
func (w *watcher) podsOn(node string) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, p := range w.members.LivePods() {
		if p.Node == node {
			out = append(out, p.Name)
		}
	}
	return sortedStrings(out)
}
