package cluster

import (
	"context"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/util/workqueue"
)

// loop is one control loop of the simulated storage: a work queue of keys and a sync for each, retried with a
// short back-off when it fails (as while the apiserver is down), so the loop catches up within seconds of its
// return rather than the minutes a default controller back-off reaches.
type loop struct {
	name  string
	queue workqueue.TypedRateLimitingInterface[string]
	sync  func(ctx context.Context, key string) error
	logf  func(string, ...any)
}

// Retries of one key back off from retryFirst to retryMax.
const (
	retryFirst = 20 * time.Millisecond
	retryMax   = 2 * time.Second
)

func newLoop(name string, logf func(string, ...any), sync func(ctx context.Context, key string) error) *loop {
	limiter := workqueue.NewTypedItemExponentialFailureRateLimiter[string](retryFirst, retryMax)
	queue := workqueue.NewTypedRateLimitingQueueWithConfig(limiter, workqueue.TypedRateLimitingQueueConfig[string]{Name: name})
	return &loop{name: name, queue: queue, sync: sync, logf: logf}
}

// run works the queue until ctx ends; one worker, so a key is never synced twice at once.
func (l *loop) run(ctx context.Context) {
	go func() {
		<-ctx.Done()
		l.queue.ShutDown()
	}()
	for {
		key, quit := l.queue.Get()
		if quit {
			return
		}
		if err := l.sync(ctx, key); err != nil && ctx.Err() == nil {
			// Every failure is logged at its first retry only: during an apiserver outage they repeat. A conflict
			// is the informer's lag behind the loop's own write: the next try reads the newer object.
			if l.queue.NumRequeues(key) == 0 && !apierrors.IsConflict(err) {
				l.logf("storage: %s %s: %v (retrying)", l.name, key, err)
			}
			l.queue.AddRateLimited(key)
		} else {
			l.queue.Forget(key)
		}
		l.queue.Done(key)
	}
}
