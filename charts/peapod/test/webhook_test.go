package test

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/utils/ptr"
)

// webhookPort is the manager's webhook port with the chart's defaults.
var webhookPort = corev1.ContainerPort{Name: "webhook", ContainerPort: 9443}

// The webhook configuration is the one controller-gen generates from internal/admission (config/webhook), pointed
// at the release's Service, with the failure policy and timeout the values give.
func TestWebhookIsConfigs(t *testing.T) {
	want := readConfig[admissionregistrationv1.ValidatingWebhookConfiguration](t, "config/webhook/manifests.yaml")
	for name, tc := range map[string]struct {
		values      string
		wantPolicy  admissionregistrationv1.FailurePolicyType
		wantTimeout int32
	}{
		"defaults":                {"", admissionregistrationv1.Ignore, 10},
		"fail closed, and sooner": {"webhook: {failurePolicy: Fail, timeoutSeconds: 3}", admissionregistrationv1.Fail, 3},
	} {
		t.Run(name, func(t *testing.T) {
			got := get[admissionregistrationv1.ValidatingWebhookConfiguration](t, mustRender(t, tc.values),
				"ValidatingWebhookConfiguration", fullname+"-webhook")
			wantHooks := want.DeepCopy().Webhooks
			for i := range wantHooks {
				wantHooks[i].ClientConfig.Service.Name = fullname + "-webhook"
				wantHooks[i].ClientConfig.Service.Namespace = namespace
				wantHooks[i].FailurePolicy = ptr.To(tc.wantPolicy)
				wantHooks[i].TimeoutSeconds = ptr.To(tc.wantTimeout)
			}
			if diff := cmp.Diff(wantHooks, got.Webhooks); diff != "" {
				t.Errorf("webhooks differ from config/webhook's (run `make manifests`) (-want +got):\n%s", diff)
			}
		})
	}
}

// Without cert-manager the manager keeps the certificate: the chart ships the empty Secret, the Service in front of
// the managers, and roles that name that Secret and that webhook configuration and nothing else.
func TestWebhookKeepsItsOwnCertificate(t *testing.T) {
	r := mustRender(t, "")
	d, c := manager(t, r)
	for _, arg := range []string{"--webhook-port=9443", "--webhook-cert-secret=peapod-webhook-cert",
		"--webhook-configuration=peapod-webhook", "--webhook-service=peapod-webhook"} {
		if !slices.Contains(c.Args, arg) {
			t.Errorf("the manager's args %q lack %s", c.Args, arg)
		}
	}
	checkCertVolume(t, d, c, false)
	svc := get[corev1.Service](t, r, "Service", fullname+"-webhook")
	if p := svc.Spec.Ports; len(p) != 1 || p[0].Port != 443 || p[0].TargetPort.StrVal != webhookPort.Name {
		t.Errorf("the webhook Service's ports %v: want 443 to the manager's port named %s", p, webhookPort.Name)
	}
	for k, v := range svc.Spec.Selector {
		if d.Spec.Template.Labels[k] != v {
			t.Errorf("the webhook Service selects %s=%s, which the manager's Pods lack", k, v)
		}
	}
	get[corev1.Secret](t, r, "Secret", fullname+"-webhook-cert")

	for config, rendered := range map[string]struct{ kind, name, object string }{
		"config/rbac/webhook_cert_role.yaml":          {"Role", fullname + "-webhook-cert", fullname + "-webhook-cert"},
		"config/rbac/webhook_configuration_role.yaml": {"ClusterRole", fullname + "-webhook-configuration", fullname + "-webhook"},
	} {
		want := readConfig[rbacv1.ClusterRole](t, config).Rules
		for i := range want {
			want[i].ResourceNames = []string{rendered.object}
		}
		got := get[rbacv1.ClusterRole](t, r, rendered.kind, rendered.name).Rules
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s/%s rules differ from %s but for the name (-want +got):\n%s", rendered.kind, rendered.name, config, diff)
		}
	}
}

