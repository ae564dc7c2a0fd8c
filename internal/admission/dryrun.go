// Package admission is peapod's validating webhook: it builds the Pods a PodGroup or PodMigration makes with the
// builders the reconciler uses, and asks the API server to judge them with a server-side dry-run create, so a
// template the Pod API refuses is refused at `kubectl apply`, with the field named in the PodGroup.
package admission

import (
	"context"
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// verdict asks the API server what it would say to creating obj (a member Pod, a claim), and stores nothing
// (dryRun=All): the object's validation, its admission plugins (LimitRanger, ResourceQuota, PodSecurity) and
// other webhooks all judge it. The probe is named by generateName: the member itself may exist already, and its
// name would then only earn AlreadyExists.
func verdict[T client.Object](ctx context.Context, c client.Client, obj T) error {
	probe := obj.DeepCopyObject().(T)
	probe.SetGenerateName(obj.GetName() + "-")
	probe.SetName("")
	probe.SetOwnerReferences(nil)
	return c.Create(ctx, probe, client.DryRunAll)
}

// refusal turns the API server's verdict on a Pod into the answer for the object that makes it: the Pod's
// invalid fields become the object's (path maps a Pod field path to the object's), a Pod the namespace forbids
// (Pod Security, a LimitRange, a quota's required limits) forbids the object. What may pass on its own (a quota
// used up for now) or says nothing about the Pod (the API server did not answer) is let through with a warning:
// the reconciler reports it on the object's status if it lasts.
func refusal(err error, gk schema.GroupKind, name string, made madeObject, path func(string) string) (admission.Warnings, error) {
	if err == nil {
		return nil, nil
	}
	var apiStatus apierrors.APIStatus
	if !errors.As(err, &apiStatus) {
		return unchecked(err, made), nil
	}
	s := apiStatus.Status()
	generated := ""
	if s.Details != nil {
		generated = s.Details.Name
	}
	message := func(m string) string {
		if generated != "" {
			m = strings.ReplaceAll(m, generated, made.name)
		}
		return m
	}
	switch s.Reason {
	case metav1.StatusReasonInvalid:
		return nil, invalid(s, gk, name, made, path, message)
	case metav1.StatusReasonForbidden:
		if transient(s.Message) {
			return admission.Warnings{fmt.Sprintf("%s cannot be created now: %s", made, message(s.Message))}, nil
		}
		return nil, &apierrors.StatusError{ErrStatus: metav1.Status{
			Status: metav1.StatusFailure, Code: s.Code, Reason: metav1.StatusReasonForbidden,
			Details: &metav1.StatusDetails{Group: gk.Group, Kind: gk.Kind, Name: name},
			Message: fmt.Sprintf("%s %q is forbidden: its %s would be: %s", gk.Kind, name, made, message(s.Message)),
		}}
	default:
		return unchecked(err, made), nil
	}
}

func invalid(s metav1.Status, gk schema.GroupKind, name string, made madeObject, path func(string) string,
	message func(string) string) error {
	var causes []metav1.StatusCause
	if s.Details != nil {
		causes = s.Details.Causes
	}
	mapped := make([]metav1.StatusCause, 0, len(causes))
	lines := make([]string, 0, len(causes))
	for _, c := range causes {
		c.Field = path(c.Field)
		c.Message = message(c.Message)
		mapped = append(mapped, c)
		lines = append(lines, c.Field+": "+c.Message)
	}
	if len(lines) == 0 {
		lines = append(lines, message(s.Message))
	}
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status: metav1.StatusFailure, Code: s.Code, Reason: metav1.StatusReasonInvalid,
		Details: &metav1.StatusDetails{Group: gk.Group, Kind: gk.Kind, Name: name, Causes: mapped},
		Message: fmt.Sprintf("%s %q is invalid: its %s would be refused: %s", gk.Kind, name, made,
			strings.Join(lines, ", ")),
	}}
}

// transient tells a refusal that may pass on its own from one that never will: a quota used up for now (the Pod
// fits once others go; "must specify limits.cpu" never passes), or an object the Pod names that does not exist
// yet (a ServiceAccount, a PriorityClass, a RuntimeClass), which `kubectl apply` of a directory may create in the
// same run, after the group. A Deployment is accepted in both cases too.
func transient(message string) bool {
	for _, s := range []string{"exceeded quota", "status unknown for quota", "not found", "no PriorityClass with name"} {
		if strings.Contains(message, s) {
			return true
		}
	}
	return false
}

func unchecked(err error, made madeObject) admission.Warnings {
	return admission.Warnings{"peapod could not check the " + made.String() + " with the API server (" + err.Error() +
		"); if it is refused, the PodGroup's status says so"}
}

// madeObject is what peapod would make of the object under admission, as messages name it: "member Pod web-2".
type madeObject struct {
	kind string
	name string
}

func (m madeObject) String() string { return m.kind + " " + m.name }
