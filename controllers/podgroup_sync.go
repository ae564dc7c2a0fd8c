package controllers

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/desired"
	"github.com/peapod-io/peapod/internal/eviction"
	"github.com/peapod-io/peapod/internal/metrics"
	"github.com/peapod-io/peapod/internal/migration"
	"github.com/peapod-io/peapod/internal/nodehealth"
	"github.com/peapod-io/peapod/internal/plan"
	"github.com/peapod-io/peapod/internal/status"
)

// reconcileWork is one reconcile of one group: what was read, and what the phases found.
type reconcileWork struct {
	r     *PodGroupReconciler
	group *peapodv1alpha1.PodGroup
	pods  []*corev1.Pod
	now   time.Time

	shape           desired.Shape
	updateRevision  string
	currentRevision string
	maxUnavailable  int
	maxSurge        int
	// permanent is set when the API server rejected what the spec asks for: retrying cannot help.
	permanent bool
	// created lists the member Pods created in this reconcile; replacementsCreated counts the migrations' ones.
	created             []string
	replacementsCreated int
	// nodes reads the cluster's Nodes for this reconcile; verdicts judge those the group's Pods are bound to.
	nodes    *clusterNodes
	verdicts map[string]nodehealth.Verdict
	// avoidNodes are failed nodes new members must not be scheduled to; nil until first needed (nodesToAvoid).
	avoidNodes []string
	// migrationsRunning counts the group's migrations in flight after this reconcile's steps, each with a
	// replacement Pod: the disruption budget adds them. -1 until known.
	migrationsRunning int
	// livePods counts the group's Pods not being deleted, as listed at the start of the reconcile.
	livePods int
	// problems are the reasons the group is Degraded found so far, for the status (added with addProblems).
	problems   []status.Problem
	problemsMu sync.Mutex
	// revisionNotStored is set when the update revision's ControllerRevision could not be written.
	revisionNotStored bool
	// allPods are all the group's Pods; pods are the members among them, migrations' replacements in flight
	// set aside.
	allPods []*corev1.Pod
	// lastMigration records a member move made in this reconcile, for the status.
	lastMigration *peapodv1alpha1.MigrationRecord
	// written are the children ("Kind/name") this reconcile wrote already (a peer ConfigMap created before the
	// members that mount it): not written twice.
	written map[string]bool
}

// sync runs the phases in order. Each phase's error is kept, and later phases still run where they can, so one
// failing child never hides the state of the others.
func (w *reconcileWork) sync(ctx context.Context) (ctrl.Result, error) {
	g := w.group
	w.shape = desired.ShapeOf(&g.Spec)
	w.updateRevision = w.shape.Revision()
	w.currentRevision = g.Status.CurrentRevision
	if w.currentRevision == "" {
		w.currentRevision = w.updateRevision
	}
	w.maxUnavailable = plan.ResolveMaxUnavailable(rollingUpdate(g).MaxUnavailable, desired.Replicas(g))
	if !desired.HasUnshareableClaims(g) {
		// Their volume cannot be on two nodes at once: such members roll stop-then-start, within maxUnavailable.
		w.maxSurge = plan.ResolveMaxSurge(rollingUpdate(g).MaxSurge, desired.Replicas(g))
	}

	// Members first: they are what users wait for, and the client's QPS budget is spent in this order. The
	// peer ConfigMap they mount follows within the same reconcile (a kubelet retries the mount until it exists).
	var errs []error
	pods := w.pods // all the group's Pods: syncMembers sets migrations' replacements aside
	result, err := w.syncMembers(ctx)
	if err != nil {
		errs = append(errs, err)
	}
	networking := func() error { return w.applyNetworking(ctx) }
	revision := func() error {
		err := w.ensureRevision(ctx)
		// The status keeps naming the previous revision, so the next reconcile stores this one again.
		w.revisionNotStored = err != nil
		return err
	}
	if err := concurrently(networking, revision); err != nil {
		errs = append(errs, err)
	}
	if err := w.syncClaims(ctx, pods); err != nil {
		errs = append(errs, err)
	}
	if err := w.pruneRevisions(ctx, pods); err != nil {
		errs = append(errs, err)
	}
	return result, errors.Join(errs...)
}

