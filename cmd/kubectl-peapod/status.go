package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
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
the members' claims (phase, bound volume, the node it is attached to), and the group's last failover or
migration.`,
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

// readClaims reads a group's claims and the VolumeAttachments of the cluster; a user who may not read those
// (cluster-scoped) still sees the claims.
func readClaims(ctx context.Context, cl client.Client, namespace, name string) (claimsView, error) {
	var claims corev1.PersistentVolumeClaimList
	if err := cl.List(ctx, &claims, client.InNamespace(namespace), client.MatchingLabels(desired.SelectorLabels(name))); err != nil {
		return claimsView{}, fmt.Errorf("listing the claims of podgroup %s: %w", name, err)
	}
	var v claimsView
	for i := range claims.Items {
		v.Claims = append(v.Claims, &claims.Items[i])
	}
	var attachments storagev1.VolumeAttachmentList
	switch err := cl.List(ctx, &attachments); {
	case apierrors.IsForbidden(err):
		v.AttachmentsUnknown = true
	case err != nil:
		return claimsView{}, fmt.Errorf("listing volumeattachments: %w", err)
	}
	v.Attachments = attachments.Items
	return v, nil
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
	if len(g.Spec.VolumeClaimTemplates) > 0 {
		if view.claimsView, err = readClaims(ctx, cl, namespace, name); err != nil {
			return groupView{}, err
		}
	}
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
