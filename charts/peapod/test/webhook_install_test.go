package test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/chartutil"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/scheme"
	pt "github.com/peapod-io/peapod/internal/testing"
	"github.com/peapod-io/peapod/test/utils"
)

// Helm installs the chart, and the manager runs as the chart runs it: its Deployment's flags, as its
// ServiceAccount with the chart's roles. It writes its certificate into the chart's Secret, puts the CA into the
// chart's webhook configuration, and from then on the API server refuses a bad PodGroup through the webhook.
// The API server cannot reach a Service here (there is no kube-proxy), so the configuration is pointed at the
// manager on loopback, which is the one change the test makes.
func TestWebhookRefusesThroughTheChart(t *testing.T) {
	env := startAPIServer(t)
	ctx := t.Context()
	c := newClient(t, env.Config, &warnings{})
	vals, err := chartutil.ReadValues([]byte("replicaCount: 1"))
	if err != nil {
		t.Fatal(err)
	}
	helmInstall(ctx, t, env, c, vals)

	port := freePort(t)
	if err := utils.PointWebhookAtLoopback(ctx, c, fullname+"-webhook", port); err != nil {
		t.Fatal(err)
	}
	runChartManager(ctx, t, env, c, port)

	// The chart's Secret now holds the certificate, and the configuration trusts its CA.
	var secret corev1.Secret
	if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: fullname + "-webhook-cert"}, &secret); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"ca.crt", "tls.crt", "tls.key"} {
		if len(secret.Data[key]) == 0 {
			t.Errorf("the webhook Secret has no %s", key)
		}
	}

	apps := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "apps",
		Labels: map[string]string{"pod-security.kubernetes.io/enforce": "restricted"}}}
	if err := c.Create(ctx, apps); err != nil {
		t.Fatal(err)
	}
	pc := newPeapodClient(t, env)
	for name, tc := range map[string]struct {
		group   *peapodv1alpha1.PodGroup
		refused func(error) bool
		want    string
	}{
		"a request above its limit": {
			group: restricted(pt.MakePodGroup("over", "apps").Obj(), func(c *corev1.Container) {
				c.Resources = corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")},
					Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}}
			}),
			refused: apierrors.IsInvalid,
			want:    "spec.template.spec.containers[0].resources.requests: Invalid value",
		},
		"a Pod the namespace's Pod Security level forbids": {
			group:   pt.MakePodGroup("root", "apps").Obj(),
			refused: apierrors.IsForbidden,
			want:    `violates PodSecurity "restricted:latest"`,
		},
	} {
		t.Run(name, func(t *testing.T) {
			err := pc.Create(ctx, tc.group)
			if err == nil || !tc.refused(err) || !strings.Contains(err.Error(), tc.want) ||
				!strings.Contains(err.Error(), `admission webhook "podgroups.peapod.io" denied the request`) {
				t.Errorf("created or refused otherwise (%v): want refused by the webhook with %q", err, tc.want)
			}
		})
	}
	if err := pc.Create(ctx, restricted(pt.MakePodGroup("fine", "apps").Obj(), func(*corev1.Container) {})); err != nil {
		t.Errorf("a PodGroup whose Pod the namespace allows is refused: %v", err)
	}
}

// restricted makes a group's container meet Pod Security "restricted", then changes it.
func restricted(g *peapodv1alpha1.PodGroup, change func(*corev1.Container)) *peapodv1alpha1.PodGroup {
	g.Spec.Template.Spec.SecurityContext = &corev1.PodSecurityContext{
		RunAsNonRoot: ptr.To(true), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}}
	c := &g.Spec.Template.Spec.Containers[0]
	c.SecurityContext = &corev1.SecurityContext{
		AllowPrivilegeEscalation: ptr.To(false), Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}
	change(c)
	return g
}

// runChartManager runs the manager binary with the installed Deployment's flags (but for where it listens), as
// the chart's ServiceAccount, until its webhook answers.
func runChartManager(ctx context.Context, t *testing.T, env *envtest.Environment, c client.Client, port int) {
	t.Helper()
	var d appsv1.Deployment
	if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: fullname}, &d); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	args := utils.InstalledManagerArgs(&d, namespace, port, filepath.Join(dir, "certs"))

	sa, err := env.AddUser(envtest.User{
		Name:   "system:serviceaccount:" + namespace + ":" + fullname,
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + namespace, "system:authenticated"},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig, err := sa.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(path, kubeconfig, 0o600); err != nil {
		t.Fatal(err)
	}
	binary, err := utils.BuildManager(ctx, repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(utils.RemoveBuilds)
	logPath := filepath.Join(dir, "manager.log")
	m, err := utils.StartManagerProcess(binary, path, logPath, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Kill)
	t.Cleanup(func() {
		if t.Failed() {
			log, _ := os.ReadFile(logPath)
			t.Logf("manager log:\n%s", log)
		}
	})
	if err := utils.WaitListening(ctx, port, 90*time.Second); err != nil {
		t.Fatalf("the manager's webhook does not listen on port %d: %v", port, err)
	}
}

func newPeapodClient(t *testing.T, env *envtest.Environment) client.Client {
	t.Helper()
	c, err := client.New(env.Config, client.Options{Scheme: scheme.New()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}
