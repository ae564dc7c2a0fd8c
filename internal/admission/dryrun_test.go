package admission

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestRefusal(t *testing.T) {
	podGroups := schema.GroupKind{Group: "peapod.io", Kind: "PodGroup"}
	pods := schema.GroupResource{Resource: "pods"}
	path := func(f string) string { return "spec.template." + f }
	invalidPod := apierrors.NewInvalid(schema.GroupKind{Kind: "Pod"}, "web-2-x7k2p", field.ErrorList{
		field.Required(field.NewPath("spec", "containers").Index(0).Child("image"), ""),
		field.Invalid(field.NewPath("spec", "hostname"), "web-2-x7k2p", "bad"),
	})
	for name, tc := range map[string]struct {
		err         error
		wantReason  metav1.StatusReason
		wantCauses  []string
		wantMessage string
		wantWarning string
	}{
		"accepted": {err: nil},
		"invalid: every field is the group's, the probe's name the member's": {
			err:         invalidPod,
			wantReason:  metav1.StatusReasonInvalid,
			wantCauses:  []string{"spec.template.spec.containers[0].image", "spec.template.spec.hostname"},
			wantMessage: `PodGroup "web" is invalid: its member Pod web-2 would be refused: spec.template.spec.containers[0].image: Required value, spec.template.spec.hostname: Invalid value: "web-2": bad`,
		},
		"forbidden by Pod Security": {
			err:         apierrors.NewForbidden(pods, "web-2-x7k2p", errors.New(`violates PodSecurity "restricted:latest": runAsNonRoot != true`)),
			wantReason:  metav1.StatusReasonForbidden,
			wantMessage: `PodGroup "web" is forbidden: its member Pod web-2 would be: pods "web-2" is forbidden: violates PodSecurity "restricted:latest": runAsNonRoot != true`,
		},
		"a quota that a must-specify refuses for good": {
			err:         apierrors.NewForbidden(pods, "web-2-x7k2p", errors.New("failed quota: q: must specify limits.cpu for: app")),
			wantReason:  metav1.StatusReasonForbidden,
			wantMessage: "must specify limits.cpu",
		},
		"a quota used up for now passes with a warning": {
			err:         apierrors.NewForbidden(pods, "web-2-x7k2p", errors.New("exceeded quota: q, requested: pods=1, used: pods=10, limited: pods=10")),
			wantWarning: "member Pod web-2 cannot be created now",
		},
		"an API server that does not answer passes with a warning": {
			err:         apierrors.NewTimeoutError("slow", 1),
			wantWarning: "could not check the member Pod",
		},
		"not an API error": {
			err:         errors.New("connection refused"),
			wantWarning: "connection refused",
		},
	} {
		t.Run(name, func(t *testing.T) {
			warnings, err := refusal(tc.err, podGroups, "web", madeObject{"member Pod", "web-2"}, path)
			if tc.wantWarning != "" {
				if err != nil || len(warnings) != 1 || !strings.Contains(warnings[0], tc.wantWarning) {
					t.Errorf("got %v, warnings %q: want it let through with a warning about %q", err, warnings, tc.wantWarning)
				}
				return
			}
			if tc.wantReason == "" {
				if err != nil || len(warnings) > 0 {
					t.Errorf("got %v, warnings %q: want it let through", err, warnings)
				}
				return
			}
			var status apierrors.APIStatus
			if !errors.As(err, &status) {
				t.Fatalf("got %v: want an API status", err)
			}
			s := status.Status()
			if s.Reason != tc.wantReason || s.Details.Kind != "PodGroup" || s.Details.Name != "web" {
				t.Errorf("reason %s, details %+v: want %s of PodGroup web", s.Reason, s.Details, tc.wantReason)
			}
			var fields []string
			for _, c := range s.Details.Causes {
				fields = append(fields, c.Field)
			}
			if diff := cmp.Diff(tc.wantCauses, fields); diff != "" {
				t.Errorf("causes' fields (-want +got):\n%s", diff)
			}
			if !strings.Contains(s.Message, tc.wantMessage) {
				t.Errorf("message %q, want it to contain %q", s.Message, tc.wantMessage)
			}
		})
	}
}