// ensureRevision stores the current shape as a ControllerRevision, so a partitioned rollout can recreate old
// members as they were. A revision the status already names was stored before: no write.
func (w *reconcileWork) ensureRevision(ctx context.Context) error {
	if w.group.Status.UpdateRevision == w.updateRevision {
		return nil
	}
	rev := desired.ControllerRevision(w.group, w.shape)
	var stored appsv1.ControllerRevision
	if err := w.r.Get(ctx, client.ObjectKeyFromObject(rev), &stored); err == nil && metav1.IsControlledBy(&stored, w.group) {
		// Stored by an earlier reconcile whose status write the cache does not show yet.
		return nil
	}
	rev.OwnerReferences = []metav1.OwnerReference{desired.ControllerRef(w.group)}
	if err := w.r.Create(ctx, rev); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("storing revision %s: %w", w.updateRevision, err)
	}
	return nil
}

// syncMembers moves members that are migrating, then deletes and creates member Pods as the plan says, then
// starts the migrations of members on drained nodes.
func (w *reconcileWork) syncMembers(ctx context.Context) (ctrl.Result, error) {
	g := w.group
	w.nodes = &clusterNodes{ctx: ctx, r: w.r}
	nodes, err := w.r.nodeVerdicts(w.nodes, g, w.pods, w.now)
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("judging the members' nodes: %w", err)
	}
	w.verdicts = nodes
	migrations, err := w.r.groupMigrations(ctx, g.Namespace, g.Name)
	if err != nil {
		return ctrl.Result{}, err
	}
	evictions, err := w.r.groupEvictions(ctx, g.Namespace)
	if err != nil {
		return ctrl.Result{}, err
	}
	asked := eviction.AskedFor(evictions)
	var errs []error
	members, migrated, err := w.runMigrations(ctx, migrations, nodes, asked)
	if err != nil {
		errs = append(errs, err)
	}
	nextReport, err := w.reportEvictions(ctx, migrations, evictions)
	if err != nil {
		errs = append(errs, err)
	}
	w.addProblems(stuckMigrations(migrations)...)
	w.migrationsRunning = migration.Running(migrations)
	w.livePods = 0
	for _, pod := range w.pods {
		if pod.DeletionTimestamp == nil {
			w.livePods++
		}
	}
	w.allPods, w.pods = w.pods, members
	var avoiding []string
	if slices.ContainsFunc(w.pods, plan.NeedsAvoiding) {
		if avoiding, err = w.nodesToAvoid(); err != nil {
			errs = append(errs, err)
		}
	}
	in := w.revisions()
	in.Avoiding, in.AvoidingKnown = avoiding, avoiding != nil
	in.Replicas, in.MaxUnavailable, in.MinReadySeconds = desired.Replicas(g), w.maxUnavailable, g.Spec.MinReadySeconds
	in.Pods, in.Nodes, in.Held = w.pods, nodes, migration.Held(migrations)
	in.MaxMigrations, in.MaxSurge, in.Migrating = desired.MaxConcurrentMigrations(g), w.maxSurge, migration.Moving(migrations, w.allPods)
	in.EvictionNoticed, in.Now = w.r.evictions.Of(w.pods), w.now
	p := plan.Make(in)
	w.r.evictions.Notice(p.AwaitingEviction, w.now)
	paused := describePaused(w.pods, nodes)
	w.addProblems(paused...)
	w.recordPause(paused)
	if len(p.Capped) > 0 {
		w.addProblems(status.Problem{Reason: status.ReasonFailoverCapped, Message: fmt.Sprintf(
			"members %s wait to be replaced: the group moves at most %d members at once (spec.migration.maxConcurrentMigrations)",
			podNames(p.Capped), desired.MaxConcurrentMigrations(g))})
	}
	if len(p.AwaitingFencing) > 0 {
		w.addProblems(status.Problem{Reason: status.ReasonAwaitingFencing,
			Message: describeAwaitingFencing(p.AwaitingFencing, nodes, w.group)})
	}
	metrics.AwaitingFencing.WithLabelValues(g.Namespace, g.Name).Set(float64(len(p.AwaitingFencing)))
	w.observeFailovers()
	if migrated {
		// The plan is made again from a cache that shows the migration's write; its Pod events requeue the group.
		return ctrl.Result{RequeueAfter: nextReport}, errors.Join(errs...)
	}
	result, err := w.execute(ctx, p, nodes)
	if err != nil {
		errs = append(errs, err)
	}
	result.RequeueAfter = shortest(result.RequeueAfter, nextReport)
	byOrdinal, _ := plan.Members(w.pods)
	drains := migration.Drains(g, migrations, w.allPods, byOrdinal, nodes)
	if err := w.startMoves(ctx, drains, "the drain of"); err != nil {
		errs = append(errs, err)
	}
	for _, m := range drains.Start {
		// A member a drain moves now is not moved twice: the drain's progress answers its Eviction.
		maps.DeleteFunc(byOrdinal, func(_ int, pod *corev1.Pod) bool { return pod.Name == m.Spec.Pod })
	}
	if err := w.startMoves(ctx, migration.Evictions(g, migrations, w.allPods, byOrdinal, asked), "the eviction of"); err != nil {
		errs = append(errs, err)
	}
	if err := w.startMoves(ctx, migration.Updates(g, migrations, p.Surge), "the update of"); err != nil {
		errs = append(errs, err)
	}
	return result, errors.Join(errs...)
}

