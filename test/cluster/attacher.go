package cluster

import (
	"context"
	"fmt"
	"slices"

	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/utils/ptr"
)

// The attacher plays external-attacher: the attach/detach controller creates a VolumeAttachment for a volume a
// Pod on a node needs, and deletes it once no Pod there does (or the node is out of service); the attacher
// "attaches" the first (a finalizer, then status.attached) and "detaches" the second (the finalizer goes, and
// with it the object). Like the real one it runs beside the control plane, so it attaches and detaches for a
// dead node too: only the attach/detach controller's checks keep a volume from two nodes at once.

// newAttacher returns the loop of the driver's VolumeAttachments, keyed by name.
func newAttacher(c *Cluster, cs kubernetes.Interface, factory informers.SharedInformerFactory) *loop {
	attachments := factory.Storage().V1().VolumeAttachments()
	a := &attacher{c: c, cs: cs, attachments: attachments.Lister()}
	l := newLoop("attacher", c.logf, a.sync)
	_, _ = attachments.Informer().AddEventHandler(enqueueNamed(l, func(obj any) (string, bool) {
		if va, ok := obj.(*storagev1.VolumeAttachment); ok && va.Spec.Attacher == CSIDriverName {
			return va.Name, true
		}
		return "", false
	}))
	return l
}

type attacher struct {
	c           *Cluster
	cs          kubernetes.Interface
	attachments storagelisters.VolumeAttachmentLister
}

func (a *attacher) sync(ctx context.Context, name string) error {
	va, err := a.attachments.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if va.Spec.Attacher != CSIDriverName {
		return nil
	}
	what := fmt.Sprintf("volume %s on node %s", ptr.Deref(va.Spec.Source.PersistentVolumeName, "(inline)"), va.Spec.NodeName)
	hasFinalizer := slices.Contains(va.Finalizers, attacherFinalizer)
	switch {
	case va.DeletionTimestamp != nil:
		if !hasFinalizer {
			return nil
		}
		va = va.DeepCopy()
		va.Finalizers = slices.DeleteFunc(va.Finalizers, func(f string) bool { return f == attacherFinalizer })
		if _, err := a.cs.StorageV1().VolumeAttachments().Update(ctx, va, metav1.UpdateOptions{}); err != nil {
			return ignoreNotFound(err)
		}
		a.c.recordStorage("attacher", "detached", name, what)
	case !va.Status.Attached:
		if !hasFinalizer {
			va = va.DeepCopy()
			va.Finalizers = append(va.Finalizers, attacherFinalizer)
			if va, err = a.cs.StorageV1().VolumeAttachments().Update(ctx, va, metav1.UpdateOptions{}); err != nil {
				return ignoreNotFound(err)
			}
		} else {
			va = va.DeepCopy()
		}
		va.Status.Attached = true
		va.Status.AttachError = nil
		if _, err := a.cs.StorageV1().VolumeAttachments().UpdateStatus(ctx, va, metav1.UpdateOptions{}); err != nil {
			return ignoreNotFound(err)
		}
		a.c.recordStorage("attacher", "attached", name, what)
	}
	return nil
}

// ignoreNotFound drops the error of a write to an object that is gone: there is nothing left to do.
func ignoreNotFound(err error) error {
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
