package test

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

func manager(t *testing.T, r *release) (*appsv1.Deployment, corev1.Container) {
	t.Helper()
	d := get[appsv1.Deployment](t, r, "Deployment", fullname)
	if n := len(d.Spec.Template.Spec.Containers); n != 1 {
		t.Fatalf("the Deployment has %d containers, want 1 (the manager)", n)
	}
	return d, d.Spec.Template.Spec.Containers[0]
}

// The defaults must pass Pod Security "restricted" (the install test checks it with the API server's own
// admission too).
func TestDeploymentIsRestricted(t *testing.T) {
	d, c := manager(t, mustRender(t, ""))
	wantPod := &corev1.PodSecurityContext{
		RunAsNonRoot:   ptr.To(true),
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
	if diff := cmp.Diff(wantPod, d.Spec.Template.Spec.SecurityContext); diff != "" {
		t.Errorf("pod securityContext (-want +got):\n%s", diff)
	}
	wantContainer := &corev1.SecurityContext{
		AllowPrivilegeEscalation: ptr.To(false),
		ReadOnlyRootFilesystem:   ptr.To(true),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
	}
	if diff := cmp.Diff(wantContainer, c.SecurityContext); diff != "" {
		t.Errorf("container securityContext (-want +got):\n%s", diff)
	}
}

func TestDeploymentProbesTheHealthEndpoints(t *testing.T) {
	_, c := manager(t, mustRender(t, ""))
	probe := func(path string, initialDelay, period int32) *corev1.Probe {
		return &corev1.Probe{
			ProbeHandler:        corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromInt32(8081)}},
			InitialDelaySeconds: initialDelay,
			PeriodSeconds:       period,
		}
	}
	if diff := cmp.Diff(probe("/healthz", 15, 20), c.LivenessProbe); diff != "" {
		t.Errorf("livenessProbe (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(probe("/readyz", 5, 10), c.ReadinessProbe); diff != "" {
		t.Errorf("readinessProbe (-want +got):\n%s", diff)
	}
	if !slices.Contains(c.Args, "--health-probe-bind-address=:8081") {
		t.Errorf("args %q do not serve the probes on :8081", c.Args)
	}
}

func TestDeploymentDefaults(t *testing.T) {
	d, c := manager(t, mustRender(t, ""))
	wantResources := corev1.ResourceRequirements{
		Requests: corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("10m"),
			corev1.ResourceMemory: resource.MustParse("64Mi"),
		},
		Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")},
	}
	if diff := cmp.Diff(wantResources, c.Resources); diff != "" {
		t.Errorf("resources (-want +got):\n%s", diff)
	}
	if got := ptr.Deref(d.Spec.Replicas, 0); got != 2 {
		t.Errorf("replicas = %d, want 2 (a leader and a standby)", got)
	}
	if got := d.Spec.Template.Spec.ServiceAccountName; got != fullname {
		t.Errorf("serviceAccountName = %q, want %q", got, fullname)
	}
	// The image the chart installs by default is the one config/ installs.
	kustomization := readConfig[struct {
		Resources []string
		Images    []struct{ Name, NewName, NewTag string }
	}](t, "config/manager/kustomization.yaml")
	if len(kustomization.Images) != 1 {
		t.Fatalf("config/manager/kustomization.yaml: want one image, got %v", kustomization.Images)
	}
	if want := kustomization.Images[0].NewName + ":" + kustomization.Images[0].NewTag; c.Image != want {
		t.Errorf("image = %q, want %q, as config/manager/kustomization.yaml", c.Image, want)
	}
}

// Without leader election two managers would both act on every PodGroup: the chart turns it on with a second
// replica, and without it never lets a rollout overlap an old and a new manager.
func TestLeaderElection(t *testing.T) {
	for name, tc := range map[string]struct {
		values       string
		wantFlag     string
		wantStrategy appsv1.DeploymentStrategyType
	}{
		"defaults, two replicas: on": {
			values: "", wantFlag: "--leader-elect=true", wantStrategy: appsv1.RollingUpdateDeploymentStrategyType,
		},
		"three replicas: on": {
			values: "replicaCount: 3", wantFlag: "--leader-elect=true", wantStrategy: appsv1.RollingUpdateDeploymentStrategyType,
		},
		"one replica: off": {
			values: "replicaCount: 1", wantFlag: "--leader-elect=false", wantStrategy: appsv1.RecreateDeploymentStrategyType,
		},
		"one replica, asked for": {
			values:   "replicaCount: 1\nleaderElection: {enabled: true}",
			wantFlag: "--leader-elect=true", wantStrategy: appsv1.RollingUpdateDeploymentStrategyType,
		},
		"one replica, turned off": {
			values:   "replicaCount: 1\nleaderElection: {enabled: false}",
			wantFlag: "--leader-elect=false", wantStrategy: appsv1.RecreateDeploymentStrategyType,
		},
	} {
		t.Run(name, func(t *testing.T) {
			r := mustRender(t, tc.values)
			d, c := manager(t, r)
			if !slices.Contains(c.Args, tc.wantFlag) {
				t.Errorf("args %q lack %s", c.Args, tc.wantFlag)
			}
			wantStrategy := appsv1.DeploymentStrategy{Type: tc.wantStrategy}
			if tc.wantStrategy == appsv1.RollingUpdateDeploymentStrategyType {
				// A new manager starts before an old one stops, so a standby is there to take the Lease.
				wantStrategy.RollingUpdate = &appsv1.RollingUpdateDeployment{
					MaxSurge: ptr.To(intstr.FromInt32(1)), MaxUnavailable: ptr.To(intstr.FromInt32(0))}
			}
			if diff := cmp.Diff(wantStrategy, d.Spec.Strategy); diff != "" {
				t.Errorf("strategy (-want +got):\n%s", diff)
			}
			wantRole := tc.wantFlag == "--leader-elect=true"
			if got := r.has("Role", fullname+"-leader-election"); got != wantRole {
				t.Errorf("leader-election Role rendered = %t, want %t", got, wantRole)
			}
			if got := r.has("RoleBinding", fullname+"-leader-election"); got != wantRole {
				t.Errorf("leader-election RoleBinding rendered = %t, want %t", got, wantRole)
			}
		})
	}
}

