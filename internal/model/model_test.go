package model

import (
	"flag"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"pgregory.net/rapid"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/desired"
	"github.com/peapod-io/peapod/internal/expectations"
	"github.com/peapod-io/peapod/internal/migration"
	"github.com/peapod-io/peapod/internal/plan"
	peapodtesting "github.com/peapod-io/peapod/internal/testing"
)

// defaultChecks is how many random sequences one run checks unless -rapid.checks (or RAPID_CHECKS) says
// otherwise; each has up to maxSteps events, a few hundred simulated seconds.
const (
	defaultChecks = 2000
	maxSteps      = 600
)

// TestMain sets rapid's defaults for this package, unless the command line or the environment sets them: the
// number of sequences, and no fail files in the source tree (the seed printed on failure reproduces it:
// go test ./internal/model -run TestModel -rapid.seed=N).
func TestMain(m *testing.M) {
	flag.Parse()
	defaults := map[string]string{"rapid.checks": fmt.Sprint(defaultChecks), "rapid.nofailfile": "true"}
	flag.Visit(func(f *flag.Flag) { delete(defaults, f.Name) })
	for name, value := range defaults {
		if _, env := os.LookupEnv(strings.ToUpper(strings.ReplaceAll(name, ".", "_"))); env {
			continue
		}
		if err := flag.Set(name, value); err != nil {
			panic(err)
		}
	}
	os.Exit(m.Run())
}

// sim is one random sequence: the world, the manager, and what happened.
type sim struct {
	t     *rapid.T
	w     *world
	mgr   *manager
	stats *stats
	// shape and revision are the group's template: the model changes only its replicas.
	shape    desired.Shape
	revision string
}

// stats count what the sequences exercised, to show the model reaches the paths it is about.
type stats struct {
	sequences, steps, seconds                                    int
	membersCreated, replacementsCreated, drainsStarted           int
	deletes                                                      map[plan.DeleteReason]int
	migrationsSucceeded, migrationsFailed, statusConflicts       int
	awaitingFencing, awaitingEviction, capped, paused            int
	unconfirmed, expectationWaits, restarts                      int
	evictionsAllowed, evictionsRefused                           int
	overlapsOnSilentNode, requiredSequences, partitionedHandover int
	claimSequences                                               int
	staleReady, staleBudget                                      int
	// knownBugs counts the sequences stopped (skipped) at a known bug, by bug.
	knownBugs map[string]int
}

func (s *stats) add(o *stats) {
	s.sequences += o.sequences
	s.steps += o.steps
	s.seconds += o.seconds
	s.membersCreated += o.membersCreated
	s.replacementsCreated += o.replacementsCreated
	s.drainsStarted += o.drainsStarted
	for k, v := range o.deletes {
		s.deletes[k] += v
	}
	s.migrationsSucceeded += o.migrationsSucceeded
	s.migrationsFailed += o.migrationsFailed
	s.statusConflicts += o.statusConflicts
	s.awaitingFencing += o.awaitingFencing
	s.awaitingEviction += o.awaitingEviction
	s.capped += o.capped
	s.paused += o.paused
	s.unconfirmed += o.unconfirmed
	s.expectationWaits += o.expectationWaits
	s.restarts += o.restarts
	s.evictionsAllowed += o.evictionsAllowed
	s.evictionsRefused += o.evictionsRefused
	s.overlapsOnSilentNode += o.overlapsOnSilentNode
	s.requiredSequences += o.requiredSequences
	s.claimSequences += o.claimSequences
	s.partitionedHandover += o.partitionedHandover
	for k, v := range o.knownBugs {
		s.knownBugs[k] += v
	}
	s.staleReady += o.staleReady
	s.staleBudget += o.staleBudget
}

// lazy formats only when the line is printed (rapid prints the log of the failing sequence only).
type lazy func() string

func (l lazy) String() string { return l() }

func (s *sim) logf(format string, args ...any) { s.t.Logf(format, args...) }

func (s *sim) fatalf(format string, args ...any) {
	s.t.Fatalf("INVARIANT VIOLATED: "+format+"\nworld: %s", append(args, s.w.describe())...)
}

func (s *sim) fencingRequired() bool {
	_, required := desired.FailurePolicyOf(s.w.group)
	return required
}

