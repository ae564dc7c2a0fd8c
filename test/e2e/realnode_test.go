package e2e

import (
	"context"
	"os"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/desired"
	"github.com/peapod-io/peapod/internal/plan"
	pt "github.com/peapod-io/peapod/internal/testing"
	"github.com/peapod-io/peapod/test/cluster"
	"github.com/peapod-io/peapod/test/utils"
)

// Real kubelets and containerd (test/cluster/realnode.go) run the members' containers for real: what kwok can only
// pretend, a member's containers sharing network, volumes and IPC, and the env they actually see.
var _ = Describe("on real nodes", Ordered, Label("real-node"), func() {
	var (
		tc *utils.TestCluster
		c  client.Client
	)

	BeforeAll(func(ctx context.Context) {
		if err := cluster.RealNodesPossible(os.Getenv(cluster.RealNodeDirEnv)); err != nil {
			Skip("real nodes: " + err.Error())
		}
		tc = defaultTimingsCluster(ctx, 0, "starts real kubelets beside a control plane of its own")
		started := time.Now()
		_, err := tc.Simulated.AddRealNodes(ctx, 2, "")
		Expect(err).NotTo(HaveOccurred())
		AddReportEntry("2 real nodes Ready (containerd and kubelet each)", time.Since(started).Round(100*time.Millisecond).String())
		startManager(tc.Config)
		c = utils.NewClient(tc.Config)
	}, NodeTimeout(cluster.StartTimeout+2*time.Minute))

	// exec runs a command in a member's container and returns what it printed.
	exec := func(ctx context.Context, pod *corev1.Pod, container string, command ...string) (string, error) {
		args := append([]string{"exec", "-n", pod.Namespace, pod.Name, "-c", container, "--"}, command...)
		out, err := tc.Kubectl(ctx, args...).CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}

	It("runs a member's containers as one Pod: localhost, a shared volume, shared memory, the env the README promises, "+
		"and a peer file that follows kubectl scale", func(ctx context.Context) {
		ns := utils.CreateNamespace(ctx, tc.Clientset, "real-pod-")
		busybox := func(name, script string) corev1.Container {
			return corev1.Container{Name: name, Image: cluster.BusyboxImage, ImagePullPolicy: corev1.PullNever,
				Command: []string{"/bin/sh", "-c", script}}
		}
		g := pt.MakePodGroup("web", ns).Replicas(2).SharedVolume("data").Obj()
		g.Spec.Template.Spec.NodeSelector = map[string]string{cluster.RealNodeLabel: "true"}
		g.Spec.Template.Spec.Containers = []corev1.Container{
			busybox("server", "mkdir -p /tmp/www && echo pong > /tmp/www/index.html && echo shared > /shared/data/greeting && "+
				"echo shm > /dev/shm/token && exec httpd -f -p 127.0.0.1:8080 -h /tmp/www"),
			busybox("client", "exec sleep 3600"),
		}
		Expect(c.Create(ctx, g)).To(Succeed())

		var pod *corev1.Pod
		Eventually(func(g Gomega) {
			pod = memberPod(ctx, g, tc, ns, 1)
			g.Expect(plan.Ready(pod)).To(BeTrue())
		}).WithContext(ctx).WithTimeout(60 * time.Second).Should(Succeed())

		Eventually(func() (string, error) { return exec(ctx, pod, "client", "wget", "-qO-", "http://127.0.0.1:8080/") }).
			WithContext(ctx).WithTimeout(10*time.Second).Should(Equal("pong"), "the client reaches the server on localhost")
		Expect(exec(ctx, pod, "client", "cat", "/shared/data/greeting")).To(Equal("shared"), "the shared volume")
		Expect(exec(ctx, pod, "client", "cat", "/dev/shm/token")).To(Equal("shm"), "POSIX shared memory (/dev/shm)")

		env, err := exec(ctx, pod, "client", "env")
		Expect(err).NotTo(HaveOccurred())
		want := map[string]string{
			peapodv1alpha1.EnvGroup:     "web",
			peapodv1alpha1.EnvOrdinal:   "1",
			peapodv1alpha1.EnvReplicas:  "2",
			peapodv1alpha1.EnvService:   desired.ServiceDNS("web", ns),
			peapodv1alpha1.EnvMemberDNS: desired.MemberDNS("web", ns, 1),
			peapodv1alpha1.EnvPeers:     strings.Join(desired.PeerDNSNames("web", ns, 2), ","),
			peapodv1alpha1.EnvPodName:   pod.Name,
			peapodv1alpha1.EnvNamespace: ns,
			peapodv1alpha1.EnvPodIP:     pod.Status.PodIP,
			peapodv1alpha1.EnvNodeName:  pod.Spec.NodeName,
			peapodv1alpha1.EnvHostIP:    pod.Status.HostIP,
		}
		got := map[string]string{}
		for _, line := range strings.Split(env, "\n") {
			if k, v, ok := strings.Cut(line, "="); ok {
				if _, wanted := want[k]; wanted {
					got[k] = v
				}
			}
		}
		Expect(got).To(Equal(want), "the env inside the container")
		Expect(pod.Status.PodIP).To(HavePrefix("10.88."), "a real Pod IP from the node's range")

		peers := func() (string, error) { return exec(ctx, pod, "client", "cat", "/etc/peapod/peers") }
		Expect(peers()).To(Equal(strings.Join(desired.PeerDNSNames("web", ns, 2), "\n")))
		scaled := time.Now()
		Expect(tc.Kubectl(ctx, "scale", "-n", ns, "podgroup/web", "--replicas=3").Run()).To(Succeed())
		Eventually(peers).WithContext(ctx).WithTimeout(3*time.Minute).WithPolling(time.Second).
			Should(Equal(strings.Join(desired.PeerDNSNames("web", ns, 3), "\n")), "the peer file in the running container")
		took := time.Since(scaled).Round(time.Second)
		AddReportEntry("peer file inside a running container after kubectl scale", took.String())
		GinkgoWriter.Printf("the peer file followed kubectl scale in %s (the kubelet's ConfigMap sync)\n", took)
		Expect(tc.Clientset.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})).To(Succeed())
	})
})
