package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/desired"
	peapodscheme "github.com/peapod-io/peapod/internal/scheme"
	pt "github.com/peapod-io/peapod/internal/testing"
	"github.com/peapod-io/peapod/test/cluster"
	"github.com/peapod-io/peapod/test/inprocess"
	"github.com/peapod-io/peapod/test/utils"
)

const benchNamespace = "bench"

// namespaceOf is the namespace of the i-th group or StatefulSet.
func (o options) namespaceOf(i int) string {
	if o.namespaces <= 1 {
		return benchNamespace
	}
	return fmt.Sprintf("%s-%d", benchNamespace, i%o.namespaces)
}

func createNamespaces(ctx context.Context, c *cluster.Cluster, o options) error {
	for i := range max(o.namespaces, 1) {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: o.namespaceOf(i)}}
		if _, err := c.Clientset.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	return nil
}

// statefulSets is the built-in side: N StatefulSets of M replicas, Parallel pod management.
func statefulSets(ctx context.Context, c *cluster.Cluster, o options, _ *result) (step, step, error) {
	if err := createNamespaces(ctx, c, o); err != nil {
		return nil, nil, err
	}
	create := func(ctx context.Context) error {
		for i := range o.groups {
			name, labels := statefulSetName(i)
			ns := o.namespaceOf(i)
			if o.statefulSetChildren {
				if err := statefulSetChildren(ctx, c, o, ns, name, labels); err != nil {
					return err
				}
			}
			spec := corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: pt.PauseImage}}}
			if o.statefulSetWiring {
				var err error
				if spec, err = wireByHand(ctx, c, o, ns, name); err != nil {
					return err
				}
			}
			sts := &appsv1.StatefulSet{
				ObjectMeta: metav1.ObjectMeta{Name: name},
				Spec: appsv1.StatefulSetSpec{
					Replicas:            ptr.To(int32(o.members)),
					ServiceName:         name,
					PodManagementPolicy: appsv1.ParallelPodManagement,
					Selector:            &metav1.LabelSelector{MatchLabels: labels},
					Template: corev1.PodTemplateSpec{
						ObjectMeta: metav1.ObjectMeta{Labels: labels},
						Spec:       spec,
					},
				},
			}
			if _, err := c.Clientset.AppsV1().StatefulSets(ns).Create(ctx, sts, metav1.CreateOptions{}); err != nil {
				return err
			}
		}
		return nil
	}
	return create, nil, nil
}

func statefulSetName(i int) (string, map[string]string) {
	name := fmt.Sprintf("sts-%d", i)
	return name, map[string]string{"app": name}
}

// statefulSetChildren creates, for a StatefulSet, the headless Service its serviceName names and a budget that
// wants every replica, as a group's are: the manifest a StatefulSet's user applies for what a group comes with.
func statefulSetChildren(ctx context.Context, c *cluster.Cluster, o options, ns, name string, labels map[string]string) error {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec:       corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Selector: labels, PublishNotReadyAddresses: true},
	}
	if _, err := c.Clientset.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		return err
	}
	pdb := &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: policyv1.PodDisruptionBudgetSpec{
			MinAvailable:               ptr.To(intstr.FromInt(o.members)),
			Selector:                   &metav1.LabelSelector{MatchLabels: labels},
			UnhealthyPodEvictionPolicy: ptr.To(policyv1.AlwaysAllow),
		},
	}
	_, err := c.Clientset.PolicyV1().PodDisruptionBudgets(ns).Create(ctx, pdb, metav1.CreateOptions{})
	return err
}

// wireByHand creates the peer ConfigMap of StatefulSet name and returns a Pod spec that carries what a member of
// a group of that name is told (the first member's values: what matters here is their size), as a StatefulSet's
// user would write them: peapod's own builder makes them, so they cannot drift from what a member gets.
func wireByHand(ctx context.Context, c *cluster.Cluster, o options, ns, name string) (corev1.PodSpec, error) {
	g := pt.MakePodGroup(name, ns).Replicas(int32(o.members)).Obj()
	member := desired.MemberPod(g, desired.ShapeOf(&g.Spec), 0)
	peers := desired.PeersConfigMap(g, desired.OwnerReference(g), 0) // its owner is left out below
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: *peers.Name, Labels: peers.Labels}, Data: peers.Data}
	if _, err := c.Clientset.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		return corev1.PodSpec{}, err
	}
	return corev1.PodSpec{Containers: member.Spec.Containers, Volumes: member.Spec.Volumes}, nil
}

