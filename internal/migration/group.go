package migration

import (
	"cmp"
	"errors"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	lifecyclev1alpha1 "k8s.io/api/lifecycle/v1alpha1"
	"k8s.io/apimachinery/pkg/types"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/desired"
	"github.com/peapod-io/peapod/internal/nodehealth"
	"github.com/peapod-io/peapod/internal/plan"
)

// Group is what every migration of one group is stepped against in one reconcile.
type Group struct {
	PodGroup *peapodv1alpha1.PodGroup
	// Pods are all the group's Pods, the migrations' replacements among them.
	Pods []*corev1.Pod
	// Nodes are the verdicts on the nodes of the group's Pods.
	Nodes map[string]nodehealth.Verdict
	// Avoiding are the failed nodes new Pods keep off now: called once, and only when a Pod's avoid list may
	// have outlived its cause (plan.NeedsAvoiding), as looking them up costs a List of the Nodes.
	Avoiding func() ([]string, error)
	// Target looks up what the cluster knows of a migration's spec.target.nodeName.
	Target func(*peapodv1alpha1.PodMigration) Target
	// Evicting are the Pods, by UID, that Evictions hand to peapod now.
	Evicting map[types.UID]*lifecyclev1alpha1.Eviction
	Now      time.Time
}

// Take carries out a step: the Pod write and the status write. acted says a Pod was written.
type Take func(m *peapodv1alpha1.PodMigration, step Step) (acted bool, err error)

// StepAll takes every migration of the group that has something left to do one step, oldest first, and returns
// the Pods that hold the members' identities for the group's plan (the replacements of migrations in flight set
// aside), and whether anything was written that the plan must see first: then the plan waits for the next
// reconcile.
func StepAll(g Group, migrations []*peapodv1alpha1.PodMigration, take Take) (members []*corev1.Pod, wrote bool, err error) {
	_, fencingRequired := desired.FailurePolicyOf(g.PodGroup)
	var avoiding []string
	if slices.ContainsFunc(g.Pods, plan.NeedsAvoiding) {
		if avoiding, err = g.Avoiding(); err != nil {
			return nil, false, err
		}
	}
	claims := ClaimMembers(migrations, g.Pods)
	running := Running(migrations)
	moving := Held(migrations)
	var errs []error
	for _, m := range migrations {
		if !m.Active() && (m.Status.Phase != peapodv1alpha1.MigrationFailed || ReplacementOf(m, g.Pods) == nil) {
			continue
		}
		step := Next(Input{
			Migration: m, Group: g.PodGroup, Replicas: desired.Replicas(g.PodGroup), Pods: g.Pods, Target: g.Target(m),
			Nodes: g.Nodes, FencingRequired: fencingRequired, Avoiding: avoiding, AvoidingKnown: avoiding != nil,
			MovedBy: claims.MovedBy(m, g.Pods), Running: running, MaxRunning: desired.MaxConcurrentMigrations(g.PodGroup),
			Moving: moving, Evicting: g.Evicting, Now: g.Now,
		})
		// Read before the take: the controller's status write updates m in place.
		wasRunning := m.Status.Phase == peapodv1alpha1.MigrationRunning
		acted, err := take(m, step)
		if err != nil {
			errs = append(errs, err)
		}
		// A step that ends the migration but whose status did not land (a conflict) leaves the migration active
		// as stored, so its replacement stays set aside: a plan made now would find the member without its
		// source and create a second Pod beside the replacement. The plan waits for the migration's next event.
		ended := step.Status.Phase == peapodv1alpha1.MigrationSucceeded || step.Status.Phase == peapodv1alpha1.MigrationFailed
		wrote = wrote || acted || (ended && m.Active())
		if acted && !wasRunning {
			// A move started in this pass counts against the caps of the next ones in it.
			switch step.Action {
			case StopSource:
				moving[step.Ordinal] = true
				running++
			case CreateReplacement:
				running++
			}
		}
	}
	// A replacement stays out of the plan while its migration is, or may still be, in flight (its status as
	// stored: a write that did not land leaves it active).
	return SetAside(migrations, g.Pods), wrote, errors.Join(errs...)
}

// Running counts the migrations whose replacement exists and is not yet the member.
func Running(migrations []*peapodv1alpha1.PodMigration) int {
	n := 0
	for _, m := range migrations {
		if m.Status.Phase == peapodv1alpha1.MigrationRunning {
			n++
		}
	}
	return n
}

// Claims says which active migration moves which member: the running ones first, then the oldest.
type Claims map[int]string

// ClaimMembers gives every member moved by some active migration to one of them.
func ClaimMembers(migrations []*peapodv1alpha1.PodMigration, pods []*corev1.Pod) Claims {
	c := Claims{}
	active := slices.DeleteFunc(slices.Clone(migrations), func(m *peapodv1alpha1.PodMigration) bool { return !m.Active() })
	rank := func(m *peapodv1alpha1.PodMigration) int {
		if m.Status.Phase == peapodv1alpha1.MigrationRunning {
			return 0
		}
		return 1
	}
	slices.SortStableFunc(active, func(a, b *peapodv1alpha1.PodMigration) int { return cmp.Compare(rank(a), rank(b)) })
	for _, m := range active {
		if ordinal, ok := OrdinalOf(m, pods); ok {
			if _, taken := c[ordinal]; !taken {
				c[ordinal] = m.Name
			}
		}
	}
	return c
}

// MovedBy names the migration that holds the claim on m's member, if it is another one.
func (c Claims) MovedBy(m *peapodv1alpha1.PodMigration, pods []*corev1.Pod) string {
	ordinal, ok := OrdinalOf(m, pods)
	if !ok {
		return ""
	}
	if holder := c[ordinal]; holder != m.Name {
		return holder
	}
	return ""
}
