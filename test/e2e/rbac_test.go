package e2e

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	pt "github.com/peapod-io/peapod/internal/testing"
	"github.com/peapod-io/peapod/test/utils"
)

// Users get their rights through the built-in admin, edit and view roles; peapod's aggregated ClusterRoles
// (config/rbac/aggregate_*_role.yaml) add PodGroups and PodMigrations to them. The aggregation is done by the
// controller-manager's clusterrole-aggregation controller, so this runs on the simulated cluster, not envtest.
var _ = Describe("the built-in edit and view roles", Ordered, func() {
	var ns, other string

	BeforeAll(func(ctx context.Context) {
		Expect(fastCluster.Install(ctx, "../../config/rbac/aggregate_view_role.yaml", "../../config/rbac/aggregate_edit_role.yaml")).To(Succeed())
		ns = utils.CreateNamespace(ctx, fastCluster.Clientset, "rbac-")
		other = utils.CreateNamespace(ctx, fastCluster.Clientset, "rbac-other-")
		for user, role := range map[string]string{"alice": "edit", "bob": "view"} {
			_, err := fastCluster.Clientset.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: user},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
				Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}},
			}, metav1.CreateOptions{})
			Expect(err).NotTo(HaveOccurred())
		}
		// The controller-manager folds the rules into edit (and admin, view) within moments.
		Eventually(func(g Gomega) {
			edit, err := fastCluster.Clientset.RbacV1().ClusterRoles().Get(ctx, "edit", metav1.GetOptions{})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(edit.Rules).To(ContainElement(SatisfyAll(HaveField("APIGroups", ContainElement(peapodv1alpha1.GroupVersion.Group)),
				HaveField("Verbs", ContainElement("create")))))
		}).WithContext(ctx).WithTimeout(30 * time.Second).Should(Succeed())
	})

	as := func(user string) client.Client {
		cfg := rest.CopyConfig(fastCluster.Config)
		cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
		return utils.NewClient(cfg)
	}
	kubectlAs := func(ctx context.Context, user string, args ...string) (string, error) {
		out, err := fastCluster.Kubectl(ctx, append([]string{"--as=" + user}, args...)...).CombinedOutput()
		return string(out), err
	}
	forbidden := func(err error) {
		GinkgoHelper()
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "want Forbidden, got %v", err)
	}
	migration := func(namespace string) *peapodv1alpha1.PodMigration {
		return &peapodv1alpha1.PodMigration{ObjectMeta: metav1.ObjectMeta{Name: "move", Namespace: namespace},
			Spec: peapodv1alpha1.PodMigrationSpec{Group: "web", Member: ptr.To[int32](0)}}
	}

	It("lets a namespace's editor create, scale and delete PodGroups and PodMigrations there, and nowhere else", func(ctx context.Context) {
		alice := as("alice")
		group := pt.MakePodGroup("web", ns).Replicas(1).Obj()
		Expect(alice.Create(ctx, group)).To(Succeed())
		out, err := kubectlAs(ctx, "alice", "scale", "-n", ns, "podgroup/web", "--replicas=2")
		Expect(err).NotTo(HaveOccurred(), out)
		Expect(alice.Create(ctx, migration(ns))).To(Succeed())
		Expect(alice.Delete(ctx, migration(ns))).To(Succeed())

		Expect(alice.Get(ctx, client.ObjectKeyFromObject(group), group)).To(Succeed())
		Expect(group.Spec.Replicas).To(HaveValue(BeEquivalentTo(2)))
		group.Status.Replicas = 7
		forbidden(alice.Status().Update(ctx, group)) // the status is the manager's
		Expect(alice.Delete(ctx, group)).To(Succeed())

		forbidden(alice.Create(ctx, pt.MakePodGroup("web", other).Replicas(1).Obj()))
		forbidden(alice.Create(ctx, migration(other)))
		forbidden(alice.List(ctx, &peapodv1alpha1.PodGroupList{}, client.InNamespace(other)))
	})

	It("lets a namespace's viewer list and read them, and change nothing", func(ctx context.Context) {
		Expect(fastClient.Create(ctx, pt.MakePodGroup("web", ns).Replicas(1).Obj())).To(Succeed())
		Expect(fastClient.Create(ctx, pt.MakePodGroup("web", other).Replicas(1).Obj())).To(Succeed())
		bob := as("bob")
		var groups peapodv1alpha1.PodGroupList
		Expect(bob.List(ctx, &groups, client.InNamespace(ns))).To(Succeed())
		Expect(groups.Items).To(HaveLen(1))
		Expect(bob.List(ctx, &peapodv1alpha1.PodMigrationList{}, client.InNamespace(ns))).To(Succeed())
		out, err := kubectlAs(ctx, "bob", "get", "-n", ns, "pgroup,pmig")
		Expect(err).NotTo(HaveOccurred(), out)
		Expect(out).To(ContainSubstring("web"))

		forbidden(bob.Create(ctx, migration(ns)))
		forbidden(bob.Delete(ctx, &groups.Items[0]))
		out, err = kubectlAs(ctx, "bob", "scale", "-n", ns, "podgroup/web", "--replicas=2")
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring("forbidden"))
		forbidden(bob.List(ctx, &peapodv1alpha1.PodGroupList{}, client.InNamespace(other)))
	})
})
