package main

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	pt "github.com/peapod-io/peapod/internal/testing"
)

var now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// memberPod is member ordinal of group web on a node, created `age` ago.
func memberPod(ordinal int, node string, age time.Duration) *pt.PodWrapper {
	w := pt.MakeMemberPod("web", ordinal, "r1").Created(now.Add(-age)).Phase(corev1.PodRunning)
	w.Spec.NodeName = node
	return w
}

// readyMember is a member Pod Ready since it was created.
func readyMember(ordinal int, node string, age time.Duration) *corev1.Pod {
	return memberPod(ordinal, node, age).Ready(now.Add(-age)).Obj()
}

func podMigration(name string, member int32, phase peapodv1alpha1.MigrationPhase, age time.Duration) *peapodv1alpha1.PodMigration {
	return &peapodv1alpha1.PodMigration{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", CreationTimestamp: metav1.NewTime(now.Add(-age))},
		Spec:       peapodv1alpha1.PodMigrationSpec{Group: "web", Member: ptr.To(member)},
		Status:     peapodv1alpha1.PodMigrationStatus{Phase: phase},
	}
}

func condition(typ string, status metav1.ConditionStatus, reason, message string) metav1.Condition {
	return metav1.Condition{Type: typ, Status: status, Reason: reason, Message: message}
}

func settledConditions() []metav1.Condition {
	return []metav1.Condition{
		condition("Available", "True", "MinimumMembersAvailable", "3 of 3 members available"),
		condition("Progressing", "False", "AllMembersAvailable", "all 3 members available and up to date"),
		condition("Degraded", "False", "AsExpected", ""),
	}
}

func TestWriteStatus(t *testing.T) {
	g := pt.MakePodGroup("web", "default").Replicas(4).Obj()
	g.Status = peapodv1alpha1.PodGroupStatus{
		ReadyReplicas: 3,
		Conditions: []metav1.Condition{
			condition("Available", "True", "MinimumMembersAvailable", "3 of 4 members available"),
			condition("Progressing", "True", "MembersChanging", "3 of 4 members available, 4 updated"),
			condition("Degraded", "True", "AwaitingFencing", "member web-3 waits for node kwok-3 to be fenced"),
		},
		LastMigration: &peapodv1alpha1.MigrationRecord{
			Member: 2, Reason: peapodv1alpha1.MigrationNodeFailed, From: "kwok-2", To: "kwok-4",
			StartTime: metav1.NewTime(now.Add(-4 * time.Minute)), ReadyTime: ptr.To(metav1.NewTime(now.Add(-4*time.Minute + 9*time.Second))),
		},
	}
	replacement := memberPod(1, "kwok-5", 3*time.Second).Name("web-1-m3f9a2").
		Label(peapodv1alpha1.MigrationLabel, "web-1-x7k2p").Phase(corev1.PodPending).Obj()
	replacement.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app",
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}}}
	view := groupView{
		Group: g,
		Pods: []*corev1.Pod{
			replacement,
			readyMember(0, "kwok-0", time.Hour),
			readyMember(2, "kwok-4", 4*time.Minute),
			readyMember(1, "kwok-1", time.Hour),
		},
		Migrations: []*peapodv1alpha1.PodMigration{
			podMigration("web-1-x7k2p", 1, peapodv1alpha1.MigrationRunning, 5*time.Second),
			podMigration("web-0-a1b2c", 0, peapodv1alpha1.MigrationSucceeded, time.Hour),
		},
		Now: now,
	}
	want := `podgroup default/web: 3/4 ready  Available=True  Progressing=True (MembersChanging: 3 of 4 members available, 4 updated)  Degraded=True (AwaitingFencing: member web-3 waits for node kwok-3 to be fenced)

MEMBER   POD            NODE     READY   STATUS              AGE   MIGRATION
web-0    web-0          kwok-0   true    Running             60m   -
web-1    web-1          kwok-1   true    Running             60m   web-1-x7k2p Running
web-1    web-1-m3f9a2   kwok-5   false   ContainerCreating   3s    web-1-x7k2p Running, replacement
web-2    web-2          kwok-4   true    Running             4m    -
web-3    missing        -        -       -                   -     -

last migration: member web-2 (NodeFailed) kwok-2 → kwok-4, 4m ago, Ready after 9s
`
	var out strings.Builder
	if err := writeStatus(&out, view); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("status output (-want +got):\n%s", diff)
	}
}

