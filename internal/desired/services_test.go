package desired

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	pt "github.com/peapod-io/peapod/internal/testing"
)

// asService turns an apply configuration into the Service it declares, for comparison.
func asService(t *testing.T, ac any) *corev1.Service {
	t.Helper()
	data, err := json.Marshal(ac)
	if err != nil {
		t.Fatal(err)
	}
	var svc corev1.Service
	if err := json.Unmarshal(data, &svc); err != nil {
		t.Fatal(err)
	}
	svc.OwnerReferences = nil
	return &svc
}

func TestServices(t *testing.T) {
	selector := map[string]string{"peapod.io/group": "web"}
	cases := map[string]struct {
		group         *peapodv1alpha1.PodGroup
		wantHeadless  corev1.ServiceSpec
		wantClusterIP *corev1.ServiceSpec
	}{
		"no ports: only the headless Service": {
			group:        pt.MakePodGroup("web", "ns").Obj(),
			wantHeadless: corev1.ServiceSpec{ClusterIP: "None", Selector: selector, PublishNotReadyAddresses: true},
		},
		"ports: a ClusterIP Service selecting the members, target port defaulting to the port": {
			group: func() *peapodv1alpha1.PodGroup {
				g := pt.MakePodGroup("web", "ns").ServicePort("http", 80).ServicePort("grpc", 9090).Obj()
				g.Spec.Service.Ports[1].TargetPort = ptr(intstr.FromString("grpc"))
				g.Spec.Service.Ports[1].Protocol = corev1.ProtocolUDP
				return g
			}(),
			wantHeadless: corev1.ServiceSpec{ClusterIP: "None", Selector: selector, PublishNotReadyAddresses: true},
			wantClusterIP: &corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, Selector: selector, Ports: []corev1.ServicePort{
				{Name: "http", Port: 80, TargetPort: intstr.FromInt32(80), Protocol: corev1.ProtocolTCP},
				{Name: "grpc", Port: 9090, TargetPort: intstr.FromString("grpc"), Protocol: corev1.ProtocolUDP},
			}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			owner := OwnerReference(tc.group)
			headless := asService(t, HeadlessService(tc.group, owner))
			if headless.Name != "web-members" || headless.Namespace != "ns" {
				t.Errorf("headless Service named %s/%s", headless.Namespace, headless.Name)
			}
			if diff := cmp.Diff(tc.wantHeadless, headless.Spec); diff != "" {
				t.Errorf("headless spec mismatch (-want +got):\n%s", diff)
			}
			ac := ClusterIPService(tc.group, owner)
			if tc.wantClusterIP == nil {
				if ac != nil {
					t.Errorf("got a ClusterIP Service without ports")
				}
				return
			}
			svc := asService(t, ac)
			if svc.Name != "web" {
				t.Errorf("Service named %s", svc.Name)
			}
			if diff := cmp.Diff(*tc.wantClusterIP, svc.Spec); diff != "" {
				t.Errorf("ClusterIP spec mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPeersConfigMap(t *testing.T) {
	cases := map[string]struct {
		replicas int32
		want     string
	}{
		"one name a line":        {replicas: 2, want: "web-0.web-members.ns.svc\nweb-1.web-members.ns.svc\n"},
		"empty when scaled to 0": {replicas: 0, want: ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			g := pt.MakePodGroup("web", "ns").Replicas(tc.replicas).Obj()
			cm := PeersConfigMap(g, OwnerReference(g))
			if *cm.Name != "web-peers" {
				t.Errorf("ConfigMap named %s", *cm.Name)
			}
			if diff := cmp.Diff(map[string]string{"peers": tc.want}, cm.Data); diff != "" {
				t.Errorf("data mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestClaimOf(t *testing.T) {
	g := pt.MakePodGroup("web", "ns").UID("group-uid").Obj()
	other := pt.MakePodGroup("web", "ns").UID("earlier-group-uid").Obj()
	object := func(labels map[string]string, owners ...metav1.OwnerReference) *corev1.Service {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", Labels: labels, OwnerReferences: owners}}
	}
	ours := map[string]string{"peapod.io/group": "web"}
	cases := map[string]struct {
		obj       *corev1.Service
		want      Claim
		wantWhy   string
		wantNoWhy bool
	}{
		"controlled by the group":                    {obj: object(ours, ControllerRef(g)), want: Controlled, wantNoWhy: true},
		"controlled by the group, its label removed": {obj: object(nil, ControllerRef(g)), want: Controlled, wantNoWhy: true},
		"orphaned, with the group's label":           {obj: object(ours), want: Orphan, wantNoWhy: true},
		"orphaned, owned but not controlled by another": {
			obj: object(ours, metav1.OwnerReference{Kind: "ConfigMap", Name: "x", UID: "x"}), want: Orphan, wantNoWhy: true,
		},
		"a user's, without the label": {
			obj: object(map[string]string{"app": "web"}), want: Foreign,
			wantWhy: `Service "web" exists and has no controller: peapod leaves it alone; rename the group, or delete that Service`,
		},
		"another group's of the same name (another UID)": {
			obj: object(ours, ControllerRef(other)), want: Foreign,
			wantWhy: `Service "web" exists and is controlled by PodGroup "web": peapod leaves it alone; rename the group, or delete that Service`,
		},
		"the label of another group": {
			obj: object(map[string]string{"peapod.io/group": "web-members"}), want: Foreign,
			wantWhy: `Service "web" exists and has no controller: peapod leaves it alone; rename the group, or delete that Service`,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := ClaimOf(tc.obj, g); got != tc.want {
				t.Errorf("ClaimOf = %v, want %v", got, tc.want)
			}
			if !tc.wantNoWhy {
				if diff := cmp.Diff(tc.wantWhy, NameConflict("Service", tc.obj)); diff != "" {
					t.Errorf("NameConflict mismatch (-want +got):\n%s", diff)
				}
			}
		})
	}
}
