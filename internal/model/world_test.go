package model

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"pgregory.net/rapid"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/desired"
	"github.com/peapod-io/peapod/internal/migration"
	"github.com/peapod-io/peapod/internal/nodehealth"
	"github.com/peapod-io/peapod/internal/plan"
)

// The world is the cluster as it really is: the API server's objects, and what runs on the machines.

const (
	namespace = "default"
	groupName = "web"
	groupKey  = namespace + "/" + groupName

	// Kubernetes' default node timings: the kubelet renews its 40 s Lease every 10 s, and the node lifecycle
	// controller marks a node whose Lease is older than 40 s Unknown (and its Pods not Ready).
	leaseSeconds     = 40
	renewInterval    = 10 * time.Second
	nodeMonitorGrace = 40 * time.Second
	// podGCQuarantine is how long PodGC waits before it force-deletes the Pods of a deleted Node.
	podGCQuarantine = 40 * time.Second
)

var epoch = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// node is one machine and its Node object.
type node struct {
	name, zone string
	capacity   int
	// kubelet says its kubelet runs and reaches the API server: it renews the Lease, starts and stops containers,
	// reports. A node whose kubelet does not is silent: dead or cut off, its containers may still run.
	kubelet bool
	// off says the node is known dead: fenced (powered off and tainted out-of-service) or its Node object deleted.
	// Nothing runs on it.
	off      bool
	deleted  bool
	cordoned bool
	// ready is the Node's Ready condition as the API shows it (True, or Unknown once the node lifecycle
	// controller noticed the silence).
	ready bool
	// renewed is when the kubelet last renewed the Lease, on the world's clock; the Lease says renewed+skew.
	renewed     time.Time
	skew        time.Duration
	silentSince time.Time
	offAt       time.Time
	// evictDelay is how long after the taint Kubernetes' taint eviction deletes the node's Pods.
	evictDelay time.Duration

	// obj is the Node object last built, for objKey.
	obj    *corev1.Node
	objKey nodeKey
}

// nodeKey is what the Node object shows of a node.
type nodeKey struct {
	cordoned, fenced, ready bool
	offAt                   time.Time
}

func (n *node) alive() bool  { return n.kubelet && !n.off }
func (n *node) silent() bool { return !n.kubelet && !n.off }
func (n *node) fenced() bool { return n.off && !n.deleted }

func (n *node) state() string {
	switch {
	case n.deleted:
		return "deleted"
	case n.off:
		return "fenced"
	case !n.kubelet:
		return "silent"
	case n.cordoned:
		return "cordoned"
	}
	return "alive"
}

// object is the Node as the API shows it; callers must not change it.
func (n *node) object() *corev1.Node {
	key := nodeKey{cordoned: n.cordoned, fenced: n.fenced(), ready: n.ready, offAt: n.offAt}
	if n.obj != nil && n.objKey == key {
		return n.obj
	}
	obj := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: n.name, Labels: map[string]string{nodehealth.ZoneLabel: n.zone}},
		Spec:       corev1.NodeSpec{Unschedulable: n.cordoned},
	}
	if n.fenced() {
		obj.Spec.Taints = []corev1.Taint{{Key: nodehealth.OutOfServiceTaint, Value: "nodeshutdown",
			Effect: corev1.TaintEffectNoExecute, TimeAdded: ptr.To(metav1.NewTime(n.offAt))}}
	}
	ready := corev1.ConditionUnknown
	if n.ready {
		ready = corev1.ConditionTrue
	}
	obj.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: ready}}
	n.obj, n.objKey = obj, key
	return obj
}

// lease is the node's Lease in kube-node-lease, timed by the kubelet's own clock.
func (n *node) lease() *coordinationv1.Lease {
	return &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: n.name, Namespace: corev1.NamespaceNodeLease},
		Spec: coordinationv1.LeaseSpec{
			HolderIdentity:       ptr.To(n.name),
			LeaseDurationSeconds: ptr.To(int32(leaseSeconds)),
			RenewTime:            ptr.To(metav1.NewMicroTime(n.renewed.Add(n.skew))),
		},
	}
}

