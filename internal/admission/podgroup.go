package admission

import (
	"context"

	"k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/desired"
)

// +kubebuilder:webhook:path=/validate-peapod-io-v1alpha1-podgroup,mutating=false,failurePolicy=ignore,sideEffects=None,groups=peapod.io,resources=podgroups,verbs=create;update,versions=v1alpha1,name=podgroups.peapod.io,admissionReviewVersions=v1,timeoutSeconds=10

// PodGroupValidator refuses a PodGroup whose member Pod the API server would refuse.
type PodGroupValidator struct {
	// Client creates the dry-run Pods; it must reach the API server, not a cache.
	Client client.Client
}

var _ admission.Validator[*peapodv1alpha1.PodGroup] = &PodGroupValidator{}

// ValidateCreate checks the member Pod of a new group.
func (v *PodGroupValidator) ValidateCreate(ctx context.Context, g *peapodv1alpha1.PodGroup) (admission.Warnings, error) {
	return v.check(ctx, g)
}

// ValidateUpdate checks the member Pod when the spec changes. A write that leaves the spec alone (a finalizer,
// a label, a group being deleted) passes whatever its template: refusing it would keep peapod from finishing
// its own work on a group accepted while the webhook was down.
func (v *PodGroupValidator) ValidateUpdate(ctx context.Context, old, g *peapodv1alpha1.PodGroup) (admission.Warnings, error) {
	if g.DeletionTimestamp != nil || equality.Semantic.DeepEqual(old.Spec, g.Spec) {
		return nil, nil
	}
	return v.check(ctx, g)
}

// ValidateDelete lets every delete through.
func (v *PodGroupValidator) ValidateDelete(context.Context, *peapodv1alpha1.PodGroup) (admission.Warnings, error) {
	return nil, nil
}

// check builds the group's member of the highest ordinal (the longest names) as the reconciler would, and its
// claims, and has the API server judge them. Every member has that shape; only names and the ordinal differ.
func (v *PodGroupValidator) check(ctx context.Context, g *peapodv1alpha1.PodGroup) (admission.Warnings, error) {
	gk := peapodv1alpha1.GroupVersion.WithKind("PodGroup").GroupKind()
	ordinal := max(desired.Replicas(g)-1, 0)
	pod := desired.MemberPod(g, desired.ShapeOf(&g.Spec), ordinal)
	warnings, err := refusal(verdict(ctx, v.Client, pod), gk, g.Name, madeObject{"member Pod", pod.Name},
		templateField(&g.Spec, pod))
	if err != nil {
		return warnings, err
	}
	for i, claim := range desired.MemberClaims(g, ordinal) {
		more, err := refusal(verdict(ctx, v.Client, claim), gk, g.Name, madeObject{"claim", claim.Name},
			claimTemplateField(i))
		warnings = append(warnings, more...)
		if err != nil {
			return warnings, err
		}
	}
	return warnings, nil
}
