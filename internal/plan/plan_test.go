package plan

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/desired"
	"github.com/peapod-io/peapod/internal/nodehealth"
	pt "github.com/peapod-io/peapod/internal/testing"
)

var now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// summary is a plan reduced to names, for readable diffs.
type summary struct {
	Create          []Creation
	Delete          []string
	AwaitingFencing []string
	Capped          []string
	Surge           []string
	RequeueAfter    time.Duration
}

func summarize(p Plan) summary {
	s := summary{Create: p.Create, RequeueAfter: p.RequeueAfter}
	for _, d := range p.Delete {
		force := ""
		if d.Force {
			force = "!"
		}
		s.Delete = append(s.Delete, d.Pod.Name+":"+string(d.Reason)+force)
	}
	for _, pod := range p.AwaitingFencing {
		s.AwaitingFencing = append(s.AwaitingFencing, pod.Name)
	}
	for _, pod := range p.Capped {
		s.Capped = append(s.Capped, pod.Name)
	}
	for _, pod := range p.Surge {
		s.Surge = append(s.Surge, pod.Name)
	}
	return s
}

// avoiding keeps a Pod off nodes, as a failover's replacement is.
func avoiding(pod *corev1.Pod, nodes ...string) *corev1.Pod {
	desired.AvoidNodes(pod, nodes)
	return pod
}

// on binds a Pod to a node.
func on(node string, pod *corev1.Pod) *corev1.Pod {
	pod.Spec.NodeName = node
	return pod
}

// ready is an available member at revision "a".
func ready(ordinal int) *corev1.Pod {
	return pt.MakeMemberPod("g", ordinal, "a").Ready(now.Add(-time.Hour)).Obj()
}