// newSim draws a group, a cluster and its starting state.
func newSim(t *rapid.T) *sim {
	w := &world{t: t, now: epoch, pods: map[string]*corev1.Pod{}, info: map[types.UID]*podInfo{},
		migrations: map[string]*peapodv1alpha1.PodMigration{}, pdbMinAvailable: -1}
	replicas := rapid.IntRange(2, 3).Draw(t, "replicas")
	fencing := rapid.SampledFrom([]peapodv1alpha1.FencingPolicy{peapodv1alpha1.FencingRequired, peapodv1alpha1.FencingNone}).
		Draw(t, "fencing")
	after := time.Duration(rapid.SampledFrom([]int{5, 10, 20, 30}).Draw(t, "after")) * time.Second
	builder := peapodtesting.MakePodGroup(groupName, namespace).Replicas(int32(replicas))
	claims := rapid.Bool().Draw(t, "readWriteOnceClaims")
	if claims {
		builder = builder.Claim("data", "1Gi")
	}
	g := builder.Obj()
	g.UID = "group-uid"
	g.Spec.Migration = &peapodv1alpha1.MigrationPolicy{
		NodeFailure: &peapodv1alpha1.NodeFailurePolicy{After: &metav1.Duration{Duration: after}, Fencing: fencing},
	}
	if limit := rapid.IntRange(0, 2).Draw(t, "maxConcurrentMigrations"); limit > 0 {
		g.Spec.Migration.MaxConcurrentMigrations = ptr.To(int32(limit))
	}
	w.group = g
	for i := range rapid.IntRange(3, 5).Draw(t, "nodes") {
		w.nodes = append(w.nodes, &node{
			name:     fmt.Sprintf("n%d", i),
			zone:     []string{"a", "b"}[i%2],
			capacity: rapid.IntRange(1, 3).Draw(t, "capacity"),
			kubelet:  true,
			ready:    true,
			renewed:  epoch.Add(-time.Duration(rapid.IntRange(0, 9).Draw(t, "renewPhase")) * time.Second),
			skew:     time.Duration(rapid.IntRange(-30, 30).Draw(t, "clockSkew")) * time.Second,
		})
	}
	s := &sim{t: t, w: w, stats: &stats{sequences: 1, deletes: map[plan.DeleteReason]int{}, knownBugs: map[string]int{}}}
	s.shape = desired.ShapeOf(&g.Spec)
	s.revision = s.shape.Revision()
	s.mgr = newManager(w)
	if fencing == peapodv1alpha1.FencingRequired {
		s.stats.requiredSequences++
	}
	if claims {
		s.stats.claimSequences++
	}
	s.logf("group: replicas %d, fencing %s, ReadWriteOnce claims %v, after %s, maxConcurrentMigrations %d; nodes %s", replicas, fencing, claims, after,
		desired.MaxConcurrentMigrations(g), lazy(func() string {
			out := make([]string, 0, len(w.nodes))
			for _, n := range w.nodes {
				out = append(out, fmt.Sprintf("%s(zone %s, capacity %d, skew %s)", n.name, n.zone, n.capacity, n.skew))
			}
			return strings.Join(out, " ")
		}))
	return s
}

// second advances the clock one second: the cluster's actors, then the manager's informers and lease monitor.
func (s *sim) second() {
	w, m := s.w, s.mgr
	w.second()
	m.tick()
	if w.leaseLag > 0 {
		w.leaseLag--
	} else {
		m.observeLeases()
	}
	m.observeNodes()
	if w.cacheLag > 0 {
		w.cacheLag--
	} else {
		m.deliver(len(w.podLog), len(w.migrationLog))
	}
	m.monitor()
	s.stats.seconds++
}

// event is one thing that may happen next, with its weight among them.
type event struct {
	name   string
	weight int
	run    func(s *sim)
}

func pick[T any](s *sim, label string, from []T) (T, bool) {
	if len(from) == 0 {
		var zero T
		return zero, false
	}
	return rapid.SampledFrom(from).Draw(s.t, label), true
}

// pickNode draws the name of a node that satisfies ok.
func (s *sim) pickNode(ok func(*node) bool) (*node, bool) {
	var names []string
	for _, n := range s.w.nodes {
		if ok(n) {
			names = append(names, n.name)
		}
	}
	name, found := pick(s, "node", names)
	return s.w.node(name), found
}

// stop powers a node's containers off.
func (s *sim) stop(n *node) {
	for _, info := range s.w.info {
		if info.node == n.name {
			info.running = false
		}
	}
}

