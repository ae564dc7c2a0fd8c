package controllers

import (
	"context"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/desired"
	pt "github.com/peapod-io/peapod/internal/testing"
)

// Every way a user can get a PodGroup wrong is refused at admission by the real API server (schema, CRD rules,
// the ValidatingAdmissionPolicy), with a message that names the field.
var _ = Describe("PodGroup admission", func() {
	valid := func() *peapodv1alpha1.PodGroup {
		return pt.MakePodGroup("web", "default").Replicas(3).Obj()
	}
	withVolume := func(g *peapodv1alpha1.PodGroup, name string) {
		g.Spec.Template.Spec.Volumes = append(g.Spec.Template.Spec.Volumes,
			corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
	}
	withPort := func(c *corev1.Container, name string, port int32) {
		c.Ports = append(c.Ports, corev1.ContainerPort{Name: name, ContainerPort: port})
	}

	BeforeEach(func(ctx context.Context) {
		// The policy is enforced once the API server has loaded it; wait for that once per spec.
		Eventually(func() error {
			g := pt.MakePodGroup("policy-probe", "default").Obj()
			g.Spec.Template.Labels = map[string]string{"peapod.io/group": "x"}
			err := k8sClient.Create(ctx, g)
			if err == nil {
				_ = k8sClient.Delete(ctx, g)
			}
			return err
		}).WithContext(ctx).WithTimeout(30 * time.Second).Should(MatchError(ContainSubstring("spec.template.metadata.labels")))
	})

	DescribeTable("rejects", func(ctx context.Context, mutate func(g *peapodv1alpha1.PodGroup), field string) {
		g := valid()
		mutate(g)
		err := k8sClient.Create(ctx, g)
		Expect(err).To(HaveOccurred(), "the API server accepted it")
		Expect(apierrors.IsInvalid(err) || apierrors.IsForbidden(err)).To(BeTrue(), "not a validation error: %v", err)
		Expect(err.Error()).To(ContainSubstring(field))
	},
		Entry("negative replicas", func(g *peapodv1alpha1.PodGroup) { g.Spec.Replicas = ptr.To[int32](-1) }, "spec.replicas"),
		Entry("replicas beyond 10000", func(g *peapodv1alpha1.PodGroup) { g.Spec.Replicas = ptr.To[int32](10001) }, "spec.replicas"),
		Entry("no containers", func(g *peapodv1alpha1.PodGroup) { g.Spec.Template.Spec.Containers = nil }, "spec.template.spec.containers"),
		Entry("a claim template without a name", func(g *peapodv1alpha1.PodGroup) {
			pt.MakePodGroup("x", "default").Claim("data", "1Gi").Obj().Spec.DeepCopyInto(&g.Spec)
			g.Spec.VolumeClaimTemplates[0].Name = ""
		}, "spec.volumeClaimTemplates[*].metadata.name"),
		Entry("a claim template without a storage request", func(g *peapodv1alpha1.PodGroup) {
			pt.MakePodGroup("x", "default").Claim("data", "1Gi").Obj().Spec.DeepCopyInto(&g.Spec)
			g.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests = nil
		}, "spec.volumeClaimTemplates[*].spec.resources.requests.storage"),
		Entry("a claim template without access modes", func(g *peapodv1alpha1.PodGroup) {
			pt.MakePodGroup("x", "default").Claim("data", "1Gi").Obj().Spec.DeepCopyInto(&g.Spec)
			g.Spec.VolumeClaimTemplates[0].Spec.AccessModes = nil
		}, "spec.volumeClaimTemplates[*].spec.accessModes"),
		Entry("two claim templates of one name", func(g *peapodv1alpha1.PodGroup) {
			pt.MakePodGroup("x", "default").Claim("data", "1Gi").Obj().Spec.DeepCopyInto(&g.Spec)
			g.Spec.VolumeClaimTemplates = append(g.Spec.VolumeClaimTemplates, *g.Spec.VolumeClaimTemplates[0].DeepCopy())
		}, "spec.volumeClaimTemplates[*].metadata.name must be unique: data"),
		Entry("a claim template named like a template volume", func(g *peapodv1alpha1.PodGroup) {
			pt.MakePodGroup("x", "default").Claim("data", "1Gi").Obj().Spec.DeepCopyInto(&g.Spec)
			g.Spec.Template.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
		}, "spec.volumeClaimTemplates: data collides"),
		Entry("a claim template named like a shared volume", func(g *peapodv1alpha1.PodGroup) {
			pt.MakePodGroup("x", "default").Claim("data", "1Gi").SharedVolume("data").Obj().Spec.DeepCopyInto(&g.Spec)
			g.Spec.Template.Spec.Containers[0].VolumeMounts = nil
		}, "spec.volumeClaimTemplates: data collides"),
		Entry("a name too long for <name>-members", func(g *peapodv1alpha1.PodGroup) { g.Name = strings.Repeat("a", 56) },
			"metadata.name must be at most 55 characters"),
		Entry("a name that cannot name a Service", func(g *peapodv1alpha1.PodGroup) { g.Name = "1web" }, "metadata.name"),
		Entry("duplicate container names", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.Template.Spec.Containers = append(g.Spec.Template.Spec.Containers, corev1.Container{Name: "app", Image: "x"})
		}, "spec.template.spec.containers[1]"),
		Entry("an init container named like a container", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.Template.Spec.InitContainers = []corev1.Container{{Name: "app", Image: "x"}}
		}, "container name app"),
		Entry("duplicate port names across containers", func(g *peapodv1alpha1.PodGroup) {
			withPort(&g.Spec.Template.Spec.Containers[0], "http", 80)
			sidecar := corev1.Container{Name: "sidecar", Image: "x"}
			withPort(&sidecar, "http", 8080)
			g.Spec.Template.Spec.Containers = append(g.Spec.Template.Spec.Containers, sidecar)
		}, "spec.template.spec.containers[*].ports[*].name"),
		Entry("duplicate container ports", func(g *peapodv1alpha1.PodGroup) {
			withPort(&g.Spec.Template.Spec.Containers[0], "a", 80)
			withPort(&g.Spec.Template.Spec.Containers[0], "b", 80)
		}, "spec.template.spec.containers[0].ports[1]"),
		Entry("duplicate group env names", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.Env = []corev1.EnvVar{{Name: "A", Value: "1"}, {Name: "A", Value: "2"}}
		}, "spec.env[1]"),
		Entry("duplicate container env names", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.Template.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "A"}, {Name: "A"}}
		}, "spec.template.spec.containers[0].env[1]"),
		Entry("a shared volume named like a template volume", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.SharedVolumes = []peapodv1alpha1.SharedVolume{{Name: "data"}}
			g.Spec.Template.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
		}, "spec.template.spec.volumes: data is named like a volume peapod adds: one of spec.sharedVolumes"),
		Entry("a container mount where a shared volume goes", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.SharedVolumes = []peapodv1alpha1.SharedVolume{{Name: "data"}}
			g.Spec.Template.Spec.Volumes = []corev1.Volume{{Name: "other", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
			g.Spec.Template.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "other", MountPath: "/shared/data"}}
		}, "spec.sharedVolumes"),
		Entry("a template volume named peapod-peers", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.Template.Spec.Volumes = []corev1.Volume{{Name: "peapod-peers", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
		}, "spec.template.spec.volumes: peapod-peers is named like a volume peapod adds"),
		Entry("a container mount at /etc/peapod", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.Template.Spec.Volumes = []corev1.Volume{{Name: "cfg", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
			g.Spec.Template.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "cfg", MountPath: "/etc/peapod"}}
		}, "/etc/peapod"),
		Entry("a container mount at /etc/peapod/", func(g *peapodv1alpha1.PodGroup) {
			withVolume(g, "cfg")
			g.Spec.Template.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "cfg", MountPath: "/etc/peapod/"}}
		}, `spec.template.spec.containers[0].volumeMounts[0].mountPath: "/etc/peapod/" is at or under /etc/peapod`),
		Entry("a container mount under /etc/peapod", func(g *peapodv1alpha1.PodGroup) {
			withVolume(g, "cfg")
			g.Spec.Template.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{
				{Name: "cfg", MountPath: "/data"}, {Name: "cfg", MountPath: "/etc/peapod/peers"}}
		}, `spec.template.spec.containers[0].volumeMounts[1].mountPath: "/etc/peapod/peers"`),
		Entry("a container mount at //etc/./peapod", func(g *peapodv1alpha1.PodGroup) {
			withVolume(g, "cfg")
			g.Spec.Template.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "cfg", MountPath: "//etc/./peapod"}}
		}, `containers[0].volumeMounts[0].mountPath: "//etc/./peapod" is at or under /etc/peapod`),
		Entry("a sidecar's mount at /etc/peapod", func(g *peapodv1alpha1.PodGroup) {
			withVolume(g, "cfg")
			g.Spec.Template.Spec.Containers = append(g.Spec.Template.Spec.Containers, corev1.Container{Name: "sidecar", Image: "x",
				VolumeMounts: []corev1.VolumeMount{{Name: "cfg", MountPath: "/etc/peapod"}}})
		}, `spec.template.spec.containers[1].volumeMounts[0].mountPath: "/etc/peapod"`),
		Entry("an init container's mount at /etc/peapod", func(g *peapodv1alpha1.PodGroup) {
			withVolume(g, "cfg")
			g.Spec.Template.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "x",
				VolumeMounts: []corev1.VolumeMount{{Name: "cfg", MountPath: "/etc/peapod"}}}}
		}, `spec.template.spec.initContainers[0].volumeMounts[0].mountPath: "/etc/peapod"`),
		Entry("a container mount at /shared/<name>/", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.SharedVolumes = []peapodv1alpha1.SharedVolume{{Name: "data"}}
			withVolume(g, "other")
			g.Spec.Template.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "other", MountPath: "/shared/data/"}}
		}, `spec.template.spec.containers[0].volumeMounts[0].mountPath: "/shared/data/" is where peapod mounts a volume of spec.sharedVolumes`),
		Entry("a container mount at /shared//<name>", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.SharedVolumes = []peapodv1alpha1.SharedVolume{{Name: "data"}}
			withVolume(g, "other")
			g.Spec.Template.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "other", MountPath: "/shared//data"}}
		}, `containers[0].volumeMounts[0].mountPath: "/shared//data" is where peapod mounts`),
		Entry("a container mount at /shared/./<name>//", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.SharedVolumes = []peapodv1alpha1.SharedVolume{{Name: "logs"}, {Name: "data"}}
			withVolume(g, "other")
			g.Spec.Template.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{
				{Name: "other", MountPath: "/shared/database"}, {Name: "other", MountPath: "/shared/./data//"}}
		}, `containers[0].volumeMounts[1].mountPath: "/shared/./data//" is where peapod mounts`),
		Entry("an init container's mount at /shared/<name>", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.SharedVolumes = []peapodv1alpha1.SharedVolume{{Name: "data"}}
			withVolume(g, "other")
			g.Spec.Template.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "x",
				VolumeMounts: []corev1.VolumeMount{{Name: "other", MountPath: "/shared/data"}}}}
		}, `spec.template.spec.initContainers[0].volumeMounts[0].mountPath: "/shared/data"`),
		Entry("a container mount of a shared volume by name", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.SharedVolumes = []peapodv1alpha1.SharedVolume{{Name: "data"}}
			g.Spec.Template.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
		}, "spec.template.spec.containers[0].volumeMounts: a mount names a volume of spec.sharedVolumes"),
		Entry("a shared volume named peapod-peers", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.SharedVolumes = []peapodv1alpha1.SharedVolume{{Name: "peapod-peers"}}
		}, `spec.sharedVolumes[0].name: Invalid value: "peapod-peers": spec.sharedVolumes[*].name: peapod-peers is reserved`),
		Entry("duplicate shared volumes", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.SharedVolumes = []peapodv1alpha1.SharedVolume{{Name: "data"}, {Name: "data"}}
		}, "spec.sharedVolumes[1]"),
		Entry("a shared volume name that is no DNS label", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.SharedVolumes = []peapodv1alpha1.SharedVolume{{Name: "Data"}}
		}, "spec.sharedVolumes[0].name"),
		Entry("an unknown shared volume medium", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.SharedVolumes = []peapodv1alpha1.SharedVolume{{Name: "data", Medium: "HugePages"}}
		}, "spec.sharedVolumes[0].medium"),
		Entry("a partition beyond replicas", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.UpdateStrategy = &peapodv1alpha1.UpdateStrategy{RollingUpdate: &peapodv1alpha1.RollingUpdate{Partition: ptr.To[int32](4)}}
		}, "spec.updateStrategy.rollingUpdate.partition"),
		Entry("a negative partition", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.UpdateStrategy = &peapodv1alpha1.UpdateStrategy{RollingUpdate: &peapodv1alpha1.RollingUpdate{Partition: ptr.To[int32](-1)}}
		}, "spec.updateStrategy.rollingUpdate.partition"),
		Entry("maxUnavailable 0", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.UpdateStrategy = &peapodv1alpha1.UpdateStrategy{RollingUpdate: &peapodv1alpha1.RollingUpdate{MaxUnavailable: ptr.To(intstr.FromInt32(0))}}
		}, "spec.updateStrategy.rollingUpdate.maxUnavailable"),
		Entry("maxUnavailable 150%", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.UpdateStrategy = &peapodv1alpha1.UpdateStrategy{RollingUpdate: &peapodv1alpha1.RollingUpdate{MaxUnavailable: ptr.To(intstr.FromString("150%"))}}
		}, "spec.updateStrategy.rollingUpdate.maxUnavailable"),
		Entry("maxSurge -1", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.UpdateStrategy = &peapodv1alpha1.UpdateStrategy{RollingUpdate: &peapodv1alpha1.RollingUpdate{MaxSurge: ptr.To(intstr.FromInt32(-1))}}
		}, "spec.updateStrategy.rollingUpdate.maxSurge"),
		Entry("maxSurge 150%", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.UpdateStrategy = &peapodv1alpha1.UpdateStrategy{RollingUpdate: &peapodv1alpha1.RollingUpdate{MaxSurge: ptr.To(intstr.FromString("150%"))}}
		}, "spec.updateStrategy.rollingUpdate.maxSurge"),
		Entry("an unknown update strategy", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.UpdateStrategy = &peapodv1alpha1.UpdateStrategy{Type: "Recreate"}
		}, "spec.updateStrategy.type"),
		Entry("OnDelete with rolling update settings", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.UpdateStrategy = &peapodv1alpha1.UpdateStrategy{Type: peapodv1alpha1.OnDeleteStrategy, RollingUpdate: &peapodv1alpha1.RollingUpdate{}}
		}, "spec.updateStrategy.rollingUpdate"),
		Entry("a template setting peapod's own labels", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.Template.Labels = map[string]string{"peapod.io/ordinal": "7"}
		}, "spec.template.metadata.labels"),
		Entry("a Service without ports", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.Service = &peapodv1alpha1.GroupService{}
		}, "spec.service.ports"),
		Entry("a Service port 0", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.Service = &peapodv1alpha1.GroupService{Ports: []peapodv1alpha1.ServicePort{{Name: "http", Port: 0}}}
		}, "spec.service.ports[0].port"),
		Entry("a Service port name longer than 15", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.Service = &peapodv1alpha1.GroupService{Ports: []peapodv1alpha1.ServicePort{{Name: "a-very-long-port-name", Port: 80}}}
		}, "spec.service.ports[0].name"),
		Entry("duplicate Service port names", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.Service = &peapodv1alpha1.GroupService{Ports: []peapodv1alpha1.ServicePort{{Name: "http", Port: 80}, {Name: "http", Port: 81}}}
		}, "spec.service.ports[1]"),
		Entry("a restartPolicy other than Always", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
		}, "spec.template.spec.restartPolicy: Unsupported value \"OnFailure\""),
		Entry("a container without an image", func(g *peapodv1alpha1.PodGroup) { g.Spec.Template.Spec.Containers[0].Image = "" },
			"container app: image: Required value"),
		Entry("an init container without an image", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.Template.Spec.InitContainers = []corev1.Container{{Name: "init", Image: " "}}
		}, "container init: image: Required value"),
		Entry("a container name that is no DNS label", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.Template.Spec.Containers[0].Name = "App_1"
		}, `container name "App_1": must be a DNS label`),
		Entry("a containerPort out of range", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.Template.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 70000}}
		}, "container app: ports: containerPort must be from 1 to 65535"),
		Entry("a container port name longer than 15", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.Template.Spec.Containers[0].Ports = []corev1.ContainerPort{{Name: "metrics-endpoint-x", ContainerPort: 9090}}
		}, "container app: ports:"),
		Entry("a volumeMount of no volume", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.Template.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "nothing", MountPath: "/data"}}
		}, "container app: volumeMounts: a mount names no volume"),
		Entry("activeDeadlineSeconds", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.Template.Spec.ActiveDeadlineSeconds = ptr.To[int64](600)
		}, "spec.template.spec.activeDeadlineSeconds: Forbidden"),
		Entry("a nodeName in the template", func(g *peapodv1alpha1.PodGroup) { g.Spec.Template.Spec.NodeName = "node-1" },
			"spec.template.spec.nodeName: Forbidden"),
		Entry("two Service ports with one number and protocol", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.Service = &peapodv1alpha1.GroupService{Ports: []peapodv1alpha1.ServicePort{{Name: "http", Port: 80}, {Name: "web", Port: 80}}}
		}, "spec.service.ports: two ports have one port number and protocol"),
		Entry("a targetPort out of range", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.Service = &peapodv1alpha1.GroupService{Ports: []peapodv1alpha1.ServicePort{{Name: "http", Port: 80,
				TargetPort: ptr.To(intstr.FromInt32(70000))}}}
		}, "spec.service.ports[0].targetPort"),
		Entry("a targetPort that is no port name", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.Service = &peapodv1alpha1.GroupService{Ports: []peapodv1alpha1.ServicePort{{Name: "http", Port: 80,
				TargetPort: ptr.To(intstr.FromString("Web_Port"))}}}
		}, "spec.service.ports[0].targetPort"),
		Entry("an unknown spread", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.Placement = &peapodv1alpha1.Placement{Spread: "Rack"}
		}, "spec.placement.spread"),
		Entry("negative minReadySeconds", func(g *peapodv1alpha1.PodGroup) { g.Spec.MinReadySeconds = -1 }, "spec.minReadySeconds"),
		Entry("an unknown drain policy", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.Migration = &peapodv1alpha1.MigrationPolicy{Drain: "Delete"}
		}, "spec.migration.drain"),
	)

	It("accepts what a Deployment accepts: restartPolicy Always, one port number over two protocols, a named targetPort, "+
		"mounts of a template volume and of a claim",
		func(ctx context.Context) {
			g := pt.MakePodGroup("parity", "default").Replicas(1).Claim("data", "1Gi").Obj()
			g.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyAlways
			app := &g.Spec.Template.Spec.Containers[0]
			app.Ports = []corev1.ContainerPort{{Name: "web-8080", ContainerPort: 8080}}
			app.VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}, {Name: "cache", MountPath: "/cache"}}
			g.Spec.Template.Spec.Volumes = []corev1.Volume{{Name: "cache", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
			g.Spec.Service = &peapodv1alpha1.GroupService{Ports: []peapodv1alpha1.ServicePort{
				{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP}, {Name: "dns-tcp", Port: 53, Protocol: corev1.ProtocolTCP},
				{Name: "http", Port: 80, TargetPort: ptr.To(intstr.FromString("web-8080"))}}}
			Expect(k8sClient.Create(ctx, g)).To(Succeed())
			DeferCleanup(k8sClient.Delete, g)
		})

	It("accepts a group at the name limit, with a claim template at its own, and mounts beside peapod's", func(ctx context.Context) {
		name := "g" + strings.Repeat("9", desired.MaxGroupNameLength-1)
		Expect(name).To(HaveLen(55))
		g := pt.MakePodGroup(name, "default").Replicas(0).Claim(strings.Repeat("c", 63), "1Gi").SharedVolume("data").Obj()
		withVolume(g, "cfg")
		g.Spec.Template.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{
			{Name: "cfg", MountPath: "/shared/data/nested"}, {Name: "cfg", MountPath: "/shared/database"},
			{Name: "cfg", MountPath: "/etc/peapodx"}, {Name: "cfg", MountPath: "/etc"}}
		Expect(k8sClient.Create(ctx, g)).To(Succeed())
		DeferCleanup(k8sClient.Delete, g)
	})

	It("accepts a complete, valid group", func(ctx context.Context) {
		g := pt.MakePodGroup("complete", "default").Replicas(3).SharedVolume("data").ServicePort("http", 80).
			Env("MODE", "x").Spread(peapodv1alpha1.SpreadZone).RollingUpdate(intstr.FromString("50%"), 1).Obj()
		g.Spec.Template.Labels = map[string]string{"app": "web"}
		Expect(k8sClient.Create(ctx, g)).To(Succeed())
		DeferCleanup(k8sClient.Delete, g)
	})
})
