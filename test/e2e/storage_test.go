package e2e

import (
	"context"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/peapod-io/peapod/internal/plan"
	"github.com/peapod-io/peapod/test/cluster"
	"github.com/peapod-io/peapod/test/utils"
)

// The simulated cluster's storage is Kubernetes' own: its PV controller binds the claims the simulated
// provisioner provisions, its attach/detach controller creates and deletes the VolumeAttachments the simulated
// attacher attaches, its scheduler honours the volumes' zones, and a Pod with a claim runs only once its node
// mounted the volume. A volume of a dead node stays attached there until the node is out of service.
var _ = Describe("the simulated cluster's storage", Ordered, func() {
	var (
		sim         *cluster.Cluster
		cs          kubernetes.Interface
		ns          string
		attachments *utils.AttachmentWatch
	)

	BeforeAll(func(ctx context.Context) {
		if fastCluster.Simulated == nil {
			Skip("needs the simulated cluster's storage and kwok nodes it can fail: " + utils.ExistingClusterEnv + " is set")
		}
		// Two nodes in each zone, so a volume's Pod can move to another node of its zone.
		tc, err := utils.StartTestCluster(ctx, cluster.Options{Nodes: 6, Timings: cluster.FastTimings,
			Logf: func(format string, args ...any) { GinkgoWriter.Printf(format+"\n", args...) }})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(tc.Stop)
		sim, cs = tc.Simulated, tc.Clientset
		ns = utils.CreateNamespace(ctx, cs, "storage-")
		attachments, err = utils.WatchAttachments(ctx, cs)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(attachments.Stop)
	}, NodeTimeout(cluster.StartTimeout))

	AfterEach(func() {
		if CurrentSpecReport().Failed() && sim != nil {
			for _, a := range sim.StorageActions() {
				GinkgoWriter.Println(a.String())
			}
		}
	})

	pod := func(ctx context.Context, g Gomega, name string) *corev1.Pod {
		p, err := cs.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		return p
	}
	// readyAfter creates the Pod and returns how long it took to become Ready.
	readyAfter := func(ctx context.Context, p *corev1.Pod, within time.Duration) time.Duration {
		created := time.Now()
		_, err := cs.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred())
		Eventually(func(g Gomega) {
			g.Expect(plan.Ready(pod(ctx, g, p.Name))).To(BeTrue())
		}).WithContext(ctx).WithTimeout(within).WithPolling(20 * time.Millisecond).Should(Succeed())
		return time.Since(created)
	}
	// volumeOf is the bound PV of a claim.
	volumeOf := func(ctx context.Context, claim string) *corev1.PersistentVolume {
		var pv *corev1.PersistentVolume
		Eventually(func(g Gomega) {
			pvc, err := cs.CoreV1().PersistentVolumeClaims(ns).Get(ctx, claim, metav1.GetOptions{})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(pvc.Status.Phase).To(Equal(corev1.ClaimBound))
			pv, err = cs.CoreV1().PersistentVolumes().Get(ctx, pvc.Spec.VolumeName, metav1.GetOptions{})
			g.Expect(err).NotTo(HaveOccurred())
		}).WithContext(ctx).WithTimeout(30 * time.Second).Should(Succeed())
		return pv
	}
	node := func(ctx context.Context, name string) *corev1.Node {
		n, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		Expect(err).NotTo(HaveOccurred())
		return n
	}

	It("makes a Pod without claims Ready as fast as before", func(ctx context.Context) {
		took := make([]string, 0, 5)
		for _, name := range []string{"plain-0", "plain-1", "plain-2", "plain-3", "plain-4"} {
			d := readyAfter(ctx, storagePod(name, "", ""), 10*time.Second)
			Expect(d).To(BeNumerically("<", 2*time.Second), name)
			took = append(took, d.Round(10*time.Millisecond).String())
		}
		AddReportEntry("Pods without claims: created -> Ready", strings.Join(took, " "))
	})

	It("provisions a claim's volume in its Pod's zone and makes the Pod Ready once it is attached and mounted",
		func(ctx context.Context) {
			_, err := cs.CoreV1().PersistentVolumeClaims(ns).Create(ctx, storageClaim("data", corev1.ReadWriteOnce), metav1.CreateOptions{})
			Expect(err).NotTo(HaveOccurred())
			took := readyAfter(ctx, storagePod("first", "data", ""), 60*time.Second)
			AddReportEntry("Pod with a new claim: created -> Ready", took.Round(10*time.Millisecond).String())

			first := pod(ctx, Default, "first")
			Expect(first.Annotations).To(HaveKeyWithValue(cluster.VolumesMountedAnnotation, "true"))
			pv := volumeOf(ctx, "data")
			Expect(pv.Spec.StorageClassName).To(Equal(cluster.StorageClassName))
			Expect(pv.Spec.CSI).NotTo(BeNil())
			Expect(pv.Spec.CSI.Driver).To(Equal(cluster.CSIDriverName))
			zone := node(ctx, first.Spec.NodeName).Labels[corev1.LabelTopologyZone]
			Expect(pv.Spec.NodeAffinity).To(Equal(zoneAffinity(zone)))

			history := attachments.History(pv.Name)
			Expect(history).To(HaveLen(1))
			Expect(history[0].Node).To(Equal(first.Spec.NodeName))
			Expect(history[0].Attached).NotTo(BeZero())
			unique := cluster.UniqueVolumeName(cluster.CSIDriverName, pv.Spec.CSI.VolumeHandle)
			status := node(ctx, first.Spec.NodeName).Status
			Expect(status.VolumesInUse).To(ConsistOf(unique))
			Expect(status.VolumesAttached).To(ConsistOf(HaveField("Name", unique)))
		})

	It("provisions a ReadWriteMany claim's volume for every zone", func(ctx context.Context) {
		_, err := cs.CoreV1().PersistentVolumeClaims(ns).Create(ctx, storageClaim("shared", corev1.ReadWriteMany), metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred())
		readyAfter(ctx, storagePod("shared-user", "shared", ""), 60*time.Second)
		Expect(volumeOf(ctx, "shared").Spec.NodeAffinity).To(BeNil())
	})

	It("detaches the volume of a Pod deleted from a live node, and deletes the volume with its claim", func(ctx context.Context) {
		pv := volumeOf(ctx, "shared")
		Expect(attachments.Live(pv.Name)).To(HaveLen(1))
		Expect(cs.CoreV1().Pods(ns).Delete(ctx, "shared-user", metav1.DeleteOptions{})).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(attachments.Live(pv.Name)).To(BeEmpty())
		}).WithContext(ctx).WithTimeout(30 * time.Second).Should(Succeed())
		Expect(cs.CoreV1().PersistentVolumeClaims(ns).Delete(ctx, "shared", metav1.DeleteOptions{})).To(Succeed())
		Eventually(func() error {
			_, err := cs.CoreV1().PersistentVolumes().Get(ctx, pv.Name, metav1.GetOptions{})
			return err
		}).WithContext(ctx).WithTimeout(30 * time.Second).Should(MatchError(ContainSubstring("not found")))
	})

	It("attaches a dead node's volume to another node of its zone only once the dead node is out of service",
		func(ctx context.Context) {
			first := pod(ctx, Default, "first")
			old := first.Spec.NodeName
			pv := volumeOf(ctx, "data")
			zone := node(ctx, old).Labels[corev1.LabelTopologyZone]
			var other string
			for _, n := range sim.Nodes() {
				if n != old && node(ctx, n).Labels[corev1.LabelTopologyZone] == zone {
					other = n
				}
			}
			Expect(other).NotTo(BeEmpty(), "a second node in zone %s", zone)
			unique := cluster.UniqueVolumeName(cluster.CSIDriverName, pv.Spec.CSI.VolumeHandle)

			Expect(sim.FailNode(ctx, old)).To(Succeed())
			Expect(sim.WaitNodeReady(ctx, old, corev1.ConditionUnknown, 30*time.Second)).To(Succeed())
			Expect(cs.CoreV1().Pods(ns).Delete(ctx, "first", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)})).To(Succeed())
			Eventually(func() error {
				_, err := cs.CoreV1().Pods(ns).Get(ctx, "first", metav1.GetOptions{})
				return err
			}).WithContext(ctx).WithTimeout(10 * time.Second).Should(MatchError(ContainSubstring("not found")))
			_, err := cs.CoreV1().Pods(ns).Create(ctx, storagePod("second", "data", other), metav1.CreateOptions{})
			Expect(err).NotTo(HaveOccurred())

			By("the attach/detach controller waiting for the detach while the dead node may still use the volume")
			Eventually(func(g Gomega) {
				events, err := cs.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: fields.Set{
					"involvedObject.name": "second", "reason": "FailedAttachVolume"}.String()})
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(events.Items).To(ContainElement(HaveField("Message", ContainSubstring("already exclusively attached to one node"))))
			}).WithContext(ctx).WithTimeout(30 * time.Second).Should(Succeed())
			Consistently(func(g Gomega) {
				second := pod(ctx, g, "second")
				g.Expect(second.Spec.NodeName).To(Equal(other))
				g.Expect(plan.Ready(second)).To(BeFalse())
				g.Expect(second.Annotations).NotTo(HaveKey(cluster.VolumesMountedAnnotation))
				live := attachments.Live(pv.Name)
				g.Expect(live).To(HaveLen(1))
				g.Expect(live[0].Node).To(Equal(old))
				g.Expect(live[0].Deleting).To(BeZero())
				g.Expect(node(ctx, old).Status.VolumesInUse).To(ContainElement(unique))
			}).WithContext(ctx).WithTimeout(15 * time.Second).WithPolling(200 * time.Millisecond).Should(Succeed())

			By("fencing the dead node")
			fenced := time.Now()
			Expect(utils.Fence(ctx, cs, old)).To(Succeed())
			Eventually(func(g Gomega) {
				g.Expect(plan.Ready(pod(ctx, g, "second"))).To(BeTrue())
			}).WithContext(ctx).WithTimeout(60 * time.Second).WithPolling(20 * time.Millisecond).Should(Succeed())
			ready := time.Now()

			history := attachments.History(pv.Name)
			Expect(history).To(HaveLen(2), "%v", history)
			was, now := history[0], history[1]
			Expect(was.Node).To(Equal(old))
			Expect(now.Node).To(Equal(other))
			Expect(was.Gone()).To(BeTrue())
			Expect(was.Deleted).To(BeTemporally("<", now.Created), "the old VolumeAttachment was gone before the new one existed")
			Expect(now.Attached).NotTo(BeZero())
			Expect(attachments.Violations(pv.Name)).To(BeEmpty())
			ms := func(from, to time.Time) string { return to.Sub(from).Round(10 * time.Millisecond).String() }
			AddReportEntry("fenced volume move", "taint -> old VolumeAttachment deleting "+ms(fenced, was.Deleting)+
				", gone "+ms(fenced, was.Deleted)+", new created "+ms(fenced, now.Created)+", attached "+ms(fenced, now.Attached)+
				", Pod Ready "+ms(fenced, ready))
		})

	It("provisions, attaches and mounts after kube-apiserver restarted", func(ctx context.Context) {
		Expect(sim.RestartAPIServer(ctx, 2*time.Second)).To(Succeed())
		_, err := cs.CoreV1().PersistentVolumeClaims(ns).Create(ctx, storageClaim("later", corev1.ReadWriteOnce), metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred())
		took := readyAfter(ctx, storagePod("later-user", "later", ""), 60*time.Second)
		AddReportEntry("Pod with a new claim after an apiserver restart: created -> Ready", took.Round(10*time.Millisecond).String())
	})
})

// storageClaim is a claim of 1Gi in the default StorageClass.
func storageClaim(name string, mode corev1.PersistentVolumeAccessMode) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{mode},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}
}

// storagePod is a Pod mounting the claim (none if empty), on the node (any if empty).
func storagePod(name, claim, node string) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{
			Containers:                    []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10"}},
			TerminationGracePeriodSeconds: ptr.To[int64](0),
		},
	}
	if claim != "" {
		p.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}}}
		p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
	}
	if node != "" {
		p.Spec.NodeSelector = map[string]string{corev1.LabelHostname: node}
	}
	return p
}

// zoneAffinity is the node affinity of a volume provisioned in the zone.
func zoneAffinity(zone string) *corev1.VolumeNodeAffinity {
	return &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
		MatchExpressions: []corev1.NodeSelectorRequirement{{Key: corev1.LabelTopologyZone, Operator: corev1.NodeSelectorOpIn, Values: []string{zone}}},
	}}}}
}
