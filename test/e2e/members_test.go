package e2e

import (
	"context"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/peapod-io/peapod/test/utils"
)

// web is a member of the group most specs name web.
func web(ordinal int) utils.Identity { return utils.Identity{Group: "web", Ordinal: ordinal} }

// watchMemberPods follows the namespace's member Pods until the spec ends.
func watchMemberPods(ctx context.Context, tc *utils.TestCluster, ns string, opts utils.MemberWatchOptions) *utils.MemberWatch {
	w, err := utils.WatchMemberPods(ctx, tc.Clientset, ns, opts)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(w.Stop)
	return w
}

// watchIdentities follows every member Pod for the whole spec, for when each Pod of each member identity
// appeared and any moment two Pods of one identity existed at once: a Pod counts until it is gone from the API,
// as one being deleted may still run.
func watchIdentities(ctx context.Context, tc *utils.TestCluster, ns string) *utils.MemberWatch {
	return watchMemberPods(ctx, tc, ns, utils.MemberWatchOptions{Liveness: utils.LiveUntilGone})
}
