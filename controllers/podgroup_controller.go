// Package controllers holds peapod's reconcilers. They are thin: they read the world, call internal/ for every
// decision, and write the result.
package controllers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	lifecyclev1alpha1 "k8s.io/api/lifecycle/v1alpha1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/desired"
	"github.com/peapod-io/peapod/internal/expectations"
	"github.com/peapod-io/peapod/internal/metrics"
	"github.com/peapod-io/peapod/internal/nodehealth"
	"github.com/peapod-io/peapod/internal/plan"
	"github.com/peapod-io/peapod/internal/status"
)

// expectationsRecheck is how soon a group waiting for its own writes to show in the cache is looked at again.
const expectationsRecheck = 2 * time.Second

// podGroupIndex indexes cached Pods by their group label's value.
const podGroupIndex = "metadata.labels.group"

// conflictRecheck is how often a group one of whose names someone else's object holds looks whether it still does.
const conflictRecheck = 10 * time.Second

// shortest is the sooner of two requeue delays, zero meaning none.
func shortest(a, b time.Duration) time.Duration {
	if a == 0 || (b > 0 && b < a) {
		return b
	}
	return a
}

// PodGroupReconciler turns a PodGroup into its member Pods, Services, peer ConfigMap and ControllerRevisions.
type PodGroupReconciler struct {
	client.Client
	// APIReader reads past the cache, for the rare object that must be current (a revision's shape).
	APIReader client.Reader
	Recorder  events.EventRecorder
	Clock     clock.PassiveClock
	// Expectations remember the creations and deletions this manager made and the cache has not shown yet, so a
	// stale cache never causes a second write for the same member.
	Expectations *expectations.Store
	// MaxConcurrentReconciles is how many groups are reconciled at once.
	MaxConcurrentReconciles int
	// MaxConcurrentMigrations caps the members being moved off failed nodes across all groups; 0 means no cap.
	MaxConcurrentMigrations int
	// Failovers times node-failure replacements for the peapod_failover_duration_seconds metric.
	Failovers *metrics.Failovers
	// Observer holds what the manager saw of nodes, on its own clock: the evidence node verdicts rest on.
	Observer *nodehealth.Observer
	// UnhealthyThreshold is the share of unhealthy nodes (cluster-wide, or in a zone) at which failovers pause;
	// 0 means nodehealth.DefaultUnhealthyThreshold.
	UnhealthyThreshold float64
	// EvictionAPI says the cluster serves the EvictionRequest API (EvictionAPIServed): member Pods name peapod as
	// their eviction responder, and an Eviction handed to peapod moves the member.
	EvictionAPI bool
	// NamespaceSelector makes this manager a shard (shards.go): it acts only on the groups of the namespaces whose
	// labels match. Nil: every namespace.
	NamespaceSelector labels.Selector

	evictions plan.EvictionNotices
	// paused remembers, by namespace/name, whether the group was last told its failovers pause (recordPause).
	paused sync.Map
}

// +kubebuilder:rbac:groups=peapod.io,resources=podgroups,verbs=get;list;watch
// +kubebuilder:rbac:groups=peapod.io,resources=podgroups/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=peapod.io,resources=podgroups/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups="",resources=services;configmaps,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=apps,resources=controllerrevisions,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups="",resources=nodes,verbs=get;list;watch
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;list;watch
// +kubebuilder:rbac:groups=policy,resources=poddisruptionbudgets,verbs=get;list;watch;create;update;patch;delete