// With cert-manager, it issues the certificate into the Secret the manager mounts and injects the CA; the chart
// ships no Secret and grants no rights over one.
func TestWebhookWithCertManager(t *testing.T) {
	r := mustRender(t, "webhook: {certManager: {enabled: true}}")
	d, c := manager(t, r)
	checkNoArg(t, c, "--webhook-cert-secret", "the manager would keep the certificate itself although cert-manager issues it")
	checkCertVolume(t, d, c, true)
	config := get[admissionregistrationv1.ValidatingWebhookConfiguration](t, r, "ValidatingWebhookConfiguration", fullname+"-webhook")
	if got, want := config.Annotations["cert-manager.io/inject-ca-from"], namespace+"/"+fullname+"-webhook"; got != want {
		t.Errorf("cert-manager.io/inject-ca-from = %q, want %q", got, want)
	}
	for _, key := range []string{"Certificate/" + fullname + "-webhook", "Issuer/" + fullname + "-webhook"} {
		if _, ok := r.objects[key]; !ok {
			t.Errorf("%s is not rendered", key)
		}
	}
	for _, key := range []string{"Secret/" + fullname + "-webhook-cert", "Role/" + fullname + "-webhook-cert",
		"ClusterRole/" + fullname + "-webhook-configuration"} {
		if _, ok := r.objects[key]; ok {
			t.Errorf("%s is rendered although cert-manager keeps the certificate", key)
		}
	}

	own := mustRender(t, "webhook: {certManager: {enabled: true, issuerRef: {kind: ClusterIssuer, name: corp-ca}}}")
	if _, ok := own.objects["Issuer/"+fullname+"-webhook"]; ok {
		t.Error("a self-signed Issuer is rendered although issuerRef names the user's")
	}
	cert := own.objects["Certificate/"+fullname+"-webhook"]
	if ref, _ := cert.Object["spec"].(map[string]any)["issuerRef"].(map[string]any); ref["name"] != "corp-ca" {
		t.Errorf("the Certificate's issuerRef is %v, want the user's corp-ca", ref)
	}
}

func checkCertVolume(t *testing.T, d *appsv1.Deployment, c corev1.Container, fromSecret bool) {
	t.Helper()
	if !slices.Contains(c.Ports, webhookPort) {
		t.Errorf("the manager's ports %v lack %v", c.Ports, webhookPort)
	}
	i := slices.IndexFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.Name == "webhook-cert" })
	if i < 0 || c.VolumeMounts[i].MountPath != "/tmp/k8s-webhook-server/serving-certs" {
		t.Fatalf("the manager mounts %v: want webhook-cert at the webhook server's cert dir", c.VolumeMounts)
	}
	j := slices.IndexFunc(d.Spec.Template.Spec.Volumes, func(v corev1.Volume) bool { return v.Name == "webhook-cert" })
	if j < 0 {
		t.Fatal("no webhook-cert volume")
	}
	v := d.Spec.Template.Spec.Volumes[j]
	if got := v.Secret != nil && v.Secret.SecretName == fullname+"-webhook-cert"; got != fromSecret {
		t.Errorf("webhook-cert volume %+v: from the Secret = %t, want %t", v.VolumeSource, got, fromSecret)
	}
	if !fromSecret && v.EmptyDir == nil {
		t.Errorf("webhook-cert volume %+v: want an emptyDir the manager writes", v.VolumeSource)
	}
}

func TestWebhookDisabled(t *testing.T) {
	r := mustRender(t, "webhook: {enabled: false}")
	_, c := manager(t, r)
	checkNoArg(t, c, "--webhook", "the webhook is disabled")
	for key := range r.objects {
		if strings.Contains(key, "webhook") {
			t.Errorf("%s is rendered with the webhook disabled", key)
		}
	}
}

func checkNoArg(t *testing.T, c corev1.Container, prefix, why string) {
	t.Helper()
	for _, arg := range c.Args {
		if strings.HasPrefix(arg, prefix) {
			t.Errorf("the manager gets %s: %s", arg, why)
		}
	}
}

func TestWebhookPortClashIsRefused(t *testing.T) {
	for _, values := range []string{"webhook: {port: 8081}", "metrics: {port: 9443}"} {
		if _, err := render(values); err == nil || !strings.Contains(err.Error(), "webhook.port") {
			t.Errorf("%s: rendered, or refused for another reason (%v): want webhook.port refused", values, err)
		}
	}
}