var events = []event{
	{"time passes", 6, func(s *sim) {
		seconds := rapid.IntRange(1, 10).Draw(s.t, "seconds")
		for range seconds {
			s.second()
		}
		s.logf("%d s pass", seconds)
	}},
	{"reconcile", 10, func(s *sim) {
		s.logf("reconcile, the cache showing %s", lazy(s.mgr.describe))
		s.reconcile()
	}},
	{"informers deliver part of the backlog", 2, func(s *sim) {
		m, w := s.mgr, s.w
		pods := rapid.IntRange(m.podSeen, len(w.podLog)).Draw(s.t, "podEvents")
		migrations := rapid.IntRange(m.migrationSeen, len(w.migrationLog)).Draw(s.t, "migrationEvents")
		s.logf("informers deliver %d Pod and %d PodMigration events", pods-m.podSeen, migrations-m.migrationSeen)
		m.deliver(pods, migrations)
	}},
	{"node goes silent", 2, func(s *sim) {
		if n, ok := s.pickNode((*node).alive); ok {
			n.kubelet, n.silentSince = false, s.w.now
			s.logf("%s goes silent (dead or partitioned: its containers may still run)", n.name)
		}
	}},
	{"node comes back", 2, func(s *sim) {
		if n, ok := s.pickNode((*node).silent); ok {
			n.kubelet, n.renewed = true, s.w.now
			s.logf("%s comes back", n.name)
		}
	}},
	{"node is fenced", 1, func(s *sim) {
		n, ok := s.pickNode(func(n *node) bool { return !n.off })
		if !ok {
			return
		}
		n.kubelet, n.off, n.offAt = false, true, s.w.now
		n.evictDelay = time.Duration(rapid.IntRange(0, 8).Draw(s.t, "evictDelay")) * time.Second
		s.stop(n)
		if rapid.Bool().Draw(s.t, "deleteNode") {
			n.deleted = true
			s.logf("%s is powered off and its Node deleted", n.name)
			return
		}
		s.logf("%s is powered off and tainted out-of-service", n.name)
	}},
	{"fenced node reboots", 1, func(s *sim) {
		if n, ok := s.pickNode((*node).fenced); ok {
			n.off, n.kubelet, n.renewed = false, true, s.w.now
			s.logf("%s reboots, its taint removed", n.name)
		}
	}},
	{"cordon or uncordon", 2, func(s *sim) {
		if n, ok := s.pickNode(func(n *node) bool { return !n.deleted }); ok {
			n.cordoned = !n.cordoned
			s.logf("%s cordoned: %v", n.name, n.cordoned)
		}
	}},
	{"kubectl drain evicts a Pod", 2, func(s *sim) {
		var candidates []string
		for _, name := range s.w.podNames() {
			pod := s.w.pods[name]
			if n := s.w.node(pod.Spec.NodeName); n != nil && n.cordoned && live(pod) {
				candidates = append(candidates, name)
			}
		}
		name, ok := pick(s, "pod", candidates)
		if !ok {
			return
		}
		before := s.w.pods[name].DeepCopy()
		if !s.w.evict(before) {
			s.stats.evictionsRefused++
			s.logf("eviction of %s refused by the disruption budget (minAvailable %d)", name, s.w.pdbMinAvailable)
			return
		}
		s.stats.evictionsAllowed++
		s.logf("%s evicted", name)
		s.checkRemoval(before, "kubectl drain's eviction", false)
	}},
	{"user creates a PodMigration", 2, func(s *sim) {
		m := &peapodv1alpha1.PodMigration{
			ObjectMeta: metav1.ObjectMeta{Name: rapid.SampledFrom([]string{"move-a", "move-b"}).Draw(s.t, "name")},
			Spec:       peapodv1alpha1.PodMigrationSpec{Group: groupName},
		}
		pod, byPod := pick(s, "pod", s.w.podNames())
		if byPod && rapid.Bool().Draw(s.t, "byPod") {
			m.Spec.Pod = pod
		} else {
			m.Spec.Member = ptr.To(int32(rapid.IntRange(0, desired.Replicas(s.w.group)).Draw(s.t, "member")))
		}
		if rapid.IntRange(0, 3).Draw(s.t, "withTarget") == 0 {
			names := append(make([]string, 0, 1+len(s.w.nodes)), "ghost")
			for _, n := range s.w.nodes {
				names = append(names, n.name)
			}
			m.Spec.Target = &peapodv1alpha1.MigrationTarget{NodeName: rapid.SampledFrom(names).Draw(s.t, "target")}
		}
		if s.w.createMigration(m) {
			s.logf("user creates PodMigration %s: %s", m.Name, lazy(func() string { return fmt.Sprintf("%+v", m.Spec) }))
		}
	}},
	{"user deletes a PodMigration", 1, func(s *sim) {
		if name, ok := pick(s, "migration", s.w.migrationNames()); ok {
			s.w.deleteMigration(name)
			s.logf("PodMigration %s deleted", name)
		}
	}},
	{"manager restarts", 1, func(s *sim) {
		s.mgr = newManager(s.w)
		s.stats.restarts++
		s.logf("manager restarts: a fresh observer, no expectations, caches listed anew")
	}},
	{"Lease informer lags", 1, func(s *sim) {
		s.w.leaseLag = rapid.IntRange(1, 30).Draw(s.t, "leaseLag")
		s.logf("the Lease informer delivers nothing for %d s", s.w.leaseLag)
	}},
	{"Pod and PodMigration informers lag", 1, func(s *sim) {
		// Less than expectations.Timeout: past it the controller plans from a Pod list older than its own writes by
		// design (the write is taken as lost), and e.g. deletes as a duplicate the replacement that took over from a
		// Pod it retired itself.
		lag := rapid.IntRange(1, int(expectations.Timeout/time.Second)-5).Draw(s.t, "cacheLag")
		if s.w.cacheLag > 0 {
			// One lag at a time: lags in a row would add up past the timeout.
			s.logf("the Pod and PodMigration informers lag already (%d s more)", s.w.cacheLag)
			return
		}
		s.w.cacheLag = lag
		s.logf("the Pod and PodMigration informers deliver nothing for %d s", s.w.cacheLag)
	}},
	{"live reads fail", 1, func(s *sim) {
		s.w.liveReadsFail = true
		s.logf("reads past the cache fail until the next second")
	}},
	{"a container exits for good", 1, func(s *sim) {
		var candidates []string
		for _, name := range s.w.podNames() {
			pod := s.w.pods[name]
			if n := s.w.node(pod.Spec.NodeName); n != nil && n.alive() && s.w.info[pod.UID].running {
				candidates = append(candidates, name)
			}
		}
		if name, ok := pick(s, "pod", candidates); ok {
			pod := s.w.pods[name]
			s.w.info[pod.UID].running = false
			pod.Status.Phase = corev1.PodFailed
			setPodCondition(pod, corev1.PodReady, corev1.ConditionFalse, "PodFailed", s.w.now)
			s.w.updatePod(pod)
			s.logf("%s fails", name)
		}
	}},
	{"user scales the group", 1, func(s *sim) {
		replicas := rapid.IntRange(1, 3).Draw(s.t, "replicas")
		s.w.group.Spec.Replicas = ptr.To(int32(replicas))
		s.logf("replicas: %d", replicas)
	}},
}

