package desired

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
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

func TestHolds(t *testing.T) {
	g := pt.MakePodGroup("web", "ns").UID("group-uid").ServicePort("http", 80).Obj()
	owner := OwnerReference(g)
	ours := map[string]string{"peapod.io/group": "web"}
	meta := metav1.ObjectMeta{Name: "web-members", Namespace: "ns", Labels: ours, OwnerReferences: []metav1.OwnerReference{ControllerRef(g)},
		ResourceVersion: "7", Annotations: map[string]string{"peapod.io/applied-hash": "x"}}
	// headless is the headless Service as the API server returns it: defaulted, with a status.
	headless := func(edit func(*corev1.Service)) *corev1.Service {
		svc := &corev1.Service{ObjectMeta: *meta.DeepCopy(), Spec: corev1.ServiceSpec{
			ClusterIP: "None", ClusterIPs: []string{"None"}, Type: corev1.ServiceTypeClusterIP, Selector: ours,
			PublishNotReadyAddresses: true, SessionAffinity: corev1.ServiceAffinityNone,
		}}
		if edit != nil {
			edit(svc)
		}
		return svc
	}
	front := func(edit func(*corev1.Service)) *corev1.Service {
		svc := &corev1.Service{ObjectMeta: *meta.DeepCopy(), Spec: corev1.ServiceSpec{
			ClusterIP: "10.0.0.7", Type: corev1.ServiceTypeClusterIP, Selector: ours,
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(80), Protocol: corev1.ProtocolTCP}},
		}}
		svc.Name = "web"
		if edit != nil {
			edit(svc)
		}
		return svc
	}
	budget := func(edit func(*policyv1.PodDisruptionBudget)) *policyv1.PodDisruptionBudget {
		pdb := &policyv1.PodDisruptionBudget{ObjectMeta: *meta.DeepCopy(), Spec: policyv1.PodDisruptionBudgetSpec{
			MinAvailable: ptr(intstr.FromInt32(1)), Selector: &metav1.LabelSelector{MatchLabels: ours},
			UnhealthyPodEvictionPolicy: ptr(policyv1.AlwaysAllow),
		}}
		pdb.Name = "web"
		if edit != nil {
			edit(pdb)
		}
		return pdb
	}
	peers := func(data map[string]string) *corev1.ConfigMap {
		cm := &corev1.ConfigMap{ObjectMeta: *meta.DeepCopy(), Data: data}
		cm.Name = "web-peers"
		return cm
	}
	atomic := []string{"spec.selector"}
	cases := map[string]struct {
		obj  any
		ac   any
		want bool
	}{
		"headless as applied, defaulted": {obj: headless(nil), ac: HeadlessService(g, owner), want: true},
		"headless with a label and an owner added": {obj: headless(func(s *corev1.Service) {
			s.Labels = map[string]string{"peapod.io/group": "web", "team": "a"}
			s.OwnerReferences = append(s.OwnerReferences, metav1.OwnerReference{Kind: "ConfigMap", Name: "x", UID: "x"})
		}), ac: HeadlessService(g, owner), want: true},
		"headless selector replaced": {obj: headless(func(s *corev1.Service) { s.Spec.Selector = map[string]string{"app": "other"} }),
			ac: HeadlessService(g, owner)},
		"headless selector widened: it is one value": {obj: headless(func(s *corev1.Service) {
			s.Spec.Selector = map[string]string{"peapod.io/group": "web", "app": "other"}
		}), ac: HeadlessService(g, owner)},
		"headless no longer publishing unready members": {obj: headless(func(s *corev1.Service) { s.Spec.PublishNotReadyAddresses = false }),
			ac: HeadlessService(g, owner)},
		"headless without the group's label": {obj: headless(func(s *corev1.Service) { s.Labels = nil }), ac: HeadlessService(g, owner)},
		"headless without its controller":    {obj: headless(func(s *corev1.Service) { s.OwnerReferences = nil }), ac: HeadlessService(g, owner)},
		"front as applied, defaulted":        {obj: front(nil), ac: ClusterIPService(g, owner), want: true},
		"front with a port added":            {obj: front(func(s *corev1.Service) { s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: "x", Port: 1}) }), ac: ClusterIPService(g, owner), want: true},
		"front with its port moved":          {obj: front(func(s *corev1.Service) { s.Spec.Ports[0].TargetPort = intstr.FromInt32(8080) }), ac: ClusterIPService(g, owner)},
		"budget as applied":                  {obj: budget(nil), ac: DisruptionBudget(g, owner, 0, 0), want: true},
		"budget with a status": {obj: budget(func(p *policyv1.PodDisruptionBudget) {
			p.Status = policyv1.PodDisruptionBudgetStatus{CurrentHealthy: 1, DesiredHealthy: 1, ExpectedPods: 1}
		}), ac: DisruptionBudget(g, owner, 0, 0), want: true},
		"budget lowered": {obj: budget(func(p *policyv1.PodDisruptionBudget) { p.Spec.MinAvailable = ptr(intstr.FromInt32(0)) }),
			ac: DisruptionBudget(g, owner, 0, 0)},
		"budget selecting more": {obj: budget(func(p *policyv1.PodDisruptionBudget) {
			p.Spec.Selector.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "app", Operator: metav1.LabelSelectorOpExists}}
		}), ac: DisruptionBudget(g, owner, 0, 0)},
		"peers as applied":         {obj: peers(map[string]string{"peers": "web-0.web-members.ns.svc\n"}), ac: PeersConfigMap(g, owner, 0), want: true},
		"peers with a key added":   {obj: peers(map[string]string{"peers": "web-0.web-members.ns.svc\n", "x": "y"}), ac: PeersConfigMap(g, owner, 0), want: true},
		"peers edited":             {obj: peers(map[string]string{"peers": "evil.example.com\n"}), ac: PeersConfigMap(g, owner, 0)},
		"peers as the cache slims": {obj: peers(nil), ac: PeersConfigMap(g, owner, 0)},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := Holds(tc.obj, tc.ac, atomic...); got != tc.want {
				t.Errorf("Holds = %v, want %v", got, tc.want)
			}
		})
	}
}