func TestMake(t *testing.T) {
	addedNow := metav1.NewTime(now)
	cases := map[string]struct {
		in   Input
		want summary
	}{
		"creates every missing member at the update revision": {
			in:   Input{Replicas: 3, UpdateRevision: "b", CurrentRevision: "b", MaxUnavailable: 1},
			want: summary{Create: []Creation{{0, "b"}, {1, "b"}, {2, "b"}}},
		},
		"nothing to do when all members are current": {
			in:   Input{Replicas: 2, UpdateRevision: "a", MaxUnavailable: 1, Pods: []*corev1.Pod{ready(0), ready(1)}},
			want: summary{},
		},
		"scale-down deletes the highest ordinals first": {
			in: Input{Replicas: 1, UpdateRevision: "a", MaxUnavailable: 1,
				Pods: []*corev1.Pod{ready(0), ready(1), ready(2)}},
			want: summary{Delete: []string{"g-2:ScaleDown", "g-1:ScaleDown"}},
		},
		"a member a stop-then-start migration moves is not created by the plan": {
			in:   Input{Replicas: 2, UpdateRevision: "a", MaxUnavailable: 1, Pods: []*corev1.Pod{ready(0)}, Held: map[int]bool{1: true}},
			want: summary{},
		},
		"a stop-then-start replacement left unscheduled by a migration that ended is recreated": {
			in: Input{Replicas: 2, UpdateRevision: "a", MaxUnavailable: 1, Pods: []*corev1.Pod{ready(0),
				pt.MakeMemberPod("g", 1, "a").Name("g-1-m12345").Label(peapodv1alpha1.MigrationLabel, "mv").Unschedulable("0/3 nodes are available").Obj()}},
			want: summary{Delete: []string{"g-1-m12345:StalePlacement"}},
		},
		"while its migration runs, it is left to the migration": {
			in: Input{Replicas: 2, UpdateRevision: "a", MaxUnavailable: 1, Held: map[int]bool{1: true}, Pods: []*corev1.Pod{ready(0),
				pt.MakeMemberPod("g", 1, "a").Name("g-1-m12345").Label(peapodv1alpha1.MigrationLabel, "mv").Unschedulable("0/3 nodes are available").Obj()}},
			want: summary{},
		},
		"a terminating member holds its name: no replacement yet": {
			in: Input{Replicas: 2, UpdateRevision: "a", MaxUnavailable: 1,
				Pods: []*corev1.Pod{ready(0), pt.MakeMemberPod("g", 1, "a").Terminating().Obj()}},
			want: summary{},
		},
		"a failed member is deleted, to be recreated once gone": {
			in: Input{Replicas: 2, UpdateRevision: "a", MaxUnavailable: 1,
				Pods: []*corev1.Pod{ready(0), pt.MakeMemberPod("g", 1, "a").Phase(corev1.PodFailed).Obj()}},
			want: summary{Delete: []string{"g-1:MemberFailed"}},
		},
		"of two live pods of one ordinal the newer is deleted, whatever its name": {
			in: Input{Replicas: 1, UpdateRevision: "a", MaxUnavailable: 1, Pods: []*corev1.Pod{
				pt.MakeMemberPod("g", 0, "a").Name("g-0-x1").Created(now).Obj(),
				pt.MakeMemberPod("g", 0, "a").Created(now.Add(-time.Minute)).Obj(),
			}},
			want: summary{Delete: []string{"g-0-x1:DuplicateMember"}},
		},
		"a pod without an ordinal is deleted as a stray": {
			in: Input{Replicas: 1, UpdateRevision: "a", MaxUnavailable: 1,
				Pods: []*corev1.Pod{ready(0), pt.MakeMemberPod("g", 0, "a").Name("g-x").Label(peapodv1alpha1.OrdinalLabel, "x").Obj()}},
			want: summary{Delete: []string{"g-x:StrayPod"}},
		},
		"a migrated member whose old pod is terminating is neither created nor deleted": {
			in: Input{Replicas: 1, UpdateRevision: "a", MaxUnavailable: 1, Pods: []*corev1.Pod{
				pt.MakeMemberPod("g", 0, "a").Terminating().Obj(),
				pt.MakeMemberPod("g", 0, "a").Name("g-0-x1").Created(now).Ready(now).Obj(),
			}},
			want: summary{},
		},
		"a member Kubernetes' taint eviction is about to delete is left to it, then replaced": {
			in: Input{Replicas: 1, UpdateRevision: "a", MaxUnavailable: 1, Now: now,
				Pods: []*corev1.Pod{on("fenced", ready(0))},
				Nodes: map[string]nodehealth.Verdict{"fenced": {Replace: true, NoExecute: []corev1.Taint{{
					Key: nodehealth.OutOfServiceTaint, Effect: corev1.TaintEffectNoExecute, TimeAdded: &addedNow}}}}},
			want: summary{RequeueAfter: 5 * time.Second},
		},
		"a member left to taint eviction for longer than the grace is replaced anyway": {
			in: Input{Replicas: 1, UpdateRevision: "a", MaxUnavailable: 1, Now: now,
				Pods: []*corev1.Pod{on("fenced", ready(0))},
				Nodes: map[string]nodehealth.Verdict{"fenced": {Replace: true, NoExecute: []corev1.Taint{{
					Key: nodehealth.OutOfServiceTaint, Effect: corev1.TaintEffectNoExecute}}}},
				EvictionNoticed: map[types.UID]EvictionNotice{ready(0).UID: {At: now.Add(-6 * time.Second), WhileLive: true}}},
			want: summary{Delete: []string{"g-0:NodeFailed!"}},
		},
		"a member already terminating when its node is fenced is left to the taint eviction too": {
			in: Input{Replicas: 1, UpdateRevision: "a", MaxUnavailable: 1, Now: now,
				Pods: []*corev1.Pod{on("fenced", pt.MakeMemberPod("g", 0, "a").Terminating().Obj())},
				Nodes: map[string]nodehealth.Verdict{"fenced": {Replace: true, NoExecute: []corev1.Taint{{
					Key: nodehealth.OutOfServiceTaint, Effect: corev1.TaintEffectNoExecute, TimeAdded: &addedNow}}}}},
			want: summary{RequeueAfter: 5 * time.Second},
		},
		"a member seen live, then deleted by the taint eviction, is replaced at once": {
			in: Input{Replicas: 1, UpdateRevision: "a", MaxUnavailable: 1, Now: now,
				Pods: []*corev1.Pod{on("fenced", pt.MakeMemberPod("g", 0, "a").Terminating().Obj())},
				Nodes: map[string]nodehealth.Verdict{"fenced": {Replace: true, NoExecute: []corev1.Taint{{
					Key: nodehealth.OutOfServiceTaint, Effect: corev1.TaintEffectNoExecute, TimeAdded: &addedNow}}}},
				EvictionNoticed: map[types.UID]EvictionNotice{"g-0-a": {At: now.Add(-time.Second), WhileLive: true}}},
			want: summary{Delete: []string{"g-0:NodeFailed!"}},
		},
		"a terminating pod that lost its identity is force-deleted when its node failed": {
			in: Input{Replicas: 1, UpdateRevision: "a", MaxUnavailable: 1, Pods: []*corev1.Pod{
				on("dead", pt.MakeMemberPod("g", 0, "a").Terminating().Obj()),
				pt.MakeMemberPod("g", 0, "a").Name("g-0-x1").Created(now).Ready(now).Obj(),
			}, Nodes: map[string]nodehealth.Verdict{"dead": {Replace: true}}},
			want: summary{Delete: []string{"g-0:NodeFailed!"}},
		},
		"rolling update replaces at most maxUnavailable available members, highest first": {
			in: Input{Replicas: 4, UpdateRevision: "b", CurrentRevision: "a", MaxUnavailable: 2,
				Pods: []*corev1.Pod{ready(0), ready(1), ready(2), ready(3)}},
			want: summary{Delete: []string{"g-3:RollingUpdate", "g-2:RollingUpdate"}},
		},
		"rolling update waits while the budget is spent on an unavailable member": {
			in: Input{Replicas: 3, UpdateRevision: "b", CurrentRevision: "a", MaxUnavailable: 1,
				Pods: []*corev1.Pod{ready(0), ready(1), pt.MakeMemberPod("g", 2, "b").Obj()}},
			want: summary{},
		},
		"replacing an outdated member that is unavailable anyway costs no budget": {
			in: Input{Replicas: 3, UpdateRevision: "b", CurrentRevision: "a", MaxUnavailable: 1,
				Pods: []*corev1.Pod{ready(0), pt.MakeMemberPod("g", 1, "a").Obj(), ready(2)}},
			want: summary{Delete: []string{"g-1:RollingUpdate"}},
		},
		"maxSurge: available outdated members are moved make-before-break, none deleted, highest first": {
			in: Input{Replicas: 4, UpdateRevision: "b", CurrentRevision: "a", MaxUnavailable: 2, MaxSurge: 1,
				Pods: []*corev1.Pod{ready(0), ready(1), ready(2), ready(3)}},
			want: summary{Surge: []string{"g-3"}},
		},
		"maxSurge: moves in flight count, and a member another migration moves is left to it": {
			in: Input{Replicas: 4, UpdateRevision: "b", CurrentRevision: "a", MaxUnavailable: 1, MaxSurge: 2,
				Migrating: map[int]peapodv1alpha1.MigrationReason{3: peapodv1alpha1.MigrationUpdate, 2: peapodv1alpha1.MigrationDrain},
				Pods:      []*corev1.Pod{ready(0), ready(1), ready(2), ready(3)}},
			want: summary{Surge: []string{"g-1"}},
		},
		"maxSurge: an outdated member that is unavailable anyway is replaced in place": {
			in: Input{Replicas: 3, UpdateRevision: "b", CurrentRevision: "a", MaxUnavailable: 1, MaxSurge: 1,
				Pods: []*corev1.Pod{ready(0), pt.MakeMemberPod("g", 1, "a").Obj(), ready(2)}},
			want: summary{Delete: []string{"g-1:RollingUpdate"}, Surge: []string{"g-2"}},
		},
		"partition keeps lower ordinals, and recreates them at the current revision": {
			in: Input{Replicas: 3, UpdateRevision: "b", CurrentRevision: "a", MaxUnavailable: 3, Partition: 2,
				Pods: []*corev1.Pod{ready(1), ready(2)}},
			want: summary{Create: []Creation{{0, "a"}}, Delete: []string{"g-2:RollingUpdate"}},
		},
		"OnDelete never replaces outdated members, but recreates at the update revision": {
			in: Input{Replicas: 2, UpdateRevision: "b", CurrentRevision: "a", MaxUnavailable: 1, Partition: 2,
				Strategy: peapodv1alpha1.OnDeleteStrategy, Pods: []*corev1.Pod{ready(1)}},
			want: summary{Create: []Creation{{0, "b"}}},
		},
		"a member on a failed node is force-deleted, also while terminating, and not counted against the budget": {
			in: Input{Replicas: 3, UpdateRevision: "a", MaxUnavailable: 1,
				Pods:  []*corev1.Pod{on("n1", ready(0)), on("dead", ready(1)), on("dead", pt.MakeMemberPod("g", 2, "a").Terminating().Obj())},
				Nodes: map[string]nodehealth.Verdict{"dead": {Replace: true, Unhealthy: true}}},
			want: summary{Delete: []string{"g-2:NodeFailed!", "g-1:NodeFailed!"}},
		},
		"maxConcurrentMigrations: one at a time, and none while another replacement is not Ready yet": {
			in: Input{Replicas: 4, UpdateRevision: "a", MaxUnavailable: 1, MaxMigrations: 1,
				Pods:  []*corev1.Pod{on("n1", ready(0)), on("dead", ready(1)), on("dead", ready(2)), on("dead", ready(3))},
				Nodes: map[string]nodehealth.Verdict{"dead": {Replace: true, Unhealthy: true}}},
			want: summary{Delete: []string{"g-3:NodeFailed!"}, Capped: []string{"g-2", "g-1"}},
		},
		"maxConcurrentMigrations: the cap is spent on a replacement still starting": {
			in: Input{Replicas: 3, UpdateRevision: "a", MaxUnavailable: 1, MaxMigrations: 1,
				Pods:  []*corev1.Pod{on("n1", ready(0)), on("dead", ready(1)), on("n2", pt.MakeMemberPod("g", 2, "a").Created(now.Add(-time.Minute)).Obj())},
				Nodes: map[string]nodehealth.Verdict{"dead": {Replace: true, Unhealthy: true}}},
			want: summary{Capped: []string{"g-1"}},
		},
		"maxConcurrentMigrations: a member not Ready for longer than StuckAfter does not hold the cap": {
			in: Input{Replicas: 3, UpdateRevision: "a", MaxUnavailable: 1, MaxMigrations: 1,
				Pods:  []*corev1.Pod{on("n1", ready(0)), on("dead", ready(1)), on("n2", pt.MakeMemberPod("g", 2, "a").Created(now.Add(-StuckAfter)).Obj())},
				Nodes: map[string]nodehealth.Verdict{"dead": {Replace: true, Unhealthy: true}}},
			want: summary{Delete: []string{"g-1:NodeFailed!"}},
		},
		"a member on a node awaiting fencing stays, and is reported": {
			in: Input{Replicas: 2, UpdateRevision: "a", MaxUnavailable: 1,
				Pods:  []*corev1.Pod{on("n1", ready(0)), on("silent", ready(1))},
				Nodes: map[string]nodehealth.Verdict{"silent": {AwaitFencing: true, Unhealthy: true}}},
			want: summary{AwaitingFencing: []string{"g-1"}},
		},
		"a suspect node: look again when its failure has lasted long enough": {
			in: Input{Replicas: 1, UpdateRevision: "a", MaxUnavailable: 1,
				Pods:  []*corev1.Pod{on("quiet", ready(0))},
				Nodes: map[string]nodehealth.Verdict{"quiet": {Unhealthy: true, RequeueAfter: 4 * time.Second}}},
			want: summary{RequeueAfter: 4 * time.Second},
		},
		"a member Pending only because it avoids a node that is healthy again is recreated": {
			in: Input{Replicas: 1, UpdateRevision: "a", MaxUnavailable: 1, AvoidingKnown: true, Avoiding: []string{"still-dead"},
				Pods: []*corev1.Pod{avoiding(pt.MakeMemberPod("g", 0, "a").Unschedulable("0/2 nodes are available").Obj(), "n1", "still-dead")}},
			want: summary{Delete: []string{"g-0:StaleAvoidance"}},
		},
		"a member Pending while the nodes it avoids are still failed stays": {
			in: Input{Replicas: 1, UpdateRevision: "a", MaxUnavailable: 1, AvoidingKnown: true, Avoiding: []string{"n1", "still-dead"},
				Pods: []*corev1.Pod{avoiding(pt.MakeMemberPod("g", 0, "a").Unschedulable("0/2 nodes are available").Obj(), "n1", "still-dead")}},
			want: summary{},
		},
		"minReadySeconds: requeue when the next member becomes available": {
			in: Input{Replicas: 1, UpdateRevision: "a", MaxUnavailable: 1, MinReadySeconds: 10,
				Pods: []*corev1.Pod{pt.MakeMemberPod("g", 0, "a").Ready(now.Add(-4 * time.Second)).Obj()}},
			want: summary{RequeueAfter: 6 * time.Second},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			tc.in.Now = now
			if diff := cmp.Diff(tc.want, summarize(Make(tc.in))); diff != "" {
				t.Errorf("Make() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestResolveMaxUnavailable(t *testing.T) {
	cases := map[string]struct {
		v        *intstr.IntOrString
		replicas int
		want     int
	}{
		"default is one":                   {v: nil, replicas: 10, want: 1},
		"a number":                         {v: ptr(intstr.FromInt32(3)), replicas: 10, want: 3},
		"a percentage rounds down":         {v: ptr(intstr.FromString("25%")), replicas: 10, want: 2},
		"a percentage is at least one":     {v: ptr(intstr.FromString("10%")), replicas: 3, want: 1},
		"one hundred percent is all of it": {v: ptr(intstr.FromString("100%")), replicas: 7, want: 7},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := ResolveMaxUnavailable(tc.v, tc.replicas); got != tc.want {
				t.Errorf("ResolveMaxUnavailable() = %d, want %d", got, tc.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