func TestLeaderElectionOffWithTwoReplicasIsRefused(t *testing.T) {
	_, err := render("replicaCount: 2\nleaderElection: {enabled: false}")
	want := "leaderElection.enabled: false with replicaCount 2 would run 2 managers acting at once"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error = %v, want one saying %q", err, want)
	}
}

func TestManagerFollowsValues(t *testing.T) {
	d, c := manager(t, mustRender(t, `
image: {repository: registry.example/peapod, tag: dev, pullPolicy: Always}
imagePullSecrets: [{name: pull}]
manager: {kubeAPIQPS: 20.5, kubeAPIBurst: 2000000, podGroupConcurrency: 8, maxConcurrentMigrations: 0, evictionResponder: false, logLevel: debug}
metrics: {port: 9443, secure: false}
webhook: {enabled: true, port: 9444, failurePolicy: Fail, timeoutSeconds: 5, certManager: {enabled: false}}
nodeSelector: {kubernetes.io/os: linux}
tolerations: [{key: dedicated, operator: Equal, value: operators, effect: NoSchedule}]
affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: [{key: zone, operator: In, values: [a]}]}]}}}
serviceAccount: {name: peapod-manager, annotations: {team: storage}}
priorityClassName: peapod-operators
nodeFailureTolerationSeconds: 30
topologySpreadConstraints: [{maxSkew: 2, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: DoNotSchedule, labelSelector: {matchLabels: {team: storage}}}]
`))
	wantArgs := []string{
		"--leader-elect=true",
		"--health-probe-bind-address=:8081",
		"--metrics-bind-address=:9443",
		"--metrics-secure=false",
		"--kube-api-qps=20.5",
		// Helm reads numbers as floats; the chart must not print this one as 2e+06.
		"--kube-api-burst=2000000",
		"--podgroup-concurrency=8",
		"--max-concurrent-migrations=0",
		"--eviction-responder=false",
		"--zap-log-level=debug",
		"--webhook-port=9444",
		"--webhook-cert-secret=peapod-webhook-cert",
		"--webhook-configuration=peapod-webhook",
		"--webhook-service=peapod-webhook",
	}
	if diff := cmp.Diff(wantArgs, c.Args); diff != "" {
		t.Errorf("args (-want +got):\n%s", diff)
	}
	if c.Image != "registry.example/peapod:dev" || c.ImagePullPolicy != corev1.PullAlways {
		t.Errorf("image %q pulled %s, want registry.example/peapod:dev pulled Always", c.Image, c.ImagePullPolicy)
	}
	pod := d.Spec.Template.Spec
	if diff := cmp.Diff([]corev1.LocalObjectReference{{Name: "pull"}}, pod.ImagePullSecrets); diff != "" {
		t.Errorf("imagePullSecrets (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"kubernetes.io/os": "linux"}, pod.NodeSelector); diff != "" {
		t.Errorf("nodeSelector (-want +got):\n%s", diff)
	}
	wantTolerations := append([]corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "operators",
		Effect: corev1.TaintEffectNoSchedule}}, nodeFailureTolerations(30)...)
	if diff := cmp.Diff(wantTolerations, pod.Tolerations); diff != "" {
		t.Errorf("tolerations (-want +got):\n%s", diff)
	}
	if pod.PriorityClassName != "peapod-operators" {
		t.Errorf("priorityClassName = %q, want peapod-operators", pod.PriorityClassName)
	}
	// A constraint with a labelSelector of its own keeps it.
	wantSpread := []corev1.TopologySpreadConstraint{{MaxSkew: 2, TopologyKey: "topology.kubernetes.io/zone",
		WhenUnsatisfiable: corev1.DoNotSchedule, LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "storage"}}}}
	if diff := cmp.Diff(wantSpread, pod.TopologySpreadConstraints); diff != "" {
		t.Errorf("topologySpreadConstraints (-want +got):\n%s", diff)
	}
	if pod.Affinity == nil || pod.Affinity.NodeAffinity == nil {
		t.Errorf("affinity = %v, want the node affinity given", pod.Affinity)
	}
	if pod.ServiceAccountName != "peapod-manager" {
		t.Errorf("serviceAccountName = %q, want peapod-manager", pod.ServiceAccountName)
	}
}
