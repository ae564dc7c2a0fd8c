package cluster

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
)

// The cluster's storage: one CSI driver, zonal block volumes in a default StorageClass, and the parts of a CSI
// deployment that talk to the API played by goroutines of the test process (provisioner.go, attacher.go,
// volumemanager.go), so Kubernetes' own PV controller binds the claims, its attach/detach controller creates and
// deletes the VolumeAttachments, and its scheduler honours the volumes' topology, as in a real cluster.
const (
	// CSIDriverName is the cluster's CSI driver: it needs attaching (a VolumeAttachment per node and volume).
	CSIDriverName = "csi.peapod.test"
	// StorageClassName is the default StorageClass: volumes provisioned by CSIDriverName in the zone of the
	// node the scheduler picked for the claim's first Pod (WaitForFirstConsumer), deleted with their claim.
	// A claim that asks for ReadWriteMany gets a volume every zone reaches, as a network filesystem.
	StorageClassName = "peapod-zonal"
	// VolumesMountedAnnotation marks a Pod whose volumes the node's "kubelet" has mounted; kwok starts the
	// containers of a Pod with claims only then (the pod-ready-volumes stage, kwok.go).
	VolumesMountedAnnotation = "storage.peapod.test/volumes-mounted"

	// attacherFinalizer is what external-attacher puts on the VolumeAttachments it attached.
	attacherFinalizer = "external-attacher/csi-peapod-test"
	// Annotations of the PV controller and external-provisioner.
	annStorageProvisioner = "volume.kubernetes.io/storage-provisioner"
	annSelectedNode       = "volume.kubernetes.io/selected-node"
	annProvisionedBy      = "pv.kubernetes.io/provisioned-by"
	// storageResync replays every object to the storage loops now and then, as the kubelet's periodic sync.
	storageResync = 30 * time.Second
)

// StorageAction is one thing the storage loops did to the cluster, for reading when a test fails.
type StorageAction struct {
	At time.Time
	// Actor is the part of the CSI deployment that acted: provisioner, attacher or volume-manager.
	Actor string
	// Verb is what it did: provisioned, deleted, attached, detached, mounted, volumes-in-use.
	Verb string
	// Object names what it acted on; Detail says more.
	Object, Detail string
}

func (a StorageAction) String() string {
	return fmt.Sprintf("%s %s %s %s %s", a.At.Format(time.StampMilli), a.Actor, a.Verb, a.Object, a.Detail)
}

// storageLog keeps the storage loops' actions.
type storageLog struct {
	mu      sync.Mutex
	actions []StorageAction
}

// StorageActions lists what the storage loops did, oldest first.
func (c *Cluster) StorageActions() []StorageAction {
	c.storage.mu.Lock()
	defer c.storage.mu.Unlock()
	return append([]StorageAction(nil), c.storage.actions...)
}

func (c *Cluster) recordStorage(actor, verb, object, detail string) {
	a := StorageAction{At: time.Now(), Actor: actor, Verb: verb, Object: object, Detail: detail}
	c.storage.mu.Lock()
	c.storage.actions = append(c.storage.actions, a)
	c.storage.mu.Unlock()
	// Not logged: a bench or campaign makes hundreds; StorageActions has them for a spec that fails.
}

// installStorage creates the CSIDriver and the default StorageClass.
func installStorage(ctx context.Context, cs kubernetes.Interface) error {
	driver := &storagev1.CSIDriver{
		ObjectMeta: metav1.ObjectMeta{Name: CSIDriverName},
		Spec: storagev1.CSIDriverSpec{
			AttachRequired: ptr.To(true),
			PodInfoOnMount: ptr.To(false),
		},
	}
	if _, err := cs.StorageV1().CSIDrivers().Create(ctx, driver, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating CSIDriver %s: %w", CSIDriverName, err)
	}
	class := &storagev1.StorageClass{
		ObjectMeta: metav1.ObjectMeta{
			Name:        StorageClassName,
			Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": trueValue},
		},
		Provisioner:          CSIDriverName,
		VolumeBindingMode:    ptr.To(storagev1.VolumeBindingWaitForFirstConsumer),
		ReclaimPolicy:        ptr.To(corev1.PersistentVolumeReclaimDelete),
		AllowVolumeExpansion: ptr.To(false),
	}
	if _, err := cs.StorageV1().StorageClasses().Create(ctx, class, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating StorageClass %s: %w", StorageClassName, err)
	}
	return nil
}

// startStorage installs the driver and class and starts the provisioner, the attacher and the nodes' volume
// managers; they run until Stop. They read through informers, which list again after an apiserver outage, and
// retry failed writes.
func (c *Cluster) startStorage(ctx context.Context) error {
	cfg := rest.CopyConfig(c.Config)
	cfg.UserAgent = "peapod-storage-sim"
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	if err := installStorage(ctx, cs); err != nil {
		return err
	}
	factory := informers.NewSharedInformerFactory(cs, storageResync)
	return c.runLoops(ctx, "the storage loops", factory,
		newProvisioner(c, cs, factory),
		newDeleter(c, cs, factory),
		newAttacher(c, cs, factory),
		newVolumeManager(c, cs, factory),
	)
}

// runLoops starts the factory's informers and the loops until Stop, and waits for the informers' first lists.
func (c *Cluster) runLoops(ctx context.Context, what string, factory informers.SharedInformerFactory, loops ...*loop) error {
	runCtx, cancel := context.WithCancel(context.Background())
	factory.Start(runCtx.Done())
	var wg sync.WaitGroup
	for _, l := range loops {
		wg.Go(func() { l.run(runCtx) })
	}
	c.mu.Lock()
	c.background = append(c.background, func() {
		cancel()
		factory.Shutdown()
		wg.Wait()
	})
	c.mu.Unlock()
	for typ, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return fmt.Errorf("%s did not list %v: %w", what, typ, ctx.Err())
		}
	}
	return nil
}

// stopBackground stops what startStorage started.
func (c *Cluster) stopBackground() {
	c.mu.Lock()
	background := c.background
	c.background = nil
	c.mu.Unlock()
	for _, stop := range background {
		stop()
	}
}

// enqueueNamed is an event handler that adds key(obj) to l, for objects where key says ok.
func enqueueNamed(l *loop, key func(obj any) (string, bool)) cache.ResourceEventHandlerFuncs {
	add := func(obj any) {
		if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = tomb.Obj
		}
		if k, ok := key(obj); ok {
			l.queue.Add(k)
		}
	}
	return cache.ResourceEventHandlerFuncs{AddFunc: add, UpdateFunc: func(_, obj any) { add(obj) }, DeleteFunc: add}
}
