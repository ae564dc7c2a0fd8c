package desired

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	pt "github.com/peapod-io/peapod/internal/testing"
)

// The longest names the API allows: a group name of 52 characters (the PodGroup's CEL rule) in a namespace of 63
// (a DNS label).
var (
	longestGroup     = "g" + strings.Repeat("x", 51)
	longestNamespace = "n" + strings.Repeat("y", 62)
)

// The API server refuses a ConfigMap whose keys and values together pass 1 MiB (core's MaxSecretSize).
const configMapDataLimit = 1 << 20

// lines is the peer file of ordinals from..to-1 of group web in ns.
func lines(replicas, from, to int) string {
	names := PeerDNSNames("web", "ns", replicas)[from:to]
	if len(names) == 0 {
		return ""
	}
	return strings.Join(names, "\n") + "\n"
}

func TestPeersConfigMap(t *testing.T) {
	cases := map[string]struct {
		replicas int32
		chunk    int
		wantName string
		wantData string
	}{
		"one name a line":                   {replicas: 2, wantName: "web-peers", wantData: lines(2, 0, 2)},
		"empty when scaled to 0":            {replicas: 0, wantName: "web-peers", wantData: ""},
		"chunk 0 holds the first 5000":      {replicas: 5001, wantName: "web-peers", wantData: lines(5001, 0, 5000)},
		"chunk 1 the next":                  {replicas: 5001, chunk: 1, wantName: "web-peers-1", wantData: lines(5001, 5000, 5001)},
		"chunk 1 of the most members":       {replicas: 10000, chunk: 1, wantName: "web-peers-1", wantData: lines(10000, 5000, 10000)},
		"a chunk past the members is empty": {replicas: 3, chunk: 1, wantName: "web-peers-1", wantData: ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			g := pt.MakePodGroup("web", "ns").Replicas(tc.replicas).Obj()
			cm := PeersConfigMap(g, OwnerReference(g), tc.chunk)
			if *cm.Name != tc.wantName {
				t.Errorf("ConfigMap named %s, want %s", *cm.Name, tc.wantName)
			}
			if diff := cmp.Diff(map[string]string{"peers": tc.wantData}, cm.Data); diff != "" {
				t.Errorf("data mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(SelectorLabels("web"), cm.Labels); diff != "" {
				t.Errorf("labels mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPeersChunks(t *testing.T) {
	cases := map[int]int{0: 1, 1: 1, 4999: 1, 5000: 1, 5001: 2, 9999: 2, 10000: 2}
	for replicas, want := range cases {
		if got := PeersChunks(replicas); got != want {
			t.Errorf("PeersChunks(%d) = %d, want %d", replicas, got, want)
		}
	}
	if got := PeersChunks(peapodv1alpha1.MaxReplicas); got != MaxPeersChunks {
		t.Errorf("the most members need %d chunks, the volume projects %d", got, MaxPeersChunks)
	}
	// `cat /etc/peapod/peers*` must read the chunks in order: a shell sorts the names.
	files := make([]string, 0, MaxPeersChunks)
	for chunk := range MaxPeersChunks {
		files = append(files, PeersChunkFile(chunk))
	}
	if !slices.IsSorted(files) {
		t.Errorf("chunk files %v do not sort in chunk order", files)
	}
}

// TestPeersChunksFit proves the bound: PeersPerConfigMap of the longest entry the API allows (the longest group
// name, the longest namespace, a four-digit ordinal) stay within 90% of the ConfigMap limit; and then builds every
// chunk of the largest, longest-named group and measures it.
func TestPeersChunksFit(t *testing.T) {
	longestEntry := len(MemberDNS(longestGroup, longestNamespace, peapodv1alpha1.MaxReplicas-1)) + len("\n")
	if longestEntry != 187 {
		t.Errorf("the longest entry is %d bytes, want 187", longestEntry)
	}
	bound := len(peapodv1alpha1.PeersFile) + peapodv1alpha1.PeersPerConfigMap*longestEntry
	if bound > configMapDataLimit*9/10 {
		t.Errorf("a chunk may hold %d bytes, more than 90%% of the ConfigMap limit %d", bound, configMapDataLimit)
	}

	g := pt.MakePodGroup(longestGroup, longestNamespace).Replicas(peapodv1alpha1.MaxReplicas).Obj()
	all := make([]string, 0, peapodv1alpha1.MaxReplicas)
	for chunk := range PeersChunks(peapodv1alpha1.MaxReplicas) {
		cm := PeersConfigMap(g, OwnerReference(g), chunk)
		size := 0
		for key, value := range cm.Data {
			size += len(key) + len(value)
		}
		t.Logf("chunk %d: %d bytes", chunk, size)
		if size > bound {
			t.Errorf("chunk %d holds %d bytes, more than the bound %d", chunk, size, bound)
		}
		all = append(all, strings.Split(strings.TrimSuffix(cm.Data[peapodv1alpha1.PeersFile], "\n"), "\n")...)
	}
	if diff := cmp.Diff(PeerDNSNames(longestGroup, longestNamespace, peapodv1alpha1.MaxReplicas), all); diff != "" {
		t.Errorf("the chunks together are not the members in order (-want +got):\n%s", diff)
	}
}

func TestPeersEnv(t *testing.T) {
	// "web-<o>.web-members.ns.svc" is 24 bytes for a one-digit ordinal, 25 for two, 26 for three, plus a comma
	// between: 100 members are 10*24 + 90*25 + 99 = 2589 bytes, and 55 more of 27 fit (4074; 156 are 4101).
	const mostWithEnv = 155
	cases := map[string]struct {
		group    string
		ns       string
		replicas int32
		want     bool
	}{
		"a small group":                           {group: "web", ns: "ns", replicas: 2, want: true},
		"the most members at the bound":           {group: "web", ns: "ns", replicas: mostWithEnv, want: true},
		"one member more":                         {group: "web", ns: "ns", replicas: mostWithEnv + 1},
		"the most members":                        {group: "web", ns: "ns", replicas: peapodv1alpha1.MaxReplicas},
		"longest names, 22 members fit":           {group: longestGroup, ns: longestNamespace, replicas: 22, want: true},
		"longest names, 23 do not":                {group: longestGroup, ns: longestNamespace, replicas: 23},
		"the most members with the longest names": {group: longestGroup, ns: longestNamespace, replicas: peapodv1alpha1.MaxReplicas},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			g := pt.MakePodGroup(tc.group, tc.ns).Replicas(tc.replicas).Obj()
			full := strings.Join(PeerDNSNames(tc.group, tc.ns, int(tc.replicas)), ",")
			if fits := len(full) <= peapodv1alpha1.MaxPeersEnvBytes; fits != tc.want {
				t.Fatalf("the case is wrong: %d members' list is %d bytes", tc.replicas, len(full))
			}
			env := injectedEnv(g, 0)
			i := slices.IndexFunc(env, func(e corev1.EnvVar) bool { return e.Name == peapodv1alpha1.EnvPeers })
			switch {
			case tc.want && i < 0:
				t.Errorf("PEAPOD_PEERS left out of a %d-byte list", len(full))
			case tc.want && env[i].Value != full:
				t.Errorf("PEAPOD_PEERS = %q, want %q", env[i].Value, full)
			case !tc.want && i >= 0:
				t.Errorf("PEAPOD_PEERS set, %d bytes", len(env[i].Value))
			}
			for _, want := range []string{peapodv1alpha1.EnvReplicas, peapodv1alpha1.EnvGroup, peapodv1alpha1.EnvMemberDNS} {
				if !slices.ContainsFunc(env, func(e corev1.EnvVar) bool { return e.Name == want }) {
					t.Errorf("%s missing", want)
				}
			}
		})
	}
}

// TestMemberPodSize: a member of the largest group with the longest names is a few kilobytes, whatever the
// replicas, far below the API server's limits (1.5 MiB a request to etcd, 128 KiB an env string).
func TestMemberPodSize(t *testing.T) {
	g := pt.MakePodGroup(longestGroup, longestNamespace).Replicas(peapodv1alpha1.MaxReplicas).Obj()
	pod := MemberPod(g, ShapeOf(&g.Spec), peapodv1alpha1.MaxReplicas-1)
	data, err := json.Marshal(pod)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("member Pod: %d bytes", len(data))
	if len(data) > 8<<10 {
		t.Errorf("the member Pod is %d bytes, want at most 8 KiB", len(data))
	}
}

// TestPeersVolumeAtAnySize: a member made at 100 replicas has the same revision and the same peer volume as one
// made at 6000, so it needs no new Pod to see peers-1 appear; the revision is the shape's, not the built Pod's.
func TestPeersVolumeAtAnySize(t *testing.T) {
	small := pt.MakePodGroup("web", "ns").Replicas(100).Obj()
	large := pt.MakePodGroup("web", "ns").Replicas(6000).Obj()
	a, b := MemberPod(small, ShapeOf(&small.Spec), 3), MemberPod(large, ShapeOf(&large.Spec), 3)
	if a.Labels[peapodv1alpha1.RevisionLabel] != b.Labels[peapodv1alpha1.RevisionLabel] {
		t.Errorf("revision %s at 100 replicas, %s at 6000", a.Labels[peapodv1alpha1.RevisionLabel], b.Labels[peapodv1alpha1.RevisionLabel])
	}
	if diff := cmp.Diff(a.Spec.Volumes, b.Spec.Volumes); diff != "" {
		t.Errorf("volumes differ between 100 and 6000 replicas (-100 +6000):\n%s", diff)
	}
	if a.Labels[peapodv1alpha1.RevisionLabel] != ShapeOf(&small.Spec).Revision() {
		t.Errorf("the revision label is not the shape's revision")
	}
}