var weighted = func() []string {
	var out []string
	for _, e := range events {
		for range e.weight {
			out = append(out, e.name)
		}
	}
	return out
}()

func run(s *sim, name string) {
	for _, e := range events {
		if e.name == name {
			e.run(s)
			return
		}
	}
	panic("no event " + name)
}

// The invariants.

// checkState runs after every step.
//
// Invariant 1: under fencing Required, never two really running Pods of one identity where one of them runs on a
// node that is silent and not fenced, unless the other began as a designed handover. A make-before-break
// migration runs the replacement beside the member's Pod on purpose until the replacement is Ready (both on
// healthy, reachable nodes); if the source's node goes silent during that overlap, nothing can stop its
// container, and the overlap is still that handover. What must never happen is a second copy the controller
// made, or let start, knowing the first one's node unhealthy and unfenced: a force-deleted Pod whose container
// still runs there, or a Pod created while the controller's own evidence judged that node unhealthy.
func (s *sim) checkState() {
	if !s.fencingRequired() {
		return
	}
	w := s.w
	byOrdinal := map[int][]*podInfo{}
	for _, uid := range slices.Sorted(maps.Keys(w.info)) {
		if info := w.info[uid]; info.running {
			byOrdinal[info.ordinal] = append(byOrdinal[info.ordinal], info)
		}
	}
	for _, ordinal := range slices.Sorted(maps.Keys(byOrdinal)) {
		running := byOrdinal[ordinal]
		if len(running) > 1 && desired.HasUnshareableClaims(w.group) {
			s.fatalf("6: member %d, whose ReadWriteOnce claim one node may mount, runs twice: %s on %s and %s on %s", ordinal,
				running[0].name, running[0].node, running[1].name, running[1].node)
		}
		for _, a := range running {
			n := w.node(a.node)
			if !n.silent() {
				continue
			}
			for _, b := range running {
				if b == a {
					continue
				}
				s.stats.overlapsOnSilentNode++
				if pod := w.pods[a.name]; pod == nil || pod.UID != a.uid {
					s.fatalf("1: member %d runs twice: %s (its Pod object deleted) still runs on silent, unfenced %s, and %s runs on %s",
						ordinal, a.name, n.name, b.name, b.node)
				}
				if b.knownUnhealthy[n.name] && !b.createdAt.Before(n.silentSince) {
					if pod := w.pods[a.name]; pod.DeletionTimestamp != nil && b.createdBy != "" {
						s.knownBug(bugTerminatingSource, "replacement %s of member %d created "+
							"while %s, retired but not finished, still runs on silent, unfenced %s: only the live source's node is "+
							"checked", b.name, ordinal, a.name, n.name)
					}
					s.fatalf("1: member %d runs twice: %s runs on silent, unfenced %s, and %s, created during that silence while "+
						"the controller judged %s unhealthy, runs on %s", ordinal, a.name, n.name, b.name, n.name, b.node)
				}
				s.stats.partitionedHandover++
			}
		}
	}
}

