package main

import (
	"context"
	"fmt"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	pt "github.com/peapod-io/peapod/internal/testing"
	"github.com/peapod-io/peapod/test/cluster"
	"github.com/peapod-io/peapod/test/utils"
)

const (
	benchNamespace = "bench"
	// workloadLabel is on every pod of the four workloads; its value is the workload's name.
	workloadLabel = "bench.peapod.io/workload"
)

// The workloads, named as their objects are: four without volumes, and two whose pods each have a
// ReadWriteOnce claim of their own (the simulated cluster's zonal storage).
const (
	unfencedGroup     = "podgroup-unfenced"
	fencedGroup       = "podgroup-fenced"
	deployment        = "deployment"
	statefulSet       = "statefulset"
	claimsGroup       = "podgroup-claims"
	claimsStatefulSet = "statefulset-claims"
	claimTemplate     = "data"
	claimSize         = "1Gi"
)

// Workloads are listed in this order in the report: those without volumes in A and B, those with in C.
var (
	plainWorkloads = []string{unfencedGroup, fencedGroup, deployment, statefulSet}
	claimWorkloads = []string{claimsGroup, claimsStatefulSet}
	workloads      = slices.Concat(plainWorkloads, claimWorkloads)
)

var titles = map[string]string{
	unfencedGroup:     "PodGroup, fencing None",
	fencedGroup:       "PodGroup, fencing Required",
	deployment:        "Deployment",
	statefulSet:       "StatefulSet",
	claimsGroup:       "PodGroup, RWO claims",
	claimsStatefulSet: "StatefulSet, RWO claims",
}

// createWorkloads creates the workloads of replicas pods each, every one spread one pod per node.
func createWorkloads(ctx context.Context, c *cluster.Cluster, replicas int32) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: benchNamespace}}
	if _, err := c.Clientset.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		return err
	}
	objects := []client.Object{
		podGroup(unfencedGroup, replicas, peapodv1alpha1.FencingNone),
		podGroup(fencedGroup, replicas, peapodv1alpha1.FencingRequired),
		deploymentOf(replicas),
		statefulSetOf(statefulSet, replicas),
		claimsPodGroup(replicas),
		claimsStatefulSetOf(replicas),
	}
	creator := utils.NewClient(c.Config)
	for _, obj := range objects {
		if err := creator.Create(ctx, obj); err != nil {
			return fmt.Errorf("creating %s: %w", obj.GetName(), err)
		}
	}
	return nil
}

// podGroup is a group as a user writes it: spread over nodes, nodeFailure.after left at its default.
func podGroup(name string, replicas int32, fencing peapodv1alpha1.FencingPolicy) *peapodv1alpha1.PodGroup {
	g := pt.MakePodGroup(name, benchNamespace).Replicas(replicas).Spread(peapodv1alpha1.SpreadNode).Obj()
	g.Spec.Template.Labels = map[string]string{workloadLabel: name}
	g.Spec.Migration = &peapodv1alpha1.MigrationPolicy{NodeFailure: &peapodv1alpha1.NodeFailurePolicy{Fencing: fencing}}
	return g
}

func deploymentOf(replicas int32) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: deployment, Namespace: benchNamespace},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{workloadLabel: deployment}},
			Template: spreadTemplate(deployment),
		},
	}
}

func statefulSetOf(name string, replicas int32) *appsv1.StatefulSet {
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: benchNamespace},
		Spec: appsv1.StatefulSetSpec{
			Replicas:    ptr.To(replicas),
			ServiceName: name,
			// Parallel only speeds up the bring-up; a lost pod is replaced the same way under either policy.
			PodManagementPolicy: appsv1.ParallelPodManagement,
			Selector:            &metav1.LabelSelector{MatchLabels: map[string]string{workloadLabel: name}},
			Template:            spreadTemplate(name),
		},
	}
}

// claimsPodGroup has a ReadWriteOnce claim per member: it waits for fencing whatever its policy, as its volume
// stays attached to a dead node until then.
func claimsPodGroup(replicas int32) *peapodv1alpha1.PodGroup {
	g := pt.MakePodGroup(claimsGroup, benchNamespace).Replicas(replicas).Spread(peapodv1alpha1.SpreadNode).
		Claim(claimTemplate, claimSize).Obj()
	g.Spec.Template.Labels = map[string]string{workloadLabel: claimsGroup}
	g.Spec.Template.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: claimTemplate, MountPath: "/data"}}
	g.Spec.Migration = &peapodv1alpha1.MigrationPolicy{NodeFailure: &peapodv1alpha1.NodeFailurePolicy{Fencing: peapodv1alpha1.FencingRequired}}
	return g
}

// claimsStatefulSetOf is the StatefulSet a user writes for the same members: one ReadWriteOnce claim per pod.
func claimsStatefulSetOf(replicas int32) *appsv1.StatefulSet {
	s := statefulSetOf(claimsStatefulSet, replicas)
	s.Spec.Template.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: claimTemplate, MountPath: "/data"}}
	s.Spec.VolumeClaimTemplates = []corev1.PersistentVolumeClaim{{
		ObjectMeta: metav1.ObjectMeta{Name: claimTemplate},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(claimSize)}},
		},
	}}
	return s
}

// spreadTemplate is the pod of a built-in workload, with the same constraint peapod derives from spread: Node,
// so that all four are placed by the same rule.
func spreadTemplate(name string) corev1.PodTemplateSpec {
	labels := map[string]string{workloadLabel: name}
	honor := corev1.NodeInclusionPolicyHonor
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "app", Image: pt.PauseImage}},
			TopologySpreadConstraints: []corev1.TopologySpreadConstraint{{
				MaxSkew:            1,
				TopologyKey:        corev1.LabelHostname,
				WhenUnsatisfiable:  corev1.DoNotSchedule,
				LabelSelector:      &metav1.LabelSelector{MatchLabels: labels},
				NodeAffinityPolicy: &honor,
				NodeTaintsPolicy:   &honor,
			}},
		},
	}
}
