package main

import (
	"context"
	"fmt"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/desired"
	"github.com/peapod-io/peapod/test/cluster"
)

// claimRecord is a member's claim as first bound: the same claim, bound to the same volume, must be what the
// member mounts at the end, whatever the rounds did.
type claimRecord struct {
	uid    types.UID
	volume string
}

// recordClaims reads the claims of the groups with claims once they are up: every one bound.
func recordClaims(ctx context.Context, c *cluster.Cluster, groups []group) (map[string]claimRecord, error) {
	records := map[string]claimRecord{}
	for _, g := range groups {
		if !g.claims {
			continue
		}
		for ordinal := range g.replicas {
			name := desired.ClaimName(claimTemplate, g.name, ordinal)
			claim, err := c.Clientset.CoreV1().PersistentVolumeClaims(chaosNamespace).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return nil, fmt.Errorf("reading claim %s: %w", name, err)
			}
			if claim.Status.Phase != corev1.ClaimBound {
				return nil, fmt.Errorf("claim %s is %s once its member is Ready", name, claim.Status.Phase)
			}
			records[name] = claimRecord{uid: claim.UID, volume: claim.Spec.VolumeName}
		}
	}
	return records, nil
}

// lostClaims checks invariant (e) at the end: every claim recorded still exists with its UID, bound to the same
// volume, and the member's Pods mount it.
func lostClaims(ctx context.Context, c *cluster.Cluster, groups []group, records map[string]claimRecord) ([]string, error) {
	var lost []string
	for _, name := range slices.Sorted(maps.Keys(records)) {
		want := records[name]
		claim, err := c.Clientset.CoreV1().PersistentVolumeClaims(chaosNamespace).Get(ctx, name, metav1.GetOptions{})
		switch {
		case err != nil:
			lost = append(lost, fmt.Sprintf("claim %s: %v", name, err))
		case claim.UID != want.uid:
			lost = append(lost, fmt.Sprintf("claim %s was recreated (UID %s, was %s)", name, claim.UID, want.uid))
		case claim.Spec.VolumeName != want.volume:
			lost = append(lost, fmt.Sprintf("claim %s is bound to %s, was %s", name, claim.Spec.VolumeName, want.volume))
		}
	}
	pods, err := c.Clientset.CoreV1().Pods(chaosNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	for _, g := range groups {
		if !g.claims {
			continue
		}
		for _, pod := range pods.Items {
			ordinal, ok := desired.OrdinalOf(pod.Labels)
			if !ok || pod.Labels[peapodv1alpha1.GroupLabel] != g.name {
				continue
			}
			if want := desired.ClaimName(claimTemplate, g.name, ordinal); !slices.Contains(desired.PodClaims(&pod), want) {
				lost = append(lost, fmt.Sprintf("Pod %s does not mount claim %s (mounts %v)", pod.Name, want, desired.PodClaims(&pod)))
			}
		}
	}
	return lost, nil
}
