package utils

import (
	"context"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/peapod-io/peapod/internal/nodehealth"
)

// Fence puts the out-of-service taint on a node, as an administrator or a fencing agent does once it knows the
// machine is off. It goes through the API, not kubectl, so the moment it returns is the moment it took effect.
func Fence(ctx context.Context, cs kubernetes.Interface, name string) error {
	return updateTaints(ctx, cs, name, func(taints []corev1.Taint) []corev1.Taint {
		return append(withoutOutOfService(taints), corev1.Taint{
			Key: nodehealth.OutOfServiceTaint, Value: "nodeshutdown", Effect: corev1.TaintEffectNoExecute,
		})
	})
}

// Unfence removes the out-of-service taint, as the administrator does once the machine is back.
func Unfence(ctx context.Context, cs kubernetes.Interface, name string) error {
	return updateTaints(ctx, cs, name, withoutOutOfService)
}

func withoutOutOfService(taints []corev1.Taint) []corev1.Taint {
	return slices.DeleteFunc(taints, func(t corev1.Taint) bool { return t.Key == nodehealth.OutOfServiceTaint })
}

func updateTaints(ctx context.Context, cs kubernetes.Interface, name string, change func([]corev1.Taint) []corev1.Taint) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		node, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		node.Spec.Taints = change(node.Spec.Taints)
		_, err = cs.CoreV1().Nodes().Update(ctx, node, metav1.UpdateOptions{})
		return err
	})
}
