package nodehealth

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// nodeSet is Nodes over a fixed set.
type nodeSet map[string]*corev1.Node

func (s nodeSet) Node(name string) (*corev1.Node, error) { return s[name], nil }

func (s nodeSet) All() ([]*corev1.Node, error) {
	out := make([]*corev1.Node, 0, len(s))
	for _, name := range slices.Sorted(maps.Keys(s)) {
		out = append(out, s[name])
	}
	return out, nil
}

func podOn(node string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "on-" + node}, Spec: corev1.PodSpec{NodeName: node}}
}

// Three of four nodes silent pause failovers cluster-wide; when two come back the pause ends, and the third,
// silent as long, must get a full window from that moment: its silence during the pause is the pause's, likelier
// the network's than its own. Nodes come back over seconds, and the first judgement to see the end (here a
// group's, not the lease monitor's) is the one that must not act on the old window.
func TestJudgeGroupGivesAFullWindowWhenAPauseEnds(t *testing.T) {
	o := NewObserver(now)
	nodes := nodeSet{}
	for i, name := range []string{"a", "b", "c", "d"} {
		n := node(corev1.ConditionTrue)
		n.Name, n.Labels = name, map[string]string{ZoneLabel: roundRobin(i)}
		nodes[name] = n
		o.Lease(nodeLease(name, now), now)
	}
	renew := func(at time.Duration, names ...string) {
		for _, name := range names {
			o.Lease(nodeLease(name, now.Add(at)), now.Add(at))
		}
	}
	judge := func(at time.Duration) Verdict {
		t.Helper()
		verdicts, err := JudgeGroup([]*corev1.Pod{podOn("a"), podOn("b")}, nodes, o, 20*time.Second, false,
			DefaultUnhealthyThreshold, now.Add(at))
		if err != nil {
			t.Fatal(err)
		}
		return verdicts["a"]
	}
	// a, b and c fall silent; d renews every 10 s throughout, so the manager's view is not stalled.
	for at := 10 * time.Second; at <= 60*time.Second; at += 10 * time.Second {
		renew(at, "d")
	}
	if v := judge(60 * time.Second); v.Replace || !strings.Contains(v.Paused, "3 of 4 nodes") {
		t.Fatalf("at 60 s, 3 of 4 nodes silent: verdict on a = %+v, want paused", v)
	}

	renew(61*time.Second, "b", "c")
	if v := judge(61 * time.Second); v.Replace || !strings.Contains(v.Paused, "window began again") {
		t.Errorf("at 61 s, the pause just ended: verdict on a = %+v, want held for a full window", v)
	}
	renew(70*time.Second, "b", "c", "d")
	if v := judge(70 * time.Second); v.Unhealthy {
		t.Errorf("at 70 s, 9 s into its new window: verdict on a = %+v, want not yet unhealthy", v)
	}
	renew(80*time.Second, "b", "c", "d")
	renew(90*time.Second, "b", "c", "d")
	if v := judge(90 * time.Second); !v.Replace || v.Since != now.Add(61*time.Second) {
		t.Errorf("at 90 s, silent 29 s into its new window: verdict on a = %+v, want replaced, silent since 61 s", v)
	}
}
