package utils

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// Attachment is one VolumeAttachment as an AttachmentWatch saw it, with when (on the watch's clock) it saw it
// come, attached, being deleted and gone; a moment not seen yet is zero.
type Attachment struct {
	Name string
	UID  types.UID
	// PV is the attached PersistentVolume's name (the VolumeAttachment's name for an inline volume).
	PV       string
	Node     string
	Created  time.Time
	Attached time.Time
	Deleting time.Time
	Deleted  time.Time
}

// Gone says the object no longer exists.
func (a Attachment) Gone() bool { return !a.Deleted.IsZero() }

func (a Attachment) String() string {
	at := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.Format(time.StampMilli)
	}
	return fmt.Sprintf("%s (%s on %s: created %s, attached %s, deleting %s, deleted %s)", a.Name, a.PV, a.Node,
		at(a.Created), at(a.Attached), at(a.Deleting), at(a.Deleted))
}

// MultiAttach is a moment when VolumeAttachments of one PV on different nodes existed at once.
type MultiAttach struct {
	At          time.Time
	PV          string
	Attachments []Attachment
}

func (m MultiAttach) String() string {
	list := make([]string, len(m.Attachments))
	for i, a := range m.Attachments {
		list[i] = a.String()
	}
	return fmt.Sprintf("%s had VolumeAttachments on %d nodes at %s: %s", m.PV, len(m.Attachments),
		m.At.Format(time.StampMilli), strings.Join(list, "; "))
}

// AttachmentWatch follows every VolumeAttachment of the cluster through an informer (which lists again after a
// control-plane outage) and records, for each PV, every attachment and every moment two of them on different
// nodes existed at once. It counts an attachment from the moment it saw the object until it saw it gone, not
// from attached to detached: conservative, as a volume may be in use on a node for as long as the object
// stands. After an outage the list shows a new object before the deletion of an old one, so an overlap may be
// reported there that never was. A ReadWriteMany volume is attached to many nodes by design: ask Violations
// about the PVs that must not be.
type AttachmentWatch struct {
	stop func()

	mu         sync.Mutex
	byPV       map[string][]*Attachment
	byUID      map[types.UID]*Attachment
	violations []MultiAttach
}

// WatchAttachments starts an AttachmentWatch; it returns once the watch has seen the VolumeAttachments there are
// (ctx bounds that wait), and runs until Stop.
func WatchAttachments(ctx context.Context, cs kubernetes.Interface) (*AttachmentWatch, error) {
	w := &AttachmentWatch{byPV: map[string][]*Attachment{}, byUID: map[types.UID]*Attachment{}}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	factory := informers.NewSharedInformerFactory(cs, 0)
	w.stop = func() { cancel(); factory.Shutdown() }
	handler := EventHandler(func(obj any, deleted bool) {
		if va, ok := obj.(*storagev1.VolumeAttachment); ok {
			w.observe(va, deleted, time.Now())
		}
	})
	// After a relist, an object re-created under the name of one deleted in the meantime arrives as an update
	// of that one: it is shown as that one's deletion first.
	update := handler.UpdateFunc
	handler.UpdateFunc = func(old, obj any) {
		was, ok1 := old.(*storagev1.VolumeAttachment)
		va, ok2 := obj.(*storagev1.VolumeAttachment)
		if ok1 && ok2 && was.UID != va.UID {
			w.observe(was, true, time.Now())
		}
		update(old, obj)
	}
	registration, err := factory.Storage().V1().VolumeAttachments().Informer().AddEventHandler(handler)
	if err != nil {
		w.stop()
		return nil, err
	}
	factory.Start(runCtx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), registration.HasSynced) {
		w.stop()
		return nil, fmt.Errorf("the watch of VolumeAttachments did not list them: %w", ctx.Err())
	}
	return w, nil
}

// Stop ends the watch and waits until it has; what it recorded stays readable.
func (w *AttachmentWatch) Stop() { w.stop() }

func (w *AttachmentWatch) observe(va *storagev1.VolumeAttachment, deleted bool, now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	a, known := w.byUID[va.UID]
	if !known {
		if deleted {
			return // never seen alive: nothing to say of it
		}
		pv := va.Name
		if va.Spec.Source.PersistentVolumeName != nil {
			pv = *va.Spec.Source.PersistentVolumeName
		}
		a = &Attachment{Name: va.Name, UID: va.UID, PV: pv, Node: va.Spec.NodeName, Created: now}
		w.byUID[va.UID] = a
		w.byPV[pv] = append(w.byPV[pv], a)
	}
	if va.Status.Attached && a.Attached.IsZero() {
		a.Attached = now
	}
	if va.DeletionTimestamp != nil && a.Deleting.IsZero() {
		a.Deleting = now
	}
	if deleted && a.Deleted.IsZero() {
		a.Deleted = now
		if a.Deleting.IsZero() {
			a.Deleting = now
		}
	}
	if known {
		return
	}
	live := w.liveLocked(a.PV)
	nodes := map[string]bool{}
	for _, l := range live {
		nodes[l.Node] = true
	}
	if len(nodes) > 1 {
		w.violations = append(w.violations, MultiAttach{At: now, PV: a.PV, Attachments: live})
	}
}

func (w *AttachmentWatch) liveLocked(pv string) []Attachment {
	var live []Attachment
	for _, a := range w.byPV[pv] {
		if !a.Gone() {
			live = append(live, *a)
		}
	}
	return live
}

// Violations lists every moment VolumeAttachments of one PV on different nodes existed at once, of the PVs
// given or of any, as descriptions.
func (w *AttachmentWatch) Violations(pvs ...string) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, v := range w.violations {
		if len(pvs) == 0 || slices.Contains(pvs, v.PV) {
			out = append(out, v.String())
		}
	}
	return out
}

// History lists the PV's attachments in the order the watch first saw them.
func (w *AttachmentWatch) History(pv string) []Attachment {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]Attachment, len(w.byPV[pv]))
	for i, a := range w.byPV[pv] {
		out[i] = *a
	}
	return out
}

// Live lists the PV's attachments that still exist.
func (w *AttachmentWatch) Live(pv string) []Attachment {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.liveLocked(pv)
}
