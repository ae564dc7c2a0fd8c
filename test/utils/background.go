package utils

import (
	"context"

	"github.com/onsi/ginkgo/v2"
)

// RunUntilCleanup runs fn in a goroutine until the current Ginkgo node's cleanup (the spec's, or the suite's when
// called from BeforeSuite): then its context is cancelled and cleanup waits for it to return. fn gets a context
// of its own, not that of the node that starts it, which ends with that node.
func RunUntilCleanup(fn func(ctx context.Context)) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	ginkgo.DeferCleanup(func() { cancel(); <-done })
	go func() {
		defer ginkgo.GinkgoRecover()
		defer close(done)
		fn(ctx)
	}()
}
