package test

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestMetricsService(t *testing.T) {
	for name, tc := range map[string]struct {
		values   string
		wantPort corev1.ServicePort
	}{
		"secure by default": {
			values:   "",
			wantPort: corev1.ServicePort{Name: "https", Port: 8443, TargetPort: intstr.FromString("https"), Protocol: corev1.ProtocolTCP},
		},
		"plain HTTP": {
			values:   "metrics: {port: 8080, secure: false}",
			wantPort: corev1.ServicePort{Name: "http", Port: 8080, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP},
		},
	} {
		t.Run(name, func(t *testing.T) {
			r := mustRender(t, tc.values)
			svc := get[corev1.Service](t, r, "Service", fullname+"-metrics")
			if diff := cmp.Diff([]corev1.ServicePort{tc.wantPort}, svc.Spec.Ports); diff != "" {
				t.Errorf("ports (-want +got):\n%s", diff)
			}
			d, c := manager(t, r)
			wantContainerPort := []corev1.ContainerPort{{Name: tc.wantPort.Name, ContainerPort: tc.wantPort.Port}, webhookPort}
			if diff := cmp.Diff(wantContainerPort, c.Ports); diff != "" {
				t.Errorf("the manager's ports (-want +got):\n%s", diff)
			}
			for k, v := range svc.Spec.Selector {
				if d.Spec.Template.Labels[k] != v {
					t.Errorf("the Service selects %s=%s, which the manager's pods lack: %v", k, v, d.Spec.Template.Labels)
				}
			}
			// Only the secure endpoint asks the API server to authenticate and authorize its callers.
			for _, role := range []string{fullname + "-metrics-auth", fullname + "-metrics-reader"} {
				if got, want := r.has("ClusterRole", role), tc.wantPort.Name == "https"; got != want {
					t.Errorf("ClusterRole %s rendered = %t, want %t", role, got, want)
				}
			}
		})
	}
}

func TestMetricsDisabled(t *testing.T) {
	r := mustRender(t, "metrics: {enabled: false}")
	_, c := manager(t, r)
	if !slices.Contains(c.Args, "--metrics-bind-address=0") || !slices.Equal(c.Ports, []corev1.ContainerPort{webhookPort}) {
		t.Errorf("args %q, ports %v: want the endpoint off (--metrics-bind-address=0) and only the webhook's port", c.Args, c.Ports)
	}
	for _, key := range []string{"Service/peapod-metrics", "ClusterRole/peapod-metrics-auth", "ClusterRoleBinding/peapod-metrics-auth"} {
		if _, ok := r.objects[key]; ok {
			t.Errorf("%s is rendered with metrics disabled", key)
		}
	}
}

func TestServiceMonitor(t *testing.T) {
	for name, tc := range map[string]struct {
		values string
		// wantEndpoint is nil when no ServiceMonitor is wanted.
		wantEndpoint map[string]any
		wantLabel    string
	}{
		"off by default": {values: ""},
		"secure metrics": {
			values: "serviceMonitor: {enabled: true, labels: {release: kube-prometheus-stack}}",
			wantEndpoint: map[string]any{
				"port": "https", "scheme": "https", "path": "/metrics", "interval": "30s",
				"bearerTokenFile": "/var/run/secrets/kubernetes.io/serviceaccount/token",
				"tlsConfig":       map[string]any{"insecureSkipVerify": true},
			},
			wantLabel: "kube-prometheus-stack",
		},
		"plain HTTP metrics": {
			values:       "serviceMonitor: {enabled: true, interval: 1m}\nmetrics: {secure: false}",
			wantEndpoint: map[string]any{"port": "http", "scheme": "http", "path": "/metrics", "interval": "1m"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			r := mustRender(t, tc.values)
			monitor, ok := r.objects[objectKey("ServiceMonitor", fullname)]
			if !ok {
				if tc.wantEndpoint != nil {
					t.Fatalf("no ServiceMonitor rendered; rendered: %v", r.order)
				}
				return
			}
			if tc.wantEndpoint == nil {
				t.Fatal("a ServiceMonitor is rendered")
			}
			if monitor.GetAPIVersion() != "monitoring.coreos.com/v1" {
				t.Errorf("apiVersion = %s, want monitoring.coreos.com/v1", monitor.GetAPIVersion())
			}
			endpoints, _, _ := unstructured.NestedSlice(monitor.Object, "spec", "endpoints")
			if diff := cmp.Diff([]any{tc.wantEndpoint}, endpoints); diff != "" {
				t.Errorf("endpoints (-want +got):\n%s", diff)
			}
			if got := monitor.GetLabels()["release"]; got != tc.wantLabel {
				t.Errorf("label release = %q, want %q", got, tc.wantLabel)
			}
			selector, _, _ := unstructured.NestedStringMap(monitor.Object, "spec", "selector", "matchLabels")
			svc := r.objects[objectKey("Service", fullname+"-metrics")]
			for k, v := range selector {
				if svc.GetLabels()[k] != v {
					t.Errorf("the ServiceMonitor selects %s=%s, which the metrics Service lacks: %v", k, v, svc.GetLabels())
				}
			}
		})
	}
}

func TestServiceMonitorWithoutMetricsIsRefused(t *testing.T) {
	_, err := render("serviceMonitor: {enabled: true}\nmetrics: {enabled: false}")
	if want := "serviceMonitor.enabled: needs metrics.enabled"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error = %v, want one saying %q", err, want)
	}
}