// nodesToAvoid lists, once per reconcile, the failed nodes new Pods (members and migrations' replacements) keep off.
func (w *reconcileWork) nodesToAvoid() ([]string, error) {
	if w.avoidNodes == nil {
		avoid, err := w.r.failedNodes(w.nodes, w.verdicts, w.now)
		if err != nil {
			return nil, err
		}
		w.avoidNodes = avoid
	}
	return w.avoidNodes, nil
}

// execute does what the plan says.
func (w *reconcileWork) execute(ctx context.Context, p plan.Plan, nodes map[string]nodehealth.Verdict) (ctrl.Result, error) {
	if len(p.Create) > 0 {
		if _, err := w.nodesToAvoid(); err != nil {
			return ctrl.Result{}, err
		}
		mountable, err := w.peersMountable(ctx)
		if err != nil {
			return ctrl.Result{}, err
		}
		if !mountable {
			p.Create = nil
		}
	}
	var errs []error
	result := ctrl.Result{RequeueAfter: p.RequeueAfter}
	confirmed := map[string]bool{}
	var capped []string
	for _, d := range p.Delete {
		if d.Reason == plan.ReasonNodeFailed {
			node := d.Pod.Spec.NodeName
			// The cap is looked at before the re-read, so members waiting for a slot cost no request, and again
			// when the slot is taken.
			hasRoom := w.r.Failovers.HasRoom(memberKey(d.Pod), w.r.MaxConcurrentMigrations)
			if hasRoom {
				if _, read := confirmed[node]; !read {
					confirmed[node] = w.r.confirmFailure(ctx, node, nodes[node], w.now)
				}
				if !confirmed[node] {
					// A renewal the cache had not shown, or no view of the cluster: judge again from fresh evidence.
					result.RequeueAfter = time.Second
					continue
				}
			}
			if !hasRoom || !w.failoverStarted(d.Pod, nodes[node]) {
				// The cluster-wide cap is reached: look again soon.
				capped = append(capped, d.Pod.Name)
				result.RequeueAfter = time.Second
				continue
			}
		}
		if err := w.deleteMember(ctx, d); err != nil {
			errs = append(errs, err)
		}
	}
	if len(capped) > 0 {
		w.addProblems(status.Problem{Reason: status.ReasonFailoverCapped, Message: fmt.Sprintf(
			"members %s wait to be replaced: %d failovers are in flight across the cluster (--max-concurrent-migrations)",
			status.MemberNames(w.group.Name, capped, status.MaxList), w.r.MaxConcurrentMigrations)})
	}
	if err := w.createMembers(ctx, p.Create); err != nil {
		errs = append(errs, err)
	}
	// One event for all members created in this pass: a new group of 100 tells its story in one line, not 100,
	// and one of 10000 in a note within the API server's limit ("web-0..web-9999").
	if len(w.created) > 0 {
		w.r.Recorder.Eventf(w.group, nil, corev1.EventTypeNormal, "MembersCreated", "CreateMembers", "%s",
			membersNote(fmt.Sprintf("Created %d member Pods: ", len(w.created)), w.group.Name, w.created))
	}
	return result, errors.Join(errs...)
}