// podInfo is what the test knows of a Pod beyond its object: whether its container really runs, and who made it.
type podInfo struct {
	name      string
	uid       types.UID
	ordinal   int
	createdAt time.Time
	// createdBy is the UID of the migration that created the Pod as its replacement; empty for a member Pod.
	createdBy types.UID
	// knownUnhealthy are the nodes the controller itself judged unhealthy when it created the Pod.
	knownUnhealthy map[string]bool
	readyDelay     time.Duration
	// node is where the container runs or ran; running says it runs now.
	node      string
	running   bool
	startedAt time.Time
}

// podEvent is one change of a Pod as the API server's watch sends it.
type podEvent struct {
	pod     *corev1.Pod
	deleted bool
}

type migrationEvent struct {
	migration *peapodv1alpha1.PodMigration
	deleted   bool
}

type world struct {
	t       *rapid.T
	now     time.Time
	counter int

	group      *peapodv1alpha1.PodGroup
	nodes      []*node
	pods       map[string]*corev1.Pod
	names      []string // pods' names, sorted; nil when they changed
	info       map[types.UID]*podInfo
	migrations map[string]*peapodv1alpha1.PodMigration
	// podLog and migrationLog are every change, in order, for the informers to deliver.
	podLog       []podEvent
	migrationLog []migrationEvent
	// pdbMinAvailable is the group's PodDisruptionBudget as last written (-1 before the first write), for
	// pdbReplicas replicas.
	pdbMinAvailable, pdbReplicas int
	// leaseLag and cacheLag are the seconds for which the Lease informer and the Pod and PodMigration informers
	// deliver nothing.
	leaseLag, cacheLag int
	// liveReadsFail makes every read past the cache fail until the next second.
	liveReadsFail bool
}

func (w *world) nextUID() types.UID {
	w.counter++
	// A bijection of the counter onto 32 bits: the first 8 characters differ, as real UIDs' do (drain
	// migrations are named from them).
	return types.UID(fmt.Sprintf("%08x-0000-4000-8000-%012x", uint32(w.counter)*2654435761, w.counter))
}

func (w *world) nextRV() string {
	w.counter++
	return fmt.Sprint(w.counter)
}

func (w *world) node(name string) *node {
	for _, n := range w.nodes {
		if n.name == name {
			return n
		}
	}
	return nil
}

func (w *world) podNames() []string {
	if w.names == nil {
		w.names = slices.Sorted(maps.Keys(w.pods))
	}
	return w.names
}

func (w *world) removePod(pod *corev1.Pod) {
	delete(w.pods, pod.Name)
	w.names = nil
	w.logPod(pod, true)
}

func (w *world) migrationNames() []string { return slices.Sorted(maps.Keys(w.migrations)) }

func (w *world) logPod(pod *corev1.Pod, deleted bool) {
	w.podLog = append(w.podLog, podEvent{pod: pod.DeepCopy(), deleted: deleted})
}

func (w *world) logMigration(m *peapodv1alpha1.PodMigration, deleted bool) {
	w.migrationLog = append(w.migrationLog, migrationEvent{migration: m.DeepCopy(), deleted: deleted})
}

// createPod is the API server's create: AlreadyExists (false) when a Pod of that name exists.
func (w *world) createPod(pod *corev1.Pod, createdBy types.UID, knownUnhealthy map[string]bool) bool {
	if _, exists := w.pods[pod.Name]; exists {
		return false
	}
	pod = pod.DeepCopy()
	// What no decision reads stays out, so the informers' copies stay cheap: the containers' env and mounts, the
	// volumes.
	pod.Spec.Volumes = nil
	for i := range pod.Spec.Containers {
		pod.Spec.Containers[i] = corev1.Container{Name: pod.Spec.Containers[i].Name, Image: pod.Spec.Containers[i].Image}
	}
	pod.UID = w.nextUID()
	pod.ResourceVersion = w.nextRV()
	pod.CreationTimestamp = metav1.NewTime(w.now)
	pod.Status = corev1.PodStatus{Phase: corev1.PodPending}
	ordinal, _ := desired.OrdinalOf(pod.Labels)
	w.pods[pod.Name] = pod
	w.names = nil
	w.info[pod.UID] = &podInfo{name: pod.Name, uid: pod.UID, ordinal: ordinal, createdAt: w.now, createdBy: createdBy,
		knownUnhealthy: knownUnhealthy, readyDelay: time.Duration(rapid.IntRange(0, 4).Draw(w.t, "readyDelay")) * time.Second}
	w.logPod(pod, false)
	return true
}

