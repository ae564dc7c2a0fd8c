package main

import (
	"context"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	peapodscheme "github.com/peapod-io/peapod/internal/scheme"
	pt "github.com/peapod-io/peapod/internal/testing"
	"github.com/peapod-io/peapod/test/cluster"
)

const benchNamespace = "bench"

// creators is how many PodGroup creates the bench has in flight: one at a time, 2,500 take minutes.
const creators = 8

// createGroups creates the namespace and the groups, with the group's default failover policy (fencing None,
// nodeFailure.after 20 s).
func createGroups(ctx context.Context, c *cluster.Cluster, o options) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: benchNamespace}}
	if _, err := c.Clientset.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		return err
	}
	cfg := rest.CopyConfig(c.Config)
	cfg.QPS, cfg.Burst = 1000, 2000
	creator, err := client.New(cfg, client.Options{Scheme: peapodscheme.New()})
	if err != nil {
		return err
	}
	next := make(chan int)
	errs := make(chan error, creators)
	var wg sync.WaitGroup
	for range creators {
		wg.Go(func() {
			for i := range next {
				g := pt.MakePodGroup(fmt.Sprintf("group-%d", i), benchNamespace).Replicas(int32(o.members)).Obj()
				if err := creator.Create(ctx, g); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	var failed error
	for i := 0; i < o.groups && failed == nil; i++ {
		select {
		case next <- i:
		case failed = <-errs:
		}
	}
	close(next)
	wg.Wait()
	close(errs)
	if failed == nil {
		failed = <-errs
	}
	return failed
}