func TestHeader(t *testing.T) {
	cases := map[string]struct {
		status     peapodv1alpha1.PodGroupStatus
		generation int64
		want       string
	}{
		"settled": {
			status: peapodv1alpha1.PodGroupStatus{ReadyReplicas: 3, ObservedGeneration: 1, Conditions: settledConditions()},
			want:   "podgroup default/web: 3/3 ready  Available=True  Progressing=False  Degraded=False",
		},
		"never reconciled": {
			want: "podgroup default/web: 0/3 ready; no status yet: is the peapod manager running?",
		},
		"unavailable, a condition missing, status behind the spec": {
			generation: 3,
			status: peapodv1alpha1.PodGroupStatus{ObservedGeneration: 2, Conditions: []metav1.Condition{
				condition("Available", "False", "MembersUnavailable", "0 of 3 members available"),
				condition("Degraded", "True", "InvalidMember", ""),
			}},
			want: "podgroup default/web: 0/3 ready  Available=False (MembersUnavailable: 0 of 3 members available)  Progressing=Unknown" +
				"  Degraded=True (InvalidMember)  (status is of generation 2, the spec is at 3)",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			g := pt.MakePodGroup("web", "default").Replicas(3).Obj()
			g.Generation, g.Status = tc.generation, tc.status
			if diff := cmp.Diff(tc.want, header(g)); diff != "" {
				t.Errorf("header (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMemberRows(t *testing.T) {
	running := peapodv1alpha1.MigrationRunning
	cases := map[string]struct {
		replicas   int32
		pods       []*corev1.Pod
		migrations []*peapodv1alpha1.PodMigration
		want       []memberRow
	}{
		"all members in place": {
			replicas: 2,
			pods:     []*corev1.Pod{readyMember(1, "b", time.Hour), readyMember(0, "a", time.Hour)},
			want: []memberRow{
				{"web-0", "web-0", "a", "true", "Running", "60m", "-"},
				{"web-1", "web-1", "b", "true", "Running", "60m", "-"},
			},
		},
		"migration pending, no replacement yet: the member's row says so": {
			replicas:   1,
			pods:       []*corev1.Pod{readyMember(0, "a", time.Hour)},
			migrations: []*peapodv1alpha1.PodMigration{podMigration("web-0-abcde", 0, "", time.Second)},
			want:       []memberRow{{"web-0", "web-0", "a", "true", "Running", "60m", "web-0-abcde Pending"}},
		},
		"migration done, the old Pod still terminating: the replacement is marked": {
			replicas: 1,
			pods: []*corev1.Pod{
				memberPod(0, "a", time.Hour).Terminating().Obj(),
				memberPod(0, "b", time.Minute).Name("web-0-m11111").Label(peapodv1alpha1.MigrationLabel, "web-0-abcde").Ready(now).Obj(),
			},
			migrations: []*peapodv1alpha1.PodMigration{podMigration("web-0-abcde", 0, peapodv1alpha1.MigrationSucceeded, time.Minute)},
			want: []memberRow{
				{"web-0", "web-0", "a", "false", "Terminating", "60m", "-"},
				{"web-0", "web-0-m11111", "b", "true", "Running", "60s", "web-0-abcde Succeeded, replacement"},
			},
		},
		"moving again: the active migration's Pod is the replacement, not the earlier one": {
			replicas: 1,
			pods: []*corev1.Pod{
				memberPod(0, "b", time.Hour).Name("web-0-m11111").Label(peapodv1alpha1.MigrationLabel, "web-0-old").Ready(now).Obj(),
				memberPod(0, "", time.Second).Name("web-0-m22222").Label(peapodv1alpha1.MigrationLabel, "web-0-new").Phase("").Obj(),
			},
			migrations: []*peapodv1alpha1.PodMigration{podMigration("web-0-new", 0, running, time.Second)},
			want: []memberRow{
				{"web-0", "web-0-m11111", "b", "true", "Running", "60m", "web-0-new Running"},
				{"web-0", "web-0-m22222", "-", "false", "Pending", "1s", "web-0-new Running, replacement"},
			},
		},
		"scaled down: a surplus member still terminating is shown, missing ones below replicas too": {
			replicas: 2,
			pods:     []*corev1.Pod{readyMember(0, "a", time.Hour), memberPod(2, "c", time.Hour).Terminating().Obj()},
			want: []memberRow{
				{"web-0", "web-0", "a", "true", "Running", "60m", "-"},
				{"web-1", "missing", "-", "-", "-", "-", "-"},
				{"web-2", "web-2", "c", "false", "Terminating", "60m", "-"},
			},
		},
		"migrations of other members and Pods without an ordinal are left out": {
			replicas: 1,
			pods: []*corev1.Pod{readyMember(0, "a", time.Hour),
				pt.MakeMemberPod("web", 0, "r1").Name("stray").Label(peapodv1alpha1.OrdinalLabel, "x").Obj()},
			migrations: []*peapodv1alpha1.PodMigration{podMigration("web-7-abcde", 7, running, time.Second)},
			want:       []memberRow{{"web-0", "web-0", "a", "true", "Running", "60m", "-"}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			g := pt.MakePodGroup("web", "default").Replicas(tc.replicas).Obj()
			got := memberRows(groupView{Group: g, Pods: tc.pods, Migrations: tc.migrations, Now: now})
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLastMigration(t *testing.T) {
	start := metav1.NewTime(now.Add(-90 * time.Second))
	cases := map[string]struct {
		record *peapodv1alpha1.MigrationRecord
		want   string
	}{
		"none": {want: "last migration: none"},
		"failover, Ready again": {
			record: &peapodv1alpha1.MigrationRecord{Member: 1, Reason: peapodv1alpha1.MigrationNodeFailed, From: "a", To: "b",
				StartTime: start, ReadyTime: ptr.To(metav1.NewTime(start.Add(2300 * time.Millisecond)))},
			want: "last migration: member web-1 (NodeFailed) a → b, 90s ago, Ready after 2.3s",
		},
		"requested, not placed yet": {
			record: &peapodv1alpha1.MigrationRecord{Member: 0, Reason: peapodv1alpha1.MigrationRequested, From: "a",
				Migration: "web-0-abcde", StartTime: start},
			want: "last migration: member web-0 (Requested) a → ?, 90s ago, not Ready yet (podmigration web-0-abcde)",
		},
		"a stop-then-start drain: the downtime": {
			record: &peapodv1alpha1.MigrationRecord{Member: 1, Reason: peapodv1alpha1.MigrationDrain, From: "a", To: "b",
				Migration: "web-1-drain-1234", StartTime: start, ReadyTime: ptr.To(metav1.NewTime(start.Add(4100 * time.Millisecond))),
				Downtime: &metav1.Duration{Duration: 4100 * time.Millisecond}},
			want: "last migration: member web-1 (Drain) a → b, 90s ago, Ready after 4.1s, down 4.1s (stopped to move its claims) (podmigration web-1-drain-1234)",
		},
		"drain that took minutes": {
			record: &peapodv1alpha1.MigrationRecord{Member: 2, Reason: peapodv1alpha1.MigrationDrain, From: "a", To: "c",
				StartTime: metav1.NewTime(now.Add(-3 * time.Hour)), ReadyTime: ptr.To(metav1.NewTime(now.Add(-3*time.Hour + 125*time.Second)))},
			want: "last migration: member web-2 (Drain) a → c, 3h ago, Ready after 2m5s",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			g := pt.MakePodGroup("web", "default").Obj()
			g.Status.LastMigration = tc.record
			if diff := cmp.Diff(tc.want, lastMigration(g, now)); diff != "" {
				t.Errorf("line (-want +got):\n%s", diff)
			}
		})
	}
}

func TestElapsed(t *testing.T) {
	cases := map[string]struct {
		d    time.Duration
		want string
	}{
		"whole seconds, as the API's times have": {d: 2 * time.Second, want: "2s"},
		"tenths under a minute":                  {d: 2345 * time.Millisecond, want: "2.3s"},
		"seconds above a minute":                 {d: 65400 * time.Millisecond, want: "1m5s"},
		"clock skew is not a negative duration":  {d: -time.Second, want: "0s"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := elapsed(tc.d); got != tc.want {
				t.Errorf("elapsed(%s) = %q, want %q", tc.d, got, tc.want)
			}
		})
	}
}