// checkRemoval checks invariant 2 after a Pod was deleted or evicted: during a drain with room (a node that
// runs, accepts Pods and has room), a Ready member on the draining node is never removed before another Pod of
// the member is Ready. The member is the Pod that holds the identity (plan.Members over the world's Pods, the
// replacements of migrations in flight set aside): removing a cancelled migration's replacement removes no member.
//
// A controller's removal decided from a cache that shows the other Pod Ready, when that Pod has lost its
// readiness since by an event of its own (its container exited, its node was lost), is no decision error: no
// controller sees that instant. Nor is an eviction the budget allowed only because it counted Ready Pods that are
// no member's (see extraHealthy): that is a known bug.
func (s *sim) checkRemoval(before *corev1.Pod, who string, byController bool) {
	w := s.w
	n := w.node(before.Spec.NodeName)
	ordinal, ok := desired.OrdinalOf(before.Labels)
	if !ok || !ready(before) || n == nil || !n.alive() || !n.cordoned || ordinal >= desired.Replicas(w.group) || !w.room(n.name) {
		return
	}
	if holder := w.members(before)[ordinal]; holder == nil || holder.UID != before.UID {
		return // not the member's Pod: a replacement in flight, or one left over by a cancelled migration
	}
	if byController && desired.HasUnshareableClaims(w.group) {
		return // a stop-then-start move stops the member by design: its volume cannot be on two nodes
	}
	for _, name := range w.podNames() {
		pod := w.pods[name]
		if o, _ := desired.OrdinalOf(pod.Labels); o != ordinal || pod.UID == before.UID {
			continue
		}
		if ready(pod) {
			return
		}
		if cached := s.mgr.pods[name]; byController && live(pod) && cached != nil && cached.UID == pod.UID && ready(cached) {
			s.stats.staleReady++
			s.logf("  (%s was Ready in the cache and lost its readiness since: not a decision error)", name)
			return
		}
	}
	if !byController && w.pdbReplicas != desired.Replicas(w.group) {
		s.stats.staleBudget++
		s.logf("  (the budget was written for %d replicas, the spec says %d since: the next pass rewrites it)", w.pdbReplicas,
			desired.Replicas(w.group))
		return
	}
	if !byController && s.extraHealthy(before) {
		s.knownBug(bugBudgetCountsPods, "%s "+
			"removed %s, the only Ready Pod of member %d, because the budget counted Ready Pods that are no member's", who,
			before.Name, ordinal)
	}
	s.fatalf("2: %s removed %s, Ready on draining node %s, while no other Pod of member %d was Ready and the cluster had room",
		who, before.Name, n.name, ordinal)
}

