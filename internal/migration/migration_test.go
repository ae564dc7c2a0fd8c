package migration

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	lifecyclev1alpha1 "k8s.io/api/lifecycle/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/desired"
	"github.com/peapod-io/peapod/internal/nodehealth"
	pt "github.com/peapod-io/peapod/internal/testing"
)

var now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func move(member int32, target *peapodv1alpha1.MigrationTarget) *peapodv1alpha1.PodMigration {
	return &peapodv1alpha1.PodMigration{
		ObjectMeta: metav1.ObjectMeta{Name: "mv", Namespace: "default", UID: "uid-1"},
		Spec:       peapodv1alpha1.PodMigrationSpec{Group: "g", Member: &member, Target: target},
	}
}

// running is a migration of member 1 whose replacement was created.
func running(target *peapodv1alpha1.MigrationTarget) *peapodv1alpha1.PodMigration {
	m := move(1, target)
	m.Status = peapodv1alpha1.PodMigrationStatus{
		Phase: peapodv1alpha1.MigrationRunning, Member: ptr.To[int32](1), SourcePod: "g-1", SourceNode: "a",
		ReplacementPod: ReplacementName("g-1", m), StartTime: ptr.To(metav1.NewTime(now.Add(-time.Second))),
	}
	return m
}

func member(ordinal int, node string) *corev1.Pod {
	pod := pt.MakeMemberPod("g", ordinal, "r").Ready(now.Add(-time.Hour)).Created(now.Add(-time.Hour)).Obj()
	pod.Spec.NodeName = node
	return pod
}

func replacement(m *peapodv1alpha1.PodMigration, node string) *pt.PodWrapper {
	w := pt.MakeMemberPod("g", 1, "r").Name(ReplacementName("g-1", m)).Label(peapodv1alpha1.MigrationLabel, m.Name).Created(now)
	w.Spec.NodeName = node
	return w
}

// earlier is an earlier PodMigration of the same name, now gone, that moved member 1: its replacement is the
// member's Pod now and still carries the migration label with the name.
var earlier = &peapodv1alpha1.PodMigration{ObjectMeta: metav1.ObjectMeta{Name: "mv", Namespace: "default", UID: "uid-0"}}

// migratedMember is member 1's Pod after the earlier migration: Ready on node a, labelled with the name "mv".
func migratedMember() *corev1.Pod {
	pod := pt.MakeMemberPod("g", 1, "r").Name(ReplacementName("g-1", earlier)).Label(peapodv1alpha1.MigrationLabel, "mv").
		Ready(now.Add(-time.Hour)).Created(now.Add(-time.Hour)).Obj()
	pod.Spec.NodeName = "a"
	return pod
}

// Verdicts on nodes.
var (
	silent          = nodehealth.Verdict{Unhealthy: true, Reason: "LeaseExpired", Since: now.Add(-15 * time.Second)}
	awaitingFencing = nodehealth.Verdict{Unhealthy: true, AwaitFencing: true, Reason: "LeaseExpired", Since: now.Add(-time.Minute)}
	fencedNode      = nodehealth.Verdict{Unhealthy: true, Replace: true, Reason: "OutOfService"}
	failedNode      = nodehealth.Verdict{Unhealthy: true, Replace: true, Reason: "LeaseExpired", Since: now.Add(-time.Minute)}
)

// drain is the migration peapod starts for member 1 when node a is drained.
func drain() *peapodv1alpha1.PodMigration {
	return &peapodv1alpha1.PodMigration{
		ObjectMeta: metav1.ObjectMeta{Name: "g-1-drain-12345678", Namespace: "default", UID: "uid-d",
			Labels: map[string]string{peapodv1alpha1.MigrationReasonLabel: string(peapodv1alpha1.MigrationDrain)}},
		Spec: peapodv1alpha1.PodMigrationSpec{Group: "g", Pod: "g-1"},
	}
}

// evictionMove is the migration peapod starts for member 1 when an Eviction of its Pod hands it to peapod; running
// says its replacement was created.
func evictionMove(running bool) *peapodv1alpha1.PodMigration {
	m := drain()
	m.Name = EvictionName("g", 1, "g-1-r")
	m.Labels[peapodv1alpha1.MigrationReasonLabel] = string(peapodv1alpha1.MigrationEviction)
	if running {
		m.Status = *drainRunning().Status.DeepCopy()
		m.Status.ReplacementPod = ReplacementName("g-1", m)
	}
	return m
}

