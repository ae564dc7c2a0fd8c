package nodehealth

import (
	"time"

	corev1 "k8s.io/api/core/v1"
)

// ReasonNodeUnknown is the verdict on a node that neither the cache nor a live read knows and the manager never
// saw: not a failed node (a template's nodeName, or a node deleted while no manager ran, which PodGC cleans up).
const ReasonNodeUnknown = "NodeUnknown"

// Nodes is what judging a group's nodes reads of the cluster.
type Nodes interface {
	// Node is the named Node; nil only when a live read said it does not exist (a Node missing from a cache is
	// read past it first).
	Node(name string) (*corev1.Node, error)
	// All are every Node, for the disruption assessment: read only when some verdict rests on silence.
	All() ([]*corev1.Node, error)
}

// JudgeGroup judges every node the group's Pods are bound to, from the Nodes and the observer's evidence, under
// the group's policy. A node no read knows and the manager never saw is unhealthy but never failed
// (NodeUnknown). Verdicts that would replace members on silence are held back while too much of the cluster looks
// unhealthy at once (Assess with the threshold).
func JudgeGroup(pods []*corev1.Pod, nodes Nodes, o *Observer, after time.Duration, fencingRequired bool, threshold float64,
	now time.Time) (map[string]Verdict, error) {
	verdicts := map[string]Verdict{}
	zones := map[string]string{}
	inferred := false
	window := o.Window()
	for _, pod := range pods {
		name := pod.Spec.NodeName
		if name == "" {
			continue
		}
		if _, done := verdicts[name]; done {
			continue
		}
		node, err := nodes.Node(name)
		if err != nil {
			return nil, err
		}
		if node == nil && !o.Known(name) {
			verdicts[name] = Verdict{Unhealthy: true, Reason: ReasonNodeUnknown}
			continue
		}
		ev := o.Evidence(name)
		v := Judge(node, ev, after, fencingRequired, now)
		if !v.Unhealthy && ev.Blind && ev.Quiet(now) {
			// Not judged, but not heard from either: held, and the group is told why.
			v = Verdict{Unhealthy: true, Reason: ReasonLeaseExpired, Since: ev.HeardAt}
		}
		inferred = inferred || (v.Unhealthy && !v.Declared())
		if node != nil {
			zones[name] = node.Labels[ZoneLabel]
		}
		v.Window = window
		verdicts[name] = v
	}
	if !inferred {
		return verdicts, nil
	}
	all, err := nodes.All()
	if err != nil {
		return nil, err
	}
	d := AssessNodes(all, o, threshold, now)
	restarted := !o.Window().Equal(window)
	for name, v := range verdicts {
		if !v.Unhealthy || v.Declared() {
			continue
		}
		if paused, why := d.Paused(zones[name]); paused {
			v.Replace, v.AwaitFencing, v.Paused = false, false, why
			verdicts[name] = v
		} else if restarted {
			// This assessment, or another one meanwhile, ended a pause: the silence judged here is the pause's.
			v.Replace, v.AwaitFencing, v.Paused = false, false, PausedPrefix+": every node's window began again "+
				"(a cluster-wide pause ended, or the manager's view came back): a node's silence counts from now"
			v.RequeueAfter = time.Second
			verdicts[name] = v
		}
	}
	return verdicts, nil
}

// AssessNodes assesses the disruption of the whole cluster from its Nodes and the observer's evidence: a node
// counts unhealthy on any failure signal, without waiting for `after`, and so does one the manager has not heard
// from while blind. A blind observer stalls every failover. The observer follows the result: an assessment that
// finds a cluster-wide pause over begins a new window for every node (FollowDisruption).
func AssessNodes(nodes []*corev1.Node, o *Observer, threshold float64, now time.Time) Disruption {
	states := make([]NodeState, 0, len(nodes))
	for _, n := range nodes {
		ev := o.Evidence(n.Name)
		unhealthy := Judge(n, ev, 0, false, now).Unhealthy || (ev.Blind && ev.Quiet(now))
		states = append(states, NodeState{Name: n.Name, Zone: n.Labels[ZoneLabel], Unhealthy: unhealthy})
	}
	d := Assess(states, threshold)
	d.Stalled = o.IsBlind()
	o.FollowDisruption(d.Cluster || d.Stalled, now)
	return d
}

// FailedNodes are the nodes new Pods keep off: those of the group's Pods judged unhealthy, and every node the
// manager observes silent (a replacement would otherwise land on the very node it leaves, which looks empty to
// the scheduler). A list that would leave a Pod no node at all is no list (Avoid).
func FailedNodes(nodes []*corev1.Node, verdicts map[string]Verdict, o *Observer, now time.Time) []string {
	names := make([]string, 0, len(nodes))
	for _, n := range nodes {
		names = append(names, n.Name)
	}
	return Avoid(names, func(name string) bool {
		v, judged := verdicts[name]
		return (judged && v.Unhealthy) || o.Evidence(name).Silent(now)
	})
}
