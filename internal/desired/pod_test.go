package desired

import (
	"maps"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	pt "github.com/peapod-io/peapod/internal/testing"
)

func injected(ordinal string) []corev1.EnvVar {
	return []corev1.EnvVar{
		{Name: "PEAPOD_GROUP", Value: "web"},
		{Name: "PEAPOD_ORDINAL", Value: ordinal},
		{Name: "PEAPOD_REPLICAS", Value: "2"},
		{Name: "PEAPOD_SERVICE", Value: "web.ns.svc"},
		{Name: "PEAPOD_MEMBER_DNS", Value: "web-" + ordinal + ".web-members.ns.svc"},
		{Name: "PEAPOD_PEERS", Value: "web-0.web-members.ns.svc,web-1.web-members.ns.svc"},
		fieldRef("POD_NAME", "metadata.name"),
		fieldRef("POD_NAMESPACE", "metadata.namespace"),
		fieldRef("POD_IP", "status.podIP"),
		fieldRef("NODE_NAME", "spec.nodeName"),
		fieldRef("HOST_IP", "status.hostIP"),
	}
}

var peersMount = corev1.VolumeMount{Name: "peapod-peers", MountPath: "/etc/peapod", ReadOnly: true}

// wantPeersVolume projects every chunk of the peer list a group of 10000 members has: chunk 0 as the file peers,
// chunk 1 (optional until the group grows past 5000) as peers-1.
var wantPeersVolume = corev1.Volume{Name: "peapod-peers", VolumeSource: corev1.VolumeSource{
	Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
		{ConfigMap: &corev1.ConfigMapProjection{
			LocalObjectReference: corev1.LocalObjectReference{Name: "web-peers"},
			Items:                []corev1.KeyToPath{{Key: "peers", Path: "peers"}},
		}},
		{ConfigMap: &corev1.ConfigMapProjection{
			LocalObjectReference: corev1.LocalObjectReference{Name: "web-peers-1"},
			Items:                []corev1.KeyToPath{{Key: "peers", Path: "peers-1"}},
			Optional:             ptr(true),
		}},
	}},
}}

// plainMember is member web-<ordinal> of a two-member group "web" in "ns" with one container and nothing else.
func plainMember(ordinal, rev string) *corev1.Pod {
	name := "web-" + ordinal
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: map[string]string{
			"peapod.io/group": "web", "peapod.io/ordinal": ordinal, "peapod.io/revision": rev,
		}},
		Spec: corev1.PodSpec{
			Hostname:  name,
			Subdomain: "web-members",
			Containers: []corev1.Container{{
				Name: "app", Image: pt.PauseImage, Env: injected(ordinal),
				VolumeMounts: []corev1.VolumeMount{peersMount},
			}},
			Volumes: []corev1.Volume{wantPeersVolume},
		},
	}
}

