package controllers

import (
	"context"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/desired"
)

// A PodMigration's fields are checked at admission as the objects they name would be: spec.group as a PodGroup's
// name, spec.pod as a Pod's, spec.target.nodeName as a Node's, the node selector as labels; and its own name as
// the label value it becomes on the replacement.
var _ = Describe("PodMigration admission", func() {
	// No group of this name exists: admission does not look, and the migration fails later, GroupNotFound.
	migration := func(mutate func(m *peapodv1alpha1.PodMigration)) *peapodv1alpha1.PodMigration {
		m := &peapodv1alpha1.PodMigration{
			ObjectMeta: metav1.ObjectMeta{GenerateName: "mv-", Namespace: "default"},
			Spec:       peapodv1alpha1.PodMigrationSpec{Group: "admission-web", Member: ptr.To[int32](1)},
		}
		mutate(m)
		return m
	}
	byPod := func(m *peapodv1alpha1.PodMigration, pod string) { m.Spec.Member, m.Spec.Pod = nil, pod }
	selecting := func(m *peapodv1alpha1.PodMigration, key, value string) {
		m.Spec.Target = &peapodv1alpha1.MigrationTarget{
			NodeSelector: map[string]peapodv1alpha1.LabelValue{key: peapodv1alpha1.LabelValue(value)}}
	}
	onNode := func(m *peapodv1alpha1.PodMigration, node string) {
		m.Spec.Target = &peapodv1alpha1.MigrationTarget{NodeName: node}
	}
	longGroup := "g" + strings.Repeat("9", desired.MaxGroupNameLength-1)

	DescribeTable("rejects", func(ctx context.Context, mutate func(m *peapodv1alpha1.PodMigration), field string) {
		err := k8sClient.Create(ctx, migration(mutate))
		Expect(err).To(HaveOccurred(), "the API server accepted it")
		Expect(apierrors.IsInvalid(err) || apierrors.IsForbidden(err)).To(BeTrue(), "not a validation error: %v", err)
		Expect(err.Error()).To(ContainSubstring(field))
	},
		Entry("neither member nor pod", func(m *peapodv1alpha1.PodMigration) { m.Spec.Member = nil },
			"exactly one of spec.member and spec.pod"),
		Entry("both member and pod", func(m *peapodv1alpha1.PodMigration) { m.Spec.Pod = "admission-web-1" },
			"exactly one of spec.member and spec.pod"),
		Entry("a negative member", func(m *peapodv1alpha1.PodMigration) { m.Spec.Member = ptr.To[int32](-1) }, "spec.member"),
		Entry("a member beyond 9999", func(m *peapodv1alpha1.PodMigration) { m.Spec.Member = ptr.To[int32](10000) },
			"spec.member: Invalid value: 10000: spec.member in body should be less than or equal to 9999"),
		Entry("no group", func(m *peapodv1alpha1.PodMigration) { m.Spec.Group = "" }, "spec.group"),
		Entry("a group name beyond a group's limit", func(m *peapodv1alpha1.PodMigration) { m.Spec.Group = longGroup + "9" },
			"spec.group: Too long: may not be more than 55"),
		Entry("a group name starting with a digit", func(m *peapodv1alpha1.PodMigration) { m.Spec.Group = "1web" },
			"spec.group must be a PodGroup's name: a DNS-1035 label"),
		Entry("a group name in capitals", func(m *peapodv1alpha1.PodMigration) { m.Spec.Group = "Web" },
			"spec.group must be a PodGroup's name"),
		Entry("a group name with a dot", func(m *peapodv1alpha1.PodMigration) { m.Spec.Group = "web.example" },
			"spec.group must be a PodGroup's name"),
		Entry("a pod that is no Pod name", func(m *peapodv1alpha1.PodMigration) { byPod(m, "admission-web-1_") },
			"spec.pod must be a Pod's name: a DNS subdomain"),
		Entry("a pod of another group", func(m *peapodv1alpha1.PodMigration) { byPod(m, "db-1") },
			"spec.pod must name a Pod of spec.group"),
		Entry("a pod name beyond 253 characters", func(m *peapodv1alpha1.PodMigration) {
			byPod(m, "admission-web-1-"+strings.Repeat("m", 240))
		}, "spec.pod: Too long: may not be more than 253"),
		Entry("a nodeName in capitals", func(m *peapodv1alpha1.PodMigration) { onNode(m, "Node_1") },
			"spec.target.nodeName must be a Node's name: a DNS subdomain"),
		Entry("a nodeName starting with '-'", func(m *peapodv1alpha1.PodMigration) { onNode(m, "-node-1") },
			"spec.target.nodeName must be a Node's name"),
		Entry("a nodeName beyond 253 characters", func(m *peapodv1alpha1.PodMigration) { onNode(m, strings.Repeat("n", 254)) },
			"spec.target.nodeName: Too long: may not be more than 253"),
		Entry("a nodeSelector key starting with '-'", func(m *peapodv1alpha1.PodMigration) { selecting(m, "-zone", "a") },
			"spec.target.nodeSelector keys must be label keys"),
		Entry("a nodeSelector key with two slashes", func(m *peapodv1alpha1.PodMigration) {
			selecting(m, "example.com/zone/rack", "a")
		}, "spec.target.nodeSelector keys must be label keys"),
		Entry("a nodeSelector key with an empty prefix", func(m *peapodv1alpha1.PodMigration) { selecting(m, "/zone", "a") },
			"spec.target.nodeSelector keys must be label keys"),
		Entry("a nodeSelector key whose prefix is in capitals", func(m *peapodv1alpha1.PodMigration) {
			selecting(m, "Example.com/zone", "a")
		}, "spec.target.nodeSelector keys must be label keys"),
		Entry("a nodeSelector key whose name is beyond 63", func(m *peapodv1alpha1.PodMigration) {
			selecting(m, "example.com/"+strings.Repeat("z", 64), "a")
		}, "spec.target.nodeSelector keys must be label keys"),
		Entry("a nodeSelector key whose prefix is beyond 253", func(m *peapodv1alpha1.PodMigration) {
			selecting(m, strings.Repeat("p", 254)+"/zone", "a")
		}, "spec.target.nodeSelector keys must be label keys"),
		Entry("a nodeSelector value beyond 63", func(m *peapodv1alpha1.PodMigration) {
			selecting(m, "zone", strings.Repeat("v", 64))
		}, "spec.target.nodeSelector.zone: Too long: may not be more than 63"),
		Entry("a nodeSelector value ending with '-'", func(m *peapodv1alpha1.PodMigration) { selecting(m, "zone", "a-") },
			"spec.target.nodeSelector values must be label values"),
		Entry("a nodeSelector value with a slash", func(m *peapodv1alpha1.PodMigration) { selecting(m, "zone", "eu/west") },
			"spec.target.nodeSelector values must be label values"),
		Entry("a nodeSelector of 33 labels", func(m *peapodv1alpha1.PodMigration) {
			selecting(m, "zone", "a")
			for i := range 32 {
				m.Spec.Target.NodeSelector["label-"+string(rune('a'+i%26))+string(rune('a'+i/26))] = "x"
			}
		}, "spec.target.nodeSelector: Too many: 33: must have at most 32 items"),
		Entry("a name beyond a label value", func(m *peapodv1alpha1.PodMigration) {
			m.GenerateName, m.Name = "", strings.Repeat("m", 64)
		}, "metadata.name must be at most 63 characters"),
	)

	DescribeTable("accepts", func(ctx context.Context, mutate func(m *peapodv1alpha1.PodMigration)) {
		m := migration(mutate)
		Expect(k8sClient.Create(ctx, m)).To(Succeed())
		DeferCleanup(k8sClient.Delete, m)
	},
		Entry("a node selector on the well-known zone label, and a key without a prefix", func(m *peapodv1alpha1.PodMigration) {
			selecting(m, "topology.kubernetes.io/zone", "us-east-1a")
			m.Spec.Target.NodeSelector["disk"] = "ssd"
		}),
		Entry("label keys and values at their longest, an empty value", func(m *peapodv1alpha1.PodMigration) {
			prefix := strings.Repeat("p", 63) + "." + strings.Repeat("q", 63) + "." + strings.Repeat("r", 63) + "." +
				strings.Repeat("s", 61) // 253 characters
			selecting(m, prefix+"/A-z_."+strings.Repeat("9", 57), "V-"+strings.Repeat("_", 60)+"9")
			m.Spec.Target.NodeSelector["example.com/empty"] = ""
		}),
		Entry("the longest name, the longest group name, the highest member", func(m *peapodv1alpha1.PodMigration) {
			m.GenerateName, m.Name = "", strings.Repeat("m", desired.MaxMigrationNameLength-4)+".a.b"
			m.Spec.Group, m.Spec.Member = longGroup, ptr.To[int32](desired.MaxOrdinal)
		}),
		Entry("a pod of a migrated member, by name, on a named node", func(m *peapodv1alpha1.PodMigration) {
			byPod(m, desired.ReplacementName(desired.MemberName(longGroup, desired.MaxOrdinal), "uid"))
			m.Spec.Group = longGroup
			onNode(m, "node-1.zone-a.example.com")
		}),
	)
})
