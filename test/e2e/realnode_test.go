package e2e

import (
	"context"
	"io"
	"net/http"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
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
		bed *realBed
		tc  *utils.TestCluster
		c   client.Client
	)

	BeforeAll(func(ctx context.Context) {
		bed = startRealBed(ctx, 2)
		tc, c = bed.tc, bed.c
	}, NodeTimeout(cluster.StartTimeout+2*time.Minute))

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

		Eventually(func() (string, error) { return bed.exec(ctx, pod, "client", "wget", "-qO-", "http://127.0.0.1:8080/") }).
			WithContext(ctx).WithTimeout(10*time.Second).Should(Equal("pong"), "the client reaches the server on localhost")
		Expect(bed.exec(ctx, pod, "client", "cat", "/shared/data/greeting")).To(Equal("shared"), "the shared volume")
		Expect(bed.exec(ctx, pod, "client", "cat", "/dev/shm/token")).To(Equal("shm"), "POSIX shared memory (/dev/shm)")

		env, err := bed.exec(ctx, pod, "client", "env")
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

		peers := func() (string, error) { return bed.exec(ctx, pod, "client", "cat", "/etc/peapod/peers") }
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

	It("replaces the member of a node that lost power: its container runs on the other node", func(ctx context.Context) {
		ns := utils.CreateNamespace(ctx, tc.Clientset, "real-kill-")
		Expect(c.Create(ctx, bed.sleeper("db", ns, 1, peapodv1alpha1.FencingNone))).To(Succeed())
		old := bed.firstRunning(ctx, ns).Spec.NodeName
		killed := time.Now()
		Expect(tc.Simulated.KillRealNode(old)).To(Succeed())
		bed.runningElsewhere(ctx, ns, old, 3*time.Minute)
		took := time.Since(killed).Round(100 * time.Millisecond)
		AddReportEntry("real node powered off -> the member's container runs on the other node (exec)", took.String())
		bed.recoverNode(ctx, old)
	})

	It("with fencing None, replaces the member of a partitioned node; the old container runs until its kubelet returns",
		func(ctx context.Context) {
			ns := utils.CreateNamespace(ctx, tc.Clientset, "real-partition-")
			Expect(c.Create(ctx, bed.sleeper("web", ns, 1, peapodv1alpha1.FencingNone))).To(Succeed())
			old := bed.firstRunning(ctx, ns).Spec.NodeName
			Expect(bed.containersOf(ctx, "web-0")).To(HaveKey(old))
			Expect(tc.Simulated.PartitionRealNode(old)).To(Succeed())
			partitioned := time.Now()
			bed.runningElsewhere(ctx, ns, old, 3*time.Minute)
			replaced := time.Now()
			both := bed.containersOf(ctx, "web-0")
			Expect(both).To(HaveLen(2), "the old container still runs behind the partition beside its replacement")
			AddReportEntry("real node partitioned -> replacement runs (fencing None)", replaced.Sub(partitioned).Round(100*time.Millisecond).String())

			bed.recoverNode(ctx, old)
			back := time.Now()
			Eventually(func() map[string][]string { return bed.containersOf(ctx, "web-0") }).WithContext(ctx).
				WithTimeout(2 * time.Minute).WithPolling(250 * time.Millisecond).ShouldNot(HaveKey(old))
			gone := time.Now()
			AddReportEntry("two copies running at once (fencing None): from the replacement until the old kubelet killed its container",
				gone.Sub(replaced).Round(100*time.Millisecond).String())
			AddReportEntry("old container killed after its kubelet returned", gone.Sub(back).Round(100*time.Millisecond).String())
		})

	It("with fencing Required, never runs a second container of a partitioned node's member, nor drains it; once the "+
		"node is powered off and tainted out-of-service, the member runs elsewhere", func(ctx context.Context) {
		ns := utils.CreateNamespace(ctx, tc.Clientset, "real-fenced-")
		Expect(c.Create(ctx, bed.sleeper("safe", ns, 1, peapodv1alpha1.FencingRequired))).To(Succeed())
		old := bed.firstRunning(ctx, ns).Spec.NodeName
		never := func(ctx context.Context, window time.Duration) {
			Consistently(func() int {
				n := 0
				for _, ids := range bed.containersOf(ctx, "safe-0") {
					n += len(ids)
				}
				return n
			}).WithContext(ctx).WithTimeout(window).WithPolling(250*time.Millisecond).Should(BeNumerically("<=", 1),
				"two containers of one member ran at once")
		}
		Expect(tc.Simulated.PartitionRealNode(old)).To(Succeed())
		partitioned := time.Now()
		Eventually(func(g Gomega) {
			var group peapodv1alpha1.PodGroup
			g.Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "safe"}, &group)).To(Succeed())
			g.Expect(group.Status.Conditions).To(ContainElement(SatisfyAll(HaveField("Type", "Degraded"),
				HaveField("Reason", "AwaitingFencing"), HaveField("Message", ContainSubstring("safe-0 on "+old)))))
		}).WithContext(ctx).WithTimeout(90 * time.Second).Should(Succeed())
		never(ctx, 2*time.Second)

		// An administrator drains the node it cannot reach. A member on a node peapod knows silent is failover's
		// to replace (once fenced), not a drain's to move: no migration starts. Once the controller-manager marks
		// the Pod not Ready, the budget lets the eviction through (unhealthyPodEvictionPolicy AlwaysAllow, so a
		// drain is never stuck on a dead member): the Pod is deleted, its container runs on, and still nothing
		// else may run the member.
		DeferCleanup(func(ctx context.Context) { _ = tc.Kubectl(ctx, "uncordon", old).Run() })
		drain := tc.StartKubectl(ctx, "drain", old, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=170s")
		// Past nodeFailure.after (20 s) and the controller-manager's grace period (50 s): a fencing None group
		// would have been replaced long before.
		never(ctx, time.Until(partitioned.Add(75*time.Second)))
		Expect(bed.containersOf(ctx, "safe-0")).To(HaveKey(old), "the partitioned node's container still runs")
		var migrations peapodv1alpha1.PodMigrationList
		Expect(c.List(ctx, &migrations, client.InNamespace(ns))).To(Succeed())
		Expect(migrations.Items).To(BeEmpty(), "a migration of the member of a silent node")
		Expect(drain.Output()).To(ContainSubstring("evicting pod " + ns + "/safe-0"))
		GinkgoWriter.Printf("kubectl drain of the partitioned node so far:\n%s\n", drain.Output())

		Expect(tc.Simulated.KillRealNode(old)).To(Succeed())
		fenced := time.Now()
		bed.setOutOfService(ctx, old, true)
		bed.runningElsewhere(ctx, ns, old, 2*time.Minute)
		AddReportEntry("fenced (out-of-service taint) -> the member runs elsewhere", time.Since(fenced).Round(100*time.Millisecond).String())
		// The first kubectl drain retries evicting "safe-0" by name, now the member on the other node: stop it.
		GinkgoWriter.Printf("the kubectl drain of the partitioned node, stopped:\n%s\n", drain.Stop())

		bed.setOutOfService(ctx, old, false)
		bed.recoverNode(ctx, old)
	})

	// Make-before-break with a real readiness probe: the replacement answers HTTP (from this machine, on its Pod IP)
	// and is Ready before the old Pod is retired, and the group never has fewer Ready members.
	It("drains a node and migrates a member on request, make-before-break, behind a real HTTP readiness probe", func(ctx context.Context) {
		ns := utils.CreateNamespace(ctx, tc.Clientset, "real-move-")
		g := bed.sleeper("api", ns, 1, peapodv1alpha1.FencingNone)
		app := &g.Spec.Template.Spec.Containers[0]
		app.Command = []string{"/bin/sh", "-c", "mkdir -p /tmp/www && echo $POD_NAME > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www"}
		app.ReadinessProbe = &corev1.Probe{PeriodSeconds: 1, ProbeHandler: corev1.ProbeHandler{
			HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromInt32(8080)}}}
		watch, err := utils.WatchMemberPods(ctx, tc.Clientset, ns, utils.MemberWatchOptions{})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(watch.Stop)
		Expect(c.Create(ctx, g)).To(Succeed())
		serves := func(pod *corev1.Pod) (string, error) {
			resp, err := httpGet(ctx, "http://"+pod.Status.PodIP+":8080/")
			return strings.TrimSpace(resp), err
		}
		move := func(what string, start func(node string)) {
			old := bed.firstRunning(ctx, ns)
			started := time.Now()
			start(old.Spec.NodeName)
			var replacement *corev1.Pod
			Eventually(func(g Gomega) {
				replacement = memberPod(ctx, g, tc, ns, 0)
				g.Expect(replacement.UID).NotTo(Equal(old.UID))
				g.Expect(plan.Ready(replacement)).To(BeTrue())
			}).WithContext(ctx).WithTimeout(2 * time.Minute).Should(Succeed())
			AddReportEntry(what+": the member Ready on another node", time.Since(started).Round(100*time.Millisecond).String())
			Expect(replacement.Spec.NodeName).NotTo(Equal(old.Spec.NodeName))
			Expect(serves(replacement)).To(Equal(replacement.Name), "the replacement answers on its Pod IP")
			var retired utils.MemberPod
			Eventually(func(g Gomega) {
				var ok bool
				retired, ok = watch.Pod(old.UID)
				g.Expect(ok && retired.Deleting()).To(BeTrue(), "the old Pod is retired")
			}).WithContext(ctx).WithTimeout(time.Minute).Should(Succeed())
			repl, _ := watch.Pod(replacement.UID)
			Expect(repl.ReadyAt).To(BeTemporally("<", retired.DeletingAt), "the replacement was Ready before the old Pod was retired")
			AddReportEntry(what+": replacement Ready before the old Pod was retired by", retired.DeletingAt.Sub(repl.ReadyAt).Round(time.Millisecond).String())
			Expect(watch.LowestReadyMembers("api", 1)).To(Equal(1), "a Ready member was missing during the %s", what)
		}
		move("kubectl drain", func(node string) {
			out, err := tc.Kubectl(ctx, "drain", node, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=120s").CombinedOutput()
			Expect(err).NotTo(HaveOccurred(), string(out))
			DeferCleanup(func(ctx context.Context) { _ = tc.Kubectl(ctx, "uncordon", node).Run() })
		})
		Expect(tc.Kubectl(ctx, "uncordon", "real-1", "real-2").Run()).To(Succeed())
		move("PodMigration", func(string) {
			Expect(c.Create(ctx, &peapodv1alpha1.PodMigration{ObjectMeta: metav1.ObjectMeta{Name: "move", Namespace: ns},
				Spec: peapodv1alpha1.PodMigrationSpec{Group: "api", Member: ptr.To[int32](0)}})).To(Succeed())
		})
	})
})

// httpGet GETs a URL on a real node's Pod network and returns the body.
func httpGet(ctx context.Context, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return "", err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	return string(body), err
}
