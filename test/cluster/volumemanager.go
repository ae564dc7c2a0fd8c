package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

// The volume manager plays the kubelet's, on every live node (one kwok manages): it reports the volumes of the
// node's Pods in node.status.volumesInUse, and "mounts" a Pod's volumes (VolumesMountedAnnotation, after which
// kwok starts its containers) once the attach/detach controller lists them all in node.status.volumesAttached
// and the node reports them in use, as the kubelet mounts only volumes it reported. A Pod gone or terminal
// leaves volumesInUse: its volumes are unmounted, and the attach/detach controller may detach them. A dead node
// does nothing: its volumesInUse stays as it was, so the attach/detach controller waits, as for a dead kubelet,
// until the node is out of service (the node.kubernetes.io/out-of-service taint) or its 6-minute
// maxWaitForUnmountDuration passes.

// podsByNode indexes Pods by spec.nodeName.
const podsByNode = "spec.nodeName"

// newVolumeManager returns the loop of nodes, keyed by name.
func newVolumeManager(c *Cluster, cs kubernetes.Interface, factory informers.SharedInformerFactory) *loop {
	pods := factory.Core().V1().Pods().Informer()
	nodes := factory.Core().V1().Nodes()
	claims := factory.Core().V1().PersistentVolumeClaims()
	volumes := factory.Core().V1().PersistentVolumes()
	_ = pods.AddIndexers(cache.Indexers{podsByNode: func(obj any) ([]string, error) {
		if pod, ok := obj.(*corev1.Pod); ok && pod.Spec.NodeName != "" {
			return []string{pod.Spec.NodeName}, nil
		}
		return nil, nil
	}})
	m := &volumeManager{c: c, cs: cs, pods: pods.GetIndexer(), nodes: nodes.Lister(), claims: claims.Lister(),
		volumes: volumes.Lister(), written: map[types.UID][]corev1.UniqueVolumeName{}}
	l := newLoop("volume-manager", c.logf, m.sync)
	// Only a Pod with claims changes what a node mounts: the others cost the loop nothing.
	_, _ = pods.AddEventHandler(enqueueNamed(l, func(obj any) (string, bool) {
		if pod, ok := obj.(*corev1.Pod); ok && pod.Spec.NodeName != "" && len(claimNames(pod)) > 0 {
			return pod.Spec.NodeName, true
		}
		return "", false
	}))
	_, _ = nodes.Informer().AddEventHandler(enqueueNamed(l, objectKey))
	// A claim bound or a volume created lets some node's Pod on: every node looks again (there are few).
	everyNode := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { m.enqueueNodes(l) },
		UpdateFunc: func(any, any) { m.enqueueNodes(l) },
	}
	_, _ = claims.Informer().AddEventHandler(everyNode)
	_, _ = volumes.Informer().AddEventHandler(everyNode)
	return l
}

type volumeManager struct {
	c       *Cluster
	cs      kubernetes.Interface
	pods    cache.Indexer
	nodes   corelisters.NodeLister
	claims  corelisters.PersistentVolumeClaimLister
	volumes corelisters.PersistentVolumeLister
	// written is the volumesInUse last written to each node (by UID): the loop is the field's only writer, so a
	// node whose informer copy lags behind that write is not written again. One worker: no lock.
	written map[types.UID][]corev1.UniqueVolumeName
}

func (m *volumeManager) enqueueNodes(l *loop) {
	nodes, _ := m.nodes.List(labels.Everything())
	for _, node := range nodes {
		l.queue.Add(node.Name)
	}
}

func (m *volumeManager) sync(ctx context.Context, nodeName string) error {
	node, err := m.nodes.Get(nodeName)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if node.Labels[ManagedNodeLabel] != trueValue {
		return nil // a dead kubelet reports nothing and mounts nothing
	}
	objs, err := m.pods.ByIndex(podsByNode, nodeName)
	if err != nil {
		return err
	}
	attached := map[corev1.UniqueVolumeName]bool{}
	for _, v := range node.Status.VolumesAttached {
		attached[v.Name] = true
	}
	var inUse []corev1.UniqueVolumeName
	var mount []*corev1.Pod
	for _, obj := range objs {
		pod := obj.(*corev1.Pod)
		if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
			continue
		}
		names, ok := m.podVolumes(pod)
		if !ok || len(names) == 0 {
			continue
		}
		inUse = append(inUse, names...)
		if pod.Annotations[VolumesMountedAnnotation] == trueValue || pod.DeletionTimestamp != nil {
			continue
		}
		ready := true
		for _, name := range names {
			ready = ready && attached[name] && slices.Contains(node.Status.VolumesInUse, name)
		}
		if ready {
			mount = append(mount, pod)
		}
	}
	slices.Sort(inUse)
	inUse = slices.Compact(inUse)
	if err := m.reportInUse(ctx, node, inUse); err != nil {
		return err
	}
	for _, pod := range mount {
		if err := m.mount(ctx, pod); err != nil {
			return err
		}
	}
	return nil
}