func (w *reconcileWork) deleteMember(ctx context.Context, d plan.Deletion) error {
	key := client.ObjectKeyFromObject(w.group).String()
	w.r.Expectations.ExpectDeletion(key, d.Pod.UID)
	precondition := client.Preconditions{UID: ptr.To(d.Pod.UID)}
	if d.OnlyAsSeen() {
		precondition.ResourceVersion = ptr.To(d.Pod.ResourceVersion)
	}
	opts := []client.DeleteOption{precondition}
	if d.Force {
		opts = append(opts, client.GracePeriodSeconds(0))
	}
	if err := w.r.Delete(ctx, d.Pod, opts...); err != nil {
		// Nothing will be observed: not deleted, or gone already (its event maybe seen before the expectation).
		w.r.Expectations.DeletionFailed(key, d.Pod.UID)
		if apierrors.IsNotFound(err) || (d.OnlyAsSeen() && apierrors.IsConflict(err)) {
			// Changed since the plan saw it: its update event brings the group back, judged again.
			return nil
		}
		return fmt.Errorf("deleting member %s (%s): %w", d.Pod.Name, d.Reason, err)
	}
	if d.Reason == plan.ReasonNodeFailed {
		if ordinal, ok := desired.OrdinalOf(d.Pod.Labels); ok {
			w.lastMigration = &peapodv1alpha1.MigrationRecord{Member: int32(ordinal), Reason: peapodv1alpha1.MigrationNodeFailed,
				From: d.Pod.Spec.NodeName, StartTime: metav1.NewTime(w.now)}
		}
	}
	if d.Force {
		w.r.Recorder.Eventf(w.group, d.Pod, corev1.EventTypeWarning, string(d.Reason), "ReplaceMember",
			"Node %s failed: force-deleted member Pod %s to recreate it on a healthy node", d.Pod.Spec.NodeName, d.Pod.Name)
		return nil
	}
	w.r.Recorder.Eventf(w.group, d.Pod, corev1.EventTypeNormal, string(d.Reason), "DeleteMember",
		"Deleted member Pod %s (%s)", d.Pod.Name, d.Reason)
	return nil
}

// createMembers creates the member Pods the plan asks for. Each is made ready one after the other (its claims,
// its revision's shape, its volumes' topology), then they are created in batches of growing size (1, 2, 4, ...)
// sent at once, as the StatefulSet and ReplicaSet controllers do: a group's members start together, and a
// template the API server refuses costs one request, not one per member.
func (w *reconcileWork) createMembers(ctx context.Context, creations []plan.Creation) error {
	var errs []error
	pods := make([]*corev1.Pod, 0, len(creations))
	for _, c := range creations {
		pod, err := w.memberPod(ctx, c)
		if err != nil {
			errs = append(errs, err)
		}
		if pod != nil {
			pods = append(pods, pod)
		}
	}
	key := client.ObjectKeyFromObject(w.group).String()
	for batch := 1; len(pods) > 0; batch *= 2 {
		now := pods[:min(batch, len(pods))]
		pods = pods[len(now):]
		results := make([]error, len(now))
		var sent sync.WaitGroup
		for i, pod := range now {
			w.r.Expectations.ExpectCreation(key, pod.Name)
			sent.Go(func() { results[i] = w.r.Create(ctx, pod) })
		}
		sent.Wait()
		refused := false
		for i, pod := range now {
			if err := w.recordCreation(ctx, key, pod, results[i]); err != nil {
				errs, refused = append(errs, err), true
			}
		}
		if refused {
			// The next batch would most likely be refused too: the next reconcile tries again, with backoff.
			break
		}
	}
	return errors.Join(errs...)
}

