package main

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	pt "github.com/peapod-io/peapod/internal/testing"
	"github.com/peapod-io/peapod/test/cluster"
	"github.com/peapod-io/peapod/test/utils"
)

const chaosNamespace = "chaos"

// group is one PodGroup of the campaign, as created.
type group struct {
	name     string
	replicas int
	fenced   bool
}

// newGroups alternates fencing Required and None, with 3, 4 and 5 members in turn.
func newGroups(o options) []group {
	groups := make([]group, o.groups)
	for i := range groups {
		fenced := i%2 == 0
		prefix := "unfenced"
		if fenced {
			prefix = "fenced"
		}
		groups[i] = group{name: fmt.Sprintf("%s-%d", prefix, i), replicas: 3 + i%3, fenced: fenced}
	}
	return groups
}

func members(groups []group) (n int) {
	for _, g := range groups {
		n += g.replicas
	}
	return n
}

// createGroups creates the namespace and the groups: spread over nodes, drains Migrate, failed over after
// options.after.
func createGroups(ctx context.Context, c *cluster.Cluster, groups []group, o options) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: chaosNamespace}}
	if _, err := c.Clientset.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		return err
	}
	creator := utils.NewClient(c.Config)
	for _, g := range groups {
		fencing := peapodv1alpha1.FencingNone
		if g.fenced {
			fencing = peapodv1alpha1.FencingRequired
		}
		obj := pt.MakePodGroup(g.name, chaosNamespace).Replicas(int32(g.replicas)).Spread(peapodv1alpha1.SpreadNode).Obj()
		obj.Spec.Migration = &peapodv1alpha1.MigrationPolicy{
			NodeFailure: &peapodv1alpha1.NodeFailurePolicy{After: &metav1.Duration{Duration: o.after()}, Fencing: fencing},
			Drain:       peapodv1alpha1.DrainMigrate,
		}
		if err := creator.Create(ctx, obj); err != nil {
			return fmt.Errorf("creating PodGroup %s: %w", g.name, err)
		}
	}
	return nil
}
