package admission

import (
	ctrl "sigs.k8s.io/controller-runtime"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
)

// SetupWithManager serves both webhooks from the manager's webhook server.
func SetupWithManager(mgr ctrl.Manager) error {
	err := ctrl.NewWebhookManagedBy(mgr, &peapodv1alpha1.PodGroup{}).
		WithValidator(&PodGroupValidator{Client: mgr.GetClient()}).
		Complete()
	if err != nil {
		return err
	}
	return ctrl.NewWebhookManagedBy(mgr, &peapodv1alpha1.PodMigration{}).
		WithValidator(&PodMigrationValidator{Reader: mgr.GetClient(), Client: mgr.GetClient()}).
		Complete()
}
