package utils

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
)

// MemberWatchOptions say which Pods a MemberWatch follows and what it counts as live.
type MemberWatchOptions struct {
	// Selector chooses the Pods; empty means every Pod with a group label.
	Selector string
	// Liveness is what Live, Overlaps and CreatedAfter count as live.
	Liveness Liveness
	// OnChange, if set, is shown every change the watch records, with the watch, from the watch's goroutine
	// and without its lock: the watch's methods answer as of just after that change, for rules of a caller's
	// own. It sees the first list's Pods too, before WatchMemberPods returns.
	OnChange func(*MemberWatch, MemberChange)
}

// MemberChange is one change of a member Pod, as the watch recorded it.
type MemberChange struct {
	// Pod is the object as the change showed it.
	Pod           *corev1.Pod
	Deleted       bool
	Before, After MemberPod
}

// Overlap is a moment when two or more live Pods shared one identity.
type Overlap struct {
	At       time.Time
	Identity Identity
	Pods     []MemberPod
}

func (o Overlap) String() string {
	pods := make([]string, len(o.Pods))
	for i, p := range o.Pods {
		pods[i] = p.String()
	}
	return fmt.Sprintf("%s had %d live Pods at %s: %s", o.Identity, len(o.Pods), o.At.Format(time.StampMilli),
		strings.Join(pods, ", "))
}

// readySample is a group's Ready counts from a change on, until the next sample.
type readySample struct {
	at            time.Time
	pods, members int
}

// MemberWatch follows the member Pods of a namespace through WatchPods and records, as each change comes:
// every Pod (MemberPods), every moment two live Pods shared one identity, and each group's Ready counts.
type MemberWatch struct {
	stop     func()
	onChange func(*MemberWatch, MemberChange)

	mu       sync.Mutex
	pods     *MemberPods
	strays   map[types.UID]string
	overlaps []Overlap
	ready    map[string][]readySample
}

// WatchMemberPods starts a MemberWatch; it returns once the watch has seen the Pods there are (ctx bounds that
// wait), and runs until Stop.
func WatchMemberPods(ctx context.Context, cs kubernetes.Interface, namespace string, opts MemberWatchOptions) (*MemberWatch, error) {
	w := &MemberWatch{onChange: opts.OnChange, pods: NewMemberPods(opts.Liveness), strays: map[types.UID]string{},
		ready: map[string][]readySample{}}
	stop, err := WatchPods(ctx, cs, namespace, cmp.Or(opts.Selector, peapodv1alpha1.GroupLabel), w.observe)
	if err != nil {
		return nil, err
	}
	w.stop = stop
	return w, nil
}

// Stop ends the watch and waits until it has; what it recorded stays readable.
func (w *MemberWatch) Stop() { w.stop() }

func (w *MemberWatch) observe(pod *corev1.Pod, deleted bool) {
	if change, ok := w.record(pod, deleted); ok && w.onChange != nil {
		w.onChange(w, change)
	}
}

func (w *MemberWatch) record(pod *corev1.Pod, deleted bool) (MemberChange, bool) {
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	before, after, ok := w.pods.Observe(pod, deleted, now)
	if !ok {
		w.strays[pod.UID] = fmt.Sprintf("Pod %s (%s) has no ordinal", pod.Name, pod.UID)
		return MemberChange{}, false
	}
	if live := w.pods.Live(after.Identity); len(live) > 1 {
		w.overlaps = append(w.overlaps, Overlap{At: now, Identity: after.Identity, Pods: live})
	}
	group := after.Identity.Group
	sample := readySample{at: now, pods: w.pods.ReadyPods(group), members: w.pods.ReadyMembers(group)}
	if samples := w.ready[group]; len(samples) == 0 || samples[len(samples)-1].pods != sample.pods ||
		samples[len(samples)-1].members != sample.members {
		w.ready[group] = append(samples, sample)
	}
	return MemberChange{Pod: pod, Deleted: deleted, Before: before, After: after}, true
}

// Live lists the live Pods of one member, by name.
func (w *MemberWatch) Live(identity Identity) []MemberPod {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pods.Live(identity)
}

// Pod is what the watch knows of the Pod with that UID.
func (w *MemberWatch) Pod(uid types.UID) (MemberPod, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pods.Pod(uid)
}

// Seen lists every Pod the watch has seen, in the order it first saw them.
func (w *MemberWatch) Seen() []MemberPod {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pods.Seen()
}

// Deleted lists the UIDs of the Pods whose deletion the watch saw begin, sorted.
func (w *MemberWatch) Deleted() []types.UID {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []types.UID
	for _, p := range w.pods.Seen() {
		if p.Deleting() {
			out = append(out, p.UID)
		}
	}
	slices.Sort(out)
	return out
}

// Strays lists the Pods the selector chose that are no member: they have no ordinal.
func (w *MemberWatch) Strays() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Sorted(maps.Values(w.strays))
}

// Overlaps lists every moment two or more live Pods shared an identity, of the identities given or of any.
func (w *MemberWatch) Overlaps(identities ...Identity) []Overlap {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []Overlap
	for _, o := range w.overlaps {
		if len(identities) == 0 || slices.Contains(identities, o.Identity) {
			out = append(out, o)
		}
	}
	return out
}

// CreatedAfter says every live Pod of the member other than old was first seen after the moment: no
// replacement came before it.
func (w *MemberWatch) CreatedAfter(identity Identity, old types.UID, moment time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, p := range w.pods.Live(identity) {
		if p.UID != old && p.FirstSeen.Before(moment) {
			return false
		}
	}
	return true
}

// ReadyPods counts the group's Ready Pods now.
func (w *MemberWatch) ReadyPods(group string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pods.ReadyPods(group)
}

// ReadyPodsSince lists the group's Ready Pod counts from the moment on: the count then, and each change since.
func (w *MemberWatch) ReadyPodsSince(group string, moment time.Time) []int {
	w.mu.Lock()
	defer w.mu.Unlock()
	counts := []int{0}
	for _, s := range w.ready[group] {
		switch {
		case !s.at.After(moment):
			counts[0] = s.pods
		case s.pods != counts[len(counts)-1]:
			counts = append(counts, s.pods)
		}
	}
	return counts
}

// LowestReadyPods is the fewest Ready Pods the group had at once since it first had from; from until then:
// the watch sees the Pods there are one by one.
func (w *MemberWatch) LowestReadyPods(group string, from int) int {
	return w.lowestReady(group, from, func(s readySample) int { return s.pods })
}

// LowestReadyMembers is LowestReadyPods counting members: a member with two Ready Pods counts once.
func (w *MemberWatch) LowestReadyMembers(group string, from int) int {
	return w.lowestReady(group, from, func(s readySample) int { return s.members })
}

func (w *MemberWatch) lowestReady(group string, from int, count func(readySample) int) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	low, reached := from, false
	for _, s := range w.ready[group] {
		reached = reached || count(s) >= from
		if reached {
			low = min(low, count(s))
		}
	}
	return low
}
