package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/peapod-io/peapod/test/cluster"
	"github.com/peapod-io/peapod/test/utils"
)

// The story is about the sample, config/samples: PodGroup web in the default namespace, 3 members spread over
// nodes, a ClusterIP Service web in front of the Ready ones.
const (
	namespace = metav1.NamespaceDefault
	group     = "web"
	replicas  = 3
)

// failing is the member whose node is killed, draining the one whose node is drained.
var failing, draining = utils.Identity{Group: group, Ordinal: 1}, utils.Identity{Group: group, Ordinal: 2}

// stepTimeout bounds each step of the story: each takes seconds, so one that has not happened by then will not.
const stepTimeout = 90 * time.Second

// story tells, as it happens, what peapod does for the sample group: its members come up and join the Service;
// a node dies and its member comes back on another node under the same name; a node is drained and its member
// moves there make-before-break.
type story struct {
	c   *cluster.Cluster
	w   *world
	say func(format string, args ...any)
	// sample is the kustomization applied; kill silences a node for good.
	sample string
	kill   func(ctx context.Context, node string) error
	// calls: on real nodes, once the members are up, a caller calls them over HTTP; the story tells what it saw
	// at each step.
	calls bool
}

func (s *story) tell(ctx context.Context) error {
	if err := s.apply(ctx); err != nil {
		return err
	}
	var c *caller
	if s.calls {
		callCtx, stop := context.WithCancel(ctx)
		defer stop()
		c = startCaller(callCtx, s.w)
		s.say("a caller on the nodes' network calls the Service's Ready endpoints over HTTP, one every %s, each in turn", callEvery)
	}
	for _, step := range []func(context.Context) error{s.failover, s.drain} {
		if err := step(ctx); err != nil {
			return err
		}
		if c != nil {
			s.say("the caller, meanwhile: %s", c.take())
		}
	}
	return nil
}

// apply applies the sample and waits for every member to be Ready, one per node, and behind the Service.
func (s *story) apply(ctx context.Context) error {
	s.say("applying the sample: PodGroup %s, %d members spread over nodes, a Service in front of the Ready ones", group, replicas)
	applied := time.Now()
	if err := s.kubectl(ctx, "apply", "-k", s.sample); err != nil {
		return err
	}
	nodes := map[string]bool{}
	err := s.w.waitFor(ctx, stepTimeout, fmt.Sprintf("%d members Ready on %d nodes and in the Service's endpoints", replicas, replicas),
		func() bool {
			clear(nodes)
			for ordinal := range replicas {
				live := s.w.pods.Live(utils.Identity{Group: group, Ordinal: ordinal})
				if len(live) != 1 || !live[0].Ready {
					return false
				}
				if _, in := s.w.inService[live[0].UID]; !in {
					return false
				}
				nodes[live[0].Node] = true
			}
			return len(nodes) == replicas
		})
	if err != nil {
		return err
	}
	s.say("all %d members Ready on %d different nodes and behind the Service, %s after kubectl apply",
		replicas, len(nodes), seconds(time.Since(applied)))
	return nil
}

// failover kills the node of one member and waits for the member to be back, under the same name, elsewhere.
func (s *story) failover(ctx context.Context) error {
	old := s.w.pods.Live(failing)[0]
	s.say("killing node %s, where %s runs: its kubelet falls silent, no more heartbeats, as when a machine loses power", old.Node, failing)
	killed := time.Now()
	if err := s.kill(ctx, old.Node); err != nil {
		return err
	}
	var now utils.MemberPod
	var inService time.Time
	err := s.w.waitFor(ctx, stepTimeout, fmt.Sprintf("%s Ready on another node and back in the Service's endpoints", failing), func() bool {
		live := s.w.pods.Live(failing)
		if len(live) != 1 || live[0].UID == old.UID || !live[0].Ready || live[0].Node == old.Node {
			return false
		}
		at, in := s.w.inService[live[0].UID]
		now, inService = live[0], at
		return in
	})
	if err != nil {
		return err
	}
	s.say("failover: member %s is back as Pod %s on %s: Ready %s after its node was killed, in the Service's endpoints %s after",
		failing, now.Name, now.Node, seconds(now.ReadyAt.Sub(killed)), seconds(inService.Sub(killed)))
	lease, err := s.c.NodeLease(ctx, old.Node)
	if err == nil && lease.Spec.RenewTime != nil {
		beat := lease.Spec.RenewTime.Time
		s.say("  that is %s after the node's last heartbeat, which came %s before the kill: peapod waits "+
			"spec.migration.nodeFailure.after (20s by default) from it; Kubernetes alone marks the node NotReady after 50s "+
			"and evicts its Pods 300s later", seconds(now.ReadyAt.Sub(beat)), seconds(killed.Sub(beat)))
	}
	return nil
}

