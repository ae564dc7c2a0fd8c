package desired

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	pt "github.com/peapod-io/peapod/internal/testing"
)

func TestMemberClaims(t *testing.T) {
	cases := map[string]struct {
		policy    *peapodv1alpha1.ClaimRetentionPolicy
		wantOwner bool
	}{
		"retained by default: no owner, the claim outlives the group": {},
		"whenDeleted Delete: the group is the controller":             {policy: &peapodv1alpha1.ClaimRetentionPolicy{WhenDeleted: peapodv1alpha1.DeleteClaims}, wantOwner: true},
		"whenScaled Delete alone: still no owner":                     {policy: &peapodv1alpha1.ClaimRetentionPolicy{WhenScaled: peapodv1alpha1.DeleteClaims}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			g := pt.MakePodGroup("db", "ns").Claim("data", "1Gi").Claim("wal", "512Mi", corev1.ReadWriteMany).Obj()
			g.UID = "group-uid"
			g.Spec.VolumeClaimTemplates[0].Labels = map[string]string{"tier": "db", peapodv1alpha1.OrdinalLabel: "9"}
			g.Spec.PersistentVolumeClaimRetentionPolicy = tc.policy
			claims := MemberClaims(g, 2)
			if len(claims) != 2 || claims[0].Name != "data-db-2" || claims[1].Name != "wal-db-2" {
				t.Fatalf("claims %v, want data-db-2 and wal-db-2", claims)
			}
			c := claims[0]
			if c.Labels["tier"] != "db" || c.Labels[peapodv1alpha1.GroupLabel] != "db" || c.Labels[peapodv1alpha1.OrdinalLabel] != "2" {
				t.Errorf("labels %v: the template's, then the group's and the member's own ordinal", c.Labels)
			}
			if got := metav1.IsControlledBy(c, g); got != tc.wantOwner {
				t.Errorf("controlled by the group: %v, want %v", got, tc.wantOwner)
			}
			pod := MemberPod(g, ShapeOf(&g.Spec), 2)
			mounted := map[string]string{}
			for _, v := range pod.Spec.Volumes {
				if v.PersistentVolumeClaim != nil {
					mounted[v.Name] = v.PersistentVolumeClaim.ClaimName
				}
			}
			if mounted["data"] != "data-db-2" || mounted["wal"] != "wal-db-2" {
				t.Errorf("the member's Pod mounts %v, want its own claims under the templates' names", mounted)
			}
		})
	}
}

func TestFencingWithClaims(t *testing.T) {
	fencing := func(w *pt.PodGroupWrapper, f peapodv1alpha1.FencingPolicy) *peapodv1alpha1.PodGroup {
		g := w.Obj()
		g.Spec.Migration = &peapodv1alpha1.MigrationPolicy{NodeFailure: &peapodv1alpha1.NodeFailurePolicy{Fencing: f}}
		return g
	}
	cases := map[string]struct {
		group                   *peapodv1alpha1.PodGroup
		wantRequired, forClaims bool
	}{
		"no claims, fencing None: not required": {fencing(pt.MakePodGroup("g", "ns"), peapodv1alpha1.FencingNone), false, false},
		"ReadWriteMany claims, fencing None: not required": {
			fencing(pt.MakePodGroup("g", "ns").Claim("d", "1Gi", corev1.ReadWriteMany), peapodv1alpha1.FencingNone), false, false},
		"a ReadWriteOnce claim, fencing None: required, for the claims": {
			fencing(pt.MakePodGroup("g", "ns").Claim("d", "1Gi").Claim("e", "1Gi", corev1.ReadWriteMany), peapodv1alpha1.FencingNone), true, true},
		"a ReadWriteOnce claim, no policy: required, for the claims": {pt.MakePodGroup("g", "ns").Claim("d", "1Gi").Obj(), true, true},
		"a ReadWriteOnce claim, fencing Required: required, as asked": {
			fencing(pt.MakePodGroup("g", "ns").Claim("d", "1Gi"), peapodv1alpha1.FencingRequired), true, false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if _, got := FailurePolicyOf(tc.group); got != tc.wantRequired {
				t.Errorf("FailurePolicyOf() fencing required = %v, want %v", got, tc.wantRequired)
			}
			if got := FencedForClaims(tc.group); got != tc.forClaims {
				t.Errorf("FencedForClaims() = %v, want %v", got, tc.forClaims)
			}
		})
	}
}