// memberPod is the Pod to create for a member, or nil when it must wait (a claim of its name is not the group's).
func (w *reconcileWork) memberPod(ctx context.Context, c plan.Creation) (*corev1.Pod, error) {
	if ready, err := w.ensureClaims(ctx, c.Ordinal); err != nil || !ready {
		return nil, err
	}
	shape, err := w.shapeOf(ctx, c.Revision)
	if err != nil {
		return nil, err
	}
	topology, err := w.volumeTopology(ctx, c.Ordinal)
	if err != nil {
		return nil, err
	}
	pod := desired.MemberPod(w.group, shape, c.Ordinal)
	desired.AvoidNodes(pod, w.avoidNodes)
	desired.FollowVolumes(pod, topology)
	w.r.respondToEvictions(pod)
	pod.OwnerReferences = []metav1.OwnerReference{desired.ControllerRef(w.group)}
	return pod, nil
}

// recordCreation records what the API server answered to one member Pod's creation; the error is for a refusal.
func (w *reconcileWork) recordCreation(ctx context.Context, key string, pod *corev1.Pod, err error) error {
	switch {
	case err == nil:
		w.created = append(w.created, pod.Name)
		return nil
	case apierrors.IsAlreadyExists(err):
		// The old Pod of this identity still exists; the replacement waits until it is gone. A Pod of that name
		// the group does not control never goes by itself: say so.
		w.r.Expectations.CreationFailed(key, pod.Name)
		w.reportForeignPod(ctx, pod.Name)
		return nil
	default:
		w.r.Expectations.CreationFailed(key, pod.Name)
		if apierrors.IsInvalid(err) || apierrors.IsBadRequest(err) {
			w.permanent = true
		}
		w.r.Recorder.Eventf(w.group, nil, corev1.EventTypeWarning, "CreateMemberFailed", "CreateMember",
			"Creating member Pod %s: %v", pod.Name, err)
		return fmt.Errorf("creating member %s: %w", klog.KObj(pod), err)
	}
}

// reportForeignPod marks the group Degraded/NameConflict when the Pod holding a member's name is not the group's.
func (w *reconcileWork) reportForeignPod(ctx context.Context, name string) {
	var existing corev1.Pod
	if err := w.r.APIReader.Get(ctx, types.NamespacedName{Namespace: w.group.Namespace, Name: name}, &existing); err != nil {
		return
	}
	if metav1.IsControlledBy(&existing, w.group) {
		return
	}
	owner := "has no controller"
	if ref := metav1.GetControllerOf(&existing); ref != nil {
		owner = fmt.Sprintf("is controlled by %s %q", ref.Kind, ref.Name)
	}
	w.addProblems(status.Problem{Reason: status.ReasonNameConflict, Message: fmt.Sprintf(
		"Pod %q exists and %s: member %s cannot be created until it is renamed or deleted", name, owner, name)})
}

