package model

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	clocktesting "k8s.io/utils/clock/testing"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/desired"
	"github.com/peapod-io/peapod/internal/expectations"
	"github.com/peapod-io/peapod/internal/migration"
	"github.com/peapod-io/peapod/internal/nodehealth"
	"github.com/peapod-io/peapod/internal/plan"
)

// The manager is peapod's controller as the model runs it: its in-memory state (the observer, the expectations,
// the eviction notices, the lease monitor's disruption state) and its informers' caches of Pods and PodMigrations,
// which lag the world. Nodes are read fresh (the Node informer is not what the model makes lag); Leases reach the
// observer through an informer that can lag. A restart loses all of it.
type manager struct {
	w        *world
	clock    *clocktesting.FakePassiveClock
	observer *nodehealth.Observer
	exp      *expectations.Store
	noticed  *plan.EvictionNotices
	// pods and migrations are the caches: what the informers delivered, up to podSeen and migrationSeen of the
	// world's logs.
	pods          map[string]*corev1.Pod
	migrations    map[string]*peapodv1alpha1.PodMigration
	podSeen       int
	migrationSeen int
}

// newManager starts a manager at the world's now: a fresh observer fed by the informers' initial lists, no
// expectations, caches that hold everything listed.
func newManager(w *world) *manager {
	m := &manager{w: w, clock: clocktesting.NewFakePassiveClock(w.now), observer: nodehealth.NewObserver(w.now),
		noticed: &plan.EvictionNotices{}, pods: map[string]*corev1.Pod{}, migrations: map[string]*peapodv1alpha1.PodMigration{}}
	m.exp = expectations.NewStore(m.clock)
	for _, name := range w.podNames() {
		m.pods[name] = w.pods[name].DeepCopy()
	}
	for _, name := range w.migrationNames() {
		m.migrations[name] = w.migrations[name].DeepCopy()
	}
	m.podSeen, m.migrationSeen = len(w.podLog), len(w.migrationLog)
	m.observeNodes()
	m.observeLeases()
	return m
}

func (m *manager) tick() { m.clock.SetTime(m.w.now) }

func (m *manager) observeLeases() {
	for _, n := range m.w.nodes {
		if !n.deleted {
			m.observer.Lease(n.lease(), m.w.now)
		}
	}
}

func (m *manager) observeNodes() {
	for _, n := range m.w.nodes {
		if !n.deleted {
			m.observer.Node(n.object(), m.w.now)
		}
	}
}

// deliver lets the Pod and PodMigration informers catch up with the world, up to the given log positions, with
// the expectations told what the watch showed (controllers/pod_events.go).
func (m *manager) deliver(pods, migrations int) {
	for ; m.podSeen < pods; m.podSeen++ {
		e := m.w.podLog[m.podSeen]
		pod := e.pod
		if e.deleted {
			delete(m.pods, pod.Name)
			m.exp.CreationObserved(groupKey, pod.Name)
			m.exp.DeletionObserved(groupKey, pod.UID)
			continue
		}
		if old := m.pods[pod.Name]; old == nil {
			m.exp.CreationObserved(groupKey, pod.Name)
		}
		if pod.DeletionTimestamp != nil {
			m.exp.DeletionObserved(groupKey, pod.UID)
		}
		m.pods[pod.Name] = pod
	}
	for ; m.migrationSeen < migrations; m.migrationSeen++ {
		e := m.w.migrationLog[m.migrationSeen]
		if e.deleted {
			delete(m.migrations, e.migration.Name)
		} else {
			m.migrations[e.migration.Name] = e.migration
		}
	}
}

// monitor is the lease monitor's scan (controllers/lease_monitor.go): a cluster-wide gap in renewals makes the
// observer blind, and its assessment, like any other, gives every node a full window again when a cluster-wide
// disruption ends.
func (m *manager) monitor() {
	now := m.w.now
	m.observer.CheckGap(now)
	m.disruption(now)
}

