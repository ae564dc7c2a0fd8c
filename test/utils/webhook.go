package utils

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// PointWebhookAtLoopback sends a webhook configuration's calls to a manager on 127.0.0.1:port instead of its
// Service, under the name localhost (the manager's certificate must then be for it: WebhookArgs). The API server
// of a test cannot reach a Service: there is no kube-proxy.
func PointWebhookAtLoopback(ctx context.Context, c client.Client, name string, port int) error {
	var config admissionregistrationv1.ValidatingWebhookConfiguration
	if err := c.Get(ctx, client.ObjectKey{Name: name}, &config); err != nil {
		return err
	}
	for i := range config.Webhooks {
		cc := &config.Webhooks[i].ClientConfig
		if cc.Service != nil {
			cc.URL = ptr.To(fmt.Sprintf("https://localhost:%d%s", port, ptr.Deref(cc.Service.Path, "")))
			cc.Service = nil
		}
	}
	return c.Update(ctx, &config)
}

// InstalledManagerArgs are the flags an installed Deployment gives the manager, but for where it listens: the
// probes and metrics are StartManagerProcess's to bind on loopback, and the webhook listens on 127.0.0.1:port,
// with its certificate in certDir and for localhost too.
func InstalledManagerArgs(d *appsv1.Deployment, namespace string, port int, certDir string) []string {
	var args []string
	for _, arg := range d.Spec.Template.Spec.Containers[0].Args {
		if !strings.HasPrefix(arg, "--health-probe-bind-address") && !strings.HasPrefix(arg, "--metrics-") {
			args = append(args, arg)
		}
	}
	return append(args, "--webhook-host=127.0.0.1", fmt.Sprintf("--webhook-port=%d", port),
		"--webhook-cert-dir="+certDir, "--webhook-namespace="+namespace, "--webhook-extra-dns-names=localhost")
}

// WaitListening waits until something accepts connections on 127.0.0.1:port.
func WaitListening(ctx context.Context, port int, timeout time.Duration) error {
	return wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
		conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			_ = conn.Close()
		}
		return err == nil, nil
	})
}
