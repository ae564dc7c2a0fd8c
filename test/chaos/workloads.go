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
	// fenced says the group waits for fencing: its spec says Required, or its members have claims.
	fenced bool
	// claims says every member has a ReadWriteOnce claim (spec fencing None, which such a group overrides).
	claims bool
}

// claimTemplate names the claim of the groups with claims.
const claimTemplate = "data"

// newGroups alternates fencing Required and None, with 3, 4 and 5 members in turn; every fourth group has a
// ReadWriteOnce claim per member instead of fencing Required.
func newGroups(o options) []group {
	groups := make([]group, o.groups)
	for i := range groups {
		g := group{replicas: 3 + i%3, fenced: i%2 == 0, claims: i%4 == 3}
		switch {
		case g.claims:
			g.name, g.fenced = fmt.Sprintf("claims-%d", i), true
		case g.fenced:
			g.name = fmt.Sprintf("fenced-%d", i)
		default:
			g.name = fmt.Sprintf("unfenced-%d", i)
		}
		groups[i] = g
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
		if g.fenced && !g.claims {
			fencing = peapodv1alpha1.FencingRequired
		}
		builder := pt.MakePodGroup(g.name, chaosNamespace).Replicas(int32(g.replicas)).Spread(peapodv1alpha1.SpreadNode)
		if g.claims {
			builder = builder.Claim(claimTemplate, "1Gi")
		}
		obj := builder.Obj()
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