// podVolumes are the unique names, as the attach/detach controller writes them, of the Pod's claimed volumes;
// not ok while a claim is unbound or its volume is not the driver's (the kubelet waits then).
func (m *volumeManager) podVolumes(pod *corev1.Pod) ([]corev1.UniqueVolumeName, bool) {
	var names []corev1.UniqueVolumeName
	for _, claimName := range claimNames(pod) {
		claim, err := m.claims.PersistentVolumeClaims(pod.Namespace).Get(claimName)
		if err != nil || claim.Status.Phase != corev1.ClaimBound || claim.Spec.VolumeName == "" {
			return nil, false
		}
		pv, err := m.volumes.Get(claim.Spec.VolumeName)
		if err != nil || pv.Spec.CSI == nil || pv.Spec.CSI.Driver != CSIDriverName {
			return nil, false
		}
		names = append(names, UniqueVolumeName(pv.Spec.CSI.Driver, pv.Spec.CSI.VolumeHandle))
	}
	return names, true
}

// UniqueVolumeName is how the attach/detach controller and the kubelet name a CSI volume in a node's status.
func UniqueVolumeName(driver, volumeHandle string) corev1.UniqueVolumeName {
	return corev1.UniqueVolumeName("kubernetes.io/csi/" + driver + "^" + volumeHandle)
}

// claimNames are the claims a Pod mounts: its persistentVolumeClaim volumes and its generic ephemeral volumes'
// claims (named <pod>-<volume>).
func claimNames(pod *corev1.Pod) []string {
	var names []string
	for _, v := range pod.Spec.Volumes {
		switch {
		case v.PersistentVolumeClaim != nil:
			names = append(names, v.PersistentVolumeClaim.ClaimName)
		case v.Ephemeral != nil:
			names = append(names, pod.Name+"-"+v.Name)
		}
	}
	return names
}

// reportInUse writes node.status.volumesInUse when it changed.
func (m *volumeManager) reportInUse(ctx context.Context, node *corev1.Node, inUse []corev1.UniqueVolumeName) error {
	if slices.Equal(inUse, node.Status.VolumesInUse) {
		m.written[node.UID] = inUse
		return nil
	}
	if written, ok := m.written[node.UID]; ok && slices.Equal(inUse, written) {
		return nil
	}
	var value any // null removes the field, as a kubelet with nothing mounted reports none
	if len(inUse) > 0 {
		value = inUse
	}
	patch, err := json.Marshal(map[string]any{"status": map[string]any{"volumesInUse": value}})
	if err != nil {
		return err
	}
	_, err = m.cs.CoreV1().Nodes().Patch(ctx, node.Name, types.MergePatchType, patch, metav1.PatchOptions{}, "status")
	if err != nil {
		return ignoreNotFound(err)
	}
	m.written[node.UID] = inUse
	names := make([]string, len(inUse))
	for i, n := range inUse {
		names[i] = string(n)
	}
	m.c.recordStorage("volume-manager", "volumes-in-use", node.Name, fmt.Sprintf("[%s]", strings.Join(names, " ")))
	return nil
}

// mount marks the Pod's volumes mounted; the UID in the patch keeps it off a later Pod of the same name.
func (m *volumeManager) mount(ctx context.Context, pod *corev1.Pod) error {
	patch := fmt.Sprintf(`{"metadata":{"uid":%q,"annotations":{%q:"true"}}}`, pod.UID, VolumesMountedAnnotation)
	_, err := m.cs.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	if err != nil {
		return ignoreNotFound(err)
	}
	m.c.recordStorage("volume-manager", "mounted", pod.Namespace+"/"+pod.Name, "on node "+pod.Spec.NodeName)
	return nil
}
