package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/desired"
	pt "github.com/peapod-io/peapod/internal/testing"
	"github.com/peapod-io/peapod/test/cluster"
	"github.com/peapod-io/peapod/test/utils"
)

// Sizes that always fit: a group of the most members the API allows, with a long name in the longest namespace,
// is made whole, and nothing that grows with the replicas passes an API server limit (a Pod's env, the peer
// ConfigMaps, the event notes). The spec has a cluster of its own, stopped with its 10000 Pods when it ends,
// so no later spec waits for them to be deleted. The members are created, not run: their template names a
// scheduler that does not exist, so they stay Pending, unscheduled (binding and running 10000 Pods on kwok costs
// minutes of the scheduler's and kwok's client QPS and measures them, not peapod).
var _ = Describe("sizes at the most replicas", Ordered, func() {
	const (
		replicas = peapodv1alpha1.MaxReplicas
		// What the API server refuses, with room: etcd takes requests up to 1.5 MiB, the kernel an env string
		// up to 128 KiB, the API server a ConfigMap's data up to 1 MiB and an event's note up to 1 KiB.
		maxPodBytes       = 64 << 10
		maxEnvBytes       = 128 << 10
		maxConfigMapBytes = 1 << 20
		maxNoteBytes      = 1024
	)
	// A namespace of 63 characters (the longest DNS label) and a group of 50 (the most is 52).
	var (
		ns    = "sizes-" + strings.Repeat("n", 63-len("sizes-"))
		group = "big-" + strings.Repeat("g", 50-len("big-"))
		tc    *utils.TestCluster
	)

	BeforeAll(func(ctx context.Context) {
		if fastCluster.Simulated == nil {
			Skip("creates 10000 Pods in a cluster of its own: " + utils.ExistingClusterEnv + " is set")
		}
		var err error
		tc, err = utils.StartTestCluster(ctx, cluster.Options{Nodes: 1, Timings: cluster.FastTimings,
			Logf: func(format string, args ...any) { GinkgoWriter.Printf(format+"\n", args...) }})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(tc.Stop)
		Expect(tc.Install(ctx, "../../config/crd/bases", "../../config/policy/podgroup_validation.yaml")).To(Succeed())
		startManager(tc.Config)
	}, NodeTimeout(cluster.StartTimeout))

	It("makes a group of 10000 members with a 50-character name in a 63-character namespace", func(ctx SpecContext) {
		Expect(ns).To(HaveLen(63))
		Expect(group).To(HaveLen(50))
		c := utils.NewClient(tc.Config)
		_, err := tc.Clientset.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}},
			metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred())
		g := pt.MakePodGroup(group, ns).Replicas(replicas).Obj()
		g.Spec.Template.Spec.SchedulerName = "no-such-scheduler"

		started := time.Now()
		Expect(c.Create(ctx, g)).To(Succeed())
		Eventually(func(gm Gomega) {
			var got peapodv1alpha1.PodGroup
			gm.Expect(c.Get(ctx, types.NamespacedName{Namespace: ns, Name: group}, &got)).To(Succeed())
			gm.Expect(got.Status.Replicas).To(Equal(int32(replicas)))
		}).WithContext(ctx).WithTimeout(15 * time.Minute).WithPolling(2 * time.Second).Should(Succeed())
		created := time.Since(started)
		GinkgoWriter.Printf("all %d members created %s after the group\n", replicas, created.Round(100*time.Millisecond))

		By("every member, each Pod far below the API server's limits and without PEAPOD_PEERS")
		pods, err := tc.Clientset.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: peapodv1alpha1.GroupLabel + "=" + group})
		Expect(err).NotTo(HaveOccurred())
		names := map[string]bool{}
		largest, largestEnv := 0, 0
		for i := range pods.Items {
			pod := &pods.Items[i]
			names[pod.Name] = true
			data, err := json.Marshal(pod)
			Expect(err).NotTo(HaveOccurred())
			largest = max(largest, len(data))
			for _, container := range append(pod.Spec.InitContainers, pod.Spec.Containers...) {
				for _, env := range container.Env {
					Expect(env.Name).NotTo(Equal(peapodv1alpha1.EnvPeers), "%s container %s", pod.Name, container.Name)
					largestEnv = max(largestEnv, len(env.Value))
				}
			}
		}
		Expect(names).To(HaveLen(replicas))
		for ordinal := range replicas {
			Expect(names).To(HaveKey(desired.MemberName(group, ordinal)))
		}
		Expect(largest).To(BeNumerically("<", maxPodBytes))
		Expect(largestEnv).To(BeNumerically("<", maxEnvBytes))
		GinkgoWriter.Printf("largest member Pod %d bytes, largest env value %d bytes\n", largest, largestEnv)

		By("the peer files, together, list exactly the members in order, each ConfigMap under 1 MiB")
		list := make([]string, 0, replicas+desired.PeersChunks(replicas))
		for chunk := range desired.PeersChunks(replicas) {
			cm, err := tc.Clientset.CoreV1().ConfigMaps(ns).Get(ctx, desired.PeersChunkName(group, chunk), metav1.GetOptions{})
			Expect(err).NotTo(HaveOccurred())
			data, err := json.Marshal(cm)
			Expect(err).NotTo(HaveOccurred())
			Expect(len(data)).To(BeNumerically("<", maxConfigMapBytes), cm.Name)
			GinkgoWriter.Printf("ConfigMap %s: %d bytes, %d of data\n", cm.Name, len(data), len(cm.Data[peapodv1alpha1.PeersFile]))
			Expect(cm.Data).To(HaveLen(1))
			list = append(list, strings.SplitAfter(cm.Data[peapodv1alpha1.PeersFile], "\n")...)
		}
		Expect(strings.Join(list, "")).To(Equal(strings.Join(desired.PeerDNSNames(group, ns, replicas), "\n") + "\n"))

		By("the MembersCreated notes within the note limit")
		// The recorder folds events of one reason on one object into a series that keeps the first note, so
		// the notes cannot be summed to the members; each one that reached the API server is checked.
		events, err := tc.Clientset.EventsV1().Events(ns).List(ctx, metav1.ListOptions{})
		Expect(err).NotTo(HaveOccurred())
		var notes []string
		for _, e := range events.Items {
			Expect(len(e.Note)).To(BeNumerically("<=", maxNoteBytes), e.Note)
			if e.Reason == "MembersCreated" {
				GinkgoWriter.Printf("event %s (%d times), %d bytes: %s\n", e.Reason, seriesCount(e), len(e.Note), e.Note)
				notes = append(notes, e.Note)
			}
		}
		Expect(notes).NotTo(BeEmpty())
	}, SpecTimeout(20*time.Minute))

	It("shrinks below 5001 members: peers-1 goes, peers lists the rest", func(ctx SpecContext) {
		c := utils.NewClient(tc.Config)
		const fewer = 4000
		var g peapodv1alpha1.PodGroup
		Expect(c.Get(ctx, types.NamespacedName{Namespace: ns, Name: group}, &g)).To(Succeed())
		started := time.Now()
		Expect(c.Patch(ctx, &g, client.RawPatch(types.MergePatchType, []byte(fmt.Sprintf(`{"spec":{"replicas":%d}}`, fewer))))).To(Succeed())
		Eventually(func(gm Gomega) {
			_, err := tc.Clientset.CoreV1().ConfigMaps(ns).Get(ctx, desired.PeersChunkName(group, 1), metav1.GetOptions{})
			gm.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "ConfigMap %s: %v", desired.PeersChunkName(group, 1), err)
			cm, err := tc.Clientset.CoreV1().ConfigMaps(ns).Get(ctx, desired.PeersChunkName(group, 0), metav1.GetOptions{})
			gm.Expect(err).NotTo(HaveOccurred())
			gm.Expect(cm.Data[peapodv1alpha1.PeersFile]).To(Equal(strings.Join(desired.PeerDNSNames(group, ns, fewer), "\n") + "\n"))
			var got peapodv1alpha1.PodGroup
			gm.Expect(c.Get(ctx, types.NamespacedName{Namespace: ns, Name: group}, &got)).To(Succeed())
			gm.Expect(got.Status.Replicas).To(Equal(int32(fewer)))
		}).WithContext(ctx).WithTimeout(10 * time.Minute).WithPolling(2 * time.Second).Should(Succeed())
		GinkgoWriter.Printf("shrunk to %d members %s after the scale\n", fewer, time.Since(started).Round(100*time.Millisecond))
	}, SpecTimeout(12*time.Minute))
})

// seriesCount is how many times an event happened, when the recorder folded repeats into one series.
func seriesCount(e eventsv1.Event) int {
	if e.Series == nil {
		return 1
	}
	return int(e.Series.Count)
}