func TestMemberPod(t *testing.T) {
	cases := map[string]struct {
		group   *peapodv1alpha1.PodGroup
		ordinal int
		want    func(rev string) *corev1.Pod
	}{
		"identity, env, peer list and labels": {
			group:   pt.MakePodGroup("web", "ns").Replicas(2).Obj(),
			ordinal: 1,
			want:    func(rev string) *corev1.Pod { return plainMember("1", rev) },
		},
		"shared volumes in every container and init container, group env, the container's own env wins": {
			group: func() *peapodv1alpha1.PodGroup {
				g := pt.MakePodGroup("web", "ns").Replicas(2).SharedVolume("data").Env("MODE", "group").Env("LEVEL", "1").Obj()
				g.Spec.Template.Labels = map[string]string{"app": "web"}
				g.Spec.Template.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "MODE", Value: "own"}, {Name: "PEAPOD_GROUP", Value: "mine"}}
				g.Spec.Template.Spec.InitContainers = []corev1.Container{{Name: "init", Image: pt.PauseImage}}
				return g
			}(),
			ordinal: 0,
			want: func(rev string) *corev1.Pod {
				sharedMount := corev1.VolumeMount{Name: "data", MountPath: "/shared/data"}
				env := append(injected("0")[1:], corev1.EnvVar{Name: "LEVEL", Value: "1"},
					corev1.EnvVar{Name: "MODE", Value: "own"}, corev1.EnvVar{Name: "PEAPOD_GROUP", Value: "mine"})
				initEnv := append(injected("0"), corev1.EnvVar{Name: "MODE", Value: "group"}, corev1.EnvVar{Name: "LEVEL", Value: "1"})
				return &corev1.Pod{
					ObjectMeta: metav1.ObjectMeta{Name: "web-0", Namespace: "ns", Labels: map[string]string{
						"app": "web", "peapod.io/group": "web", "peapod.io/ordinal": "0", "peapod.io/revision": rev,
					}},
					Spec: corev1.PodSpec{
						Hostname:  "web-0",
						Subdomain: "web-members",
						InitContainers: []corev1.Container{{
							Name: "init", Image: pt.PauseImage, Env: initEnv,
							VolumeMounts: []corev1.VolumeMount{sharedMount, peersMount},
						}},
						Containers: []corev1.Container{{
							Name: "app", Image: pt.PauseImage, Env: env,
							VolumeMounts: []corev1.VolumeMount{sharedMount, peersMount},
						}},
						Volumes: []corev1.Volume{
							{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
							wantPeersVolume,
						},
					},
				}
			},
		},
		"spread over nodes becomes a hard topology spread constraint that ignores tainted nodes": {
			group:   pt.MakePodGroup("web", "ns").Replicas(2).Spread(peapodv1alpha1.SpreadNode).Obj(),
			ordinal: 0,
			want: func(rev string) *corev1.Pod {
				honor := corev1.NodeInclusionPolicyHonor
				pod := plainMember("0", rev)
				pod.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{
					MaxSkew: 1, TopologyKey: "kubernetes.io/hostname", WhenUnsatisfiable: corev1.DoNotSchedule,
					LabelSelector:      &metav1.LabelSelector{MatchLabels: map[string]string{"peapod.io/group": "web"}},
					NodeAffinityPolicy: &honor, NodeTaintsPolicy: &honor,
				}}
				return pod
			},
		},
		"one per node becomes a required pod anti-affinity over the group's Pods": {
			group:   pt.MakePodGroup("web", "ns").Replicas(2).Spread(peapodv1alpha1.SpreadOnePerNode).Obj(),
			ordinal: 1,
			want: func(rev string) *corev1.Pod {
				pod := plainMember("1", rev)
				pod.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
					RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
						LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"peapod.io/group": "web"}},
						TopologyKey:   "kubernetes.io/hostname",
					}},
				}}
				return pod
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			shape := ShapeOf(&tc.group.Spec)
			got := MemberPod(tc.group, shape, tc.ordinal)
			if diff := cmp.Diff(tc.want(shape.Revision()), got); diff != "" {
				t.Errorf("MemberPod() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRevision(t *testing.T) {
	base := pt.MakePodGroup("web", "ns").Replicas(2).Obj()
	cases := map[string]struct {
		change   func(g *peapodv1alpha1.PodGroup)
		wantSame bool
	}{
		"scaling keeps the revision":           {change: func(g *peapodv1alpha1.PodGroup) { *g.Spec.Replicas = 5 }, wantSame: true},
		"minReadySeconds keeps the revision":   {change: func(g *peapodv1alpha1.PodGroup) { g.Spec.MinReadySeconds = 9 }, wantSame: true},
		"an image change is a new revision":    {change: func(g *peapodv1alpha1.PodGroup) { g.Spec.Template.Spec.Containers[0].Image = "x" }},
		"a group env change is a new revision": {change: func(g *peapodv1alpha1.PodGroup) { g.Spec.Env = []corev1.EnvVar{{Name: "A"}} }},
		"a shared volume is a new revision": {change: func(g *peapodv1alpha1.PodGroup) {
			g.Spec.SharedVolumes = []peapodv1alpha1.SharedVolume{{Name: "d"}}
		}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			changed := base.DeepCopy()
			tc.change(changed)
			before, after := ShapeOf(&base.Spec).Revision(), ShapeOf(&changed.Spec).Revision()
			if (before == after) != tc.wantSame {
				t.Errorf("revision before %q, after %q; want same: %v", before, after, tc.wantSame)
			}
		})
	}
}

