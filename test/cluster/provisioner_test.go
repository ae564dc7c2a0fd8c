package cluster

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// A volume is confined to the zone of the node its claim's first Pod was scheduled to, unless the claim asks for
// ReadWriteMany: then every zone reaches it.
func TestProvisionedVolumeAffinity(t *testing.T) {
	inZoneB := &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
		MatchExpressions: []corev1.NodeSelectorRequirement{{
			Key: corev1.LabelTopologyZone, Operator: corev1.NodeSelectorOpIn, Values: []string{"zone-b"},
		}},
	}}}}
	cases := map[string]struct {
		modes        []corev1.PersistentVolumeAccessMode
		nodeLabels   map[string]string
		wantAffinity *corev1.VolumeNodeAffinity
		wantErr      bool
	}{
		"ReadWriteOnce in the node's zone": {
			modes:        []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			nodeLabels:   map[string]string{corev1.LabelTopologyZone: "zone-b"},
			wantAffinity: inZoneB,
		},
		"ReadWriteOncePod in the node's zone": {
			modes:        []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOncePod},
			nodeLabels:   map[string]string{corev1.LabelTopologyZone: "zone-b"},
			wantAffinity: inZoneB,
		},
		"ReadWriteMany everywhere": {
			modes:      []corev1.PersistentVolumeAccessMode{corev1.ReadOnlyMany, corev1.ReadWriteMany},
			nodeLabels: map[string]string{corev1.LabelTopologyZone: "zone-b"},
		},
		"a node without a zone": {
			modes:   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			wantErr: true,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			claim := &corev1.PersistentVolumeClaim{
				ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "data", UID: "1234"},
				Spec: corev1.PersistentVolumeClaimSpec{
					AccessModes: tc.modes,
					Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
				},
			}
			class := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: StorageClassName},
				ReclaimPolicy: ptr.To(corev1.PersistentVolumeReclaimDelete)}
			node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n", Labels: tc.nodeLabels}}
			pv, err := provisionedVolume(claim, class, node)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("provisionedVolume = %v, want an error", pv.Name)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantAffinity, pv.Spec.NodeAffinity); diff != "" {
				t.Errorf("node affinity (-want +got):\n%s", diff)
			}
			want := corev1.PersistentVolumeSpec{
				Capacity: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
				PersistentVolumeSource: corev1.PersistentVolumeSource{
					CSI: &corev1.CSIPersistentVolumeSource{Driver: CSIDriverName, VolumeHandle: "pvc-1234", FSType: "ext4"},
				},
				AccessModes: tc.modes,
				ClaimRef: &corev1.ObjectReference{Kind: "PersistentVolumeClaim", APIVersion: "v1", Namespace: "ns",
					Name: "data", UID: "1234"},
				StorageClassName:              StorageClassName,
				PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimDelete,
				NodeAffinity:                  tc.wantAffinity,
			}
			if diff := cmp.Diff(want, pv.Spec); diff != "" {
				t.Errorf("spec (-want +got):\n%s", diff)
			}
			if pv.Name != "pvc-1234" || pv.Annotations[annProvisionedBy] != CSIDriverName {
				t.Errorf("PV %s annotated %v, want pvc-1234 provisioned by %s", pv.Name, pv.Annotations, CSIDriverName)
			}
		})
	}
}
