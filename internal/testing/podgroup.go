// Package testing builds objects for tests: MakePodGroup("web", "ns").Replicas(3).Obj().
package testing

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
)

// PauseImage is the image of test containers; kwok never pulls it.
const PauseImage = "registry.k8s.io/pause:3.10"

// PodGroupWrapper builds a PodGroup.
type PodGroupWrapper struct{ peapodv1alpha1.PodGroup }

// MakePodGroup starts a PodGroup with one container named "app".
func MakePodGroup(name, namespace string) *PodGroupWrapper {
	return &PodGroupWrapper{peapodv1alpha1.PodGroup{
		TypeMeta:   metav1.TypeMeta{APIVersion: peapodv1alpha1.GroupVersion.String(), Kind: "PodGroup"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec: peapodv1alpha1.PodGroupSpec{
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				Containers: []corev1.Container{{Name: "app", Image: PauseImage}},
			}},
		},
	}}
}

// Obj returns the PodGroup.
func (w *PodGroupWrapper) Obj() *peapodv1alpha1.PodGroup { return &w.PodGroup }

// Replicas sets spec.replicas.
func (w *PodGroupWrapper) Replicas(n int32) *PodGroupWrapper {
	w.Spec.Replicas = ptr.To(n)
	return w
}

// Container adds a container.
func (w *PodGroupWrapper) Container(c corev1.Container) *PodGroupWrapper {
	w.Spec.Template.Spec.Containers = append(w.Spec.Template.Spec.Containers, c)
	return w
}

// SharedVolume adds a shared volume.
func (w *PodGroupWrapper) SharedVolume(name string) *PodGroupWrapper {
	w.Spec.SharedVolumes = append(w.Spec.SharedVolumes, peapodv1alpha1.SharedVolume{Name: name})
	return w
}

// ServicePort adds a port to the group's Service.
func (w *PodGroupWrapper) ServicePort(name string, port int32) *PodGroupWrapper {
	if w.Spec.Service == nil {
		w.Spec.Service = &peapodv1alpha1.GroupService{}
	}
	w.Spec.Service.Ports = append(w.Spec.Service.Ports, peapodv1alpha1.ServicePort{Name: name, Port: port})
	return w
}

// Env adds a group env variable.
func (w *PodGroupWrapper) Env(name, value string) *PodGroupWrapper {
	w.Spec.Env = append(w.Spec.Env, corev1.EnvVar{Name: name, Value: value})
	return w
}

// Spread sets placement.spread.
func (w *PodGroupWrapper) Spread(s peapodv1alpha1.SpreadPolicy) *PodGroupWrapper {
	w.Spec.Placement = &peapodv1alpha1.Placement{Spread: s}
	return w
}

// RollingUpdate sets the rolling update's maxUnavailable and partition.
func (w *PodGroupWrapper) RollingUpdate(maxUnavailable intstr.IntOrString, partition int32) *PodGroupWrapper {
	w.Spec.UpdateStrategy = &peapodv1alpha1.UpdateStrategy{
		Type:          peapodv1alpha1.RollingUpdateStrategy,
		RollingUpdate: &peapodv1alpha1.RollingUpdate{MaxUnavailable: &maxUnavailable, Partition: ptr.To(partition)},
	}
	return w
}

// MinReadySeconds sets spec.minReadySeconds.
func (w *PodGroupWrapper) MinReadySeconds(s int32) *PodGroupWrapper {
	w.Spec.MinReadySeconds = s
	return w
}

// UID sets metadata.uid, for pure tests of owner references.
func (w *PodGroupWrapper) UID(uid string) *PodGroupWrapper {
	w.ObjectMeta.UID = types.UID(uid)
	return w
}

// Claim adds a volume claim template of the given size and access modes (ReadWriteOnce when none), mounted by
// the first container at /data/<name>.
func (w *PodGroupWrapper) Claim(name, size string, modes ...corev1.PersistentVolumeAccessMode) *PodGroupWrapper {
	if len(modes) == 0 {
		modes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}
	}
	w.Spec.VolumeClaimTemplates = append(w.Spec.VolumeClaimTemplates, peapodv1alpha1.VolumeClaimTemplate{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: modes,
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}},
		},
	})
	c := &w.Spec.Template.Spec.Containers[0]
	c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: name, MountPath: "/data/" + name})
	return w
}
