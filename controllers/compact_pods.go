package controllers

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	toolscache "k8s.io/client-go/tools/cache"
)

// Member Pods are most of the cache: 40,000 of them in a manager of 10,000 groups. A slimmed corev1.Pod still
// allocates the whole struct (1.2 KB, mostly an empty PodSpec and PodStatus), so the Pod informer stores a
// compactPod of what slimPod keeps (about 350 B), and hands out a *corev1.Pod made from it on every read and
// every event. Readers, event handlers and controller-runtime's cache reader see Pods as before; only index
// functions see the compact record (memberNode reads both).

// compactPod is the cached record of a member Pod: exactly the fields slimPod keeps.
type compactPod struct {
	metav1.ObjectMeta
	nodeName    string
	tolerations []corev1.Toleration
	phase       corev1.PodPhase
	conditions  []corev1.PodCondition
	podIP       string
	reason      string
}

var _ runtime.Object = &compactPod{}

func compactOf(pod *corev1.Pod) *compactPod {
	return &compactPod{
		ObjectMeta:  pod.ObjectMeta,
		nodeName:    pod.Spec.NodeName,
		tolerations: pod.Spec.Tolerations,
		phase:       pod.Status.Phase,
		conditions:  pod.Status.Conditions,
		podIP:       pod.Status.PodIP,
		reason:      pod.Status.Reason,
	}
}

// pod is the Pod the record was made from. It shares the record's maps and slices, as a cached object shared
// with its readers does: nothing writes to them (the cache reader deep-copies what it returns).
func (p *compactPod) pod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: p.ObjectMeta,
		Spec:       corev1.PodSpec{NodeName: p.nodeName, Tolerations: p.tolerations},
		Status: corev1.PodStatus{
			Phase: p.phase, Conditions: p.conditions, PodIP: p.podIP, Reason: p.reason,
		},
	}
}

func (p *compactPod) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }

func (p *compactPod) DeepCopyObject() runtime.Object { return compactOf(p.pod().DeepCopy()) }

// podOf turns what the store holds (a compactPod, or a tombstone of one) into what its readers expect.
func podOf(item any) any {
	switch v := item.(type) {
	case *compactPod:
		return v.pod()
	case toolscache.DeletedFinalStateUnknown:
		v.Obj = podOf(v.Obj)
		return v
	}
	return item
}

func podsOf(items []any) []any {
	out := make([]any, len(items))
	for i, item := range items {
		out[i] = podOf(item)
	}
	return out
}

// memberNode is the node a cached member Pod is bound to, read from a Pod or from its compact record.
func memberNode(obj any) string {
	switch v := obj.(type) {
	case *compactPod:
		return v.nodeName
	case *corev1.Pod:
		return v.Spec.NodeName
	}
	return ""
}

// newInformer is the cache's informer constructor: client-go's, and for Pods one that stores compactPods.
func newInformer(lw toolscache.ListerWatcher, obj runtime.Object, resync time.Duration,
	indexers toolscache.Indexers) toolscache.SharedIndexInformer {
	informer := toolscache.NewSharedIndexInformer(lw, obj, resync, indexers)
	if _, isPod := obj.(*corev1.Pod); isPod {
		return compactPodInformer{informer}
	}
	return informer
}

// compactPodInformer compacts each Pod after the cache's transform, and expands it again for its readers (its
// store and indexer) and its event handlers.
type compactPodInformer struct {
	toolscache.SharedIndexInformer
}

func (i compactPodInformer) SetTransform(transform toolscache.TransformFunc) error {
	return i.SharedIndexInformer.SetTransform(func(obj any) (any, error) {
		if _, compacted := obj.(*compactPod); compacted {
			return obj, nil // the transform must be idempotent
		}
		if transform != nil {
			var err error
			if obj, err = transform(obj); err != nil {
				return nil, err
			}
		}
		if pod, ok := obj.(*corev1.Pod); ok {
			return compactOf(pod), nil
		}
		return obj, nil
	})
}

func (i compactPodInformer) GetStore() toolscache.Store { return i.GetIndexer() }

func (i compactPodInformer) GetIndexer() toolscache.Indexer {
	return compactPodIndexer{i.SharedIndexInformer.GetIndexer()}
}

func (i compactPodInformer) AddEventHandler(h toolscache.ResourceEventHandler) (toolscache.ResourceEventHandlerRegistration, error) {
	return i.SharedIndexInformer.AddEventHandler(expandingHandler{h})
}

func (i compactPodInformer) AddEventHandlerWithResyncPeriod(h toolscache.ResourceEventHandler,
	resync time.Duration) (toolscache.ResourceEventHandlerRegistration, error) {
	return i.SharedIndexInformer.AddEventHandlerWithResyncPeriod(expandingHandler{h}, resync)
}

func (i compactPodInformer) AddEventHandlerWithOptions(h toolscache.ResourceEventHandler,
	options toolscache.HandlerOptions) (toolscache.ResourceEventHandlerRegistration, error) {
	return i.SharedIndexInformer.AddEventHandlerWithOptions(expandingHandler{h}, options)
}

// compactPodIndexer expands what it reads; writes go to the informer alone.
type compactPodIndexer struct {
	toolscache.Indexer
}

func (x compactPodIndexer) List() []any { return podsOf(x.Indexer.List()) }

func (x compactPodIndexer) Get(obj any) (any, bool, error) {
	item, exists, err := x.Indexer.Get(obj)
	return podOf(item), exists, err
}

func (x compactPodIndexer) GetByKey(key string) (any, bool, error) {
	item, exists, err := x.Indexer.GetByKey(key)
	return podOf(item), exists, err
}

func (x compactPodIndexer) Index(name string, obj any) ([]any, error) {
	items, err := x.Indexer.Index(name, obj)
	return podsOf(items), err
}

func (x compactPodIndexer) ByIndex(name, value string) ([]any, error) {
	items, err := x.Indexer.ByIndex(name, value)
	return podsOf(items), err
}

type expandingHandler struct {
	handler toolscache.ResourceEventHandler
}

func (h expandingHandler) OnAdd(obj any, isInInitialList bool) {
	h.handler.OnAdd(podOf(obj), isInInitialList)
}

func (h expandingHandler) OnUpdate(old, obj any) { h.handler.OnUpdate(podOf(old), podOf(obj)) }

func (h expandingHandler) OnDelete(obj any) { h.handler.OnDelete(podOf(obj)) }