// evicting says an Eviction hands member 1's Pod to peapod.
var evicting = map[types.UID]*lifecyclev1alpha1.Eviction{"g-1-r": {}}

// awaited is a migration of member 1 that waited for node a to be fenced.
func awaited() *peapodv1alpha1.PodMigration {
	m := move(1, nil)
	m.Status = peapodv1alpha1.PodMigrationStatus{Phase: peapodv1alpha1.MigrationPending, Member: ptr.To[int32](1), SourcePod: "g-1", SourceNode: "a",
		Conditions: []metav1.Condition{{Type: peapodv1alpha1.MigrationReplacementReady, Status: metav1.ConditionFalse, Reason: ReasonAwaitingFencing}}}
	return m
}

// drainRunning is the drain of member 1 off node a whose replacement was created.
func drainRunning() *peapodv1alpha1.PodMigration {
	m := drain()
	m.Status = *running(nil).Status.DeepCopy()
	m.Status.ReplacementPod = ReplacementName("g-1", m)
	return m
}

// keptOff is an unscheduled replacement of m kept off the nodes given.
func keptOff(m *peapodv1alpha1.PodMigration, nodes ...string) *corev1.Pod {
	pod := unschedulable(replacement(m, ""))
	desired.AvoidNodes(pod, nodes)
	return pod
}

func unschedulable(w *pt.PodWrapper) *corev1.Pod {
	w.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse,
		Reason: corev1.PodReasonUnschedulable, Message: "0/4 nodes are available: 1 Insufficient cpu."}}
	return w.Obj()
}

