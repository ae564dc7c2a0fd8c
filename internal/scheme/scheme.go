// Package scheme is the one runtime.Scheme peapod's manager, tests and benchmarks use: the built-in kinds and
// peapod's own.
package scheme

import (
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
)

// New returns a scheme that knows the built-in kinds and peapod's.
func New() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(peapodv1alpha1.AddToScheme(s))
	return s
}
