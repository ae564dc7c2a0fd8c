package controllers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	lifecyclev1alpha1 "k8s.io/api/lifecycle/v1alpha1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/desired"
	"github.com/peapod-io/peapod/internal/eviction"
	"github.com/peapod-io/peapod/internal/migration"
)

// +kubebuilder:rbac:groups=lifecycle.k8s.io,resources=evictions,verbs=get;list;watch
// +kubebuilder:rbac:groups=lifecycle.k8s.io,resources=evictions/status,verbs=get;patch

// EvictionAPIServed says the cluster serves the Evictions of the EvictionRequest API (lifecycle.k8s.io/v1alpha1,
// behind the EvictionRequestAPI feature gate in Kubernetes 1.37): only then do member Pods name peapod as their
// eviction responder. A group version the server does not know is a plain no; any other discovery failure is an
// error, so that a passing outage does not start the manager with the responder silently off.
func EvictionAPIServed(cfg *rest.Config) (bool, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return false, err
	}
	resources, err := dc.ServerResourcesForGroupVersion(lifecyclev1alpha1.SchemeGroupVersion.String())
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("discovering %s: %w", lifecyclev1alpha1.SchemeGroupVersion, err)
	}
	var evictions, status bool
	for _, r := range resources.APIResources {
		evictions = evictions || r.Name == "evictions"
		status = status || r.Name == "evictions/status"
	}
	return evictions && status, nil
}

// respondToEvictions names peapod the Pod's first eviction responder where the cluster serves the API.
func (r *PodGroupReconciler) respondToEvictions(pod *corev1.Pod) {
	if r.EvictionAPI {
		desired.RespondToEvictions(pod)
	}
}

// groupEvictions lists, from the cache, the Evictions of the namespace that name peapod a responder (the cache
// holds no others); none where the API is not served.
func (r *PodGroupReconciler) groupEvictions(ctx context.Context, namespace string) ([]*lifecyclev1alpha1.Eviction, error) {
	if !r.EvictionAPI {
		return nil, nil
	}
	var list lifecyclev1alpha1.EvictionList
	if err := r.List(ctx, &list, client.InNamespace(namespace)); err != nil {
		return nil, fmt.Errorf("listing the Evictions of namespace %s: %w", namespace, err)
	}
	out := make([]*lifecyclev1alpha1.Eviction, 0, len(list.Items))
	for i := range list.Items {
		out = append(out, &list.Items[i])
	}
	return out, nil
}

// reportEvictions keeps the status of every Eviction peapod moves a member for current: the progress of the
// migration that moves the Eviction's Pod (the one started for it, or a drain or request that moves the member
// already), a heartbeat while it runs, the completion once the old Pod is gone or the move failed. It returns how
// soon the next heartbeat may be due.
func (w *reconcileWork) reportEvictions(ctx context.Context, migrations []*peapodv1alpha1.PodMigration,
	evictions []*lifecyclev1alpha1.Eviction) (time.Duration, error) {
	var errs []error
	var next time.Duration
	claims := migration.ClaimMembers(migrations, w.allPods)
	for _, ev := range evictions {
		m := w.movesFor(ev, migrations, claims)
		if m == nil {
			continue
		}
		rs, write := eviction.Report(ev, migration.EvictionProgress(m, ev, w.allPods), w.now)
		if rs == nil {
			continue
		}
		if write {
			if err := w.r.writeReport(ctx, ev, rs); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		if rs.CompletionTime == nil {
			next = shortest(next, eviction.NextReport(ev, w.now))
		}
	}
	return next, errors.Join(errs...)
}

// movesFor is the migration that answers an Eviction: the one peapod started for it, or else an active one that
// moves the member whose Pod the Eviction is of.
func (w *reconcileWork) movesFor(ev *lifecyclev1alpha1.Eviction, migrations []*peapodv1alpha1.PodMigration,
	claims migration.Claims) *peapodv1alpha1.PodMigration {
	for _, m := range migrations {
		if m.Annotations[peapodv1alpha1.EvictionAnnotation] == ev.Name && migration.ReasonOf(m) == peapodv1alpha1.MigrationEviction {
			return m
		}
	}
	target := eviction.Target(ev)
	i := slices.IndexFunc(w.allPods, func(pod *corev1.Pod) bool { return pod.UID == target })
	if i < 0 {
		return nil
	}
	pod := w.allPods[i]
	ordinal, ok := desired.OrdinalOf(pod.Labels)
	if !ok {
		return nil
	}
	holder := claims[ordinal]
	for _, m := range migrations {
		if m.Name == holder && m.Active() && m.Status.SourcePod == pod.Name {
			return m
		}
	}
	return nil
}

// writeReport writes peapod's entry of an Eviction's status.responders, merged by name (a strategic merge patch:
// the startTime the evictionrequest controller set stays). A report the API server refuses as invalid came too
// late: the Eviction passed on, or ended, since the cache showed it; it is dropped.
func (r *PodGroupReconciler) writeReport(ctx context.Context, ev *lifecyclev1alpha1.Eviction, rs *lifecyclev1alpha1.ResponderStatus) error {
	data, err := json.Marshal(map[string]any{"status": map[string]any{"responders": []any{rs}}})
	if err != nil {
		return err
	}
	err = r.Status().Patch(ctx, ev, client.RawPatch(types.StrategicMergePatchType, data))
	switch {
	case err == nil, apierrors.IsNotFound(err):
		return nil
	case apierrors.IsInvalid(err):
		logf.FromContext(ctx).V(1).Info("the Eviction no longer takes peapod's report", "eviction", ev.Name, "reason", err.Error())
		return nil
	}
	return fmt.Errorf("reporting to Eviction %s: %w", ev.Name, err)
}

// groupOfEviction enqueues the group of the member Pod an Eviction is of, found in the cache.
func (r *PodGroupReconciler) groupOfEviction(ctx context.Context, o client.Object) []reconcile.Request {
	ev := o.(*lifecyclev1alpha1.Eviction)
	if ev.Spec.Target.Pod == nil {
		return nil
	}
	var pod corev1.Pod
	if err := r.Get(ctx, types.NamespacedName{Namespace: ev.Namespace, Name: ev.Spec.Target.Pod.Name}, &pod); err != nil {
		return nil
	}
	if req, ok := groupOf(&pod); ok {
		return []reconcile.Request{req}
	}
	return nil
}
