package utils

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/desired"
	"github.com/peapod-io/peapod/internal/plan"
)

// Identity is one member of a group: its ordinal, which carries its name, hostname and DNS name, whatever its
// Pods are called (a migration's replacement has a suffix).
type Identity struct {
	Group   string
	Ordinal int
}

func (i Identity) String() string { return desired.MemberName(i.Group, i.Ordinal) }

// IdentityOf reads the member a Pod is from its labels; ok is false for a Pod with no ordinal.
func IdentityOf(pod *corev1.Pod) (Identity, bool) {
	ordinal, ok := desired.OrdinalOf(pod.Labels)
	return Identity{Group: pod.Labels[peapodv1alpha1.GroupLabel], Ordinal: ordinal}, ok
}

// MemberPod is what is known of one member Pod from the changes seen of it, also once it is gone.
type MemberPod struct {
	UID      types.UID
	Name     string
	Identity Identity
	// Node is the node it was bound to, kept once the Pod is gone.
	Node, IP string
	// Migration names the PodMigration that started the Pod as its member's replacement.
	Migration string
	// Ready is plan.Ready as last seen: false once the Pod is being deleted or gone.
	Ready bool
	// Finished Pods (Succeeded, Failed) run nothing.
	Finished bool
	// Gone says the object is gone from the API.
	Gone bool
	// FirstSeen, ReadyAt and DeletingAt are when it was first seen, first seen Ready, and first seen being
	// deleted (or gone), on this process's clock.
	FirstSeen, ReadyAt, DeletingAt time.Time
}

// WasReady says the Pod was ever seen Ready.
func (p MemberPod) WasReady() bool { return !p.ReadyAt.IsZero() }

// Deleting says its deletion was seen begin.
func (p MemberPod) Deleting() bool { return !p.DeletingAt.IsZero() }

func (p MemberPod) String() string {
	return fmt.Sprintf("%s (%s) on %s", p.Name, p.UID, cmp.Or(p.Node, "no node yet"))
}

// Liveness says until when a member Pod counts as live: the suites ask different questions of the same Pods.
type Liveness int

const (
	// LiveUntilDeleting counts a Pod until its deletion begins: the member's Pod as a user or its controller
	// sees it, one per member but while a migration moves it.
	LiveUntilDeleting Liveness = iota
	// LiveUntilGone counts a Pod until its object is gone from the API: one being deleted may still run, and a
	// replacement under the same name can only come after it.
	LiveUntilGone
	// LiveUntilGoneOrFinished is LiveUntilGone for a Pod still running: a finished one runs nothing.
	LiveUntilGoneOrFinished
)

func (l Liveness) live(p *MemberPod) bool {
	switch l {
	case LiveUntilGone:
		return !p.Gone
	case LiveUntilGoneOrFinished:
		return !p.Gone && !p.Finished
	default:
		return !p.Deleting()
	}
}

// MemberPods is the state of member Pods as their changes show it, by member. It takes no lock: its user
// serialises the changes and the questions.
type MemberPods struct {
	liveness Liveness
	pods     map[types.UID]*MemberPod
	// seen are the UIDs in the order they were first seen.
	seen []types.UID
}

// NewMemberPods starts with no Pod known; liveness says which of them Live counts.
func NewMemberPods(liveness Liveness) *MemberPods {
	return &MemberPods{liveness: liveness, pods: map[types.UID]*MemberPod{}}
}

// Observe records a change of a Pod seen at now, or its deletion, and returns what was known of it before and
// after. ok is false for a Pod with no ordinal, which is not recorded.
func (m *MemberPods) Observe(pod *corev1.Pod, deleted bool, now time.Time) (before, after MemberPod, ok bool) {
	identity, ok := IdentityOf(pod)
	if !ok {
		return MemberPod{}, MemberPod{}, false
	}
	p := m.pods[pod.UID]
	if p == nil {
		p = &MemberPod{UID: pod.UID, Name: pod.Name, Identity: identity,
			Migration: pod.Labels[peapodv1alpha1.MigrationLabel], FirstSeen: now}
		m.pods[pod.UID] = p
		m.seen = append(m.seen, pod.UID)
	}
	before = *p
	if pod.Spec.NodeName != "" {
		p.Node = pod.Spec.NodeName
	}
	p.IP = pod.Status.PodIP
	p.Ready = !deleted && plan.Ready(pod)
	if p.Ready && !p.WasReady() {
		p.ReadyAt = now
	}
	p.Finished = plan.Finished(pod)
	if (deleted || pod.DeletionTimestamp != nil) && !p.Deleting() {
		p.DeletingAt = now
	}
	p.Gone = p.Gone || deleted
	return before, *p, true
}

// Pod is what is known of the Pod with that UID.
func (m *MemberPods) Pod(uid types.UID) (MemberPod, bool) {
	p, ok := m.pods[uid]
	if !ok {
		return MemberPod{}, false
	}
	return *p, true
}

// Seen lists every Pod seen, gone or not, in the order first seen.
func (m *MemberPods) Seen() []MemberPod {
	out := make([]MemberPod, 0, len(m.seen))
	for _, uid := range m.seen {
		out = append(out, *m.pods[uid])
	}
	return out
}

// Live lists the live Pods of one member, by name.
func (m *MemberPods) Live(identity Identity) []MemberPod {
	return m.live(func(p *MemberPod) bool { return p.Identity == identity })
}

// LivePods lists every live Pod, by name.
func (m *MemberPods) LivePods() []MemberPod {
	return m.live(func(*MemberPod) bool { return true })
}

func (m *MemberPods) live(match func(*MemberPod) bool) []MemberPod {
	var out []MemberPod
	for _, p := range m.pods {
		if match(p) && m.liveness.live(p) {
			out = append(out, *p)
		}
	}
	slices.SortFunc(out, func(a, b MemberPod) int { return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.UID, b.UID)) })
	return out
}

// ReadyPods counts a group's Ready Pods; a member moved make-before-break has two for a moment.
func (m *MemberPods) ReadyPods(group string) int {
	n := 0
	for _, p := range m.pods {
		if p.Ready && p.Identity.Group == group {
			n++
		}
	}
	return n
}

// ReadyMembers counts a group's members with a Ready Pod: one with two counts once.
func (m *MemberPods) ReadyMembers(group string) int {
	ready := map[int]bool{}
	for _, p := range m.pods {
		if p.Ready && p.Identity.Group == group {
			ready[p.Identity.Ordinal] = true
		}
	}
	return len(ready)
}