// podGroups is peapod's side: the CRDs installed with kubectl, the manager in this process with a counted
// client at the same QPS, N PodGroups of M members.
func podGroups(ctx context.Context, c *cluster.Cluster, o options, r *result) (step, step, error) {
	if err := createNamespaces(ctx, c, o); err != nil {
		return nil, nil, err
	}
	if err := c.Install(ctx, "config/crd/bases"); err != nil {
		return nil, nil, err
	}
	installed := time.Now()

	cfg, counter := counted(c.Config)
	cfg.QPS, cfg.Burst = float32(o.qps), o.burst
	// It runs until the bench ends; one that returns before is the bench's end.
	mgr := inprocess.NewManager(cfg, inprocess.ManagerOptions{MaxConcurrentReconciles: o.concurrency})
	if err := mgr.Start(ctx); err != nil {
		return nil, nil, err
	}
	go func() {
		<-mgr.Exited()
		if ctx.Err() == nil {
			fmt.Fprintln(os.Stderr, "bench failed: peapod's manager returned:", mgr.Stop())
			os.Exit(1)
		}
	}()
	creator, err := client.New(c.Config, client.Options{Scheme: peapodscheme.New()})
	if err != nil {
		return nil, nil, err
	}
	if err := waitGarbageCollectorSync(ctx, installed); err != nil {
		return nil, nil, err
	}

	var started time.Time
	var reconcilesBefore, waitsBefore utils.Histogram
	create := func(ctx context.Context) error {
		started = time.Now()
		reconcilesBefore, waitsBefore = podGroupHistograms()
		for i := range o.groups {
			g := pt.MakePodGroup(fmt.Sprintf("group-%d", i), o.namespaceOf(i)).Replicas(int32(o.members)).Obj()
			if err := creator.Create(ctx, g); err != nil {
				return err
			}
		}
		return nil
	}
	afterReady := func(ctx context.Context) error {
		// Every group's status catches up with its Ready members (the manager's client is throttled at the same
		// QPS as the controller-manager's); only then is nothing changing.
		if err := waitSettled(ctx, creator, o); err != nil {
			return err
		}
		r.settled = time.Since(started)
		reconcilesNow, waitsNow := podGroupHistograms()
		reconciles, waits := reconcilesNow.Since(reconcilesBefore), waitsNow.Since(waitsBefore)
		r.reconciles, r.reconcileP99, r.reconcileSeconds = reconciles.Count, reconciles.Quantile(0.99), reconciles.Sum
		r.queueWaitP99, r.queueWaitMean = waits.Quantile(0.99), waits.Sum/max(waits.Count, 1)
		r.ownRequests = float64(counter.requests.Load())
		r.ownByKind = counter.breakdown()

		// Heap per cached pod is the slope: what another batch of groups adds once they settled, so the fixed
		// cost of a manager (scheme, REST mapper, informers, codecs) is not spread over the pods.
		heapBefore := heapAfterGC()
		extra := max(o.groups/5, 1)
		for i := range extra {
			g := pt.MakePodGroup(fmt.Sprintf("extra-%d", i), o.namespaceOf(i)).Replicas(int32(o.members)).Obj()
			if err := creator.Create(ctx, g); err != nil {
				return err
			}
		}
		more := o
		more.groups += extra
		if err := waitSettled(ctx, creator, more); err != nil {
			return err
		}
		r.heapPerPodKB = float64(heapAfterGC()-heapBefore) / float64(extra*o.members) / 1024
		if o.heapProfile != "" {
			if err := writeHeapProfile(o.heapProfile); err != nil {
				return err
			}
		}
		writes := counter.write.Load()
		fmt.Printf("  counting peapod's writes for %s while nothing changes\n", o.idle)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(o.idle):
		}
		r.idleWritesPerMinute = float64(counter.write.Load()-writes) / o.idle.Minutes()
		r.rssMiB = selfRSSMiB()
		return nil
	}
	return create, afterReady, nil
}

// waitSettled waits until every one of o.groups groups' status says all its members are available, for its
// current spec.
func waitSettled(ctx context.Context, c client.Client, o options) error {
	groups, members := o.groups, o.members
	settled := 0
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, waitLimit(o), true, func(ctx context.Context) (bool, error) {
		var list peapodv1alpha1.PodGroupList
		if err := c.List(ctx, &list); err != nil { // every namespace's
			return false, err
		}
		settled = 0
		for _, g := range list.Items {
			if g.Status.ObservedGeneration == g.Generation && int(g.Status.AvailableReplicas) == members {
				settled++
			}
		}
		return settled == groups, nil
	})
	if err != nil {
		return fmt.Errorf("only %d of %d groups settled: %w", settled, groups, err)
	}
	return nil
}

// podGroupReconcileTimes is controller-runtime's reconcile-time histogram of the in-process manager's podgroup
// controller so far.
// podGroupHistograms are the podgroup controller's reconcile times and its work queue's waits so far.
func podGroupHistograms() (reconciles, waits utils.Histogram) {
	families, _ := metrics.Registry.Gather()
	for _, f := range families {
		switch f.GetName() {
		case "controller_runtime_reconcile_time_seconds":
			reconciles = utils.HistogramOf(f, "controller", "podgroup")
		case "workqueue_queue_duration_seconds":
			waits = utils.HistogramOf(f, "name", "podgroup")
		}
	}
	return reconciles, waits
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	return pprof.WriteHeapProfile(f)
}

func heapAfterGC() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
