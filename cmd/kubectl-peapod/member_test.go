package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	pt "github.com/peapod-io/peapod/internal/testing"
)

func TestParseMember(t *testing.T) {
	cases := map[string]struct {
		group, arg  string
		wantOrdinal int
		wantOK      bool
	}{
		"ordinal":                               {group: "web", arg: "1", wantOrdinal: 1, wantOK: true},
		"ordinal with a leading zero":           {group: "web", arg: "01", wantOrdinal: 1, wantOK: true},
		"member name":                           {group: "web", arg: "web-12", wantOrdinal: 12, wantOK: true},
		"member name of a group with a dash":    {group: "web-1", arg: "web-1-0", wantOrdinal: 0, wantOK: true},
		"a replacement's Pod name is a Pod":     {group: "web", arg: "web-1-m3f9a2"},
		"another group's member is a Pod name":  {group: "web", arg: "db-1"},
		"group name alone":                      {group: "web", arg: "web-"},
		"signs are not ordinals":                {group: "web", arg: "+1"},
		"an ordinal too large for int is a Pod": {group: "web", arg: "99999999999999999999"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ordinal, ok := parseMember(tc.group, tc.arg)
			if ordinal != tc.wantOrdinal || ok != tc.wantOK {
				t.Errorf("parseMember(%q, %q) = %d, %t; want %d, %t", tc.group, tc.arg, ordinal, ok, tc.wantOrdinal, tc.wantOK)
			}
		})
	}
}

func TestMemberOfPod(t *testing.T) {
	cases := map[string]struct {
		pod         *corev1.Pod
		wantOrdinal int
		wantErr     string
	}{
		"a migration's replacement": {
			pod:         pt.MakeMemberPod("web", 2, "r1").Name("web-2-m3f9a2").Obj(),
			wantOrdinal: 2,
		},
		"another group's Pod": {
			pod:     pt.MakeMemberPod("db", 0, "r1").Obj(),
			wantErr: `pod db-0 is not a member of podgroup web (its peapod.io/group label is "db")`,
		},
		"no ordinal": {
			pod:     pt.MakeMemberPod("web", 0, "r1").Label(peapodv1alpha1.OrdinalLabel, "zero").Obj(),
			wantErr: "pod web-0 has no valid peapod.io/ordinal label",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ordinal, err := memberOfPod("web", tc.pod)
			if diff := cmp.Diff(tc.wantErr, errString(err)); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if ordinal != tc.wantOrdinal {
				t.Errorf("ordinal = %d, want %d", ordinal, tc.wantOrdinal)
			}
		})
	}
}

func TestCheckMember(t *testing.T) {
	cases := map[string]struct {
		replicas int32
		ordinal  int
		wantErr  string
	}{
		"last member":  {replicas: 3, ordinal: 2},
		"beyond":       {replicas: 3, ordinal: 3, wantErr: "podgroup web has no member web-3: its members are web-0 to web-2"},
		"scaled to 0":  {replicas: 0, ordinal: 0, wantErr: "podgroup web has no members (spec.replicas is 0)"},
		"first member": {replicas: 1, ordinal: 0},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := checkMember(pt.MakePodGroup("web", "default").Replicas(tc.replicas).Obj(), tc.ordinal)
			if diff := cmp.Diff(tc.wantErr, errString(err)); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNewMigration(t *testing.T) {
	cases := map[string]struct {
		to   string
		want *peapodv1alpha1.PodMigration
	}{
		"anywhere": {
			want: &peapodv1alpha1.PodMigration{
				ObjectMeta: metav1.ObjectMeta{GenerateName: "web-1-", Namespace: "prod", Labels: map[string]string{"peapod.io/group": "web"}},
				Spec:       peapodv1alpha1.PodMigrationSpec{Group: "web", Member: ptr.To[int32](1)},
			},
		},
		"to a node": {
			to: "node-b",
			want: &peapodv1alpha1.PodMigration{
				ObjectMeta: metav1.ObjectMeta{GenerateName: "web-1-", Namespace: "prod", Labels: map[string]string{"peapod.io/group": "web"}},
				Spec: peapodv1alpha1.PodMigrationSpec{Group: "web", Member: ptr.To[int32](1),
					Target: &peapodv1alpha1.MigrationTarget{NodeName: "node-b"}},
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := newMigration(pt.MakePodGroup("web", "prod").Obj(), 1, tc.to)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("migration (-want +got):\n%s", diff)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
