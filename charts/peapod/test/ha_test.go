package test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// managerLabels are the labels of the managers' Pods in the test release, and only theirs.
var managerLabels = map[string]string{
	"app.kubernetes.io/name":      "peapod",
	"app.kubernetes.io/instance":  releaseName,
	"app.kubernetes.io/component": "manager",
}

// nodeFailureTolerations are the tolerations that evict a manager from a not-ready or unreachable node after
// seconds instead of the API server's default 300.
func nodeFailureTolerations(seconds int64) []corev1.Toleration {
	keys := []string{corev1.TaintNodeNotReady, corev1.TaintNodeUnreachable}
	out := make([]corev1.Toleration, 0, len(keys))
	for _, key := range keys {
		out = append(out, corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists,
			Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To(seconds)})
	}
	return out
}

// By default the manager is no single point of failure: two managers under leader election, on different nodes
// where the scheduler can, evicted within seconds from a node that died, kept through drains one at a time, and
// preempting workloads rather than being preempted.
func TestHighAvailabilityDefaults(t *testing.T) {
	r := mustRender(t, "")
	d, c := manager(t, r)
	pod := d.Spec.Template.Spec
	if got := ptr.Deref(d.Spec.Replicas, 0); got != 2 {
		t.Errorf("replicas = %d, want 2", got)
	}
	if got, want := c.Args[0], "--leader-elect=true"; got != want {
		t.Errorf("the first arg is %q, want %q", got, want)
	}
	if diff := cmp.Diff(nodeFailureTolerations(5), pod.Tolerations); diff != "" {
		t.Errorf("tolerations (-want +got):\n%s", diff)
	}
	if got, want := pod.PriorityClassName, "system-cluster-critical"; got != want {
		t.Errorf("priorityClassName = %q, want %q", got, want)
	}
	wantSpread := []corev1.TopologySpreadConstraint{{
		MaxSkew:           1,
		TopologyKey:       corev1.LabelHostname,
		WhenUnsatisfiable: corev1.ScheduleAnyway,
		LabelSelector:     &metav1.LabelSelector{MatchLabels: managerLabels},
		MatchLabelKeys:    []string{appsv1.DefaultDeploymentUniqueLabelKey},
	}}
	if diff := cmp.Diff(wantSpread, pod.TopologySpreadConstraints); diff != "" {
		t.Errorf("topologySpreadConstraints (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(managerLabels, d.Spec.Template.Labels); diff != "" {
		t.Errorf("the managers' Pods are not the ones their spread and budget select (-want +got):\n%s", diff)
	}

	pdb := get[policyv1.PodDisruptionBudget](t, r, "PodDisruptionBudget", fullname)
	wantPDB := policyv1.PodDisruptionBudgetSpec{
		MinAvailable:               ptr.To(intstr.FromInt32(1)),
		Selector:                   &metav1.LabelSelector{MatchLabels: managerLabels},
		UnhealthyPodEvictionPolicy: ptr.To(policyv1.AlwaysAllow),
	}
	if diff := cmp.Diff(wantPDB, pdb.Spec); diff != "" {
		t.Errorf("PodDisruptionBudget spec (-want +got):\n%s", diff)
	}
	if pdb.Namespace != namespace {
		t.Errorf("the PodDisruptionBudget is in namespace %q, want %q", pdb.Namespace, namespace)
	}
}

// The tolerations come only with leader election: without a Lease nothing would keep a manager cut off on a lost
// node from acting alongside the replacement a quick eviction starts.
func TestNodeFailureTolerations(t *testing.T) {
	user := corev1.Toleration{Key: "dedicated", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}
	for name, tc := range map[string]struct {
		values string
		want   []corev1.Toleration
	}{
		"defaults":                        {values: "", want: nodeFailureTolerations(5)},
		"other seconds":                   {values: "nodeFailureTolerationSeconds: 30", want: nodeFailureTolerations(30)},
		"zero seconds: evicted at once":   {values: "nodeFailureTolerationSeconds: 0", want: nodeFailureTolerations(0)},
		"null: the API server's default":  {values: "nodeFailureTolerationSeconds: null"},
		"one replica, no leader election": {values: "replicaCount: 1"},
		"one replica, leader election": {
			values: "replicaCount: 1\nleaderElection: {enabled: true}", want: nodeFailureTolerations(5),
		},
		"the user's come first": {
			values: "tolerations: [{key: dedicated, operator: Exists, effect: NoSchedule}]",
			want:   append([]corev1.Toleration{user}, nodeFailureTolerations(5)...),
		},
		"the user's alone without leader election": {
			values: "replicaCount: 1\ntolerations: [{key: dedicated, operator: Exists, effect: NoSchedule}]",
			want:   []corev1.Toleration{user},
		},
	} {
		t.Run(name, func(t *testing.T) {
			d, _ := manager(t, mustRender(t, tc.values))
			if diff := cmp.Diff(tc.want, d.Spec.Template.Spec.Tolerations); diff != "" {
				t.Errorf("tolerations (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPriorityClassName(t *testing.T) {
	for name, tc := range map[string]struct{ values, want string }{
		"defaults":      {values: "", want: "system-cluster-critical"},
		"another class": {values: "priorityClassName: peapod-high", want: "peapod-high"},
		"none":          {values: `priorityClassName: ""`, want: ""},
	} {
		t.Run(name, func(t *testing.T) {
			d, _ := manager(t, mustRender(t, tc.values))
			if got := d.Spec.Template.Spec.PriorityClassName; got != tc.want {
				t.Errorf("priorityClassName = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSpreadTurnedOff(t *testing.T) {
	d, _ := manager(t, mustRender(t, "topologySpreadConstraints: []"))
	if got := d.Spec.Template.Spec.TopologySpreadConstraints; got != nil {
		t.Errorf("topologySpreadConstraints = %v, want none", got)
	}
}

// A budget keeps a standby through drains; with one manager it would block every drain of its node, so there is
// none.
func TestPodDisruptionBudget(t *testing.T) {
	for name, tc := range map[string]struct {
		values           string
		wantMinAvailable int32 // 0: no budget rendered
	}{
		"defaults":                      {values: "", wantMinAvailable: 1},
		"three replicas":                {values: "replicaCount: 3", wantMinAvailable: 1},
		"three replicas, two kept":      {values: "replicaCount: 3\npodDisruptionBudget: {minAvailable: 2}", wantMinAvailable: 2},
		"one replica":                   {values: "replicaCount: 1"},
		"one replica, with election":    {values: "replicaCount: 1\nleaderElection: {enabled: true}"},
		"no replicas":                   {values: "replicaCount: 0"},
		"turned off":                    {values: "podDisruptionBudget: {enabled: false}"},
		"turned off, minAvailable moot": {values: "podDisruptionBudget: {enabled: false, minAvailable: 5}"},
	} {
		t.Run(name, func(t *testing.T) {
			r := mustRender(t, tc.values)
			if tc.wantMinAvailable == 0 {
				if r.has("PodDisruptionBudget", fullname) {
					t.Error("a PodDisruptionBudget is rendered")
				}
				return
			}
			pdb := get[policyv1.PodDisruptionBudget](t, r, "PodDisruptionBudget", fullname)
			if diff := cmp.Diff(ptr.To(intstr.FromInt32(tc.wantMinAvailable)), pdb.Spec.MinAvailable); diff != "" {
				t.Errorf("minAvailable (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPodDisruptionBudgetThatBlocksDrainsIsRefused(t *testing.T) {
	_, err := render("podDisruptionBudget: {minAvailable: 2}")
	want := "podDisruptionBudget.minAvailable: 2 with replicaCount 2 would let no drain evict a manager"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error = %v, want one saying %q", err, want)
	}
}

// config/manager (kustomize, dist/install.yaml) installs the manager as the chart does by default: the same
// replicas, strategy, priority, tolerations, spread and budget, with --leader-elect.
func TestConfigManagerIsHighlyAvailableAsTheChart(t *testing.T) {
	r := mustRender(t, "")
	chart, _ := manager(t, r)
	config := configObject[appsv1.Deployment](t, "config/manager/manager.yaml", "Deployment")

	if got, want := ptr.Deref(config.Spec.Replicas, 0), ptr.Deref(chart.Spec.Replicas, 0); got != want {
		t.Errorf("config/manager replicas = %d, the chart's %d", got, want)
	}
	if diff := cmp.Diff(chart.Spec.Strategy, config.Spec.Strategy); diff != "" {
		t.Errorf("config/manager strategy (-chart +config):\n%s", diff)
	}
	if args := config.Spec.Template.Spec.Containers[0].Args; !strings.Contains(strings.Join(args, " "), "--leader-elect") {
		t.Errorf("config/manager args %q lack --leader-elect", args)
	}
	chartPod, configPod := chart.Spec.Template.Spec, config.Spec.Template.Spec
	if configPod.PriorityClassName != chartPod.PriorityClassName {
		t.Errorf("config/manager priorityClassName = %q, the chart's %q", configPod.PriorityClassName, chartPod.PriorityClassName)
	}
	if diff := cmp.Diff(chartPod.Tolerations, configPod.Tolerations); diff != "" {
		t.Errorf("config/manager tolerations (-chart +config):\n%s", diff)
	}
	// The selectors differ by the release's instance label, which kustomize has not; each must select its Pods.
	if diff := cmp.Diff(chartPod.TopologySpreadConstraints, configPod.TopologySpreadConstraints,
		cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".LabelSelector" }, cmp.Ignore())); diff != "" {
		t.Errorf("config/manager topologySpreadConstraints (-chart +config):\n%s", diff)
	}
	for _, c := range configPod.TopologySpreadConstraints {
		checkSelects(t, "config/manager's spread", c.LabelSelector, config.Spec.Template.Labels)
	}

	chartPDB := get[policyv1.PodDisruptionBudget](t, r, "PodDisruptionBudget", fullname)
	configPDB := configObject[policyv1.PodDisruptionBudget](t, "config/manager/pdb.yaml", "PodDisruptionBudget")
	if diff := cmp.Diff(chartPDB.Spec, configPDB.Spec, cmp.FilterPath(func(p cmp.Path) bool {
		return p.Last().String() == ".Selector"
	}, cmp.Ignore())); diff != "" {
		t.Errorf("config/manager/pdb.yaml spec (-chart +config):\n%s", diff)
	}
	checkSelects(t, "config/manager/pdb.yaml", configPDB.Spec.Selector, config.Spec.Template.Labels)

	kustomization := readConfig[struct {
		Resources []string
		Images    []struct{ Name, NewName, NewTag string }
	}](t, "config/manager/kustomization.yaml")
	if diff := cmp.Diff([]string{"manager.yaml", "pdb.yaml"}, kustomization.Resources); diff != "" {
		t.Errorf("config/manager/kustomization.yaml resources (-want +got):\n%s", diff)
	}
}

// configObject decodes the one object of that kind in a file of config/ as T.
func configObject[T any](t *testing.T, path, kind string) *T {
	t.Helper()
	var found *T
	for _, obj := range decodeAll(t, filepath.Join(repoRoot, path)) {
		if obj.GetKind() != kind {
			continue
		}
		if found != nil {
			t.Fatalf("%s holds more than one %s", path, kind)
		}
		found = new(T)
		if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(obj.Object, found, true); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	if found == nil {
		t.Fatalf("%s holds no %s", path, kind)
	}
	return found
}

func checkSelects(t *testing.T, what string, selector *metav1.LabelSelector, podLabels map[string]string) {
	t.Helper()
	s, err := metav1.LabelSelectorAsSelector(selector)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if s.Empty() || !s.Matches(labels.Set(podLabels)) {
		t.Errorf("%s selects %q, not the managers' Pods (labels %v)", what, s, podLabels)
	}
}