func (m *manager) disruption(now time.Time) nodehealth.Disruption {
	return nodehealth.AssessNodes(m.w.nodeObjects(), m.observer, nodehealth.DefaultUnhealthyThreshold, now)
}

var errLiveRead = errors.New("live read failed")

// reconcile is one reconcile of the group: work for one pass, as controllers/podgroup_sync.go keeps it.
type reconcile struct {
	s        *sim
	m        *manager
	w        *world
	g        *peapodv1alpha1.PodGroup
	shape    desired.Shape
	now      time.Time
	verdicts map[string]nodehealth.Verdict
	// avoidNodes is nil until first needed (nodesToAvoid), as in the controller.
	avoidNodes []string
	allPods    []*corev1.Pod
	// created counts the Pods this reconcile created (controllers: created, replacementsCreated).
	created int
}

// reconcile runs PodGroupReconciler.Reconcile's member phase: expectations, verdicts, migrations stepped, the
// plan made on the remaining members and executed, drains started; then the disruption budget is written as
// applyNetworking writes it.
func (s *sim) reconcile() {
	m, w := s.mgr, s.w
	if !m.exp.Satisfied(groupKey) {
		s.stats.expectationWaits++
		s.logf("  reconcile: the cache has not shown our own writes yet")
		return
	}
	r := &reconcile{s: s, m: m, w: w, g: w.group.DeepCopy(), now: w.now, shape: s.shape}
	pods := m.listPods()
	verdicts, err := r.nodeVerdicts(pods)
	if err != nil {
		s.logf("  reconcile: %v", err)
		return // the budget is not written while the migrations are unknown
	}
	r.verdicts = verdicts
	migrations := m.listMigrations()
	members, wrote := r.runMigrations(migrations, pods)
	running := 0
	for _, mig := range migrations {
		if mig.Active() && mig.Status.Phase == peapodv1alpha1.MigrationRunning {
			running++
		}
	}
	r.allPods = pods
	var avoiding []string
	if slices.ContainsFunc(members, plan.NeedsAvoiding) {
		avoiding = r.nodesToAvoid()
	}
	p := plan.Make(plan.Input{
		Avoiding:        avoiding,
		AvoidingKnown:   avoiding != nil,
		Replicas:        desired.Replicas(r.g),
		UpdateRevision:  s.revision,
		CurrentRevision: s.revision,
		Strategy:        peapodv1alpha1.RollingUpdateStrategy,
		MaxUnavailable:  1,
		Pods:            members,
		Nodes:           verdicts,
		MaxMigrations:   desired.MaxConcurrentMigrations(r.g),
		EvictionNoticed: m.noticed.Of(members),
		Held:            migration.Held(migrations),
		Now:             r.now,
	})
	m.noticed.Notice(p.AwaitingEviction, r.now)
	s.stats.awaitingFencing += len(p.AwaitingFencing)
	s.stats.capped += len(p.Capped)
	s.stats.awaitingEviction += len(p.AwaitingEviction)
	for _, v := range verdicts {
		if v.Paused != "" {
			s.stats.paused++
		}
	}
	if !wrote {
		r.execute(p)
		byOrdinal, _ := plan.Members(members)
		r.runDrains(migrations, byOrdinal)
	}
	live := 0
	for _, pod := range pods {
		if pod.DeletionTimestamp == nil {
			live++
		}
	}
	pdb := desired.DisruptionBudget(r.g, desired.OwnerReference(r.g), live+r.created, running)
	w.pdbMinAvailable, w.pdbReplicas = pdb.Spec.MinAvailable.IntValue(), desired.Replicas(r.g)
}

// describe is the manager's view in one line, for the trace.
func (m *manager) describe() string {
	pods := make([]string, 0, len(m.pods))
	migrations := make([]string, 0, len(m.migrations))
	for _, name := range slices.Sorted(maps.Keys(m.pods)) {
		pod := m.pods[name]
		s := name + "@" + cmp.Or(pod.Spec.NodeName, "-")
		if ready(pod) {
			s += "+ready"
		}
		if pod.DeletionTimestamp != nil {
			s += "+terminating"
		}
		pods = append(pods, s)
	}
	for _, mig := range m.listMigrations() {
		migrations = append(migrations, mig.Name+":"+cmp.Or(string(mig.Status.Phase), "new"))
	}
	return fmt.Sprintf("pods %v migrations %v", pods, migrations)
}

