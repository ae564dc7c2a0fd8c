package admission

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/desired"
	"github.com/peapod-io/peapod/internal/migration"
)

// +kubebuilder:webhook:path=/validate-peapod-io-v1alpha1-podmigration,mutating=false,failurePolicy=ignore,sideEffects=None,groups=peapod.io,resources=podmigrations,verbs=create,versions=v1alpha1,name=podmigrations.peapod.io,admissionReviewVersions=v1,timeoutSeconds=10

// PodMigrationValidator refuses a PodMigration whose replacement Pod the API server would refuse: a target node
// selector or node name no Pod may carry.
type PodMigrationValidator struct {
	// Reader finds the group and the member's Pod (the manager's cache will do).
	Reader client.Reader
	// Client creates the dry-run Pods; it must reach the API server.
	Client client.Client
}

var _ admission.Validator[*peapodv1alpha1.PodMigration] = &PodMigrationValidator{}

// ValidateCreate checks the replacement the migration would start. A migration of a group or Pod that does not
// exist passes: it fails with a condition that says so, and the group may be created next.
func (v *PodMigrationValidator) ValidateCreate(ctx context.Context, m *peapodv1alpha1.PodMigration) (admission.Warnings, error) {
	var g peapodv1alpha1.PodGroup
	if err := v.Reader.Get(ctx, client.ObjectKey{Namespace: m.Namespace, Name: m.Spec.Group}, &g); err != nil {
		return nil, client.IgnoreNotFound(err)
	}
	ordinal, ok, err := v.ordinalOf(ctx, m)
	if err != nil || !ok {
		return nil, err
	}
	member := desired.MemberName(g.Name, ordinal)
	pod := desired.ReplacementPod(&g, desired.ShapeOf(&g.Spec), ordinal, migration.ReplacementName(member, m), m, nil)
	return refusal(verdict(ctx, v.Client, pod), peapodv1alpha1.GroupVersion.WithKind("PodMigration").GroupKind(),
		m.Name, madeObject{"replacement Pod", pod.Name}, targetField(m.Spec.Target))
}

func (v *PodMigrationValidator) ordinalOf(ctx context.Context, m *peapodv1alpha1.PodMigration) (int, bool, error) {
	if m.Spec.Member != nil {
		return int(*m.Spec.Member), true, nil
	}
	var pod corev1.Pod
	if err := v.Reader.Get(ctx, client.ObjectKey{Namespace: m.Namespace, Name: m.Spec.Pod}, &pod); err != nil {
		if apierrors.IsNotFound(err) {
			return 0, false, nil
		}
		return 0, false, err
	}
	ordinal, ok := desired.OrdinalOf(pod.Labels)
	return ordinal, ok, nil
}

// ValidateUpdate lets updates through: the spec is immutable (a CRD rule), status and metadata are peapod's.
func (v *PodMigrationValidator) ValidateUpdate(_ context.Context, _, _ *peapodv1alpha1.PodMigration) (admission.Warnings, error) {
	return nil, nil
}

// ValidateDelete lets every delete through.
func (v *PodMigrationValidator) ValidateDelete(context.Context, *peapodv1alpha1.PodMigration) (admission.Warnings, error) {
	return nil, nil
}