// Reconcile brings one PodGroup closer to its spec: read, plan (pure), write the children, then write the
// status once, only if it changed.
func (r *PodGroupReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	// Before anything else, even a group's deletion: another shard's group is that shard's to clean up after.
	if owned, err := r.ownsNamespace(ctx, req.Namespace); err != nil || !owned {
		return ctrl.Result{}, err
	}
	var group peapodv1alpha1.PodGroup
	if err := r.Get(ctx, req.NamespacedName, &group); err != nil {
		if apierrors.IsNotFound(err) {
			r.Expectations.Forget(req.String())
			r.paused.Delete(req.String())
			metrics.AwaitingFencing.DeleteLabelValues(req.Namespace, req.Name)
			return ctrl.Result{}, r.failOrphanMigrations(ctx, req.Namespace, req.Name)
		}
		return ctrl.Result{}, err
	}
	if group.DeletionTimestamp != nil {
		// Owner references hand the children to the garbage collector.
		return ctrl.Result{}, nil
	}

	if !r.Expectations.Satisfied(req.String()) {
		// The cache has not caught up with our own writes; the Pod events it is waiting for requeue the group,
		// and a look every few seconds covers an event that never comes until the expectation expires.
		return ctrl.Result{RequeueAfter: expectationsRecheck}, nil
	}
	// Listed after the check, never before: an event observed in between would leave a stale list trusted.
	pods, err := r.memberPods(ctx, &group)
	if err != nil {
		return ctrl.Result{}, err
	}

	w := &reconcileWork{r: r, group: &group, pods: pods, now: r.Clock.Now(), migrationsRunning: -1}
	result, syncErr := w.sync(ctx)
	if slices.ContainsFunc(w.problems, func(p status.Problem) bool { return p.Reason == status.ReasonNameConflict }) {
		// Someone else's object is not watched (the cache holds the group's only): its going away is looked for.
		result.RequeueAfter = shortest(result.RequeueAfter, conflictRecheck)
	}
	if err := r.writeStatus(ctx, w, syncErr); err != nil {
		return ctrl.Result{}, errors.Join(syncErr, err)
	}
	if syncErr != nil && !w.permanent {
		if result.RequeueAfter > 0 {
			// A timed look (a node's failure reaching `after`) must not wait for the error's backoff, which
			// grows to minutes: the error is logged and the time kept.
			logf.FromContext(ctx).Error(syncErr, "reconcile failed; looking again at the planned time", "after", result.RequeueAfter)
			return result, nil
		}
		return ctrl.Result{}, syncErr
	}
	return result, nil
}

// memberPods lists the Pods the group controls, adopting first the orphans with its label that are not being
// deleted (adopt.go).
func (r *PodGroupReconciler) memberPods(ctx context.Context, g *peapodv1alpha1.PodGroup) ([]*corev1.Pod, error) {
	var list corev1.PodList
	// By the index, not a label selector: a selector is matched against every Pod of the namespace in the cache,
	// the index finds the group's alone, so a reconcile costs the group's size, not the namespace's.
	if err := r.List(ctx, &list, client.InNamespace(g.Namespace), client.MatchingFields{podGroupIndex: g.Name}); err != nil {
		return nil, fmt.Errorf("listing the members of %s: %w", klog.KObj(g), err)
	}
	pods := make([]*corev1.Pod, 0, len(list.Items))
	var orphans []*corev1.Pod
	for i := range list.Items {
		switch pod := &list.Items[i]; {
		case metav1.IsControlledBy(pod, g):
			pods = append(pods, pod)
		case desired.ClaimOf(pod, g) == desired.Orphan && pod.DeletionTimestamp == nil:
			orphans = append(orphans, pod)
		}
	}
	adopted, err := r.adoptPods(ctx, g, orphans)
	return append(pods, adopted...), err
}

func (r *PodGroupReconciler) writeStatus(ctx context.Context, w *reconcileWork, failure error) error {
	g := w.group
	updateRevision := w.updateRevision
	if w.revisionNotStored {
		updateRevision = g.Status.UpdateRevision
	}
	next := status.Compute(status.Input{
		Group:           g,
		Pods:            w.pods,
		UpdateRevision:  updateRevision,
		CurrentRevision: w.currentRevision,
		MaxUnavailable:  w.maxUnavailable,
		Failure:         failure,
		Permanent:       w.permanent,
		Problems:        w.problems,
		LastMigration:   w.lastMigration,
		Now:             w.now,
	})
	if equality.Semantic.DeepEqual(g.Status, next) {
		return nil
	}
	r.recordRollout(g, g.Status, next)
	patch := client.MergeFrom(g.DeepCopy())
	g.Status = next
	if err := r.Status().Patch(ctx, g, patch); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("writing the status of %s: %w", klog.KObj(g), err)
	}
	return nil
}

// recordRollout tells, as events on the group, when a new revision starts rolling out and when it is done.
func (r *PodGroupReconciler) recordRollout(g *peapodv1alpha1.PodGroup, before, after peapodv1alpha1.PodGroupStatus) {
	if before.UpdateRevision != "" && before.UpdateRevision != after.UpdateRevision {
		r.Recorder.Eventf(g, nil, corev1.EventTypeNormal, "RolloutStarted", "Rollout",
			"Rolling out revision %s (was %s)", after.UpdateRevision, before.UpdateRevision)
	}
	rolledOut := before.CurrentRevision != after.CurrentRevision && after.CurrentRevision == after.UpdateRevision
	if before.CurrentRevision != "" && rolledOut {
		r.Recorder.Eventf(g, nil, corev1.EventTypeNormal, "RolloutComplete", "Rollout",
			"All %d members at revision %s", after.UpdatedReplicas, after.UpdateRevision)
	}
}