// shapeOf returns the shape of a revision: the spec's own, or an older one stored in a ControllerRevision the
// group controls whose content hashes to the revision. A revision that cannot be found, or not trusted, is
// replaced by the current shape rather than leaving the member missing.
func (w *reconcileWork) shapeOf(ctx context.Context, revision string) (desired.Shape, error) {
	if revision == w.updateRevision {
		return w.shape, nil
	}
	var rev appsv1.ControllerRevision
	name := desired.ControllerRevisionName(w.group.Name, revision)
	err := w.r.APIReader.Get(ctx, types.NamespacedName{Namespace: w.group.Namespace, Name: name}, &rev)
	if apierrors.IsNotFound(err) {
		return w.shape, nil
	}
	if err != nil {
		return desired.Shape{}, fmt.Errorf("reading revision %s: %w", revision, err)
	}
	shape, err := desired.DecodeShape(rev.Data.Raw)
	if err != nil || !metav1.IsControlledBy(&rev, w.group) || shape.Revision() != revision {
		// Members are made only from what the group itself stored: a revision someone else wrote under the name
		// would put a template into them that no admission of the group's saw.
		why := fmt.Sprintf("ControllerRevision %q is not the group's revision %s: members of that revision are made from "+
			"the current template", name, revision)
		w.addProblems(status.Problem{Reason: status.ReasonNameConflict, Message: why})
		// The problem lasts one reconcile (the member is made then); the event stays for kubectl describe.
		w.r.Recorder.Eventf(w.group, &rev, corev1.EventTypeWarning, status.ReasonNameConflict, "CreateMember", "%s", why)
		return w.shape, nil
	}
	return shape, nil
}

// failoverStarted admits a node-failure replacement under the cluster-wide cap, counts it and starts timing it.
func (w *reconcileWork) failoverStarted(old *corev1.Pod, v nodehealth.Verdict) bool {
	since := v.Since
	if since.IsZero() {
		since = w.now
	}
	_, fencingRequired := desired.FailurePolicyOf(w.group)
	fencing := string(peapodv1alpha1.FencingNone)
	if fencingRequired {
		fencing = string(peapodv1alpha1.FencingRequired)
	}
	if !w.r.Failovers.TryStart(memberKey(old), old.UID, since, fencing, w.r.MaxConcurrentMigrations, w.now) {
		return false
	}
	metrics.Replacements.WithLabelValues(string(plan.ReasonNodeFailed), "replaced").Inc()
	return true
}

// observeFailovers finishes the timing of replacements that are Ready now.
func (w *reconcileWork) observeFailovers() {
	for _, pod := range w.pods {
		if plan.Ready(pod) {
			w.r.Failovers.Ready(memberKey(pod), pod.UID, w.now)
		}
	}
}

// memberKey names a member across its Pods (namespace/<group>-<ordinal>): a migrated member's Pod has a name of
// its own, and its replacement after a failover takes the plain name back.
func memberKey(pod *corev1.Pod) string {
	ordinal, _ := desired.OrdinalOf(pod.Labels)
	return pod.Namespace + "/" + desired.MemberName(pod.Labels[peapodv1alpha1.GroupLabel], ordinal)
}

// stuckMigrations says which members' moves wait for room (a drain blocked until a node has room for the
// replacement), with the scheduler's word: the group is Degraded while they wait, not only the PodMigration.
func stuckMigrations(migrations []*peapodv1alpha1.PodMigration) []status.Problem {
	var out []status.Problem
	for _, m := range migrations {
		c := meta.FindStatusCondition(m.Status.Conditions, peapodv1alpha1.MigrationReplacementReady)
		if !m.Active() || c == nil || c.Status != metav1.ConditionFalse || c.Reason != peapodv1alpha1.ReasonWaitingForCapacity {
			continue
		}
		member := "?"
		if m.Status.Member != nil {
			member = desired.MemberName(m.Spec.Group, int(*m.Status.Member))
		}
		out = append(out, status.Problem{Reason: status.ReasonWaitingForCapacity, Message: fmt.Sprintf(
			"member %s cannot move off node %s (PodMigration %s, %s): %s", member, m.Status.SourceNode, m.Name,
			migration.ReasonOf(m), c.Message)})
	}
	return out
}

