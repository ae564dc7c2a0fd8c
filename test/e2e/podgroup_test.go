package e2e

import (
	"context"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/peapod-io/peapod/internal/desired"
	"github.com/peapod-io/peapod/internal/plan"
	"github.com/peapod-io/peapod/test/utils"
)

// The sample, on a real scheduler and controller-manager with kwok nodes, as a user would drive it: kubectl
// apply, kubectl wait, kubectl scale.
var _ = Describe("the sample PodGroup", Ordered, func() {
	var ns string
	kubectl := func(ctx context.Context, args ...string) string {
		out, err := fastCluster.Kubectl(ctx, append([]string{"-n", ns}, args...)...).CombinedOutput()
		ExpectWithOffset(1, err).NotTo(HaveOccurred(), string(out))
		return string(out)
	}
	readyMembers := func(ctx context.Context, g Gomega) map[string]corev1.Pod {
		list, err := fastCluster.Clientset.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "peapod.io/group=web"})
		g.Expect(err).NotTo(HaveOccurred())
		out := map[string]corev1.Pod{}
		for _, p := range list.Items {
			if plan.Ready(&p) {
				out[p.Name] = p
			}
		}
		return out
	}
	// endpoints lists the pods behind the ClusterIP Service that its EndpointSlices call ready.
	endpoints := func(ctx context.Context, g Gomega) []string {
		slices, err := fastCluster.Clientset.DiscoveryV1().EndpointSlices(ns).List(ctx,
			metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=web"})
		g.Expect(err).NotTo(HaveOccurred())
		var names []string
		for _, s := range slices.Items {
			for _, e := range s.Endpoints {
				if e.Conditions.Ready != nil && *e.Conditions.Ready && e.TargetRef != nil {
					names = append(names, e.TargetRef.Name)
				}
			}
		}
		return names
	}
	peers := func(ctx context.Context, g Gomega) []string {
		cm, err := fastCluster.Clientset.CoreV1().ConfigMaps(ns).Get(ctx, "web-peers", metav1.GetOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		return strings.Fields(cm.Data["peers"])
	}

	BeforeAll(func(ctx context.Context) {
		ns = utils.CreateNamespace(ctx, fastCluster.Clientset, "sample-")
		kubectl(ctx, "apply", "-f", "../../config/samples/peapod_v1alpha1_podgroup.yaml")
	})

	It("becomes Available, with its members Running on distinct nodes", func(ctx context.Context) {
		Eventually(func() error {
			return fastCluster.Kubectl(ctx, "-n", ns, "wait", "--for=condition=Available", "pgroup/web", "--timeout=5s").Run()
		}).WithContext(ctx).WithTimeout(60 * time.Second).Should(Succeed())
		members := readyMembers(ctx, Default)
		Expect(members).To(HaveLen(3))
		nodes := map[string]bool{}
		for _, p := range members {
			Expect(p.Status.Phase).To(Equal(corev1.PodRunning))
			nodes[p.Spec.NodeName] = true
		}
		Expect(nodes).To(HaveLen(3), "members share a node despite spread: Node")
	})

	It("has a Service whose EndpointSlices list exactly the Ready members", func(ctx context.Context) {
		Eventually(func(g Gomega) {
			members := readyMembers(ctx, g)
			want := make([]string, 0, len(members))
			for name := range members {
				want = append(want, name)
			}
			g.Expect(endpoints(ctx, g)).To(ConsistOf(want))
		}).WithContext(ctx).WithTimeout(30 * time.Second).Should(Succeed())
	})

	It("updates the peer file and the endpoints after kubectl scale", func(ctx context.Context) {
		for _, replicas := range []int{5, 2} {
			kubectl(ctx, "scale", "pgroup/web", "--replicas="+strconv.Itoa(replicas))
			Eventually(func(g Gomega) {
				g.Expect(peers(ctx, g)).To(Equal(desired.PeerDNSNames("web", ns, replicas)))
				g.Expect(endpoints(ctx, g)).To(HaveLen(replicas))
			}).WithContext(ctx).WithTimeout(60 * time.Second).Should(Succeed())
		}
	})
})
