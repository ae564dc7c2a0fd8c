package controllers

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	fcache "k8s.io/client-go/tools/cache/testing"
	"k8s.io/utils/ptr"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/desired"
	pt "github.com/peapod-io/peapod/internal/testing"
)

// fullMember is a member Pod with every field the cache keeps set, and some it drops.
func fullMember() *corev1.Pod {
	g := pt.MakePodGroup("web", "default").UID("uid-web").Obj()
	pod := pt.MakeMemberPod("web", 1, "r1").Obj()
	pod.UID, pod.ResourceVersion = "uid-web-1", "42"
	pod.OwnerReferences = []metav1.OwnerReference{desired.ControllerRef(g)}
	pod.Annotations = map[string]string{peapodv1alpha1.AvoidedNodesAnnotation: "n1", "dropped": "yes"}
	pod.DeletionTimestamp, pod.DeletionGracePeriodSeconds = ptr.To(metav1.Now()), ptr.To[int64](30)
	pod.Finalizers = []string{"example.com/hold"}
	pod.Spec.NodeName, pod.Spec.Tolerations = "n2", defaultTolerations()
	pod.Spec.Containers = []corev1.Container{{Name: "app", Image: "app:1"}}
	pod.Status = corev1.PodStatus{
		Phase: corev1.PodRunning, PodIP: "10.0.0.7", Reason: "Evicted", HostIP: "192.168.0.2",
		Conditions: []corev1.PodCondition{
			{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now()},
			{Type: corev1.ContainersReady, Status: corev1.ConditionTrue},
		},
	}
	return pod
}

func slimmed(t *testing.T, pod *corev1.Pod) *corev1.Pod {
	t.Helper()
	slim, err := slimPod(pod.DeepCopy())
	if err != nil {
		t.Fatal(err)
	}
	return slim.(*corev1.Pod)
}

// The Pod informer stores compact records and serves, through its indexer and to its handlers, exactly the Pod
// slimPod makes: nothing a reader of a member sees changes with the compaction.
func TestTheCompactPodInformerServesTheSlimPods(t *testing.T) {
	source := fcache.NewFakeControllerSource()
	informer := newInformer(source, &corev1.Pod{}, 0, toolscache.Indexers{toolscache.NamespaceIndex: toolscache.MetaNamespaceIndexFunc})
	if err := informer.SetTransform(slimPod); err != nil {
		t.Fatal(err)
	}
	byNode := func(obj any) ([]string, error) { return []string{memberNode(obj)}, nil }
	if err := informer.AddIndexers(toolscache.Indexers{"node": byNode}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []any
	record := func(objs ...any) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, objs...)
	}
	_, err := informer.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { record(obj) },
		UpdateFunc: func(old, obj any) { record(old, obj) },
		DeleteFunc: func(obj any) { record(obj) },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go informer.RunWithContext(ctx)
	if !toolscache.WaitForCacheSync(ctx.Done(), informer.HasSynced) {
		t.Fatal("the informer did not sync")
	}

	// The source sets each object's resourceVersion as it takes it.
	pod := fullMember()
	source.Add(pod)
	moved := pod.DeepCopy()
	moved.Spec.NodeName = "n3"
	source.Modify(moved)
	deleted := moved.DeepCopy()
	source.Delete(deleted)
	wantSeen := 4 // add; update (old, new); delete
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(seen)
		mu.Unlock()
		if n >= wantSeen || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}

	mu.Lock()
	defer mu.Unlock()
	want := []*corev1.Pod{slimmed(t, pod), slimmed(t, pod), slimmed(t, moved), slimmed(t, deleted)}
	if len(seen) != len(want) {
		t.Fatalf("the handler saw %d objects, want %d", len(seen), len(want))
	}
	for i, obj := range seen {
		if got, ok := obj.(*corev1.Pod); !ok || !equality.Semantic.DeepEqual(got, want[i]) {
			t.Errorf("the handler's object %d (a %T) is not the slim Pod (-want +got):\n%s", i, obj, cmp.Diff(want[i], obj))
		}
	}
}

// Read through the indexer, a stored record is the slim Pod, by key, in a list and by an index over the compact
// record; the store itself holds the compact record.
func TestTheCompactPodIndexerReadsSlimPods(t *testing.T) {
	informer := newInformer(fcache.NewFakeControllerSource(), &corev1.Pod{}, 0, toolscache.Indexers{})
	raw := informer.(compactPodInformer).SharedIndexInformer.GetIndexer()
	if err := raw.AddIndexers(toolscache.Indexers{"node": func(obj any) ([]string, error) {
		return []string{memberNode(obj)}, nil
	}}); err != nil {
		t.Fatal(err)
	}
	pod := fullMember()
	slim := slimmed(t, pod)
	if err := raw.Add(compactOf(slim)); err != nil {
		t.Fatal(err)
	}
	key, _ := toolscache.MetaNamespaceKeyFunc(pod)
	stored, _, _ := raw.GetByKey(key)
	if _, compact := stored.(*compactPod); !compact {
		t.Fatalf("the store holds a %T", stored)
	}
	indexer := informer.GetIndexer()
	byKey, exists, err := indexer.GetByKey(key)
	if err != nil || !exists {
		t.Fatalf("GetByKey(%q): %v, %v", key, exists, err)
	}
	listed := indexer.List()
	onNode, err := indexer.ByIndex("node", "n2")
	if err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string]any{"GetByKey": byKey, "List": listed[0], "ByIndex": onNode[0]} {
		if !equality.Semantic.DeepEqual(got, slim) {
			t.Errorf("%s did not read the slim Pod (-want +got):\n%s", name, cmp.Diff(slim, got))
		}
	}
	if copied := stored.(*compactPod).DeepCopyObject().(*compactPod); &copied.Labels == &slim.Labels ||
		!equality.Semantic.DeepEqual(copied.pod(), slim) {
		t.Errorf("a deep copy of the record is not its own, or reads (-want +got):\n%s", cmp.Diff(slim, copied.pod()))
	}
	tombstone := podOf(toolscache.DeletedFinalStateUnknown{Key: key, Obj: stored})
	if got := tombstone.(toolscache.DeletedFinalStateUnknown).Obj; !equality.Semantic.DeepEqual(got, slim) {
		t.Errorf("a tombstone does not hold the slim Pod (-want +got):\n%s", cmp.Diff(slim, got))
	}
}