func (m *manager) listPods() []*corev1.Pod {
	out := make([]*corev1.Pod, 0, len(m.pods))
	for _, name := range slices.Sorted(maps.Keys(m.pods)) {
		out = append(out, m.pods[name].DeepCopy())
	}
	return out
}

// listMigrations lists the cached PodMigrations, oldest first (groupMigrations).
func (m *manager) listMigrations() []*peapodv1alpha1.PodMigration {
	out := make([]*peapodv1alpha1.PodMigration, 0, len(m.migrations))
	for _, mig := range m.migrations {
		out = append(out, mig.DeepCopy())
	}
	slices.SortFunc(out, func(a, b *peapodv1alpha1.PodMigration) int {
		return cmp.Or(a.CreationTimestamp.Compare(b.CreationTimestamp.Time), cmp.Compare(a.Name, b.Name))
	})
	return out
}

// nodeNamed reads a Node from the cache, and live when the cache does not have it; nil means it does not exist.
func (r *reconcile) nodeNamed(name string) (*corev1.Node, error) {
	if n := r.w.node(name); n != nil && !n.deleted {
		return n.object(), nil
	}
	if r.w.liveReadsFail {
		r.m.observer.Blind()
		return nil, fmt.Errorf("reading node %s: %w", name, errLiveRead)
	}
	return nil, nil
}

// nodeVerdicts judges the nodes of the group's Pods as controllers/nodes.go nodeVerdicts does.
func (r *reconcile) nodeVerdicts(pods []*corev1.Pod) (map[string]nodehealth.Verdict, error) {
	after, fencingRequired := desired.FailurePolicyOf(r.g)
	return nodehealth.JudgeGroup(pods, worldNodes{r}, r.m.observer, after, fencingRequired, nodehealth.DefaultUnhealthyThreshold, r.now)
}

// worldNodes reads the world's Nodes as the controller's cache and live reads would.
type worldNodes struct{ r *reconcile }

func (n worldNodes) Node(name string) (*corev1.Node, error) { return n.r.nodeNamed(name) }
func (n worldNodes) All() ([]*corev1.Node, error)           { return n.r.w.nodeObjects(), nil }

// knownUnhealthy is every node the controller would judge unhealthy now, from its own evidence: recorded on each
// Pod it creates, for invariant 1.
func (r *reconcile) knownUnhealthy() map[string]bool {
	after, fencingRequired := desired.FailurePolicyOf(r.g)
	out := map[string]bool{}
	for _, n := range r.w.nodes {
		var obj *corev1.Node
		if !n.deleted {
			obj = n.object()
		} else if !r.m.observer.Known(n.name) {
			continue
		}
		if nodehealth.Judge(obj, r.m.observer.Evidence(n.name), after, fencingRequired, r.now).Unhealthy {
			out[n.name] = true
		}
	}
	return out
}

func (r *reconcile) nodesToAvoid() []string {
	if r.avoidNodes == nil {
		r.avoidNodes = nodehealth.FailedNodes(r.w.nodeObjects(), r.verdicts, r.m.observer, r.now)
	}
	return r.avoidNodes
}

// confirmFailure re-reads, past the cache, what a verdict to replace a node's members rests on.
func (r *reconcile) confirmFailure(name string, v nodehealth.Verdict) bool {
	if v.Reason == nodehealth.ReasonNodeDeleted {
		return true
	}
	if !v.Declared() && !v.Window.Equal(r.m.observer.Window()) {
		return false
	}
	if r.w.liveReadsFail {
		r.m.observer.Blind()
		return false
	}
	n := r.w.node(name)
	if v.Reason == nodehealth.ReasonOutOfService {
		if n == nil || n.deleted {
			return true
		}
		return nodehealth.Judge(n.object(), nodehealth.Evidence{}, 0, false, r.now).Reason == nodehealth.ReasonOutOfService
	}
	r.m.observer.Sees(r.now)
	if n == nil || n.deleted {
		return true // its Lease is gone with it
	}
	return !r.m.observer.LeaseRenewedSince(n.lease(), r.now)
}

