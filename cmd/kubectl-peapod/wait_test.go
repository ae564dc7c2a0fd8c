package main

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
)

func TestOutcome(t *testing.T) {
	start := metav1.NewTime(now)
	cases := map[string]struct {
		status   peapodv1alpha1.PodMigrationStatus
		wantDone bool
		wantLine string
		wantErr  string
	}{
		"pending": {status: peapodv1alpha1.PodMigrationStatus{}},
		"running": {status: peapodv1alpha1.PodMigrationStatus{Phase: peapodv1alpha1.MigrationRunning, StartTime: &start}},
		"succeeded: moved, timed": {
			status: peapodv1alpha1.PodMigrationStatus{Phase: peapodv1alpha1.MigrationSucceeded, Member: ptr.To[int32](1),
				SourceNode: "node-a", TargetNode: "node-b", StartTime: &start, CompletionTime: ptr.To(metav1.NewTime(now.Add(2300 * time.Millisecond)))},
			wantDone: true,
			wantLine: "member web-1 moved from node node-a to node node-b in 2.3s",
		},
		"succeeded without moving: the controller's message": {
			status: peapodv1alpha1.PodMigrationStatus{Phase: peapodv1alpha1.MigrationSucceeded, Member: ptr.To[int32](1),
				SourceNode: "node-b", TargetNode: "node-b", CompletionTime: &start, Message: "member web-1 already runs on node node-b"},
			wantDone: true,
			wantLine: "member web-1 already runs on node node-b",
		},
		"failed": {
			status:   peapodv1alpha1.PodMigrationStatus{Phase: peapodv1alpha1.MigrationFailed, Message: "target node node-x does not exist"},
			wantDone: true,
			wantErr:  "podmigration web-1-abcde failed: target node node-x does not exist",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			m := podMigration("web-1-abcde", 1, "", 0)
			m.Status = tc.status
			done, line, err := outcome(m, 2300*time.Millisecond)
			got := []any{done, line, errString(err)}
			if diff := cmp.Diff([]any{tc.wantDone, tc.wantLine, tc.wantErr}, got); diff != "" {
				t.Errorf("done, line, error (-want +got):\n%s", diff)
			}
		})
	}
}

func TestProgress(t *testing.T) {
	cases := map[string]struct {
		status peapodv1alpha1.PodMigrationStatus
		want   string
	}{
		"not seen by the controller yet": {want: "Pending"},
		"running": {
			status: peapodv1alpha1.PodMigrationStatus{Phase: peapodv1alpha1.MigrationRunning,
				Message: "waiting for web-1-m3f9a2 to be Ready on node node-b"},
			want: "Running: waiting for web-1-m3f9a2 to be Ready on node node-b",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			m := podMigration("web-1-abcde", 1, "", 0)
			m.Status = tc.status
			if got := progress(m); got != tc.want {
				t.Errorf("progress = %q, want %q", got, tc.want)
			}
		})
	}
}