// deletePod is the API server's delete with a UID precondition: false when there is no such Pod. A graceful
// delete marks a bound Pod terminating (its kubelet finishes it); a force delete, or any delete of a Pod not bound
// to a node, removes the object at once, whatever its container still does.
// deletePod deletes with preconditions: the UID, and the resourceVersion unless it is empty.
func (w *world) deletePod(name string, uid types.UID, resourceVersion string, force bool) bool {
	pod := w.pods[name]
	if pod == nil || pod.UID != uid || (resourceVersion != "" && pod.ResourceVersion != resourceVersion) {
		return false
	}
	if force || pod.Spec.NodeName == "" {
		// A Pod no kubelet runs goes at once, graceful or not.
		w.removePod(pod)
		return true
	}
	if pod.DeletionTimestamp == nil {
		// A delete of a Pod already terminating changes nothing: no watch event.
		pod.DeletionTimestamp = ptr.To(metav1.NewTime(w.now))
		pod.ResourceVersion = w.nextRV()
		w.logPod(pod, false)
	}
	return true
}

func (w *world) updatePod(pod *corev1.Pod) {
	pod.ResourceVersion = w.nextRV()
	w.logPod(pod, false)
}

func setPodCondition(pod *corev1.Pod, typ corev1.PodConditionType, status corev1.ConditionStatus, reason string, now time.Time) bool {
	for i := range pod.Status.Conditions {
		c := &pod.Status.Conditions[i]
		if c.Type == typ {
			if c.Status == status && c.Reason == reason {
				return false
			}
			c.Status, c.Reason, c.LastTransitionTime = status, reason, metav1.NewTime(now)
			return true
		}
	}
	pod.Status.Conditions = append(pod.Status.Conditions, corev1.PodCondition{Type: typ, Status: status, Reason: reason,
		LastTransitionTime: metav1.NewTime(now)})
	return true
}

// ready says the API shows the Pod Ready and not terminating.
func ready(pod *corev1.Pod) bool { return pod != nil && plan.Ready(pod) }

// live says the object exists and is not terminating.
func live(pod *corev1.Pod) bool { return pod != nil && pod.DeletionTimestamp == nil }

// bound counts the Pods the scheduler sees on a node: bound and not finished.
func (w *world) bound(n *node) int {
	count := 0
	for _, pod := range w.pods {
		if pod.Spec.NodeName == n.name && !plan.Finished(pod) {
			count++
		}
	}
	return count
}

// schedulable says the scheduler may bind Pods to the node: it is there, Ready, not cordoned, not tainted and
// has room. It does not know a node is silent until the node lifecycle controller says so.
func (w *world) schedulable(n *node) bool {
	return !n.deleted && !n.off && n.ready && !n.cordoned && w.bound(n) < n.capacity
}

// room says a drain has somewhere to go: a node other than except that runs, accepts Pods and has room.
func (w *world) room(except string) bool {
	for _, n := range w.nodes {
		if n.name != except && n.alive() && w.schedulable(n) {
			return true
		}
	}
	return false
}

