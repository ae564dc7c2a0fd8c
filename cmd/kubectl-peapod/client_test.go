package main

import (
	"context"
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/scheme"
	pt "github.com/peapod-io/peapod/internal/testing"
)

// The tests here run the commands' client code against controller-runtime's fake client: no cluster.

func TestResolveMember(t *testing.T) {
	cl := fake.NewClientBuilder().WithScheme(scheme.New()).WithObjects(
		pt.MakeMemberPod("web", 2, "r1").Name("web-2-m3f9a2").Obj(),
		pt.MakeMemberPod("db", 0, "r1").Obj(),
	).Build()
	cases := map[string]struct {
		arg         string
		wantOrdinal int
		wantErr     string
	}{
		"ordinal":             {arg: "1", wantOrdinal: 1},
		"member name":         {arg: "web-2", wantOrdinal: 2},
		"a member's Pod":      {arg: "web-2-m3f9a2", wantOrdinal: 2},
		"no such member":      {arg: "web-3", wantErr: "podgroup web has no member web-3: its members are web-0 to web-2"},
		"another group's Pod": {arg: "db-0", wantErr: `pod db-0 is not a member of podgroup web (its peapod.io/group label is "db")`},
		"neither member nor Pod": {arg: "frontend", wantErr: `podgroup web has no member or pod "frontend": ` +
			"MEMBER is an ordinal (1), a member name (web-1) or a member's pod name"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			g := pt.MakePodGroup("web", "default").Replicas(3).Obj()
			ordinal, err := resolveMember(context.Background(), cl, g, tc.arg)
			if diff := cmp.Diff(tc.wantErr, errString(err)); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if ordinal != tc.wantOrdinal {
				t.Errorf("ordinal = %d, want %d", ordinal, tc.wantOrdinal)
			}
		})
	}
}