// runMigrations takes every migration one step (migration.StepAll, as controllers/migrations.go runMigrations)
// and returns the Pods that hold the members' identities for the plan, and whether a Pod was written.
func (r *reconcile) runMigrations(migrations []*peapodv1alpha1.PodMigration, pods []*corev1.Pod) ([]*corev1.Pod, bool) {
	members, wrote, _ := migration.StepAll(migration.Group{
		PodGroup: r.g, Pods: pods, Nodes: r.verdicts, Now: r.now, Target: r.targetOf,
		Avoiding: func() ([]string, error) { return r.nodesToAvoid(), nil },
	}, migrations, func(m *peapodv1alpha1.PodMigration, step migration.Step) (bool, error) { return r.take(m, step), nil })
	return members, wrote
}

func (r *reconcile) targetOf(m *peapodv1alpha1.PodMigration) migration.Target {
	if m.Spec.Target == nil || m.Spec.Target.NodeName == "" {
		return migration.Target{}
	}
	n := r.w.node(m.Spec.Target.NodeName)
	if n == nil || n.deleted {
		return migration.Target{}
	}
	return migration.Target{Exists: true, Unschedulable: n.cordoned}
}

// take carries out a step: a step that gives up and removes the replacement writes the status first and removes
// the Pod only if that landed; every other step writes the Pod first.
func (r *reconcile) take(m *peapodv1alpha1.PodMigration, step migration.Step) bool {
	statusFirst := step.StatusFirst(m)
	acted := false
	if !statusFirst {
		if step.Action == migration.RetireSource && !migration.Confirms(r.w.pods[step.Status.ReplacementPod], step) {
			// The live read of the replacement (controllers/migrations.go act): neither Pod nor status written.
			r.s.stats.unconfirmed++
			return false
		}
		acted = r.act(m, step)
	}
	before := m.Status.Phase
	written := r.writeMigrationStatus(m, step.Status)
	if written && before != step.Status.Phase {
		r.s.logf("  migration %s: %s -> %s: %s", m.Name, cmp.Or(string(before), "new"), step.Status.Phase, step.Status.Message)
		switch step.Status.Phase {
		case peapodv1alpha1.MigrationSucceeded:
			r.s.stats.migrationsSucceeded++
		case peapodv1alpha1.MigrationFailed:
			r.s.stats.migrationsFailed++
		}
	}
	if statusFirst && written {
		return r.act(m, step)
	}
	return acted
}

func (r *reconcile) writeMigrationStatus(m *peapodv1alpha1.PodMigration, next peapodv1alpha1.PodMigrationStatus) bool {
	if equality.Semantic.DeepEqual(m.Status, next) {
		return false
	}
	rv, ok := r.w.writeMigrationStatus(m, next)
	if !ok {
		r.s.stats.statusConflicts++
		return false
	}
	m.Status, m.ResourceVersion = next, rv
	return true
}

func (r *reconcile) act(m *peapodv1alpha1.PodMigration, step migration.Step) bool {
	switch step.Action {
	case migration.CreateReplacement:
		r.createReplacement(m, step)
	case migration.RetireSource:
		r.deleteMember(plan.Deletion{Pod: step.Pod, Reason: plan.ReasonMigrated}, m, step)
	case migration.RemoveReplacement:
		r.deleteMember(step.Removal(), m, step)
	case migration.StopSource:
		// The live read of the source (controllers/migrations.go stopSource).
		source := r.w.pods[step.Pod.Name]
		if !migration.ConfirmsStop(source, step) {
			return false
		}
		r.deleteMember(plan.Deletion{Pod: source.DeepCopy(), Reason: plan.ReasonStopThenStart}, m, step)
	default:
		return false
	}
	return true
}