// recordPause tells, as an event on the group, when its failovers pause and when they resume.
func (w *reconcileWork) recordPause(paused []status.Problem) {
	// What this manager last said, or else what the status says (a restarted manager does not say it again): the
	// cache shows the status written a moment ago only later, and reconciles in between would repeat the event.
	was := false
	key := client.ObjectKeyFromObject(w.group).String()
	if last, said := w.r.paused.Load(key); said {
		was = last.(bool)
	} else if c := meta.FindStatusCondition(w.group.Status.Conditions, status.ConditionDegraded); c != nil {
		was = strings.Contains(c.Message, nodehealth.PausedPrefix)
	}
	w.r.paused.Store(key, len(paused) > 0)
	switch {
	case len(paused) > 0 && !was:
		w.r.Recorder.Eventf(w.group, nil, corev1.EventTypeWarning, status.ReasonFailoverPaused, "Failover", "%s", paused[0].Message)
	case len(paused) == 0 && was:
		w.r.Recorder.Eventf(w.group, nil, corev1.EventTypeNormal, "FailoverResumed", "Failover",
			"Failovers resumed: few enough nodes look unhealthy")
	}
}

// describePaused says which members are not replaced because failovers pause, and why, once per reason.
func describePaused(pods []*corev1.Pod, nodes map[string]nodehealth.Verdict) []status.Problem {
	members := map[string][]*corev1.Pod{}
	for _, pod := range pods {
		if why := nodes[pod.Spec.NodeName].Paused; why != "" && pod.Spec.NodeName != "" {
			members[why] = append(members[why], pod)
		}
	}
	out := make([]status.Problem, 0, len(members))
	for why, held := range members {
		out = append(out, status.Problem{Reason: status.ReasonFailoverPaused, Message: why + "; members held: " + podNames(held)})
	}
	return out
}

// membersNote is an event note that names members after a prefix, within the API server's limit on a note.
func membersNote(prefix, group string, names []string) string {
	return prefix + status.MemberNames(group, names, status.MaxEventNote-len(prefix))
}

// podNames lists Pods with their nodes for a problem's message, within status.MaxList.
func podNames(pods []*corev1.Pod) string {
	names := make([]string, 0, len(pods))
	for _, pod := range pods {
		names = append(names, pod.Name+" on "+pod.Spec.NodeName)
	}
	slices.Sort(names)
	return status.JoinCapped(names, status.MaxList)
}

func describeAwaitingFencing(pods []*corev1.Pod, nodes map[string]nodehealth.Verdict, g *peapodv1alpha1.PodGroup) string {
	parts := make([]string, 0, len(pods))
	for _, pod := range pods {
		parts = append(parts, fmt.Sprintf("%s on %s (%s)", pod.Name, pod.Spec.NodeName, nodes[pod.Spec.NodeName].Reason))
	}
	why := ""
	if desired.FencedForClaims(g) {
		why = " (fencing None does not apply: their ReadWriteOnce claims stay attached to that node until it is fenced)"
	}
	return "members " + status.JoinCapped(parts, status.MaxList) + " wait for their node to be fenced" + why + ": taint it " +
		nodehealth.OutOfServiceTaint + "=nodeshutdown:NoExecute once it is powered off, or delete the Node"
}

// revisions is the part of the plan's input that says which revision a member created now gets.
func (w *reconcileWork) revisions() plan.Input {
	return plan.Input{UpdateRevision: w.updateRevision, CurrentRevision: w.currentRevision, Strategy: strategyType(w.group),
		Partition: partition(w.group)}
}

// revisionFor is the revision a member created now gets.
func (w *reconcileWork) revisionFor(ordinal int) string { return w.revisions().RevisionFor(ordinal) }

func rollingUpdate(g *peapodv1alpha1.PodGroup) peapodv1alpha1.RollingUpdate {
	if s := g.Spec.UpdateStrategy; s != nil && s.RollingUpdate != nil {
		return *s.RollingUpdate
	}
	return peapodv1alpha1.RollingUpdate{}
}

func strategyType(g *peapodv1alpha1.PodGroup) peapodv1alpha1.UpdateStrategyType {
	if s := g.Spec.UpdateStrategy; s != nil && s.Type != "" {
		return s.Type
	}
	return peapodv1alpha1.RollingUpdateStrategy
}

func partition(g *peapodv1alpha1.PodGroup) int {
	if p := rollingUpdate(g).Partition; p != nil {
		return int(*p)
	}
	return 0
}