// checkDelete checks invariant 3 before the controller deletes a Pod: a migration removes only its own
// replacement, and retires only its own member's Pod, never another migration's replacement in flight; the plan
// never deletes a replacement of a migration still in flight.
func (s *sim) checkDelete(d plan.Deletion, by *peapodv1alpha1.PodMigration, step migration.Step) {
	w := s.w
	pod := w.pods[d.Pod.Name]
	if pod == nil || pod.UID != d.Pod.UID {
		return // a no-op: the precondition fails
	}
	info := w.info[pod.UID]
	owner := w.migrationByUID(info.createdBy)
	inFlight := owner != nil && owner.Active()
	switch {
	case by == nil:
		if inFlight {
			s.fatalf("3: the plan deletes %s (%s), the replacement of PodMigration %s, which is %s", pod.Name, d.Reason,
				owner.Name, owner.Status.Phase)
		}
	case step.Action == migration.RemoveReplacement:
		if info.createdBy != by.UID {
			s.fatalf("3: PodMigration %s removes %s as its replacement, but %s is not its own", by.Name, pod.Name, pod.Name)
		}
	case step.Action == migration.RetireSource:
		member := step.Status.Member
		if member == nil || int(*member) != info.ordinal {
			s.fatalf("3: PodMigration %s (member %v) retires %s of member %d", by.Name, ptr.Deref(member, -1), pod.Name, info.ordinal)
		}
		if info.createdBy == by.UID {
			s.fatalf("3: PodMigration %s retires its own replacement %s", by.Name, pod.Name)
		}
		if inFlight {
			s.fatalf("3: PodMigration %s retires %s, the replacement of PodMigration %s in flight", by.Name, pod.Name, owner.Name)
		}
	}
}

// checkCreate checks invariant 4 before the controller creates a Pod: no Pod of one identity is created while
// another Pod holds it. A member Pod <group>-<ordinal> is created only once no Pod of the member exists at all (a
// terminating one still holds the identity); a migration's replacement only beside the member's one live Pod,
// its source (the designed make-before-break overlap).
func (s *sim) checkCreate(pod *corev1.Pod, by *peapodv1alpha1.PodMigration, source *corev1.Pod) {
	w := s.w
	ordinal, _ := desired.OrdinalOf(pod.Labels)
	if _, exists := w.pods[pod.Name]; exists {
		return // AlreadyExists: nothing is created
	}
	for _, name := range w.podNames() {
		other := w.pods[name]
		if o, _ := desired.OrdinalOf(other.Labels); o != ordinal {
			continue
		}
		switch {
		case by == nil:
			s.fatalf("4: member Pod %s created while %s (terminating: %v) holds member %d", pod.Name, name,
				other.DeletionTimestamp != nil, ordinal)
		case source == nil:
			s.fatalf("4: PodMigration %s starts %s stop-then-start while %s (terminating: %v) holds member %d", by.Name,
				pod.Name, name, other.DeletionTimestamp != nil, ordinal)
		case live(other) && other.UID != source.UID:
			if s.orphanReplacement(other) {
				s.knownBug(bugOrphanReplacement, "PodMigration %s creates replacement %s while %s, "+
					"the replacement of a migration that ended or was deleted, is still a live Pod of member %d", by.Name, pod.Name,
					name, ordinal)
			}
			s.fatalf("4: PodMigration %s creates replacement %s while %s, not its source %s, is a live Pod of member %d",
				by.Name, pod.Name, name, source.Name, ordinal)
		}
	}
}

// orphanReplacement recognises the known bug behind a third Pod of one member: a migration cancelled (deleted)
// or ended with its replacement still there leaves that Pod to the plan, which deletes it as a duplicate, but the
// plan runs after the migrations; a new migration of the same member started in between (migration.Next, start)
// creates its replacement beside the member's Pod and the leftover one.
func (s *sim) orphanReplacement(pod *corev1.Pod) bool {
	info := s.w.info[pod.UID]
	if info.createdBy == "" {
		return false
	}
	for _, m := range s.mgr.migrations {
		if m.UID == info.createdBy && m.Active() {
			return false
		}
	}
	return true
}

