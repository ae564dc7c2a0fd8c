package controllers

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	pt "github.com/peapod-io/peapod/internal/testing"
)

// What only the member Pod's own validation and admission can tell: the webhook builds the Pod as the reconciler
// does and has the API server dry-run it, and the refusal names the PodGroup's field.
var _ = Describe("PodGroup admission through the webhook", func() {
	container := func(g *peapodv1alpha1.PodGroup) *corev1.Container { return &g.Spec.Template.Spec.Containers[0] }
	overLimit := func(g *peapodv1alpha1.PodGroup) {
		container(g).Resources = corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")},
			Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}}
	}
	// refused creates a group and returns the refusal, deleting a group that was let through.
	refused := func(ctx context.Context, g *peapodv1alpha1.PodGroup) error {
		err := k8sClient.Create(ctx, g)
		if err == nil {
			_ = k8sClient.Delete(ctx, g)
		}
		return err
	}

	BeforeEach(func(ctx context.Context) {
		// The webhook answers once the manager's server is up; until then its Ignore policy lets groups through.
		Eventually(func() error {
			g := pt.MakePodGroup("webhook-probe", "default").Obj()
			overLimit(g)
			return refused(ctx, g)
		}).WithContext(ctx).WithTimeout(30 * time.Second).Should(MatchError(ContainSubstring("admission webhook")))
	})

	DescribeTable("rejects", func(ctx context.Context, mutate func(g *peapodv1alpha1.PodGroup), field, message string) {
		g := pt.MakePodGroup("web", "default").Replicas(3).Obj()
		mutate(g)
		err := refused(ctx, g)
		Expect(err).To(HaveOccurred(), "the API server accepted it")
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "not a validation error: %v", err)
		Expect(err.Error()).To(ContainSubstring(`admission webhook "podgroups.peapod.io" denied the request`))
		Expect(err.Error()).To(MatchRegexp(`its (member Pod web-2|claim \S+-web-2) would be refused`))
		details := err.(apierrors.APIStatus).Status().Details
		causes := make([]string, 0, len(details.Causes))
		for _, c := range details.Causes {
			causes = append(causes, c.Field+": "+c.Message)
		}
		Expect(causes).To(ContainElement(SatisfyAll(HavePrefix(field+": "), ContainSubstring(message))))
	},
		Entry("a request above its limit", overLimit,
			"spec.template.spec.containers[0].resources.requests", "must be less than or equal to cpu limit of 1"),
		Entry("hostNetwork with a hostPort other than the containerPort", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.Template.Spec.HostNetwork = true
			container(g).Ports = []corev1.ContainerPort{{ContainerPort: 8080, HostPort: 9090}}
		}, "spec.template.spec.containers[0].ports[0].hostPort", "must match `containerPort` when `hostNetwork` is true"),
		Entry("an env variable with '=' in its name", func(g *peapodv1alpha1.PodGroup) {
			container(g).Env = []corev1.EnvVar{{Name: "OK", Value: "1"}, {Name: "A=B", Value: "1"}}
		}, "spec.template.spec.containers[0].env[1].name", "Invalid value"),
		Entry("an env variable with an empty name", func(g *peapodv1alpha1.PodGroup) {
			container(g).Env = []corev1.EnvVar{{Name: "", Value: "1"}}
		}, "spec.template.spec.containers[0].env[0].name", "Required value"),
		Entry("an env variable with both value and valueFrom", func(g *peapodv1alpha1.PodGroup) {
			container(g).Env = []corev1.EnvVar{{Name: "X", Value: "1", ValueFrom: &corev1.EnvVarSource{
				FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}}
		}, "spec.template.spec.containers[0].env[0].valueFrom", "may not be specified when `value` is not empty"),
		Entry("a group env variable with '=' in its name", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.Env = []corev1.EnvVar{{Name: "A=B", Value: "1"}}
		}, "spec.env[0].name", "Invalid value"),
		Entry("a field reference the downward API does not have", func(g *peapodv1alpha1.PodGroup) {
			container(g).Env = []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{
				FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nothing"}}}}
		}, "spec.template.spec.containers[0].env[0].valueFrom.fieldRef.fieldPath", "field label not supported"),
		Entry("an unknown imagePullPolicy", func(g *peapodv1alpha1.PodGroup) { container(g).ImagePullPolicy = "Sometimes" },
			"spec.template.spec.containers[0].imagePullPolicy", "Unsupported value"),
		Entry("a probe with no handler", func(g *peapodv1alpha1.PodGroup) { container(g).LivenessProbe = &corev1.Probe{} },
			"spec.template.spec.containers[0].livenessProbe", "must specify a handler type"),
		Entry("a probe with a negative period", func(g *peapodv1alpha1.PodGroup) {
			container(g).ReadinessProbe = &corev1.Probe{PeriodSeconds: -1, ProbeHandler: corev1.ProbeHandler{
				Exec: &corev1.ExecAction{Command: []string{"true"}}}}
		}, "spec.template.spec.containers[0].readinessProbe.periodSeconds", "must be greater than or equal to 0"),
		Entry("a preStop hook with no handler", func(g *peapodv1alpha1.PodGroup) {
			container(g).Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{}}
		}, "spec.template.spec.containers[0].lifecycle.preStop", "must specify a handler type"),
		Entry("an unknown port protocol", func(g *peapodv1alpha1.PodGroup) {
			container(g).Ports = []corev1.ContainerPort{{ContainerPort: 8080, Protocol: "HTTP"}}
		}, "spec.template.spec.containers[0].ports[0].protocol", "Unsupported value"),
		Entry("a resource that is no resource name", func(g *peapodv1alpha1.PodGroup) {
			container(g).Resources = corev1.ResourceRequirements{Requests: corev1.ResourceList{"cpus": resource.MustParse("1")}}
		}, "spec.template.spec.containers[0].resources.requests[cpus]", "must be a standard resource"),
		Entry("an absolute subPath", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.Template.Spec.Volumes = []corev1.Volume{{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
			container(g).VolumeMounts = []corev1.VolumeMount{{Name: "scratch", MountPath: "/scratch", SubPath: "/abs"}}
			// The Pod API names no index here.
		}, "spec.template.spec.containers[0].volumeMounts.subPath", "must be a relative path"),
		Entry("a hostPath volume without a path", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.Template.Spec.Volumes = []corev1.Volume{{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{}}}}
		}, "spec.template.spec.volumes[0].hostPath.path", "Required value"),
		Entry("a configMap item mode beyond 0777", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.Template.Spec.Volumes = []corev1.Volume{{Name: "conf", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: "conf"},
				Items:                []corev1.KeyToPath{{Key: "a", Path: "a", Mode: ptr.To[int32](0o1000)}}}}}}
		}, "spec.template.spec.volumes[0].configMap.items[0].mode", "must be a number between 0 and 0777"),
		Entry("an unknown toleration operator", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.Template.Spec.Tolerations = []corev1.Toleration{{Key: "k", Operator: "Maybe"}}
		}, "spec.template.spec.tolerations[0].operator", "Unsupported value"),
		Entry("an unknown dnsPolicy", func(g *peapodv1alpha1.PodGroup) { g.Spec.Template.Spec.DNSPolicy = "Sometimes" },
			"spec.template.spec.dnsPolicy", "Unsupported value"),
		Entry("a node selector key that is no label key", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.Template.Spec.NodeSelector = map[string]string{"a b": "c"}
		}, "spec.template.spec.nodeSelector", "Invalid value"),
		Entry("a node affinity operator that does not exist", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.Template.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
				RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
					MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "zone", Operator: "Near", Values: []string{"a"}}}}}}}}
		}, "spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator", "not a valid selector operator"),
		Entry("a negative runAsUser", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.Template.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](-1)}
		}, "spec.template.spec.securityContext.runAsUser", "must be between 0 and 2147483647"),
		Entry("a serviceAccountName that cannot name a ServiceAccount", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.Template.Spec.ServiceAccountName = "Bad_SA"
		}, "spec.template.spec.serviceAccountName", "Invalid value"),
		Entry("an init container restartPolicy other than Always", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.Template.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "busybox",
				RestartPolicy: ptr.To[corev1.ContainerRestartPolicy]("Sometimes")}}
		}, "spec.template.spec.initContainers[0].restartPolicy", "Unsupported value"),
		Entry("a template spread with maxSkew 0", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.Template.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{
				MaxSkew: 0, TopologyKey: "zone", WhenUnsatisfiable: corev1.DoNotSchedule}}
		}, "spec.template.spec.topologySpreadConstraints[0].maxSkew", "must be greater than zero"),
		Entry("a template label value that is no label value", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.Template.Labels = map[string]string{"app": "not a value"}
		}, "spec.template.metadata.labels", "Invalid value"),
		Entry("a template annotation key that is no key", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.Template.Annotations = map[string]string{"a b": "c"}
		}, "spec.template.metadata.annotations", "Invalid value"),
		Entry("a claim's storageClassName that cannot name a StorageClass", func(g *peapodv1alpha1.PodGroup) {
			pt.MakePodGroup("web", "default").Replicas(3).Claim("data", "1Gi").Obj().Spec.DeepCopyInto(&g.Spec)
			g.Spec.VolumeClaimTemplates[0].Spec.StorageClassName = ptr.To("Bad_Class")
		}, "spec.volumeClaimTemplates[0].spec.storageClassName", "Invalid value"),
		Entry("a claim template label that is no label", func(g *peapodv1alpha1.PodGroup) {
			pt.MakePodGroup("web", "default").Replicas(3).Claim("data", "1Gi").Obj().Spec.DeepCopyInto(&g.Spec)
			g.Spec.VolumeClaimTemplates[0].Labels = map[string]string{"a b": "c"}
		}, "spec.volumeClaimTemplates[0].metadata.labels", "Invalid value"),
		Entry("a claim selector with an operator that does not exist", func(g *peapodv1alpha1.PodGroup) {
			pt.MakePodGroup("web", "default").Replicas(3).Claim("data", "1Gi").Obj().Spec.DeepCopyInto(&g.Spec)
			g.Spec.VolumeClaimTemplates[0].Spec.Selector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: "tier", Operator: "Near", Values: []string{"fast"}}}}
		}, "spec.volumeClaimTemplates[0].spec.selector.matchExpressions[0].operator", "not a valid selector operator"),
	)

	It("refuses a member Pod the namespace's Pod Security level forbids, and one its LimitRange caps", func(ctx context.Context) {
		restricted := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "restricted-",
			Labels: map[string]string{"pod-security.kubernetes.io/enforce": "restricted"}}}
		Expect(k8sClient.Create(ctx, restricted)).To(Succeed())
		err := refused(ctx, pt.MakePodGroup("root", restricted.Name).Obj())
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "created, or refused otherwise: %v", err)
		Expect(err.Error()).To(ContainSubstring(`its member Pod root-0 would be: pods "root-0" is forbidden: violates PodSecurity "restricted:latest"`))

		capped := newNamespace(ctx, "capped-")
		capContainers(ctx, capped, corev1.ResourceMemory, "64Mi")
		big := pt.MakePodGroup("big", capped).Obj()
		container(big).Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")}
		err = refused(ctx, big)
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "created, or refused otherwise: %v", err)
		Expect(err.Error()).To(ContainSubstring("maximum memory usage per Container is 64Mi"))
	})

	It("lets a group through with a warning when its namespace's quota is used up for now", func(ctx context.Context) {
		full := newNamespace(ctx, "full-")
		Expect(k8sClient.Create(ctx, &corev1.ResourceQuota{
			ObjectMeta: metav1.ObjectMeta{Name: "none", Namespace: full},
			Spec:       corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("0")}},
		})).To(Succeed())
		Eventually(func() error {
			return k8sClient.Create(ctx, pt.MakePodGroup("waits", full).Obj())
		}).WithContext(ctx).WithTimeout(10 * time.Second).Should(Succeed())
	})

	It("refuses a PodMigration whose replacement Pod the API server would refuse", func(ctx context.Context) {
		// The group was accepted; a LimitRange added since caps its container below the request (it gives the
		// container its max as the limit), so a replacement could never start.
		ns := newNamespace(ctx, "capped-move-")
		g := pt.MakePodGroup("web", ns).Replicas(0).Obj()
		container(g).Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}
		Expect(k8sClient.Create(ctx, g)).To(Succeed())
		capContainers(ctx, ns, corev1.ResourceCPU, "1")
		m := &peapodv1alpha1.PodMigration{ObjectMeta: metav1.ObjectMeta{Name: "move", Namespace: ns},
			Spec: peapodv1alpha1.PodMigrationSpec{Group: "web", Member: ptr.To[int32](0),
				Target: &peapodv1alpha1.MigrationTarget{NodeSelector: map[string]peapodv1alpha1.LabelValue{"zone": "b"}}}}
		err := k8sClient.Create(ctx, m)
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "created, or refused otherwise: %v", err)
		Expect(err.Error()).To(ContainSubstring(`admission webhook "podmigrations.peapod.io" denied the request`))
		Expect(err.Error()).To(ContainSubstring("spec.group: Invalid value"))
		Expect(err.Error()).To(ContainSubstring("must be less than or equal to cpu limit of 1"))

		// A migration of a group that does not exist (yet) is let through: it fails with a condition saying so.
		m = &peapodv1alpha1.PodMigration{ObjectMeta: metav1.ObjectMeta{Name: "early", Namespace: ns},
			Spec: peapodv1alpha1.PodMigrationSpec{Group: "later", Member: ptr.To[int32](0)}}
		Expect(k8sClient.Create(ctx, m)).To(Succeed())
	})

	DescribeTable("accepts", func(ctx context.Context, mutate func(g *peapodv1alpha1.PodGroup)) {
		g := pt.MakePodGroup("fine", "default").Replicas(3).Obj()
		mutate(g)
		Expect(k8sClient.Create(ctx, g)).To(Succeed())
		DeferCleanup(k8sClient.Delete, g)
	},
		Entry("requests within limits", func(g *peapodv1alpha1.PodGroup) {
			container(g).Resources = corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")},
				Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}}
		}),
		Entry("hostNetwork with the hostPort the containerPort", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.Template.Spec.HostNetwork = true
			container(g).Ports = []corev1.ContainerPort{{ContainerPort: 8080, HostPort: 8080}}
		}),
		Entry("env from the downward API and a variable that overrides an injected one", func(g *peapodv1alpha1.PodGroup) {
			container(g).Env = []corev1.EnvVar{{Name: "ZONE", ValueFrom: &corev1.EnvVarSource{
				FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['zone']"}}},
				{Name: peapodv1alpha1.EnvReplicas, Value: "override"}}
		}),
		Entry("probes and a preStop hook with handlers", func(g *peapodv1alpha1.PodGroup) {
			exec := corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}
			container(g).LivenessProbe = &corev1.Probe{ProbeHandler: exec, PeriodSeconds: 5}
			container(g).Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Exec: exec.Exec}}
		}),
		Entry("a sidecar: an init container that restarts Always", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.Template.Spec.InitContainers = []corev1.Container{{Name: "proxy", Image: "envoy",
				RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways)}}
		}),
		Entry("tolerations, a node selector and a template spread", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.Template.Spec.Tolerations = []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpExists}}
			g.Spec.Template.Spec.NodeSelector = map[string]string{"topology.kubernetes.io/zone": "a"}
			g.Spec.Template.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{
				MaxSkew: 1, TopologyKey: "zone", WhenUnsatisfiable: corev1.ScheduleAnyway}}
		}),
		Entry("a restricted security context", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.Template.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](1000)}
			container(g).SecurityContext = &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false),
				Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}
		}),
		Entry("a relative subPath of a template volume and a configMap item mode 0644", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.Template.Spec.Volumes = []corev1.Volume{{Name: "conf", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: "conf"},
				Items:                []corev1.KeyToPath{{Key: "a", Path: "a", Mode: ptr.To[int32](0o644)}}}}}}
			container(g).VolumeMounts = []corev1.VolumeMount{{Name: "conf", MountPath: "/conf", SubPath: "a"}}
		}),
		Entry("a shared volume and a claim mounted", func(g *peapodv1alpha1.PodGroup) {
			pt.MakePodGroup("fine", "default").Replicas(3).SharedVolume("cache").Claim("data", "1Gi").Obj().Spec.DeepCopyInto(&g.Spec)
			container(g).VolumeMounts = append(container(g).VolumeMounts, corev1.VolumeMount{Name: "data", MountPath: "/data"})
		}),
		Entry("a ServiceAccount and a PriorityClass not created yet (they may come in the same apply)", func(g *peapodv1alpha1.PodGroup) {
			g.Spec.Template.Spec.ServiceAccountName = "comes-later"
			g.Spec.Template.Spec.PriorityClassName = "comes-later"
		}),
	)
})

// capContainers gives a namespace a LimitRange capping each container's resource at most (and, as a LimitRange
// does, its limit there when it sets none).
func capContainers(ctx context.Context, ns string, name corev1.ResourceName, most string) {
	Expect(k8sClient.Create(ctx, &corev1.LimitRange{
		ObjectMeta: metav1.ObjectMeta{Name: "cap", Namespace: ns},
		Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
			Type: corev1.LimitTypeContainer, Max: corev1.ResourceList{name: resource.MustParse(most)}}}},
	})).To(Succeed())
}
