package controllers

import (
	"encoding/json"
	"testing"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/peapod-io/peapod/internal/desired"
	pt "github.com/peapod-io/peapod/internal/testing"
)

// The slimmed children keep every field peapod applies: a child as the API server returns it after the apply
// still holds the apply configuration once cached (no write at rest), and one edited by hand does not.
func TestSlimChildrenHoldWhatPeapodApplies(t *testing.T) {
	g := pt.MakePodGroup("web", "ns").Replicas(2).ServicePort("http", 80).UID("group-uid").Obj()
	owner := desired.OwnerReference(g)
	server := func(t *testing.T, ac any, into metav1.Object) {
		t.Helper()
		data, err := json.Marshal(ac)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, into); err != nil {
			t.Fatal(err)
		}
		into.SetResourceVersion("42")
		into.SetAnnotations(map[string]string{"peapod.io/applied-hash": "h", "kubectl.kubernetes.io/last-applied-configuration": "{}"})
		into.SetManagedFields([]metav1.ManagedFieldsEntry{{Manager: "peapod", Operation: metav1.ManagedFieldsOperationApply}})
	}
	headless := func(t *testing.T) *corev1.Service {
		var svc corev1.Service
		server(t, desired.HeadlessService(g, owner), &svc)
		svc.Spec.ClusterIPs, svc.Spec.Type, svc.Spec.SessionAffinity = []string{"None"}, corev1.ServiceTypeClusterIP, corev1.ServiceAffinityNone
		return &svc
	}
	front := func(t *testing.T) *corev1.Service {
		var svc corev1.Service
		server(t, desired.ClusterIPService(g, owner), &svc)
		svc.Spec.ClusterIP, svc.Spec.ClusterIPs = "10.0.0.7", []string{"10.0.0.7"}
		svc.Status.LoadBalancer = corev1.LoadBalancerStatus{}
		return &svc
	}
	budget := func(t *testing.T) *policyv1.PodDisruptionBudget {
		var pdb policyv1.PodDisruptionBudget
		server(t, desired.DisruptionBudget(g, owner, 0, 0), &pdb)
		pdb.Status = policyv1.PodDisruptionBudgetStatus{CurrentHealthy: 2, DesiredHealthy: 2, ExpectedPods: 2}
		return &pdb
	}
	peers := func(t *testing.T) *corev1.ConfigMap {
		var cm corev1.ConfigMap
		server(t, desired.PeersConfigMap(g, owner, 0), &cm)
		cm.Data["notes"] = "a key of the user's"
		return &cm
	}
	cases := map[string]struct {
		obj  func(*testing.T) any
		slim func(any) (any, error)
		ac   any
		want bool
	}{
		"headless Service": {obj: func(t *testing.T) any { return headless(t) }, slim: slimService,
			ac: desired.HeadlessService(g, owner), want: true},
		"headless Service, selector edited": {obj: func(t *testing.T) any {
			svc := headless(t)
			svc.Spec.Selector = map[string]string{"app": "other"}
			return svc
		}, slim: slimService, ac: desired.HeadlessService(g, owner)},
		"ClusterIP Service": {obj: func(t *testing.T) any { return front(t) }, slim: slimService,
			ac: desired.ClusterIPService(g, owner), want: true},
		"ClusterIP Service, port removed": {obj: func(t *testing.T) any {
			svc := front(t)
			svc.Spec.Ports = nil
			return svc
		}, slim: slimService, ac: desired.ClusterIPService(g, owner)},
		"budget": {obj: func(t *testing.T) any { return budget(t) }, slim: slimBudget,
			ac: desired.DisruptionBudget(g, owner, 0, 0), want: true},
		"budget, minAvailable edited": {obj: func(t *testing.T) any {
			pdb := budget(t)
			pdb.Spec.MinAvailable.IntVal = 1
			return pdb
		}, slim: slimBudget, ac: desired.DisruptionBudget(g, owner, 0, 0)},
		"peer ConfigMap": {obj: func(t *testing.T) any { return peers(t) }, slim: slimConfigMap,
			ac: desired.PeersConfigMap(g, owner, 0), want: true},
		"peer ConfigMap, list edited": {obj: func(t *testing.T) any {
			cm := peers(t)
			cm.Data["peers"] = "evil.example.com\n"
			return cm
		}, slim: slimConfigMap, ac: desired.PeersConfigMap(g, owner, 0)},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			cached, err := tc.slim(tc.obj(t))
			if err != nil {
				t.Fatal(err)
			}
			if got := desired.Holds(cached, tc.ac, atomicFields...); got != tc.want {
				t.Errorf("Holds = %v after slimming, want %v", got, tc.want)
			}
			if meta := cached.(metav1.Object); meta.GetAnnotations()["peapod.io/applied-hash"] != "h" || len(meta.GetAnnotations()) != 1 ||
				meta.GetManagedFields() != nil {
				t.Errorf("cached metadata keeps annotations %v and managedFields %v", meta.GetAnnotations(), meta.GetManagedFields())
			}
		})
	}
}