// extraHealthy recognises the known bug behind an eviction of a member's only Ready Pod: the budget's
// minAvailable counts members (replicas plus the migrations running), but the disruption controller counts every
// Ready Pod of the group, and some are no member's: those of ordinals beyond the replicas the budget was written
// for, not yet deleted by the scale-down (a pass that moved a migration writes the smaller budget and leaves the
// plan to the next), and the leftover replacement of a migration that was cancelled. Each lets one more eviction
// through.
func (s *sim) extraHealthy(evicted *corev1.Pod) bool {
	w := s.w
	members := w.members(evicted)
	extra := 0
	for _, pod := range append(slices.Collect(maps.Values(w.pods)), evicted) {
		if pod.UID == evicted.UID && pod != evicted {
			continue
		}
		ordinal, _ := desired.OrdinalOf(pod.Labels)
		if !ready(pod) || (ordinal < w.pdbReplicas && members[ordinal].UID == pod.UID) {
			continue
		}
		if owner := w.migrationByUID(w.info[pod.UID].createdBy); owner != nil && owner.Active() {
			continue
		}
		extra++
	}
	return extra > 0
}

// The known bugs the invariants find, which their owners must fix: a sequence that reaches one is reported as
// skipped (t.Skip, with the bug and the Pods named) instead of failed, so the model keeps checking everything else.
// Remove the recognition (orphanReplacement, the terminating-source check, extraHealthy, the avoid lists in
// settle) when its bug is fixed. (Bug 1, a migration's status write that did not land leaving its replacement set aside
// while the plan created a second Pod of the member, was fixed in controllers/migrations.go runMigrations.)
const (
	bugOrphanReplacement = "2 a migration starts beside a cancelled migration's replacement (internal/migration Next, start)"
	bugTerminatingSource = "3 a migration ignores the member's retired Pod on a silent node (internal/migration start, awaitNode)"
	bugBudgetCountsPods  = "4 the disruption budget counts Ready Pods that are no member's (desired.DisruptionBudget, controllers)"
	bugStaleAvoidance    = "5 with no node failed, a Pending member's stale avoid list is never dropped (controllers/nodes.go failedNodes)"
	// bugStaleReplacementAvoidance: the plan's stale-avoidance check sees members only (replacements are set
	// aside), and a migration waiting for room never recreates its replacement.
	bugStaleReplacementAvoidance = "6 a Pending replacement's stale avoid list is never dropped (internal/migration follow)"
)

// fixedBugs are the known bugs fixed since (bug 2, 3, 4 and 5: start waits for the member's other Pods, the budget
// counts live Pods, the avoid list is always known; 6: a migration restarts a replacement kept off a healthy node,
// and a drain ends when its node is schedulable again): a sequence that meets one again fails.
const fixedBugs = "2,3,4,5,6"

var failKnown = flag.String("model.failknown", fixedBugs,
	"fail at these known bugs (their numbers, comma-separated, or all) instead of skipping the sequence: rapid then "+
		"shrinks each to a minimal sequence")

func (s *sim) knownBug(bug, format string, args ...any) {
	s.stats.knownBugs[bug]++
	if number, _, _ := strings.Cut(bug, " "); *failKnown == "all" || slices.Contains(strings.Split(*failKnown, ","), number) {
		s.fatalf("known bug "+bug+": "+format, args...)
	}
	s.t.Skipf("known bug %s: "+format, append([]any{bug}, args...)...)
}

// settleSeconds is how long the healed cluster is given to settle, a reconcile a second: it covers the observer's
// windows and the expectations' timeout.
const settleSeconds = 60

