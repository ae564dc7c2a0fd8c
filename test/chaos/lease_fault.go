package main

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// leaseSkew is how far behind the real clock a skewed node stamps its Lease renewals.
const leaseSkew = 15 * time.Second

// skewLease makes a node that runs members renew its Lease as a kubelet whose clock is 15 s behind, for
// nodeFailure.after plus 10-30 s, then hands it back to kwok. The renewals keep coming: the node is healthy,
// neither silent nor faulted, and a member deleted on it breaks (b): silence is timed by when a renewal is seen,
// never by the timestamp it carries.
func (f *campaign) skewLease(ctx context.Context) (string, error) {
	node := f.pickNodes(1)[0]
	hold := f.o.after() + f.between(10*time.Second, 30*time.Second)
	what := fmt.Sprintf("%s renews its Lease %s behind for %s, running %s", node, leaseSkew, hold,
		strings.Join(f.w.podsOn(node), " "))
	stop, err := f.c.SkewNodeClock(ctx, node, leaseSkew)
	if err != nil {
		return what, err
	}
	err = sleep(ctx, hold)
	stop()
	if err != nil {
		return what, err
	}
	return what, f.c.RecoverNode(ctx, node)
}
