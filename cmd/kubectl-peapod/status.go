package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/desired"
)

func newStatusCommand(c cluster, streams genericiooptions.IOStreams) *cobra.Command {
	return &cobra.Command{
		Use:   "status GROUP",
		Short: "Show a PodGroup's members: their Pods, nodes, readiness and migrations",
		Long: `Show a PodGroup: how many members are ready, its conditions, one row per member (its Pod, node,
readiness, age and any PodMigration moving it; during a migration both the member's Pod and its replacement),
and the group's last failover or migration.`,
		Example: `  kubectl peapod status web
  kubectl peapod status web -n prod`,
		Args: argsNamed("GROUP"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, namespace, err := c.connect()
			if err != nil {
				return err
			}
			view, err := readGroup(cmd.Context(), cl, namespace, args[0])
			if err != nil {
				return err
			}
			return writeStatus(streams.Out, view)
		},
	}
}

// readGroup reads a group, its member Pods and its PodMigrations.
func readGroup(ctx context.Context, cl client.Client, namespace, name string) (groupView, error) {
	g, err := getGroup(ctx, cl, namespace, name)
	if err != nil {
		return groupView{}, err
	}
	var pods corev1.PodList
	if err := cl.List(ctx, &pods, client.InNamespace(namespace), client.MatchingLabels(desired.SelectorLabels(name))); err != nil {
		return groupView{}, fmt.Errorf("listing the Pods of podgroup %s: %w", name, err)
	}
	var migrations peapodv1alpha1.PodMigrationList
	if err := cl.List(ctx, &migrations, client.InNamespace(namespace)); err != nil {
		return groupView{}, fmt.Errorf("listing podmigrations in namespace %s: %w", namespace, err)
	}
	view := groupView{Group: g, Now: time.Now()}
	for i := range pods.Items {
		view.Pods = append(view.Pods, &pods.Items[i])
	}
	for i := range migrations.Items {
		if migrations.Items[i].Spec.Group == name {
			view.Migrations = append(view.Migrations, &migrations.Items[i])
		}
	}
	return view, nil
}
