package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
)

// The provisioner plays external-provisioner: it creates a PV for every claim the PV controller hands to the
// driver once the scheduler picked a node (WaitForFirstConsumer), pre-bound to the claim, and the PV controller
// binds them. Its deleter removes the PVs released by their claims under reclaimPolicy Delete.

// newProvisioner returns the loop of claims (keyed namespace/name) that provisions their volumes.
func newProvisioner(c *Cluster, cs kubernetes.Interface, factory informers.SharedInformerFactory) *loop {
	claims := factory.Core().V1().PersistentVolumeClaims()
	nodes := factory.Core().V1().Nodes().Lister()
	classes := factory.Storage().V1().StorageClasses().Lister()
	p := &provisioner{c: c, cs: cs, claims: claims.Lister(), nodes: nodes, classes: classes}
	l := newLoop("provisioner", c.logf, p.sync)
	_, _ = claims.Informer().AddEventHandler(enqueueNamed(l, objectKey))
	return l
}

type provisioner struct {
	c       *Cluster
	cs      kubernetes.Interface
	claims  corelisters.PersistentVolumeClaimLister
	nodes   corelisters.NodeLister
	classes storagelisters.StorageClassLister
}

func (p *provisioner) sync(ctx context.Context, key string) error {
	namespace, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil // not a key of ours: nothing to retry
	}
	claim, err := p.claims.PersistentVolumeClaims(namespace).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	nodeName := claim.Annotations[annSelectedNode]
	if claim.Status.Phase != corev1.ClaimPending || claim.Spec.VolumeName != "" || claim.DeletionTimestamp != nil ||
		claim.Annotations[annStorageProvisioner] != CSIDriverName || nodeName == "" {
		return nil
	}
	node, err := p.nodes.Get(nodeName)
	if err != nil {
		return fmt.Errorf("the selected node %s: %w", nodeName, err)
	}
	className := ptr.Deref(claim.Spec.StorageClassName, "")
	class, err := p.classes.Get(className)
	if err != nil {
		return fmt.Errorf("the claim's StorageClass %q: %w", className, err)
	}
	pv, err := provisionedVolume(claim, class, node)
	if err != nil {
		return err
	}
	_, err = p.cs.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	if err != nil {
		return err
	}
	where := "reachable from every zone"
	if pv.Spec.NodeAffinity != nil {
		where = "in " + node.Labels[corev1.LabelTopologyZone]
	}
	p.c.recordStorage("provisioner", "provisioned", pv.Name, fmt.Sprintf("for claim %s, %s (node %s)", key, where, nodeName))
	return nil
}

// provisionedVolume is the PV external-provisioner would create for the claim on the node: named after the
// claim's UID, pre-bound to it, confined to the node's zone unless the claim asks for ReadWriteMany.
func provisionedVolume(claim *corev1.PersistentVolumeClaim, class *storagev1.StorageClass,
	node *corev1.Node) (*corev1.PersistentVolume, error) {
	size, ok := claim.Spec.Resources.Requests[corev1.ResourceStorage]
	if !ok {
		return nil, errors.New("the claim requests no storage")
	}
	name := "pvc-" + string(claim.UID)
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Annotations: map[string]string{annProvisionedBy: CSIDriverName},
		},
		Spec: corev1.PersistentVolumeSpec{
			Capacity: corev1.ResourceList{corev1.ResourceStorage: size},
			PersistentVolumeSource: corev1.PersistentVolumeSource{
				CSI: &corev1.CSIPersistentVolumeSource{Driver: CSIDriverName, VolumeHandle: name, FSType: "ext4"},
			},
			AccessModes: claim.Spec.AccessModes,
			VolumeMode:  claim.Spec.VolumeMode,
			ClaimRef: &corev1.ObjectReference{
				Kind:       "PersistentVolumeClaim",
				APIVersion: "v1",
				Namespace:  claim.Namespace,
				Name:       claim.Name,
				UID:        claim.UID,
			},
			StorageClassName:              class.Name,
			PersistentVolumeReclaimPolicy: ptr.Deref(class.ReclaimPolicy, corev1.PersistentVolumeReclaimDelete),
			MountOptions:                  class.MountOptions,
		},
	}
	if slices.Contains(claim.Spec.AccessModes, corev1.ReadWriteMany) {
		return pv, nil
	}
	zone, ok := node.Labels[corev1.LabelTopologyZone]
	if !ok {
		return nil, fmt.Errorf("the selected node %s has no %s label", node.Name, corev1.LabelTopologyZone)
	}
	pv.Spec.NodeAffinity = &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{
		NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{
			Key: corev1.LabelTopologyZone, Operator: corev1.NodeSelectorOpIn, Values: []string{zone},
		}}}},
	}}
	return pv, nil
}

// newDeleter returns the loop of PVs (keyed by name) that deletes the released volumes of the driver. A volume
// still attached somewhere waits, as external-provisioner waits, until its VolumeAttachments are gone.
func newDeleter(c *Cluster, cs kubernetes.Interface, factory informers.SharedInformerFactory) *loop {
	volumes := factory.Core().V1().PersistentVolumes()
	attachments := factory.Storage().V1().VolumeAttachments()
	d := &deleter{c: c, cs: cs, volumes: volumes.Lister(), attachments: attachments.Lister()}
	l := newLoop("deleter", c.logf, d.sync)
	_, _ = volumes.Informer().AddEventHandler(enqueueNamed(l, objectKey))
	_, _ = attachments.Informer().AddEventHandler(enqueueNamed(l, func(obj any) (string, bool) {
		va, ok := obj.(*storagev1.VolumeAttachment)
		if !ok || va.Spec.Source.PersistentVolumeName == nil {
			return "", false
		}
		return *va.Spec.Source.PersistentVolumeName, true
	}))
	return l
}

type deleter struct {
	c           *Cluster
	cs          kubernetes.Interface
	volumes     corelisters.PersistentVolumeLister
	attachments storagelisters.VolumeAttachmentLister
}

func (d *deleter) sync(ctx context.Context, name string) error {
	pv, err := d.volumes.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if pv.Annotations[annProvisionedBy] != CSIDriverName || pv.Status.Phase != corev1.VolumeReleased ||
		pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimDelete || pv.DeletionTimestamp != nil {
		return nil
	}
	attachments, err := d.attachments.List(labels.Everything())
	if err != nil {
		return err
	}
	for _, va := range attachments {
		if ptr.Deref(va.Spec.Source.PersistentVolumeName, "") == name {
			return nil // its deletion enqueues the volume again
		}
	}
	err = d.cs.CoreV1().PersistentVolumes().Delete(ctx, name, metav1.DeleteOptions{Preconditions: metav1.NewUIDPreconditions(string(pv.UID))})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil // gone, or a new volume of that name: not the one released
	}
	if err != nil {
		return err
	}
	claim := "?"
	if ref := pv.Spec.ClaimRef; ref != nil {
		claim = ref.Namespace + "/" + ref.Name
	}
	d.c.recordStorage("provisioner", "deleted", name, "released by claim "+claim)
	return nil
}

// objectKey is the namespace/name key of an object.
func objectKey(obj any) (string, bool) {
	key, err := cache.MetaNamespaceKeyFunc(obj)
	return key, err == nil
}