func TestNext(t *testing.T) {
	toB := &peapodv1alpha1.MigrationTarget{NodeName: "b"}
	cases := map[string]struct {
		in         Input
		extra      []*corev1.Pod
		noSource   bool
		wantAction Action
		wantPod    string
		wantPhase  peapodv1alpha1.MigrationPhase
		wantReason string
		// wantMessage are parts of the status message.
		wantMessage []string
	}{
		"starts: a replacement for the member, named after the migration": {
			in:         Input{Migration: move(1, toB), Target: Target{Exists: true}},
			wantAction: CreateReplacement, wantPod: "g-1", wantPhase: peapodv1alpha1.MigrationRunning,
		},
		"the member named by its Pod": {
			in: Input{Migration: &peapodv1alpha1.PodMigration{ObjectMeta: metav1.ObjectMeta{Name: "mv"},
				Spec: peapodv1alpha1.PodMigrationSpec{Group: "g", Pod: "g-1"}}},
			wantAction: CreateReplacement, wantPod: "g-1", wantPhase: peapodv1alpha1.MigrationRunning,
		},
		"a name too long for a label value: fails, saying so, before touching anything": {
			in: Input{Migration: func() *peapodv1alpha1.PodMigration {
				m := move(1, nil)
				m.Name = strings.Repeat("m", 64)
				return m
			}()},
			wantPhase: peapodv1alpha1.MigrationFailed, wantReason: ReasonNameTooLong,
			wantMessage: []string{"64 characters", "peapod.io/migration", "63"},
		},
		"no such member": {
			in:        Input{Migration: move(7, nil)},
			wantPhase: peapodv1alpha1.MigrationFailed, wantReason: peapodv1alpha1.ReasonMemberNotFound,
		},
		"the target node does not exist": {
			in:        Input{Migration: move(1, toB)},
			wantPhase: peapodv1alpha1.MigrationFailed, wantReason: peapodv1alpha1.ReasonTargetNotFound,
		},
		"the target node is cordoned: fails before touching anything": {
			in:        Input{Migration: move(1, toB), Target: Target{Exists: true, Unschedulable: true}},
			wantPhase: peapodv1alpha1.MigrationFailed, wantReason: peapodv1alpha1.ReasonTargetUnschedulable,
		},
		"already on the target: done": {
			in:        Input{Migration: move(1, &peapodv1alpha1.MigrationTarget{NodeName: "a"}), Target: Target{Exists: true}},
			wantPhase: peapodv1alpha1.MigrationSucceeded, wantReason: "AlreadyOnTarget",
		},
		"a member with ReadWriteMany claims: moves make-before-break": {
			in:         Input{Migration: move(1, nil), Group: pt.MakePodGroup("g", "default").Claim("data", "1Gi", corev1.ReadWriteMany).Obj()},
			wantAction: CreateReplacement, wantPod: "g-1", wantPhase: peapodv1alpha1.MigrationRunning,
		},
		"another migration moves the member": {
			in:        Input{Migration: move(1, nil), MovedBy: "older"},
			wantPhase: peapodv1alpha1.MigrationFailed, wantReason: peapodv1alpha1.ReasonAlreadyMigrating,
		},
		"the group's cap is reached: waits": {
			in:        Input{Migration: move(1, nil), Running: 2, MaxRunning: 2},
			wantPhase: peapodv1alpha1.MigrationPending,
		},
		"the replacement is starting: waits": {
			in: Input{Migration: running(nil)}, extra: []*corev1.Pod{replacement(running(nil), "b").Obj()},
			wantPhase: peapodv1alpha1.MigrationRunning,
		},
		"the replacement is Ready: the old Pod is retired": {
			in: Input{Migration: running(nil)}, extra: []*corev1.Pod{replacement(running(nil), "b").Ready(now).Obj()},
			wantAction: RetireSource, wantPod: "g-1", wantPhase: peapodv1alpha1.MigrationSucceeded, wantReason: "Migrated",
		},
		"no room for a drained member: waits for capacity": {
			in: Input{Migration: running(nil)}, extra: []*corev1.Pod{unschedulable(replacement(running(nil), ""))},
			wantPhase: peapodv1alpha1.MigrationRunning, wantReason: peapodv1alpha1.ReasonWaitingForCapacity,
		},
		"the member does not fit the named target: fails, the replacement is removed": {
			in: Input{Migration: running(toB)}, extra: []*corev1.Pod{unschedulable(replacement(running(toB), ""))},
			wantAction: RemoveReplacement, wantPod: ReplacementName("g-1", running(nil)),
			wantPhase: peapodv1alpha1.MigrationFailed, wantReason: peapodv1alpha1.ReasonUnschedulable,
		},
		"the replacement's node failed: fails, the replacement is removed": {
			in:         Input{Migration: running(nil), Nodes: map[string]nodehealth.Verdict{"b": failedNode}},
			extra:      []*corev1.Pod{replacement(running(nil), "b").Obj()},
			wantAction: RemoveReplacement, wantPhase: peapodv1alpha1.MigrationFailed, wantReason: peapodv1alpha1.ReasonReplacementFailed,
		},
		"the replacement was deleted: fails, the member stays": {
			in:        Input{Migration: running(nil)},
			wantPhase: peapodv1alpha1.MigrationFailed, wantReason: peapodv1alpha1.ReasonReplacementFailed,
		},
		"a replacement created before the manager died is adopted, and the old Pod retired once it is Ready": {
			in: Input{Migration: move(1, nil)}, extra: []*corev1.Pod{replacement(move(1, nil), "b").Ready(now).Obj()},
			wantAction: RetireSource, wantPod: "g-1", wantPhase: peapodv1alpha1.MigrationSucceeded, wantReason: "Migrated",
		},
		"the old Pod already retired (its status write lost): done, with the replacement's Ready time": {
			in: Input{Migration: running(nil)}, extra: []*corev1.Pod{replacement(running(nil), "b").Ready(now).Obj()}, noSource: true,
			wantPhase: peapodv1alpha1.MigrationSucceeded, wantReason: "Migrated",
		},
		"re-created under a used name: the earlier migration's replacement is the member, moved again": {
			in: Input{Migration: move(1, nil)}, extra: []*corev1.Pod{migratedMember()}, noSource: true,
			wantAction: CreateReplacement, wantPod: ReplacementName("g-1", earlier), wantPhase: peapodv1alpha1.MigrationRunning,
		},
		"re-created under a used name for another member: member 1's Pod is neither adopted nor retired": {
			in:    Input{Migration: move(2, nil)},
			extra: []*corev1.Pod{migratedMember(), member(2, "b")}, noSource: true,
			wantAction: CreateReplacement, wantPod: "g-2", wantPhase: peapodv1alpha1.MigrationRunning,
		},
		"its replacement and the old Pod gone: a Pod that carries its name is not taken for its replacement": {
			in:    Input{Migration: running(nil)},
			extra: []*corev1.Pod{migratedMember()}, noSource: true,
			wantPhase: peapodv1alpha1.MigrationFailed, wantReason: peapodv1alpha1.ReasonSourceGone,
		},
		"fencing required, the member's node silent past `after`: no replacement, waits for the node to be fenced": {
			in:        Input{Migration: move(1, nil), FencingRequired: true, Nodes: map[string]nodehealth.Verdict{"a": awaitingFencing}},
			wantPhase: peapodv1alpha1.MigrationPending, wantReason: ReasonAwaitingFencing,
			wantMessage: []string{"node a", "nodeshutdown:NoExecute", "delete the Node"},
		},
		"a cancelled migration's replacement still live: no third copy, waits for the group to remove it": {
			in:        Input{Migration: move(1, nil)},
			extra:     []*corev1.Pod{replacement(earlier, "b").Ready(now).Obj()},
			wantPhase: peapodv1alpha1.MigrationPending, wantReason: "AwaitingCleanup",
			wantMessage: []string{"another Pod"},
		},
		"fencing required, an old Pod of the member still terminating on a silent node: no replacement": {
			in: Input{Migration: move(1, nil), FencingRequired: true, Nodes: map[string]nodehealth.Verdict{"d": awaitingFencing}},
			extra: []*corev1.Pod{func() *corev1.Pod {
				p := member(1, "d")
				p.Name, p.DeletionTimestamp = "g-1-old", &metav1.Time{Time: now}
				return p
			}()},
			wantPhase: peapodv1alpha1.MigrationPending, wantReason: ReasonAwaitingFencing,
			wantMessage: []string{"terminating on node d"},
		},
		"fencing required, the member's node silent for less than `after`: no replacement either": {
			in:        Input{Migration: move(1, nil), FencingRequired: true, Nodes: map[string]nodehealth.Verdict{"a": silent}},
			wantPhase: peapodv1alpha1.MigrationPending, wantReason: ReasonAwaitingFencing,
		},
		"fencing required, a drain of a node that went silent meanwhile: waits for fencing": {
			in:        Input{Migration: drain(), FencingRequired: true, Nodes: map[string]nodehealth.Verdict{"a": awaitingFencing}},
			wantPhase: peapodv1alpha1.MigrationPending, wantReason: ReasonAwaitingFencing,
		},
		"fencing required, the member's node fenced: the group's failover replaces the member, the migration waits": {
			in:        Input{Migration: move(1, nil), FencingRequired: true, Nodes: map[string]nodehealth.Verdict{"a": fencedNode}},
			wantPhase: peapodv1alpha1.MigrationPending, wantReason: ReasonAwaitingFailover,
		},
		"no fencing required, the member's node failed: the group's failover replaces the member, the migration waits": {
			in:        Input{Migration: move(1, nil), Nodes: map[string]nodehealth.Verdict{"a": failedNode}},
			wantPhase: peapodv1alpha1.MigrationPending, wantReason: ReasonAwaitingFailover,
		},
		"no fencing required, the member's node silent for less than `after`: moves it": {
			in:         Input{Migration: move(1, nil), Nodes: map[string]nodehealth.Verdict{"a": silent}},
			wantAction: CreateReplacement, wantPod: "g-1", wantPhase: peapodv1alpha1.MigrationRunning,
		},
		"waited for fencing, the node speaks again: moves the member": {
			in:         Input{Migration: awaited(), FencingRequired: true},
			wantAction: CreateReplacement, wantPod: "g-1", wantPhase: peapodv1alpha1.MigrationRunning, wantReason: "Starting",
		},
		"waited for fencing, the old Pod force-deleted after fencing: ends, the group recreates the member": {
			in: Input{Migration: awaited(), FencingRequired: true}, noSource: true,
			wantPhase: peapodv1alpha1.MigrationFailed, wantReason: peapodv1alpha1.ReasonSourceGone,
		},
		"waited for fencing, the member recreated elsewhere under its name: ends without moving it again": {
			in: Input{Migration: awaited(), FencingRequired: true}, noSource: true, extra: []*corev1.Pod{member(1, "d")},
			wantPhase: peapodv1alpha1.MigrationFailed, wantReason: peapodv1alpha1.ReasonSourceGone,
		},
		"waited for fencing, the old Pod evicted while its node is silent: ends": {
			in:       Input{Migration: awaited(), FencingRequired: true, Nodes: map[string]nodehealth.Verdict{"a": awaitingFencing}},
			noSource: true, extra: []*corev1.Pod{pt.MakeMemberPod("g", 1, "r").Terminating().Obj()},
			wantPhase: peapodv1alpha1.MigrationFailed, wantReason: peapodv1alpha1.ReasonSourceGone,
		},
		"fencing required, the replacement Ready but the old Pod's node went silent: not retired, waits for fencing": {
			in:        Input{Migration: running(nil), FencingRequired: true, Nodes: map[string]nodehealth.Verdict{"a": awaitingFencing}},
			extra:     []*corev1.Pod{replacement(running(nil), "b").Ready(now).Obj()},
			wantPhase: peapodv1alpha1.MigrationRunning, wantReason: ReasonAwaitingFencing,
			wantMessage: []string{"node a", "nodeshutdown:NoExecute"},
		},
		"fencing required, the old Pod's node fenced while the replacement is Ready: retired, the node is known dead": {
			in:         Input{Migration: running(nil), FencingRequired: true, Nodes: map[string]nodehealth.Verdict{"a": fencedNode}},
			extra:      []*corev1.Pod{replacement(running(nil), "b").Ready(now).Obj()},
			wantAction: RetireSource, wantPod: "g-1", wantPhase: peapodv1alpha1.MigrationSucceeded, wantReason: "Migrated",
		},
		"the replacement Ready on a node that went silent: the old Pod is not retired": {
			in:        Input{Migration: running(nil), Nodes: map[string]nodehealth.Verdict{"b": silent}},
			extra:     []*corev1.Pod{replacement(running(nil), "b").Ready(now).Obj()},
			wantPhase: peapodv1alpha1.MigrationRunning, wantReason: ReasonReplacementNodeUnhealthy,
			wantMessage: []string{"node b"},
		},
		"a drain whose node is schedulable again before it started: ends, the member stays": {
			in:        Input{Migration: drain(), Nodes: map[string]nodehealth.Verdict{"a": {}}},
			wantPhase: peapodv1alpha1.MigrationFailed, wantReason: ReasonDrainCancelled, wantMessage: []string{"node a", "stays"},
		},
		"a drain whose node is schedulable again while its replacement waits for room: ends, the replacement removed": {
			in:         Input{Migration: drainRunning(), Nodes: map[string]nodehealth.Verdict{"a": {}}},
			extra:      []*corev1.Pod{unschedulable(replacement(drainRunning(), ""))},
			wantAction: RemoveReplacement, wantPod: ReplacementName("g-1", drainRunning()),
			wantPhase: peapodv1alpha1.MigrationFailed, wantReason: ReasonDrainCancelled,
		},
		"a drain whose node is schedulable again once the replacement is Ready: the move completes": {
			in:         Input{Migration: drainRunning(), Nodes: map[string]nodehealth.Verdict{"a": {}}},
			extra:      []*corev1.Pod{replacement(drainRunning(), "b").Ready(now).Obj()},
			wantAction: RetireSource, wantPod: "g-1", wantPhase: peapodv1alpha1.MigrationSucceeded, wantReason: "Migrated",
		},
		"a drain whose node is still cordoned: waits for room": {
			in:        Input{Migration: drainRunning(), Nodes: map[string]nodehealth.Verdict{"a": {Draining: true}}},
			extra:     []*corev1.Pod{unschedulable(replacement(drainRunning(), ""))},
			wantPhase: peapodv1alpha1.MigrationRunning, wantReason: peapodv1alpha1.ReasonWaitingForCapacity,
		},
		"an Eviction hands the member's Pod to peapod: it moves make-before-break, off its node": {
			in:         Input{Migration: evictionMove(false), Evicting: evicting},
			wantAction: CreateReplacement, wantPod: "g-1", wantPhase: peapodv1alpha1.MigrationRunning,
		},
		"the Eviction withdrawn before the move started: ends, the member stays": {
			in:        Input{Migration: evictionMove(false)},
			wantPhase: peapodv1alpha1.MigrationFailed, wantReason: ReasonEvictionWithdrawn, wantMessage: []string{"g-1", "stays on node a"},
		},
		"the Eviction withdrawn while the replacement starts: ends, the replacement removed": {
			in:         Input{Migration: evictionMove(true)},
			extra:      []*corev1.Pod{replacement(evictionMove(true), "b").Obj()},
			wantAction: RemoveReplacement, wantPod: ReplacementName("g-1", evictionMove(true)),
			wantPhase: peapodv1alpha1.MigrationFailed, wantReason: ReasonEvictionWithdrawn,
		},
		"the Eviction withdrawn once the replacement is Ready: the move completes": {
			in:         Input{Migration: evictionMove(true)},
			extra:      []*corev1.Pod{replacement(evictionMove(true), "b").Ready(now).Obj()},
			wantAction: RetireSource, wantPod: "g-1", wantPhase: peapodv1alpha1.MigrationSucceeded, wantReason: "Migrated",
		},
		"the Eviction still asks while the replacement starts: waits": {
			in:        Input{Migration: evictionMove(true), Evicting: evicting},
			extra:     []*corev1.Pod{replacement(evictionMove(true), "b").Obj()},
			wantPhase: peapodv1alpha1.MigrationRunning,
		},
		"a drain whose node was not judged: no word on it, waits": {
			in:        Input{Migration: drainRunning()},
			extra:     []*corev1.Pod{unschedulable(replacement(drainRunning(), ""))},
			wantPhase: peapodv1alpha1.MigrationRunning, wantReason: peapodv1alpha1.ReasonWaitingForCapacity,
		},
		"the replacement waits, kept off a node healthy again: removed, the migration starts over": {
			in:         Input{Migration: running(nil), AvoidingKnown: true, Avoiding: []string{}},
			extra:      []*corev1.Pod{keptOff(running(nil), "a", "x")},
			wantAction: RemoveReplacement, wantPod: ReplacementName("g-1", running(nil)),
			wantPhase: peapodv1alpha1.MigrationPending, wantReason: "Restarting", wantMessage: []string{"[a x]"},
		},
		"the replacement waits, kept off its source's node and a node still failed: waits for room": {
			in:        Input{Migration: running(nil), AvoidingKnown: true, Avoiding: []string{"x"}},
			extra:     []*corev1.Pod{keptOff(running(nil), "a", "x")},
			wantPhase: peapodv1alpha1.MigrationRunning, wantReason: peapodv1alpha1.ReasonWaitingForCapacity,
		},
		"the nodes to avoid not known: the replacement is left as it is": {
			in:        Input{Migration: running(nil)},
			extra:     []*corev1.Pod{keptOff(running(nil), "a", "x")},
			wantPhase: peapodv1alpha1.MigrationRunning, wantReason: peapodv1alpha1.ReasonWaitingForCapacity,
		},
		"the old Pod went away first: the replacement takes over": {
			in: Input{Migration: running(nil)}, extra: []*corev1.Pod{replacement(running(nil), "b").Obj()}, noSource: true,
			wantPhase: peapodv1alpha1.MigrationSucceeded, wantReason: peapodv1alpha1.ReasonSourceGone,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			in := tc.in
			in.Replicas, in.Now = 3, now
			in.Pods = []*corev1.Pod{member(0, "c")}
			if !tc.noSource {
				in.Pods = append(in.Pods, member(1, "a"))
			}
			in.Pods = append(in.Pods, tc.extra...)
			step := Next(in)
			checkStep(t, step, tc.wantAction, tc.wantPod, tc.wantPhase, tc.wantReason, tc.wantMessage)
			if step.Status.Message == "" {
				t.Error("no message")
			}
			if step.Status.Phase == peapodv1alpha1.MigrationSucceeded && tc.wantReason == "Migrated" && step.Status.ReplacementReadyTime == nil {
				t.Error("migrated, but no replacementReadyTime")
			}
		})
	}
}

