package cluster

import (
	"context"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	lifecyclev1alpha1 "k8s.io/api/lifecycle/v1alpha1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	lifecyclelisters "k8s.io/client-go/listers/lifecycle/v1alpha1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
)

// The EvictionRequest API (lifecycle.k8s.io/v1alpha1, feature gate EvictionRequestAPI) is served by Kubernetes
// 1.37's kube-apiserver, which also enforces the Eviction's state machine in its status validation, but 1.37's
// kube-controller-manager has no evictionrequest controller yet. Where Options.EvictionRequestAPI is set, a
// goroutine of the test process plays it, as the KEP and the API's documentation describe it: one Eviction per
// target Pod, its responders (the Pod's spec.evictionResponders and the imperative evictor) made active one at a
// time by priority, the next one once the active one reports completion or misses its 20-minute heartbeat, a
// cancellation once every requester has withdrawn, and the imperative evictor's calls of pods/eviction.
// Not played: an Eviction reset by a new request after it failed, and the garbage collection delay.
const (
	// ImperativeEvictor is Kubernetes' last responder of every Pod's Eviction: it calls pods/eviction.
	ImperativeEvictor = lifecyclev1alpha1.EvictionResponderImperativeEviction
	// evictionHeartbeatDeadline is how long an active responder may go without a heartbeat.
	evictionHeartbeatDeadline = 20 * time.Minute
	// evictionRecheck is how often an Eviction in progress is looked at without an event: heartbeats, and the
	// imperative evictor's retries.
	evictionRecheck    = 5 * time.Second
	imperativePriority = 100
	// reportGrace is how long after its target is gone the active responder may still report completion before
	// it is marked interrupted: a responder that deleted the Pod itself reports once it sees it gone, and that
	// report and the Pod's deletion reach this controller in either order. (The API leaves the order open.)
	reportGrace = 10 * time.Second
)

// startEvictionRequests starts the evictionrequest controller's stand-in; it runs until Stop.
func (c *Cluster) startEvictionRequests(ctx context.Context) error {
	cfg := rest.CopyConfig(c.Config)
	cfg.UserAgent = "evictionrequest-controller-sim"
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	factory := informers.NewSharedInformerFactory(cs, 0)
	e := &evictionRequests{
		cs:        cs,
		requests:  factory.Lifecycle().V1alpha1().EvictionRequests().Lister(),
		evictions: factory.Lifecycle().V1alpha1().Evictions().Lister(),
		pods:      factory.Core().V1().Pods().Lister(),
		goneSince: map[string]time.Time{},
	}
	e.loop = newLoop("evictionrequest-controller", c.logf, e.sync)
	keyOfRequest := func(obj any) (string, bool) {
		r, ok := obj.(*lifecyclev1alpha1.EvictionRequest)
		if !ok || r.Spec.Target.Pod == nil {
			return "", false
		}
		return targetKey(r.Namespace, r.Spec.Target.Pod.Name, r.Spec.Target.Pod.UID), true
	}
	keyOfEviction := func(obj any) (string, bool) {
		ev, ok := obj.(*lifecyclev1alpha1.Eviction)
		if !ok || ev.Spec.Target.Pod == nil {
			return "", false
		}
		return targetKey(ev.Namespace, ev.Spec.Target.Pod.Name, ev.Spec.Target.Pod.UID), true
	}
	keyOfPod := func(obj any) (string, bool) {
		pod, ok := obj.(*corev1.Pod)
		if !ok {
			return "", false
		}
		// Only Pods some request targets: every other Pod's events are none of this controller's business.
		if _, err := e.evictions.Evictions(pod.Namespace).Get(string(pod.UID)); err != nil {
			return "", false
		}
		return targetKey(pod.Namespace, pod.Name, pod.UID), true
	}
	if _, err := factory.Lifecycle().V1alpha1().EvictionRequests().Informer().AddEventHandler(enqueueNamed(e.loop, keyOfRequest)); err != nil {
		return err
	}
	if _, err := factory.Lifecycle().V1alpha1().Evictions().Informer().AddEventHandler(enqueueNamed(e.loop, keyOfEviction)); err != nil {
		return err
	}
	if _, err := factory.Core().V1().Pods().Informer().AddEventHandler(enqueueNamed(e.loop, keyOfPod)); err != nil {
		return err
	}
	return c.runLoops(ctx, "the evictionrequest controller", factory, e.loop)
}

func targetKey(namespace, pod string, uid types.UID) string {
	return namespace + "/" + pod + "/" + string(uid)
}