func TestShapeRoundTrip(t *testing.T) {
	g := pt.MakePodGroup("web", "ns").SharedVolume("data").Env("A", "1").Spread(peapodv1alpha1.SpreadZone).Obj()
	shape := ShapeOf(&g.Spec)
	decoded, err := DecodeShape(shape.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(shape, decoded); diff != "" {
		t.Errorf("round trip mismatch (-want +got):\n%s", diff)
	}
	if decoded.Revision() != shape.Revision() {
		t.Errorf("revision changed in the round trip")
	}
}

func TestReservedTemplateKeys(t *testing.T) {
	cases := map[string]struct {
		labels, annotations         map[string]string
		wantLabels, wantAnnotations map[string]string
	}{
		"the user's own keys stay, peapod's are peapod's": {
			labels:      map[string]string{"app": "web", "example.com/tier": "db"},
			annotations: map[string]string{"note": "x"},
			wantLabels: map[string]string{"app": "web", "example.com/tier": "db",
				"peapod.io/group": "web", "peapod.io/ordinal": "1", "peapod.io/revision": "REV"},
			wantAnnotations: map[string]string{"note": "x"},
		},
		"a template migration label would make every member look like a migration's replacement": {
			labels:     map[string]string{"app": "web", "peapod.io/migration": "move-web-1"},
			wantLabels: map[string]string{"app": "web", "peapod.io/group": "web", "peapod.io/ordinal": "1", "peapod.io/revision": "REV"},
		},
		"a template ordinal, group or revision is not the member's": {
			labels: map[string]string{"peapod.io/ordinal": "7", "peapod.io/group": "other", "peapod.io/revision": "old",
				"peapod.io/migration-reason": "Drain", "peapod.io/anything": "x"},
			wantLabels: map[string]string{"peapod.io/group": "web", "peapod.io/ordinal": "1", "peapod.io/revision": "REV"},
		},
		"annotations under peapod.io/ are dropped, others kept": {
			annotations: map[string]string{"peapod.io/applied-hash": "abc", "peapod.io/avoided-nodes": "kwok-node-0",
				"peapod.io/other": "y", "sub.peapod.io/kept": "z"},
			wantLabels:      map[string]string{"peapod.io/group": "web", "peapod.io/ordinal": "1", "peapod.io/revision": "REV"},
			wantAnnotations: map[string]string{"sub.peapod.io/kept": "z"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			g := pt.MakePodGroup("web", "ns").Replicas(2).Obj()
			g.Spec.Template.Labels, g.Spec.Template.Annotations = tc.labels, tc.annotations
			shape := ShapeOf(&g.Spec)
			wantLabels := maps.Clone(tc.wantLabels)
			wantLabels["peapod.io/revision"] = shape.Revision()
			m := &peapodv1alpha1.PodMigration{ObjectMeta: metav1.ObjectMeta{Name: "mv", UID: "u"}}
			for builder, pod := range map[string]*corev1.Pod{
				"MemberPod":      MemberPod(g, shape, 1),
				"ReplacementPod": ReplacementPod(g, shape, 1, "web-1-mabcde", m, nil),
			} {
				want := wantLabels
				if builder == "ReplacementPod" {
					want = maps.Clone(wantLabels)
					want["peapod.io/migration"] = "mv"
				}
				if diff := cmp.Diff(want, pod.Labels); diff != "" {
					t.Errorf("%s() labels mismatch (-want +got):\n%s", builder, diff)
				}
				if diff := cmp.Diff(tc.wantAnnotations, pod.Annotations, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("%s() annotations mismatch (-want +got):\n%s", builder, diff)
				}
			}
			if diff := cmp.Diff(tc.labels, g.Spec.Template.Labels); diff != "" {
				t.Errorf("the group's template was changed (-before +after):\n%s", diff)
			}
		})
	}
}

func TestRespondToEvictions(t *testing.T) {
	pod := &corev1.Pod{Spec: corev1.PodSpec{EvictionResponders: []corev1.EvictionResponder{{Name: "example.com/backup", Priority: ptr(int32(20000))}}}}
	RespondToEvictions(pod)
	RespondToEvictions(pod)
	if len(pod.Spec.EvictionResponders) != 2 {
		t.Fatalf("responders %+v: want the template's and peapod's, once", pod.Spec.EvictionResponders)
	}
	ours := pod.Spec.EvictionResponders[1]
	if ours.Name != peapodv1alpha1.EvictionResponder || *ours.Priority != peapodv1alpha1.EvictionResponderPriority {
		t.Errorf("peapod's entry %+v: want %s at %d", ours, peapodv1alpha1.EvictionResponder, peapodv1alpha1.EvictionResponderPriority)
	}
}