// groupOfMigration enqueues the group a PodMigration moves a member of.
func groupOfMigration(_ context.Context, o client.Object) []reconcile.Request {
	group := types.NamespacedName{Namespace: o.GetNamespace(), Name: o.(*peapodv1alpha1.PodMigration).Spec.Group}
	return []reconcile.Request{{NamespacedName: group}}
}

// SetupWithManager registers the reconciler. It watches the group's own children only (the cache holds only
// objects with the group label).
func (r *PodGroupReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Clock == nil {
		r.Clock = clock.RealClock{}
	}
	if r.Expectations == nil {
		r.Expectations = expectations.NewStore(r.Clock)
	}
	if r.APIReader == nil {
		r.APIReader = mgr.GetAPIReader()
	}
	if r.Recorder == nil {
		r.Recorder = mgr.GetEventRecorder("peapod")
	}
	if r.Failovers == nil {
		r.Failovers = metrics.NewFailovers()
	}
	if r.Observer == nil {
		r.Observer = nodehealth.NewObserver(r.Clock.Now())
	}
	if err := r.observeNodes(context.Background(), mgr.GetCache()); err != nil {
		return err
	}
	metrics.Register()
	byNode := func(o client.Object) []string {
		if node := memberNode(o); node != "" {
			return []string{node}
		}
		return nil
	}
	indexer := mgr.GetFieldIndexer()
	if err := indexer.IndexField(context.Background(), &corev1.Pod{}, podNodeIndex, byNode); err != nil {
		return err
	}
	podGroup := func(o client.Object) []string {
		if group, ok := o.GetLabels()[peapodv1alpha1.GroupLabel]; ok {
			return []string{group}
		}
		return nil
	}
	if err := indexer.IndexField(context.Background(), &corev1.Pod{}, podGroupIndex, podGroup); err != nil {
		return err
	}
	byGroup := func(o client.Object) []string { return []string{o.(*peapodv1alpha1.PodMigration).Spec.Group} }
	if err := indexer.IndexField(context.Background(), &peapodv1alpha1.PodMigration{}, migrationGroupIndex, byGroup); err != nil {
		return err
	}
	nodeChanges := make(chan event.GenericEvent, 1024)
	monitor := &leaseMonitor{r: r, events: nodeChanges, silent: map[string]bool{}}
	if err := mgr.Add(monitor); err != nil {
		return err
	}
	b := ctrl.NewControllerManagedBy(mgr)
	if r.NamespaceSelector != nil {
		b = b.Watches(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(r.groupsOfNamespace),
			builder.WithPredicates(namespaceLabelsChanged))
	}
	if r.EvictionAPI {
		b = b.Watches(&lifecyclev1alpha1.Eviction{}, handler.EnqueueRequestsFromMapFunc(r.groupOfEviction))
	}
	groupsOnNode := nodeHealthHandler{groups: func(ctx context.Context, o client.Object) []reconcile.Request {
		return r.groupsOnNode(ctx, o.GetName())
	}}
	silentNodesGroup := nodeHealthHandler{groups: func(_ context.Context, group client.Object) []reconcile.Request {
		return []reconcile.Request{{NamespacedName: client.ObjectKeyFromObject(group)}}
	}}
	return b.For(&peapodv1alpha1.PodGroup{}, builder.WithPredicates(notStatusOnly)).
		Watches(&peapodv1alpha1.PodGroup{}, groupStatusWrites).
		Watches(&corev1.Node{}, groupsOnNode, builder.WithPredicates(nodeDecisionChanged)).
		WatchesRawSource(source.Channel(nodeChanges, silentNodesGroup)).
		WatchesRawSource(source.Kind[*corev1.Pod](mgr.GetCache(), &corev1.Pod{}, memberPodHandler{r})).
		Watches(&peapodv1alpha1.PodMigration{}, handler.EnqueueRequestsFromMapFunc(groupOfMigration)).
		Owns(&corev1.Service{}).
		Owns(&policyv1.PodDisruptionBudget{}).
		Owns(&corev1.ConfigMap{}).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(r.MaxConcurrentReconciles, 1)}).
		Named("podgroup").
		Complete(r)
}