type evictionRequests struct {
	cs        kubernetes.Interface
	requests  lifecyclelisters.EvictionRequestLister
	evictions lifecyclelisters.EvictionLister
	pods      corelisters.PodLister
	loop      *loop
	// goneSince is when each key's target was first seen gone (one worker: no lock).
	goneSince map[string]time.Time
}

// sync brings the Eviction of one target Pod (named by the Pod's UID) in line with its EvictionRequests.
func (e *evictionRequests) sync(ctx context.Context, key string) error {
	parts := strings.SplitN(key, "/", 3)
	namespace, podName, uid := parts[0], parts[1], types.UID(parts[2])
	all, err := e.requests.EvictionRequests(namespace).List(labels.Everything())
	if err != nil {
		return err
	}
	requests := slices.DeleteFunc(all, func(r *lifecyclev1alpha1.EvictionRequest) bool {
		return r.Spec.Target.Pod == nil || r.Spec.Target.Pod.UID != uid
	})
	ev, err := e.evictions.Evictions(namespace).Get(string(uid))
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	if len(requests) == 0 {
		delete(e.goneSince, key)
		if ev != nil {
			// Every request is gone: the Eviction is garbage.
			err := e.cs.LifecycleV1alpha1().Evictions(namespace).Delete(ctx, ev.Name, metav1.DeleteOptions{})
			return client404(err)
		}
		return nil
	}
	pod, err := e.pods.Pods(namespace).Get(podName)
	if err != nil || pod.UID != uid {
		pod = nil
	}
	if ev == nil {
		if pod == nil || !slices.ContainsFunc(requests, wantsEviction) {
			return nil
		}
		return e.create(ctx, pod, requests)
	}
	now := time.Now()
	if pod == nil {
		if _, seen := e.goneSince[key]; !seen {
			e.goneSince[key] = now
		}
	} else {
		delete(e.goneSince, key)
	}
	conditions := ev.Status.Conditions
	if !evictionOver(conditions) {
		if pod == nil && !activeReported(ev) && now.Sub(e.goneSince[key]) < reportGrace {
			e.loop.queue.AddAfter(key, time.Second)
			return nil
		}
		next := nextStatus(ev, pod, requests, now)
		e.evictIfImperative(ctx, next, pod)
		if !equality.Semantic.DeepEqual(ev.Status, *next) {
			updated := ev.DeepCopy()
			updated.Status = *next
			if _, err := e.cs.LifecycleV1alpha1().Evictions(namespace).UpdateStatus(ctx, updated, metav1.UpdateOptions{}); err != nil {
				return err
			}
		}
		conditions = next.Conditions
		if !evictionOver(conditions) {
			// Heartbeats to check, or the imperative evictor's next try.
			e.loop.queue.AddAfter(key, evictionRecheck)
		}
	}
	return e.mirror(ctx, requests, conditions)
}

