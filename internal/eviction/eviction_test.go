package eviction

import (
	"testing"
	"time"

	lifecyclev1alpha1 "k8s.io/api/lifecycle/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
)

var now = time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)

// handed is an Eviction of Pod uid-1 whose responders are peapod (in state) then the imperative evictor;
// peapod's last report was heartbeat ago with the message given (none when heartbeat is 0).
func handed(state lifecyclev1alpha1.ResponderStateType, heartbeat time.Duration, message string) *lifecyclev1alpha1.Eviction {
	ev := &lifecyclev1alpha1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: "uid-1"}}
	ev.Spec.Target.Pod = &lifecyclev1alpha1.EvictionPodReference{Name: "web-1", UID: "uid-1"}
	ev.Status.TargetResponders = []lifecyclev1alpha1.TargetResponder{
		{Name: peapodv1alpha1.EvictionResponder, Priority: ptr.To[int32](10000), State: state},
		{Name: lifecyclev1alpha1.EvictionResponderImperativeEviction, Priority: ptr.To[int32](100), State: lifecyclev1alpha1.ResponderStateInactive},
	}
	ours := lifecyclev1alpha1.ResponderStatus{Name: peapodv1alpha1.EvictionResponder, StartTime: ptr.To(metav1.NewTime(now.Add(-time.Hour)))}
	if heartbeat > 0 {
		ours.HeartbeatTime, ours.Message = ptr.To(metav1.NewTime(now.Add(-heartbeat))), ptr.To(message)
	}
	ev.Status.Responders = []lifecyclev1alpha1.ResponderStatus{ours, {Name: lifecyclev1alpha1.EvictionResponderImperativeEviction}}
	return ev
}

func TestAsks(t *testing.T) {
	active := handed(lifecyclev1alpha1.ResponderStateActive, 0, "")
	evicted := active.DeepCopy()
	evicted.Status.Conditions = []metav1.Condition{{Type: string(lifecyclev1alpha1.EvictionConditionTargetEvicted), Status: metav1.ConditionTrue}}
	others := active.DeepCopy()
	others.Status.TargetResponders[0].Name = "example.com/other"
	cases := map[string]struct {
		ev   *lifecyclev1alpha1.Eviction
		want bool
	}{
		"peapod active":                         {ev: active, want: true},
		"peapod not yet active":                 {ev: handed(lifecyclev1alpha1.ResponderStateInactive, 0, "")},
		"peapod canceled (withdrawn)":           {ev: handed(lifecyclev1alpha1.ResponderStateCanceled, 0, "")},
		"peapod interrupted (missed heartbeat)": {ev: handed(lifecyclev1alpha1.ResponderStateInterrupted, 0, "")},
		"the target evicted":                    {ev: evicted},
		"peapod not a responder":                {ev: others},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := Asks(tc.ev); got != tc.want {
				t.Errorf("Asks = %v, want %v", got, tc.want)
			}
			if got := AskedFor([]*lifecyclev1alpha1.Eviction{tc.ev})["uid-1"] != nil; got != tc.want {
				t.Errorf("AskedFor has uid-1 = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestReport(t *testing.T) {
	active := lifecyclev1alpha1.ResponderStateActive
	cases := map[string]struct {
		ev        *lifecyclev1alpha1.Eviction
		progress  Progress
		wantWrite bool
		wantNil   bool
	}{
		"first report":                         {ev: handed(active, 0, ""), progress: Progress{Message: "moving"}, wantWrite: true},
		"same message 5 s later: no write":     {ev: handed(active, 5*time.Second, "moving"), progress: Progress{Message: "moving"}},
		"new message 5 s later: waits":         {ev: handed(active, 5*time.Second, "moving"), progress: Progress{Message: "waiting"}},
		"new message 25 s later: written":      {ev: handed(active, 25*time.Second, "moving"), progress: Progress{Message: "waiting"}, wantWrite: true},
		"same message a minute later: renewed": {ev: handed(active, time.Minute, "moving"), progress: Progress{Message: "moving"}, wantWrite: true},
		"done 1 s later: written at once":      {ev: handed(active, time.Second, "moving"), progress: Progress{Message: "moved", Done: true}, wantWrite: true},
		"peapod canceled: nothing to report":   {ev: handed(lifecyclev1alpha1.ResponderStateCanceled, time.Minute, "moving"), wantNil: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			rs, write := Report(tc.ev, tc.progress, now)
			if (rs == nil) != tc.wantNil || write != tc.wantWrite {
				t.Fatalf("Report = %+v, %v; want nil %v, write %v", rs, write, tc.wantNil, tc.wantWrite)
			}
			if rs == nil {
				return
			}
			if rs.Name != peapodv1alpha1.EvictionResponder || !rs.HeartbeatTime.Time.Equal(now) || *rs.Message != tc.progress.Message {
				t.Errorf("report %+v: want peapod's, heartbeat now, the message", rs)
			}
			if (rs.CompletionTime != nil) != tc.progress.Done {
				t.Errorf("completionTime %v, done %v", rs.CompletionTime, tc.progress.Done)
			}
			if rs.StartTime != nil {
				t.Error("the report sets startTime: it is the evictionrequest controller's")
			}
		})
	}
	t.Run("a message longer than the API holds is cut", func(t *testing.T) {
		long := make([]byte, MaxMessage+10)
		for i := range long {
			long[i] = 'x'
		}
		rs, _ := Report(handed(active, 0, ""), Progress{Message: string(long)}, now)
		if len(*rs.Message) != MaxMessage {
			t.Errorf("message of %d characters", len(*rs.Message))
		}
	})
}
