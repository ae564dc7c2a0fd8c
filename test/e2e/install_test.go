package e2e

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	lifecyclev1alpha1 "k8s.io/api/lifecycle/v1alpha1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/plan"
	pt "github.com/peapod-io/peapod/internal/testing"
	"github.com/peapod-io/peapod/test/cluster"
	"github.com/peapod-io/peapod/test/utils"
)

// What a cluster operator does: `make build-installer`, `kubectl apply --server-side -f dist/install.yaml`, and
// the manager runs with the installed ServiceAccount's rights, not as admin. Everything peapod does must work
// with exactly those rights, and nothing more may be possible with them.
var _ = Describe("installed from dist/install.yaml and run as its own ServiceAccount", Ordered, func() {
	const (
		namespace      = "peapod-system"
		serviceAccount = "peapod-controller-manager"
		leaseName      = "manager.peapod.io"
	)
	var (
		tc         *utils.TestCluster
		sa         *kubernetes.Clientset
		kubeconfig string
		binary     string
		leader     *utils.ManagerProcess
		standby    *utils.ManagerProcess
		metricsURL string
		probesURL  string
	)
	runManager := func(name string, extraArgs ...string) *utils.ManagerProcess {
		args := append([]string{"--leader-elect", "--leader-election-namespace=" + namespace}, extraArgs...)
		m, err := utils.StartManagerProcess(binary, kubeconfig, filepath.Join(tc.Simulated.Dir, name+".log"), args...)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(m.Kill)
		return m
	}
	leaseHolder := func(ctx context.Context, g Gomega) string {
		var lease coordinationv1.Lease
		g.Expect(utils.NewClient(tc.Config).Get(ctx, client.ObjectKey{Namespace: namespace, Name: leaseName}, &lease)).To(Succeed())
		return ptr.Deref(lease.Spec.HolderIdentity, "")
	}
	groupRuns := func(ctx context.Context, ns string) {
		Eventually(func(g Gomega) {
			pods := memberPods(ctx, g, tc, ns)
			g.Expect(pods).To(HaveLen(2))
			for _, pod := range pods {
				g.Expect(plan.Ready(pod)).To(BeTrue(), pod.Name)
			}
		}).WithContext(ctx).WithTimeout(60 * time.Second).Should(Succeed())
	}

	BeforeAll(func(ctx context.Context) {
		if fastCluster.Simulated == nil {
			Skip("installs into a cluster of its own: " + utils.ExistingClusterEnv + " is set")
		}
		build := exec.CommandContext(ctx, "make", "-s", "build-installer")
		build.Dir = filepath.Join("..", "..")
		out, err := build.CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(out))

		// The cluster serves the EvictionRequest API: the manager discovers it, and watches and reports in
		// Evictions with the installed rights.
		tc, err = utils.StartTestCluster(ctx, cluster.Options{Nodes: 4, Timings: cluster.FastTimings, EvictionRequestAPI: true,
			Logf: func(format string, args ...any) { GinkgoWriter.Printf(format+"\n", args...) }})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(tc.Stop)
		Expect(tc.Install(ctx, "../../dist/install.yaml")).To(Succeed())

		var restCfg *rest.Config
		kubeconfig, restCfg, err = tc.ServiceAccountKubeconfig(ctx, namespace, serviceAccount, tc.Simulated.Dir)
		Expect(err).NotTo(HaveOccurred())
		sa, err = kubernetes.NewForConfig(restCfg)
		Expect(err).NotTo(HaveOccurred())
		binary, err = utils.BuildManager(ctx, filepath.Join("..", ".."))
		Expect(err).NotTo(HaveOccurred())
		ports, err := cluster.FreePorts(2)
		Expect(err).NotTo(HaveOccurred())
		metricsURL = fmt.Sprintf("https://127.0.0.1:%d/metrics", ports[0])
		probesURL = fmt.Sprintf("http://127.0.0.1:%d", ports[1])
		leader = runManager("manager-a", "--metrics-bind-address="+fmt.Sprintf("127.0.0.1:%d", ports[0]),
			"--health-probe-bind-address="+fmt.Sprintf("127.0.0.1:%d", ports[1]))
	}, NodeTimeout(cluster.StartTimeout+3*time.Minute))

	It("answers its probes, and serves metrics only to callers allowed to read them", func(ctx context.Context) {
		for _, probe := range []string{"/healthz", "/readyz"} {
			Eventually(func() (int, error) { return httpStatus(ctx, probesURL+probe, "") }).
				WithContext(ctx).WithTimeout(30*time.Second).Should(Equal(http.StatusOK), probe)
		}
		Eventually(func() (int, error) { return httpStatus(ctx, metricsURL, "") }).
			WithContext(ctx).WithTimeout(30*time.Second).Should(Equal(http.StatusUnauthorized), "no token")

		// Two callers: the API server's answers are cached by the endpoint (a denial for 30 s), so the one that is
		// refused is not the one later allowed.
		token := func(name string) string {
			sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"}}
			_, err := tc.Clientset.CoreV1().ServiceAccounts("default").Create(ctx, sa, metav1.CreateOptions{})
			Expect(err).NotTo(HaveOccurred())
			_, cfg, err := tc.ServiceAccountKubeconfig(ctx, "default", name, tc.Simulated.Dir)
			Expect(err).NotTo(HaveOccurred())
			return cfg.BearerToken
		}
		Expect(httpStatus(ctx, metricsURL, token("stranger"))).To(Equal(http.StatusForbidden), "a token without the reader role")

		scraper := token("scraper")
		binding := &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "scraper-reads-peapod-metrics"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "peapod-metrics-reader"},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "scraper", Namespace: "default"}},
		}
		_, err := tc.Clientset.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred())
		Eventually(func() (int, error) { return httpStatus(ctx, metricsURL, scraper) }).
			WithContext(ctx).WithTimeout(30*time.Second).Should(Equal(http.StatusOK), "with the peapod-metrics-reader role")
	})

	It("may not read Secrets, nor do what its RBAC markers do not grant", func(ctx context.Context) {
		can := func(verb, group, resource, ns string) bool {
			review, err := sa.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
				Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{
					Verb: verb, Group: group, Resource: resource, Namespace: ns}},
			}, metav1.CreateOptions{})
			Expect(err).NotTo(HaveOccurred())
			return review.Status.Allowed
		}
		_, err := sa.CoreV1().Secrets("default").List(ctx, metav1.ListOptions{})
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "listing Secrets: %v", err)
		_, err = sa.CoreV1().Secrets(namespace).Get(ctx, "anything", metav1.GetOptions{})
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "reading a Secret in its own namespace: %v", err)
		// But the one it keeps the webhook's certificate in, and only to read and update it.
		_, err = sa.CoreV1().Secrets(namespace).Get(ctx, "peapod-webhook-cert", metav1.GetOptions{})
		Expect(err).NotTo(HaveOccurred(), "reading the webhook's certificate Secret")
		err = sa.CoreV1().Secrets(namespace).Delete(ctx, "peapod-webhook-cert", metav1.DeleteOptions{})
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "deleting the webhook's certificate Secret: %v", err)
		_, err = sa.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, "someone-elses", metav1.GetOptions{})
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "reading another webhook configuration: %v", err)

		for _, denied := range [][4]string{
			{"get", "", "secrets", ""}, {"update", "", "nodes", ""}, {"delete", "", "nodes", ""}, {"patch", "", "nodes", ""},
			{"update", "", "pods", "default"}, {"create", "apps", "deployments", "default"}, {"create", "", "pods/exec", "default"},
			{"create", "", "pods/eviction", "default"}, {"update", "coordination.k8s.io", "leases", "kube-node-lease"},
			{"create", "rbac.authorization.k8s.io", "clusterrolebindings", ""}, {"update", "apiextensions.k8s.io", "customresourcedefinitions", ""},
			{"update", "peapod.io", "podgroups", "default"}, {"create", "", "serviceaccounts/token", namespace},
		} {
			Expect(can(denied[0], denied[1], denied[2], denied[3])).To(BeFalse(), "may %v", denied)
		}
		// What it needs, as a check that the reviews above can say yes.
		for _, allowed := range [][4]string{
			{"create", "", "pods", "default"}, {"delete", "", "pods", "default"}, {"list", "", "nodes", ""},
			{"create", "policy", "poddisruptionbudgets", "default"}, {"patch", "peapod.io", "podmigrations/status", "default"},
		} {
			Expect(can(allowed[0], allowed[1], allowed[2], allowed[3])).To(BeTrue(), "may not %v", allowed)
		}
	})

	It("runs a PodGroup, only in its own namespace, and replaces a member of a failed node", func(ctx context.Context) {
		ns := utils.CreateNamespace(ctx, tc.Clientset, "leastpriv-")
		group := pt.MakePodGroup("web", ns).Replicas(2).Spread(peapodv1alpha1.SpreadNode).ServicePort("http", 80).Obj()
		group.Spec.Migration = &peapodv1alpha1.MigrationPolicy{NodeFailure: &peapodv1alpha1.NodeFailurePolicy{
			After: &metav1.Duration{Duration: 5 * time.Second}}}
		Expect(utils.NewClient(tc.Config).Create(ctx, group)).To(Succeed())
		groupRuns(ctx, ns)

		all, err := tc.Clientset.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{LabelSelector: peapodv1alpha1.GroupLabel})
		Expect(err).NotTo(HaveOccurred())
		for _, pod := range all.Items {
			Expect(pod.Namespace).To(Equal(ns), "Pod %s/%s", pod.Namespace, pod.Name)
		}

		old := memberPod(ctx, Default, tc, ns, 1)
		Expect(tc.Simulated.FailNode(ctx, old.Spec.NodeName)).To(Succeed())
		DeferCleanup(tc.Simulated.RecoverNode, old.Spec.NodeName)
		Eventually(func(g Gomega) {
			now := memberPod(ctx, g, tc, ns, 1)
			g.Expect(now.UID).NotTo(Equal(old.UID))
			g.Expect(now.Spec.NodeName).NotTo(Equal(old.Spec.NodeName))
			g.Expect(plan.Ready(now)).To(BeTrue())
		}).WithContext(ctx).WithTimeout(60 * time.Second).Should(Succeed())
	})

	It("migrates a member on request with those rights", func(ctx context.Context) {
		ns := utils.CreateNamespace(ctx, tc.Clientset, "leastpriv-move-")
		Expect(utils.NewClient(tc.Config).Create(ctx, pt.MakePodGroup("web", ns).Replicas(2).Spread(peapodv1alpha1.SpreadNode).Obj())).To(Succeed())
		groupRuns(ctx, ns)
		m := &peapodv1alpha1.PodMigration{ObjectMeta: metav1.ObjectMeta{Name: "move", Namespace: ns},
			Spec: peapodv1alpha1.PodMigrationSpec{Group: "web", Member: ptr.To[int32](0)}}
		Expect(utils.NewClient(tc.Config).Create(ctx, m)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(utils.NewClient(tc.Config).Get(ctx, client.ObjectKeyFromObject(m), m)).To(Succeed())
			g.Expect(m.Status.Phase).To(Equal(peapodv1alpha1.MigrationSucceeded), m.Status.Message)
		}).WithContext(ctx).WithTimeout(30 * time.Second).Should(Succeed())
	})

	It("responds to an EvictionRequest with those rights: the member moves, the Eviction records peapod's completion", func(ctx context.Context) {
		ns := utils.CreateNamespace(ctx, tc.Clientset, "leastpriv-evict-")
		Expect(utils.NewClient(tc.Config).Create(ctx, pt.MakePodGroup("web", ns).Replicas(2).Spread(peapodv1alpha1.SpreadNode).Obj())).To(Succeed())
		groupRuns(ctx, ns)
		old := memberPod(ctx, Default, tc, ns, 0)
		_, err := tc.Clientset.LifecycleV1alpha1().EvictionRequests(ns).Create(ctx, &lifecyclev1alpha1.EvictionRequest{
			ObjectMeta: metav1.ObjectMeta{Name: "rebalance", Namespace: ns},
			Spec: lifecyclev1alpha1.EvictionRequestSpec{
				Target:    lifecyclev1alpha1.EvictionRequestTarget{Pod: &lifecyclev1alpha1.EvictionRequestPodReference{Name: old.Name, UID: old.UID}},
				Requester: "descheduler.example.com/rebalance", Intent: lifecyclev1alpha1.EvictionRequestIntentEviction,
			},
		}, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred())
		Eventually(func(g Gomega) {
			ev, err := tc.Clientset.LifecycleV1alpha1().Evictions(ns).Get(ctx, string(old.UID), metav1.GetOptions{})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(ev.Status.TargetResponders).To(ContainElement(And(HaveField("Name", peapodv1alpha1.EvictionResponder),
				HaveField("State", lifecyclev1alpha1.ResponderStateCompleted))))
			g.Expect(memberPod(ctx, g, tc, ns, 0).UID).NotTo(Equal(old.UID))
		}).WithContext(ctx).WithTimeout(30 * time.Second).Should(Succeed())
	})

	It("keeps a second manager standing by until the leader releases its Lease, then hands over", func(ctx context.Context) {
		var first string
		Eventually(func(g Gomega) { first = leaseHolder(ctx, g); g.Expect(first).NotTo(BeEmpty()) }).
			WithContext(ctx).WithTimeout(30 * time.Second).Should(Succeed())
		standby = runManager("manager-b")
		Consistently(func(g Gomega) { g.Expect(leaseHolder(ctx, g)).To(Equal(first)) }).
			WithContext(ctx).WithTimeout(5*time.Second).Should(Succeed(), "the standby took the Lease from a live leader")

		stopped := time.Now()
		leader.Stop() // SIGTERM: the leader releases its Lease on the way out
		var second string
		Eventually(func(g Gomega) {
			second = leaseHolder(ctx, g)
			g.Expect(second).NotTo(BeEmpty())
			g.Expect(second).NotTo(Equal(first))
		}).WithContext(ctx).WithTimeout(20 * time.Second).Should(Succeed())
		took := time.Since(stopped)
		AddReportEntry("leader handover after SIGTERM (Lease released on the way out)", took.Round(100*time.Millisecond).String())

		ns := utils.CreateNamespace(ctx, tc.Clientset, "handover-")
		Expect(utils.NewClient(tc.Config).Create(ctx, pt.MakePodGroup("web", ns).Replicas(2).Obj())).To(Succeed())
		groupRuns(ctx, ns)
		GinkgoWriter.Printf("the new leader %s took over %s after the old one was stopped, and runs new groups\n", second, took)
	})

	// The webhook's failure policy is Ignore: with no manager up, PodGroup writes pass with the CRD rules and the
	// admission policy only, and the member Pod's refusal shows on the group's status once a manager is back.
	It("refuses a bad PodGroup through its webhook, lets writes through while no manager runs, then reports the refusal", func(ctx context.Context) {
		standby.Stop()
		admin := utils.NewClient(tc.Config)
		port, err := cluster.FreePorts(1)
		Expect(err).NotTo(HaveOccurred())
		Expect(utils.PointWebhookAtLoopback(ctx, admin, "peapod-validating-webhook-configuration", port[0])).To(Succeed())
		var deployment appsv1.Deployment
		Expect(admin.Get(ctx, client.ObjectKey{Namespace: namespace, Name: "peapod-controller-manager"}, &deployment)).To(Succeed())
		withWebhook := func(name string) *utils.ManagerProcess {
			m := runManager(name, utils.InstalledManagerArgs(&deployment, namespace, port[0], filepath.Join(tc.Simulated.Dir, name+"-certs"))...)
			Expect(utils.WaitListening(ctx, port[0], 60*time.Second)).To(Succeed())
			return m
		}
		ns := utils.CreateNamespace(ctx, tc.Clientset, "webhook-")
		bad := func() *peapodv1alpha1.PodGroup {
			g := pt.MakePodGroup("over", ns).Obj()
			g.Spec.Template.Spec.Containers[0].Resources = corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")},
				Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}}
			return g
		}

		up := withWebhook("manager-c")
		err = admin.Create(ctx, bad())
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "created, or refused otherwise: %v", err)
		Expect(err.Error()).To(ContainSubstring("spec.template.spec.containers[0].resources.requests"))

		up.Kill()
		started := time.Now()
		Expect(admin.Create(ctx, bad())).To(Succeed(), "refused with no manager up: the failure policy is Ignore")
		AddReportEntry("PodGroup create with the webhook down", time.Since(started).Round(time.Millisecond).String())

		withWebhook("manager-d")
		Eventually(func(g Gomega) {
			var got peapodv1alpha1.PodGroup
			g.Expect(admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "over"}, &got)).To(Succeed())
			g.Expect(got.Status.Conditions).To(ContainElement(SatisfyAll(
				HaveField("Type", "Stalled"), HaveField("Status", metav1.ConditionTrue),
				HaveField("Message", ContainSubstring("must be less than or equal to cpu limit of 1")))))
		}).WithContext(ctx).WithTimeout(60 * time.Second).Should(Succeed())
	})
})

// httpStatus GETs a URL of a local test server (the manager's self-signed metrics endpoint: TLS unverified), with
// a bearer token if given, and returns the status code.
func httpStatus(ctx context.Context, url, token string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	httpClient := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // a loopback test server's self-signed certificate
	}}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, err
	}
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}