func client404(err error) error {
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

func wantsEviction(r *lifecyclev1alpha1.EvictionRequest) bool {
	return r.Spec.Intent == lifecyclev1alpha1.EvictionRequestIntentEviction
}

func evictionOver(conditions []metav1.Condition) bool {
	return meta.IsStatusConditionTrue(conditions, string(lifecyclev1alpha1.EvictionConditionTargetEvicted)) ||
		meta.IsStatusConditionTrue(conditions, string(lifecyclev1alpha1.EvictionConditionFailed))
}

// create makes the target's Eviction, labelled with every participant's role, and its first status.
func (e *evictionRequests) create(ctx context.Context, pod *corev1.Pod, requests []*lifecyclev1alpha1.EvictionRequest) error {
	roles := map[string]lifecyclev1alpha1.EvictionParticipantRole{}
	for _, r := range requests {
		roles[r.Spec.Requester] = lifecyclev1alpha1.EvictionParticipantRoleRequester
	}
	for _, r := range respondersOf(pod) {
		if roles[r.Name] == lifecyclev1alpha1.EvictionParticipantRoleRequester {
			roles[r.Name] = lifecyclev1alpha1.EvictionParticipantRoleRequesterResponder
		} else {
			roles[r.Name] = lifecyclev1alpha1.EvictionParticipantRoleResponder
		}
	}
	ev := &lifecyclev1alpha1.Eviction{
		ObjectMeta: metav1.ObjectMeta{Name: string(pod.UID), Namespace: pod.Namespace, Labels: map[string]string{}},
		Spec: lifecyclev1alpha1.EvictionSpec{Target: lifecyclev1alpha1.EvictionTarget{
			Pod: &lifecyclev1alpha1.EvictionPodReference{Name: pod.Name, UID: pod.UID},
		}},
	}
	for name, role := range roles {
		ev.Labels[name] = string(role)
	}
	created, err := e.cs.LifecycleV1alpha1().Evictions(pod.Namespace).Create(ctx, ev, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	if err != nil {
		return err
	}
	created.Status = *nextStatus(created, pod, requests, time.Now())
	_, err = e.cs.LifecycleV1alpha1().Evictions(pod.Namespace).UpdateStatus(ctx, created, metav1.UpdateOptions{})
	return err
}

// respondersOf are the Pod's responders and the imperative evictor, highest priority first (priority, then the
// domain's labels from the top, as the API orders them; names here differ in their top domains).
func respondersOf(pod *corev1.Pod) []lifecyclev1alpha1.TargetResponder {
	out := make([]lifecyclev1alpha1.TargetResponder, 0, len(pod.Spec.EvictionResponders)+1)
	out = append(out, lifecyclev1alpha1.TargetResponder{Name: ImperativeEvictor, Priority: ptr.To(int32(imperativePriority))})
	for _, r := range pod.Spec.EvictionResponders {
		out = append(out, lifecyclev1alpha1.TargetResponder{Name: r.Name, Priority: ptr.To(ptr.Deref(r.Priority, 0))})
	}
	slices.SortStableFunc(out, func(a, b lifecyclev1alpha1.TargetResponder) int {
		if *a.Priority != *b.Priority {
			return int(*b.Priority - *a.Priority)
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

// nextStatus is the Eviction's status after what the controller sees now: the requesters' intents, the target,
// the active responder's report.
func nextStatus(ev *lifecyclev1alpha1.Eviction, pod *corev1.Pod, requests []*lifecyclev1alpha1.EvictionRequest,
	now time.Time) *lifecyclev1alpha1.EvictionStatus {
	st := ev.Status.DeepCopy()
	st.ObservedGeneration = ptr.To(max(ev.Generation, 1))
	st.Requesters = nil
	for _, r := range requests {
		st.Requesters = append(st.Requesters, lifecyclev1alpha1.Requester{
			Name: r.Spec.Requester, Intent: lifecyclev1alpha1.RequesterIntent(r.Spec.Intent),
		})
	}
	slices.SortFunc(st.Requesters, func(a, b lifecyclev1alpha1.Requester) int { return strings.Compare(a.Name, b.Name) })
	stamp := ptr.To(metav1.NewTime(now))
	if len(st.TargetResponders) == 0 {
		if pod == nil {
			return st
		}
		for i, r := range respondersOf(pod) {
			r.State = lifecyclev1alpha1.ResponderStateInactive
			status := lifecyclev1alpha1.ResponderStatus{Name: r.Name}
			if i == 0 {
				r.State, status.StartTime = lifecyclev1alpha1.ResponderStateActive, stamp
			}
			st.TargetResponders = append(st.TargetResponders, r)
			st.Responders = append(st.Responders, status)
		}
	}
	active := slices.IndexFunc(st.TargetResponders, func(r lifecyclev1alpha1.TargetResponder) bool {
		return r.State == lifecyclev1alpha1.ResponderStateActive
	})
	report := func(i int) *lifecyclev1alpha1.ResponderStatus {
		for j := range st.Responders {
			if st.Responders[j].Name == st.TargetResponders[i].Name {
				return &st.Responders[j]
			}
		}
		return &lifecyclev1alpha1.ResponderStatus{}
	}
	end := func(state lifecyclev1alpha1.ResponderStateType) {
		if active >= 0 {
			st.TargetResponders[active].State = state
		}
	}
	condition := func(typ lifecyclev1alpha1.EvictionConditionType, reason lifecyclev1alpha1.EvictionConditionReason, message string) {
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: string(typ), Status: metav1.ConditionTrue,
			Reason: string(reason), Message: message, LastTransitionTime: *stamp, ObservedGeneration: *st.ObservedGeneration})
	}
	switch {
	case pod == nil || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed:
		if active >= 0 && report(active).CompletionTime != nil {
			end(lifecyclev1alpha1.ResponderStateCompleted)
		} else {
			end(lifecyclev1alpha1.ResponderStateInterrupted)
		}
		reason := lifecyclev1alpha1.EvictionConditionReasonPodDeleted
		if pod != nil {
			reason = lifecyclev1alpha1.EvictionConditionReasonPodTerminal
		}
		condition(lifecyclev1alpha1.EvictionConditionTargetEvicted, reason, "the target Pod is gone")
	case !slices.ContainsFunc(requests, wantsEviction):
		end(lifecyclev1alpha1.ResponderStateCanceled)
		condition(lifecyclev1alpha1.EvictionConditionFailed, lifecyclev1alpha1.EvictionConditionReasonCanceledDueToNoRequesters,
			"every requester withdrew")
	case active < 0:
	case report(active).CompletionTime != nil:
		end(lifecyclev1alpha1.ResponderStateCompleted)
		activateNext(st, active, stamp, condition)
	case now.After(lastHeard(report(active)).Add(evictionHeartbeatDeadline)):
		end(lifecyclev1alpha1.ResponderStateInterrupted)
		activateNext(st, active, stamp, condition)
	}
	return st
}

// activateNext makes the responder after the one that ended active, or fails the Eviction when there is none.
func activateNext(st *lifecyclev1alpha1.EvictionStatus, ended int, stamp *metav1.Time,
	condition func(lifecyclev1alpha1.EvictionConditionType, lifecyclev1alpha1.EvictionConditionReason, string)) {
	if ended+1 >= len(st.TargetResponders) {
		condition(lifecyclev1alpha1.EvictionConditionFailed, lifecyclev1alpha1.EvictionConditionReasonNoFurtherResponder,
			"no responder evicted the target")
		return
	}
	next := &st.TargetResponders[ended+1]
	next.State = lifecyclev1alpha1.ResponderStateActive
	for j := range st.Responders {
		if st.Responders[j].Name == next.Name {
			st.Responders[j].StartTime = stamp
		}
	}
}

// activeReported says the Eviction has no active responder, or the active one reported its completion.
func activeReported(ev *lifecyclev1alpha1.Eviction) bool {
	for _, t := range ev.Status.TargetResponders {
		if t.State != lifecyclev1alpha1.ResponderStateActive {
			continue
		}
		for _, r := range ev.Status.Responders {
			if r.Name == t.Name {
				return r.CompletionTime != nil
			}
		}
	}
	return true
}

func lastHeard(r *lifecyclev1alpha1.ResponderStatus) time.Time {
	switch {
	case r.HeartbeatTime != nil:
		return r.HeartbeatTime.Time
	case r.StartTime != nil:
		return r.StartTime.Time
	}
	return time.Time{}
}

// evictIfImperative plays the imperative evictor once it is the active responder: it calls pods/eviction, which
// the Pod's budget may refuse, and says so in its message; the Eviction's recheck tries again.
func (e *evictionRequests) evictIfImperative(ctx context.Context, st *lifecyclev1alpha1.EvictionStatus, pod *corev1.Pod) {
	if pod == nil || pod.DeletionTimestamp != nil || evictionOver(st.Conditions) {
		return
	}
	i := slices.IndexFunc(st.TargetResponders, func(r lifecyclev1alpha1.TargetResponder) bool {
		return r.Name == ImperativeEvictor && r.State == lifecyclev1alpha1.ResponderStateActive
	})
	if i < 0 {
		return
	}
	err := e.cs.CoreV1().Pods(pod.Namespace).EvictV1(ctx, &policyv1.Eviction{
		ObjectMeta:    metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace},
		DeleteOptions: &metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &pod.UID}},
	})
	message := "evicted " + pod.Name
	if err != nil {
		message = "pods/eviction refused: " + err.Error()
	}
	for j := range st.Responders {
		if st.Responders[j].Name == ImperativeEvictor {
			st.Responders[j].Message = ptr.To(message)
			st.Responders[j].HeartbeatTime = ptr.To(metav1.Now())
		}
	}
}

// mirror copies the Eviction's final conditions into each request's status.
func (e *evictionRequests) mirror(ctx context.Context, requests []*lifecyclev1alpha1.EvictionRequest, conditions []metav1.Condition) error {
	for _, r := range requests {
		next := r.DeepCopy()
		for _, c := range conditions {
			meta.SetStatusCondition(&next.Status.Conditions, metav1.Condition{Type: c.Type, Status: c.Status, Reason: c.Reason,
				Message: c.Message, LastTransitionTime: c.LastTransitionTime, ObservedGeneration: max(r.Generation, 1)})
		}
		next.Status.ObservedGeneration = ptr.To(max(r.Generation, 1))
		if equality.Semantic.DeepEqual(next.Status, r.Status) {
			continue
		}
		if _, err := e.cs.LifecycleV1alpha1().EvictionRequests(r.Namespace).UpdateStatus(ctx, next, metav1.UpdateOptions{}); err != nil {
			return err
		}
	}
	return nil
}