// checkStep checks a step's action, the Pod it acts on, its phase, a reason among its conditions and parts of its
// message; empty wants are not checked.
func checkStep(t *testing.T, step Step, action Action, pod string, phase peapodv1alpha1.MigrationPhase, reason string,
	message []string) {
	t.Helper()
	if step.Action != action || step.Status.Phase != phase {
		t.Fatalf("Next() = %s, phase %s (%s); want %s, phase %s", step.Action, step.Status.Phase, step.Status.Message, action, phase)
	}
	if pod != "" && (step.Pod == nil || step.Pod.Name != pod) {
		t.Errorf("Next() acts on %v, want %s", step.Pod, pod)
	}
	if reason != "" && !hasReason(step.Status.Conditions, reason) {
		t.Errorf("conditions %+v carry no reason %s", step.Status.Conditions, reason)
	}
	for _, part := range message {
		if !strings.Contains(step.Status.Message, part) {
			t.Errorf("message %q does not say %q", step.Status.Message, part)
		}
	}
}

func TestReplacementOf(t *testing.T) {
	mine := replacement(running(nil), "b").Obj()
	cases := map[string]struct {
		migration *peapodv1alpha1.PodMigration
		pods      []*corev1.Pod
		want      string
	}{
		"by the name from the migration's UID": {
			migration: running(nil), pods: []*corev1.Pod{member(1, "a"), mine}, want: mine.Name,
		},
		"before the status names it (a manager died after creating it)": {
			migration: move(1, nil), pods: []*corev1.Pod{member(1, "a"), mine}, want: mine.Name,
		},
		"a failed migration's, found from its status": {
			migration: func() *peapodv1alpha1.PodMigration {
				m := running(nil)
				m.Status.Phase = peapodv1alpha1.MigrationFailed
				return m
			}(),
			pods: []*corev1.Pod{member(1, "a"), mine}, want: mine.Name,
		},
		"not the Pod an earlier migration of the same name left with the label": {
			migration: move(1, nil), pods: []*corev1.Pod{migratedMember()},
		},
		"not another member's Pod carrying the name": {
			migration: move(2, nil), pods: []*corev1.Pod{migratedMember(), member(2, "b")},
		},
		"not a Pod with the name but without the migration's label": {
			migration: running(nil), pods: []*corev1.Pod{member(1, "a"), pt.MakeMemberPod("g", 1, "r").Name(mine.Name).Obj()},
		},
		"not one being deleted": {
			migration: running(nil), pods: []*corev1.Pod{member(1, "a"), replacement(running(nil), "b").Terminating().Obj()},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := ""
			if pod := ReplacementOf(tc.migration, tc.pods); pod != nil {
				got = pod.Name
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ReplacementOf() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSetAside(t *testing.T) {
	succeeded := running(nil)
	succeeded.Status.Phase = peapodv1alpha1.MigrationSucceeded
	cases := map[string]struct {
		migrations []*peapodv1alpha1.PodMigration
		pods       []*corev1.Pod
		want       []string
	}{
		"an active migration's replacement is set aside": {
			migrations: []*peapodv1alpha1.PodMigration{running(nil)},
			pods:       []*corev1.Pod{member(0, "c"), member(1, "a"), replacement(running(nil), "b").Obj()},
			want:       []string{"g-0", "g-1"},
		},
		"a migration re-created under a used name sets aside only its own replacement, never the member's Pod": {
			migrations: []*peapodv1alpha1.PodMigration{running(nil)},
			pods:       []*corev1.Pod{member(0, "c"), migratedMember(), replacement(running(nil), "b").Obj()},
			want:       []string{"g-0", ReplacementName("g-1", earlier)},
		},
		"a re-created migration that has not started sets aside nothing": {
			migrations: []*peapodv1alpha1.PodMigration{move(1, nil)},
			pods:       []*corev1.Pod{member(0, "c"), migratedMember()},
			want:       []string{"g-0", ReplacementName("g-1", earlier)},
		},
		"a finished migration's replacement is the member": {
			migrations: []*peapodv1alpha1.PodMigration{succeeded},
			pods:       []*corev1.Pod{member(0, "c"), replacement(succeeded, "b").Ready(now).Obj()},
			want:       []string{"g-0", ReplacementName("g-1", succeeded)},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			members := SetAside(tc.migrations, tc.pods)
			got := make([]string, 0, len(members))
			for _, pod := range members {
				got = append(got, pod.Name)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("SetAside() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func hasReason(conds []metav1.Condition, reason string) bool {
	for _, c := range conds {
		if c.Reason == reason {
			return true
		}
	}
	return false
}

func TestConfirms(t *testing.T) {
	m := running(nil)
	step := Next(Input{Migration: m, Replicas: 3, Now: now,
		Pods: []*corev1.Pod{member(0, "c"), member(1, "a"), replacement(m, "b").Ready(now).Obj()}})
	if step.Action != RetireSource {
		t.Fatalf("Next() = %s, want RetireSource", step.Action)
	}
	cases := map[string]struct {
		live *corev1.Pod
		want bool
	}{
		"the replacement as the step saw it: Ready on b": {replacement(m, "b").Ready(now).Obj(), true},
		"gone since":                 {nil, false},
		"terminating since":          {replacement(m, "b").Ready(now).Terminating().Obj(), false},
		"not Ready any more":         {replacement(m, "b").Obj(), false},
		"another Pod under the name": {replacement(m, "d").Ready(now).Obj(), false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := Confirms(tc.live, step); got != tc.want {
				t.Errorf("Confirms() = %v, want %v", got, tc.want)
			}
		})
	}
}