// drain drains the node of another member with kubectl and shows that the member moved make-before-break.
func (s *story) drain(ctx context.Context) error {
	old, tracked := s.w.pods.Live(draining)[0], time.Now()
	s.say("draining node %s, where %s runs; the group's PodDisruptionBudget refuses to evict a Ready member, "+
		"so peapod starts a replacement elsewhere first", old.Node, draining)
	started := time.Now()
	drainCtx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	if err := s.kubectl(drainCtx, "drain", old.Node, "--ignore-daemonsets", "--delete-emptydir-data"); err != nil {
		if drainCtx.Err() != nil && ctx.Err() == nil {
			return fmt.Errorf("kubectl drain did not finish within %s", stepTimeout)
		}
		return err
	}
	took := time.Since(started)

	var retired, replacement utils.MemberPod
	var counts []int
	err := s.w.waitFor(ctx, stepTimeout, fmt.Sprintf("%s's old Pod gone and its replacement Ready", draining), func() bool {
		live := s.w.pods.Live(draining)
		retired, _ = s.w.pods.Pod(old.UID)
		if len(live) != 1 || live[0].UID == old.UID || !live[0].Ready || !retired.Deleting() {
			return false
		}
		replacement, counts = live[0], s.w.pods.ReadyPodsSince(group, tracked)
		return true
	})
	if err != nil {
		return err
	}
	if !replacement.ReadyAt.Before(retired.DeletingAt) || slices.Min(counts) < replicas {
		return fmt.Errorf("not make-before-break: the replacement %s was Ready at %s, the old Pod %s retired at %s, Ready Pods went %s",
			replacement.Name, replacement.ReadyAt.Format(time.StampMilli), retired.Name, retired.DeletingAt.Format(time.StampMilli), arrows(counts))
	}
	s.say("make-before-break: the replacement %s was Ready on %s %s before the old Pod %s was retired; "+
		"Ready members never fewer than %d (Ready Pods %s); kubectl drain took %s",
		replacement.Name, replacement.Node, retired.DeletingAt.Sub(replacement.ReadyAt).Round(time.Millisecond), retired.Name, replicas,
		arrows(counts), seconds(took))
	return nil
}

// kubectl runs the cluster's kubectl, telling its output line by line as it comes.
func (s *story) kubectl(ctx context.Context, args ...string) error {
	s.say("$ kubectl %s", strings.Join(args, " "))
	cmd := s.c.Kubectl(ctx, args...)
	r, w := io.Pipe()
	cmd.Stdout, cmd.Stderr = w, w
	told := make(chan struct{})
	go func() {
		defer close(told)
		lines := bufio.NewScanner(r)
		for lines.Scan() {
			s.say("  %s", lines.Text())
		}
		_, _ = io.Copy(io.Discard, r)
	}()
	err := cmd.Run()
	_ = w.Close()
	<-told
	if err != nil {
		return fmt.Errorf("kubectl %s: %w", strings.Join(args, " "), err)
	}
	return nil
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.1fs", d.Seconds()) }

func arrows(counts []int) string {
	parts := make([]string, len(counts))
	for i, n := range counts {
		parts[i] = fmt.Sprint(n)
	}
	return strings.Join(parts, " -> ")
}