func TestReadGroup(t *testing.T) {
	other := podMigration("db-0-abcde", 0, "", 0)
	other.Spec.Group = "db"
	cl := fake.NewClientBuilder().WithScheme(scheme.New()).WithObjects(
		pt.MakePodGroup("web", "default").Obj(),
		pt.MakeMemberPod("web", 0, "r1").Obj(),
		pt.MakeMemberPod("db", 0, "r1").Obj(),
		podMigration("web-0-abcde", 0, "", 0),
		other,
	).Build()
	cases := map[string]struct {
		namespace, group string
		wantPods         []string
		wantMigrations   []string
		wantErr          string
	}{
		"the group's Pods and migrations only": {namespace: "default", group: "web", wantPods: []string{"web-0"},
			wantMigrations: []string{"web-0-abcde"}},
		"no such group":                  {namespace: "default", group: "api", wantErr: "podgroup api not found in namespace default"},
		"the group in another namespace": {namespace: "prod", group: "web", wantErr: "podgroup web not found in namespace prod"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			view, err := readGroup(context.Background(), cl, tc.namespace, tc.group)
			if diff := cmp.Diff(tc.wantErr, errString(err)); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantPods, names(view.Pods), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("pods (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantMigrations, names(view.Migrations), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("migrations (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWaitForMigration(t *testing.T) {
	running := peapodv1alpha1.PodMigrationStatus{Phase: peapodv1alpha1.MigrationRunning,
		Message: "waiting for web-1-m3f9a2 to be Ready on node b"}
	cases := map[string]struct {
		status     *peapodv1alpha1.PodMigrationStatus // nil: the migration is gone
		succeedOn  int                                // the read at which it succeeds, if it does
		timeout    time.Duration
		interrupt  bool
		readErr    error // every read fails so
		wantOut    string
		wantErrOut string
		wantErr    string
	}{
		"succeeds on the second read": {
			status:    &running,
			succeedOn: 2,
			wantOut: "Running: waiting for web-1-m3f9a2 to be Ready on node b\n" +
				"member web-1 moved from node a to node b in TOOK\n",
		},
		"fails": {
			status: &peapodv1alpha1.PodMigrationStatus{Phase: peapodv1alpha1.MigrationFailed,
				Message: "member web-1 does not fit the target: 0/3 nodes are available"},
			wantErr: "podmigration web-1-abcde failed: member web-1 does not fit the target: 0/3 nodes are available",
		},
		"deleted: cancelled": {
			wantErr: "podmigration web-1-abcde was deleted before it finished: the migration is cancelled",
		},
		"times out": {
			status:  &running,
			timeout: 10 * time.Millisecond,
			wantOut: "Running: waiting for web-1-m3f9a2 to be Ready on node b\n",
			wantErr: "timed out after 10ms waiting for podmigration web-1-abcde (Running: waiting for web-1-m3f9a2 to be Ready " +
				"on node b); it goes on. To cancel it: kubectl delete podmigration web-1-abcde -n default",
		},
		"times out, every read refused": {
			status:  &running,
			readErr: errors.New(`podmigrations.peapod.io "web-1-abcde" is forbidden`),
			timeout: 10 * time.Millisecond,
			wantErr: "timed out after 10ms waiting for podmigration web-1-abcde, the last read failed: " +
				`podmigrations.peapod.io "web-1-abcde" is forbidden. To cancel it: kubectl delete podmigration web-1-abcde -n default`,
		},
		"interrupted: the migration goes on": {
			status:    &running,
			interrupt: true,
			wantOut:   "Running: waiting for web-1-m3f9a2 to be Ready on node b\n",
			wantErrOut: "stopped waiting; podmigration web-1-abcde goes on (Running: waiting for web-1-m3f9a2 to be Ready on node b). " +
				"To cancel it: kubectl delete podmigration web-1-abcde -n default\n",
			wantErr: "exit code 130",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			m := podMigration("web-1-abcde", 1, "", 0)
			builder := fake.NewClientBuilder().WithScheme(scheme.New())
			if tc.status != nil {
				m.Status = *tc.status
				builder = builder.WithObjects(m.DeepCopy())
			}
			reads := 0
			cl := builder.WithInterceptorFuncs(interceptor.Funcs{
				Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
					if tc.readErr != nil {
						return tc.readErr
					}
					err := c.Get(ctx, key, obj, opts...)
					if reads++; reads == tc.succeedOn {
						obj.(*peapodv1alpha1.PodMigration).Status = succeeded()
					}
					return err
				},
			}).Build()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.interrupt {
				cancel()
			}
			streams, _, out, errOut := genericiooptions.NewTestIOStreams()
			timeout := time.Minute
			if tc.timeout != 0 {
				timeout = tc.timeout
			}
			err := waitForMigration(ctx, cl, m, timeout, streams)
			if diff := cmp.Diff(tc.wantErr, errString(err)); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			wantOut := "waiting up to " + timeout.String() + "; Ctrl-C stops waiting, not the migration\n" + tc.wantOut
			// How long it took is measured on the wall clock: whatever it was, it is said.
			gotOut := regexp.MustCompile(`in [0-9.]+m?s\n`).ReplaceAllString(out.String(), "in TOOK\n")
			if diff := cmp.Diff(wantOut, gotOut); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantErrOut, errOut.String()); diff != "" {
				t.Errorf("error output (-want +got):\n%s", diff)
			}
		})
	}
}

func names[T client.Object](objs []T) []string {
	out := make([]string, 0, len(objs))
	for _, o := range objs {
		out = append(out, o.GetName())
	}
	return out
}

func succeeded() peapodv1alpha1.PodMigrationStatus {
	start := now
	return peapodv1alpha1.PodMigrationStatus{Phase: peapodv1alpha1.MigrationSucceeded, Member: ptr.To[int32](1),
		SourcePod: "web-1", SourceNode: "a", TargetNode: "b", Message: "member web-1 moved from node a to node b; web-1 retired",
		StartTime: ptr.To(metav1.NewTime(start)), CompletionTime: ptr.To(metav1.NewTime(start.Add(3 * time.Second)))}
}