// fits evaluates the Pod's required node affinity (peapod only writes metadata.name In and NotIn fields).
func fits(pod *corev1.Pod, name string) bool {
	a := pod.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return true
	}
	for _, term := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		ok := true
		for _, req := range term.MatchFields {
			in := slices.Contains(req.Values, name)
			if (req.Operator == corev1.NodeSelectorOpIn && !in) || (req.Operator == corev1.NodeSelectorOpNotIn && in) {
				ok = false
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// second runs the cluster's own actors for one second: kubelets, the node lifecycle controller, the scheduler,
// taint eviction and PodGC.
func (w *world) second() {
	w.now = w.now.Add(time.Second)
	w.liveReadsFail = false
	for _, n := range w.nodes {
		switch {
		case n.deleted:
		case n.kubelet:
			if w.now.Sub(n.renewed) >= renewInterval {
				n.renewed = w.now
			}
			n.ready = true
		case n.ready && w.now.Sub(n.renewed) > nodeMonitorGrace:
			// The node lifecycle controller: Unknown, and its Pods not Ready.
			n.ready = false
			for _, name := range w.podNames() {
				if pod := w.pods[name]; pod.Spec.NodeName == n.name &&
					setPodCondition(pod, corev1.PodReady, corev1.ConditionFalse, "NodeLost", w.now) {
					w.updatePod(pod)
				}
			}
		}
	}
	w.kubelets()
	w.schedule()
	w.evictTainted()
	w.collectGarbage()
}

// kubelets run on the nodes that are alive: they finish terminating Pods, kill containers whose Pod is gone,
// start the Pods bound to them and report them Ready.
func (w *world) kubelets() {
	for _, uid := range slices.Sorted(maps.Keys(w.info)) {
		info := w.info[uid]
		n := w.node(info.node)
		if !info.running || n == nil || !n.alive() {
			continue
		}
		if pod := w.pods[info.name]; pod == nil || pod.UID != uid {
			info.running = false // force-deleted: the kubelet kills the orphan
		}
	}
	for _, name := range w.podNames() {
		pod := w.pods[name]
		n := w.node(pod.Spec.NodeName)
		if n == nil || !n.alive() {
			continue
		}
		info := w.info[pod.UID]
		switch {
		case pod.DeletionTimestamp != nil:
			info.running = false
			w.removePod(pod)
		case plan.Finished(pod):
		case !info.running:
			info.running, info.node, info.startedAt = true, n.name, w.now
			pod.Status.Phase = corev1.PodRunning
			setPodCondition(pod, corev1.PodReady, corev1.ConditionFalse, "ContainersNotReady", w.now)
			w.updatePod(pod)
		case !ready(pod) && !w.now.Before(info.startedAt.Add(info.readyDelay)):
			setPodCondition(pod, corev1.PodReady, corev1.ConditionTrue, "", w.now)
			w.updatePod(pod)
		}
	}
}

// schedule binds every Pod waiting for a node to one the scheduler picks among those it fits.
func (w *world) schedule() {
	for _, name := range w.podNames() {
		pod := w.pods[name]
		if pod.Spec.NodeName != "" || pod.DeletionTimestamp != nil {
			continue
		}
		var candidates []string
		for _, n := range w.nodes {
			if w.schedulable(n) && fits(pod, n.name) {
				candidates = append(candidates, n.name)
			}
		}
		if len(candidates) == 0 {
			if setPodCondition(pod, corev1.PodScheduled, corev1.ConditionFalse, corev1.PodReasonUnschedulable, w.now) {
				w.updatePod(pod)
			}
			continue
		}
		pod.Spec.NodeName = rapid.SampledFrom(candidates).Draw(w.t, "bind "+name)
		setPodCondition(pod, corev1.PodScheduled, corev1.ConditionTrue, "", w.now)
		w.updatePod(pod)
	}
}

// evictTainted is Kubernetes' taint eviction: some seconds after the out-of-service taint, it deletes the node's
// Pods (none tolerates it).
func (w *world) evictTainted() {
	for _, n := range w.nodes {
		if !n.fenced() || w.now.Before(n.offAt.Add(n.evictDelay)) {
			continue
		}
		for _, name := range w.podNames() {
			if pod := w.pods[name]; pod.Spec.NodeName == n.name && pod.DeletionTimestamp == nil {
				w.deletePod(name, pod.UID, "", false)
			}
		}
	}
}

// collectGarbage is PodGC: it force-deletes the terminating Pods of out-of-service nodes, and the Pods of deleted
// Nodes after its quarantine.
func (w *world) collectGarbage() {
	for _, name := range w.podNames() {
		pod := w.pods[name]
		n := w.node(pod.Spec.NodeName)
		if n == nil {
			continue
		}
		if (n.fenced() && pod.DeletionTimestamp != nil) || (n.deleted && w.now.Sub(n.offAt) >= podGCQuarantine) {
			w.deletePod(name, pod.UID, "", true)
		}
	}
}

// evict is `kubectl drain`'s eviction of a Pod on a cordoned node, through the group's PodDisruptionBudget
// (unhealthyPodEvictionPolicy AlwaysAllow: a Pod that is not Ready may always go).
func (w *world) evict(pod *corev1.Pod) bool {
	if ready(pod) && w.pdbMinAvailable >= 0 {
		healthy := 0
		for _, p := range w.pods {
			if ready(p) {
				healthy++
			}
		}
		if healthy-w.pdbMinAvailable <= 0 {
			return false
		}
	}
	return w.deletePod(pod.Name, pod.UID, "", false)
}

// createMigration is a user's (or the controller's) create of a PodMigration: AlreadyExists (false) when one of
// that name exists.
func (w *world) createMigration(m *peapodv1alpha1.PodMigration) bool {
	if _, exists := w.migrations[m.Name]; exists {
		return false
	}
	m = m.DeepCopy()
	m.Namespace = namespace
	m.UID = w.nextUID()
	m.ResourceVersion = w.nextRV()
	m.CreationTimestamp = metav1.NewTime(w.now)
	w.migrations[m.Name] = m
	w.logMigration(m, false)
	return true
}

func (w *world) deleteMigration(name string) {
	if m := w.migrations[name]; m != nil {
		delete(w.migrations, name)
		w.logMigration(m, true)
	}
}

// writeMigrationStatus is a status patch with an optimistic lock: it lands only over the resourceVersion read.
func (w *world) writeMigrationStatus(m *peapodv1alpha1.PodMigration, status peapodv1alpha1.PodMigrationStatus) (string, bool) {
	stored := w.migrations[m.Name]
	if stored == nil || stored.ResourceVersion != m.ResourceVersion {
		return "", false
	}
	stored.Status = *status.DeepCopy()
	stored.ResourceVersion = w.nextRV()
	w.logMigration(stored, false)
	return stored.ResourceVersion, true
}

// members are the Pods that hold the members' identities, as the API shows them with before in place of the Pod
// of its name (its state before a removal), the replacements of migrations in flight set aside.
func (w *world) members(before *corev1.Pod) map[int]*corev1.Pod {
	pods := []*corev1.Pod{before}
	for _, name := range w.podNames() {
		if name != before.Name {
			pods = append(pods, w.pods[name])
		}
	}
	names := w.migrationNames()
	migrations := make([]*peapodv1alpha1.PodMigration, 0, len(names))
	for _, name := range names {
		migrations = append(migrations, w.migrations[name])
	}
	byOrdinal, _ := plan.Members(migration.SetAside(migrations, pods))
	return byOrdinal
}

// migrationByUID finds a migration in the API by UID.
func (w *world) migrationByUID(uid types.UID) *peapodv1alpha1.PodMigration {
	for _, m := range w.migrations {
		if m.UID == uid {
			return m
		}
	}
	return nil
}

// describe is the world in one line, for the trace.
func (w *world) describe() string {
	nodes := make([]string, 0, len(w.nodes))
	for _, n := range w.nodes {
		nodes = append(nodes, fmt.Sprintf("%s:%s/%d", n.name, n.state(), w.bound(n)))
	}
	var pods []string
	for _, name := range w.podNames() {
		pod := w.pods[name]
		info := w.info[pod.UID]
		s := name + "@" + cmp.Or(pod.Spec.NodeName, "-")
		if ready(pod) {
			s += "+ready"
		}
		if pod.DeletionTimestamp != nil {
			s += "+terminating"
		}
		if plan.Finished(pod) {
			s += "+failed"
		}
		if _, unschedulable := plan.Unschedulable(pod); unschedulable && pod.Spec.NodeName == "" {
			s += "+unschedulable"
		}
		if avoided := desired.AvoidedNodes(pod); len(avoided) > 0 {
			s += fmt.Sprintf("+avoiding%v", avoided)
		}
		if info.running {
			s += "+running"
		}
		pods = append(pods, s)
	}
	for _, uid := range slices.Sorted(maps.Keys(w.info)) {
		if info := w.info[uid]; info.running {
			if pod := w.pods[info.name]; pod == nil || pod.UID != uid {
				pods = append(pods, info.name+"(object gone)@"+info.node+"+running")
			}
		}
	}
	names := w.migrationNames()
	migrations := make([]string, 0, len(names))
	for _, name := range names {
		m := w.migrations[name]
		migrations = append(migrations, fmt.Sprintf("%s:%s", name, cmp.Or(string(m.Status.Phase), "new")))
	}
	return fmt.Sprintf("t=%s nodes %v pods %v migrations %v pdb %d", w.now.Sub(epoch), nodes, pods, migrations, w.pdbMinAvailable)
}

// nodeObjects are the Nodes that exist, as the controller's cache lists them.
func (w *world) nodeObjects() []*corev1.Node {
	var out []*corev1.Node
	for _, n := range w.nodes {
		if !n.deleted {
			out = append(out, n.object())
		}
	}
	return out
}