func (r *reconcile) createReplacement(m *peapodv1alpha1.PodMigration, step migration.Step) {
	avoid := r.nodesToAvoid()
	if step.AvoidSource {
		avoid = slices.Concat(avoid, []string{step.Status.SourceNode})
	}
	pod := desired.ReplacementPod(r.g, r.shape, step.Ordinal, step.Status.ReplacementPod, m, avoid)
	r.s.checkCreate(pod, m, step.Pod)
	r.m.exp.ExpectCreation(groupKey, pod.Name)
	if !r.w.createPod(pod, m.UID, r.knownUnhealthy()) {
		r.m.exp.CreationFailed(groupKey, pod.Name)
		return
	}
	r.s.stats.replacementsCreated++
	r.created++
	r.s.logf("  created replacement %s for %s (avoiding %v)", pod.Name, m.Name, avoid)
}

// execute does what the plan says (podgroup_sync.go execute): a NodeFailed deletion only once a live read
// confirms the failure.
func (r *reconcile) execute(p plan.Plan) {
	if len(p.Create) > 0 {
		r.nodesToAvoid()
	}
	confirmed := map[string]bool{}
	for _, d := range p.Delete {
		if d.Reason == plan.ReasonNodeFailed {
			node := d.Pod.Spec.NodeName
			if _, read := confirmed[node]; !read {
				confirmed[node] = r.confirmFailure(node, r.verdicts[node])
			}
			if !confirmed[node] {
				r.s.stats.unconfirmed++
				continue
			}
		}
		r.deleteMember(d, nil, migration.Step{})
	}
	for _, c := range p.Create {
		pod := desired.MemberPod(r.g, r.shape, c.Ordinal)
		desired.AvoidNodes(pod, r.avoidNodes)
		r.s.checkCreate(pod, nil, nil)
		r.m.exp.ExpectCreation(groupKey, pod.Name)
		if !r.w.createPod(pod, "", r.knownUnhealthy()) {
			r.m.exp.CreationFailed(groupKey, pod.Name)
			continue
		}
		r.s.stats.membersCreated++
		r.created++
		r.s.logf("  created member %s (avoiding %v)", pod.Name, r.avoidNodes)
	}
}

// deleteMember deletes a Pod with its UID as precondition, force for a failed node's member; by is the migration
// whose step asks for it, nil for the plan.
func (r *reconcile) deleteMember(d plan.Deletion, by *peapodv1alpha1.PodMigration, step migration.Step) {
	r.s.checkDelete(d, by, step)
	r.m.exp.ExpectDeletion(groupKey, d.Pod.UID)
	before := r.w.pods[d.Pod.Name].DeepCopy()
	resourceVersion := ""
	if d.OnlyAsSeen() {
		resourceVersion = d.Pod.ResourceVersion
	}
	if !r.w.deletePod(d.Pod.Name, d.Pod.UID, resourceVersion, d.Force) {
		r.m.exp.DeletionFailed(groupKey, d.Pod.UID)
		return
	}
	r.s.stats.deletes[d.Reason]++
	r.s.logf("  deleted %s (%s, force %v)", d.Pod.Name, d.Reason, d.Force)
	r.s.checkRemoval(before, "the controller ("+string(d.Reason)+")", true)
}

// runDrains writes what migration.Drains decides (controllers/migrations.go startMoves).
func (r *reconcile) runDrains(migrations []*peapodv1alpha1.PodMigration, byOrdinal map[int]*corev1.Pod) {
	work := migration.Drains(r.g, migrations, r.allPods, byOrdinal, r.verdicts)
	for _, m := range work.Start {
		if r.w.createMigration(m) {
			r.s.stats.drainsStarted++
			r.s.logf("  started drain migration %s", m.Name)
		}
	}
	for _, m := range slices.Concat(work.Clear, work.Prune) {
		if stored := r.w.migrations[m.Name]; stored != nil && stored.UID == m.UID {
			r.w.deleteMigration(m.Name)
			r.s.logf("  deleted the old drain record %s", m.Name)
		}
	}
}