// settle checks invariant 5, liveness: once every node that is not deleted runs again, uncordoned, the caches
// current and the users' migrations gone, the group settles within settleSeconds of reconciles to one Ready Pod
// per member and nothing else, whenever the cluster has room for the members.
func (s *sim) settle() {
	w := s.w
	for _, n := range w.nodes {
		if !n.deleted {
			n.kubelet, n.off, n.cordoned = true, false, false
			n.renewed = w.now
		}
	}
	for _, name := range w.migrationNames() {
		if migration.ReasonOf(w.migrations[name]) != peapodv1alpha1.MigrationDrain {
			w.deleteMigration(name)
		}
	}
	w.leaseLag, w.cacheLag, w.liveReadsFail = 0, 0, false
	s.logf("settle: every node runs again, uncordoned; the users' migrations deleted")
	for range settleSeconds {
		s.second()
		s.reconcile()
	}
	room := 0
	for _, n := range w.nodes {
		if !n.deleted {
			room += n.capacity
		}
	}
	replicas := desired.Replicas(w.group)
	if room < replicas {
		return
	}
	var problems []string
	byOrdinal := map[int][]string{}
	for _, name := range w.podNames() {
		pod := w.pods[name]
		ordinal, _ := desired.OrdinalOf(pod.Labels)
		byOrdinal[ordinal] = append(byOrdinal[ordinal], name)
		if ordinal >= replicas || !ready(pod) {
			problems = append(problems, name+" is not a Ready member")
		}
	}
	for ordinal := range replicas {
		if len(byOrdinal[ordinal]) != 1 {
			problems = append(problems, fmt.Sprintf("member %d has Pods %v", ordinal, byOrdinal[ordinal]))
		}
	}
	for _, name := range w.migrationNames() {
		if m := w.migrations[name]; m.Active() {
			problems = append(problems, "PodMigration "+name+" is still "+string(m.Status.Phase))
		}
	}
	for _, name := range w.podNames() {
		pod := w.pods[name]
		switch {
		case !plan.NeedsAvoiding(pod):
		case pod.Labels[peapodv1alpha1.MigrationLabel] == "":
			s.knownBug(bugStaleAvoidance, "%s waits, unschedulable, avoiding %v, all healthy again: no node has failed, so "+
				"the nodes to avoid are not known to the plan", name, desired.AvoidedNodes(pod))
		default:
			s.knownBug(bugStaleReplacementAvoidance, "replacement %s waits, unschedulable, avoiding %v, healthy again but "+
				"for its source's node", name, desired.AvoidedNodes(pod))
		}
	}
	if len(problems) > 0 {
		s.fatalf("5: %d s after the cluster healed, with room for %d members on %d Pod slots: %s", settleSeconds, replicas, room,
			strings.Join(problems, "; "))
	}
}

var totals = &stats{deletes: map[plan.DeleteReason]int{}, knownBugs: map[string]int{}}

// TestModel runs random sequences of cluster events, user actions, manager restarts, cache lags and reconciles
// against the real pure functions, composed as the controller composes them, and checks the invariants after
// every step.
func TestModel(t *testing.T) {
	start := time.Now()
	rapid.Check(t, func(t *rapid.T) {
		s := newSim(t)
		defer totals.add(s.stats)
		steps := rapid.IntRange(1, maxSteps).Draw(t, "steps")
		for range steps {
			name := rapid.SampledFrom(weighted).Draw(t, "event")
			run(s, name)
			s.stats.steps++
			s.logf("  %s", lazy(s.w.describe))
			s.checkState()
		}
		s.settle()
	})
	t.Logf("%d sequences, %d steps (%.0f a sequence), %d simulated seconds, in %s", totals.sequences, totals.steps,
		float64(totals.steps)/float64(max(totals.sequences, 1)), totals.seconds, time.Since(start).Round(time.Millisecond))
	t.Logf("created: %d members, %d replacements, %d drain migrations; migrations: %d succeeded, %d failed, %d status conflicts",
		totals.membersCreated, totals.replacementsCreated, totals.drainsStarted, totals.migrationsSucceeded,
		totals.migrationsFailed, totals.statusConflicts)
	t.Logf("deletes: %v", totals.deletes)
	t.Logf("held back: %d awaiting fencing, %d awaiting taint eviction, %d capped, %d paused verdicts, %d unconfirmed failures, "+
		"%d reconciles waiting for expectations; %d restarts; evictions %d allowed, %d refused",
		totals.awaitingFencing, totals.awaitingEviction, totals.capped, totals.paused, totals.unconfirmed, totals.expectationWaits,
		totals.restarts, totals.evictionsAllowed, totals.evictionsRefused)
	t.Logf("fencing Required: %d sequences; %d checks of a copy running beside one on a silent node (%d a handover cut by the partition)",
		totals.requiredSequences, totals.overlapsOnSilentNode, totals.partitionedHandover)
	t.Logf("ReadWriteOnce claims: %d sequences", totals.claimSequences)
	t.Logf("exempt: %d removals decided on a Pod Ready in the cache that failed since, %d evictions under a budget older than the spec",
		totals.staleReady, totals.staleBudget)
	for _, bug := range slices.Sorted(maps.Keys(totals.knownBugs)) {
		t.Logf("sequences stopped at known bug %s: %d", bug, totals.knownBugs[bug])
	}
}
