package utils

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// EventHandler shows an informer's changes to observe; a deletion the informer learnt of only by relisting
// carries the object's last state it saw.
func EventHandler(observe func(obj any, deleted bool)) cache.ResourceEventHandlerFuncs {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { observe(obj, false) },
		UpdateFunc: func(_, obj any) { observe(obj, false) },
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			observe(obj, true)
		},
	}
}

// PodEventHandler is EventHandler for Pods. After a relist, a Pod re-created under the name of one deleted in
// the meantime arrives as an update of that one: it is shown as that one's deletion first.
func PodEventHandler(observe func(pod *corev1.Pod, deleted bool)) cache.ResourceEventHandlerFuncs {
	pods := EventHandler(func(obj any, deleted bool) {
		if pod, ok := obj.(*corev1.Pod); ok {
			observe(pod, deleted)
		}
	})
	pods.UpdateFunc = func(old, obj any) {
		if was, ok := old.(*corev1.Pod); ok {
			if pod, ok := obj.(*corev1.Pod); ok && was.UID != pod.UID {
				observe(was, true)
			}
		}
		pods.AddFunc(obj)
	}
	return pods
}

// WatchPods shows every change of the Pods of a namespace ("" for all) that match a label selector to observe,
// one at a time, through an informer, which relists by itself after a control-plane outage where a bare watch
// would end. It returns once observe has seen every Pod of the first list (ctx bounds that wait), and runs
// until stop, which waits for it to end.
func WatchPods(ctx context.Context, cs kubernetes.Interface, namespace, selector string,
	observe func(pod *corev1.Pod, deleted bool)) (stop func(), err error) {
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	factory := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = selector }))
	stop = func() { cancel(); factory.Shutdown() }
	registration, err := factory.Core().V1().Pods().Informer().AddEventHandler(PodEventHandler(observe))
	if err != nil {
		stop()
		return nil, err
	}
	factory.Start(runCtx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), registration.HasSynced) {
		stop()
		return nil, fmt.Errorf("the watch of Pods %q in namespace %q did not list them: %w", selector, namespace, ctx.Err())
	}
	return stop, nil
}
