package v1alpha1

// Labels, annotations and env variables peapod sets: one place, so users can select on them and nothing else
// spells them twice.
const (
	// GroupLabel names the PodGroup a Pod, Service or ConfigMap belongs to.
	GroupLabel = "peapod.io/group"
	// OrdinalLabel is a member Pod's ordinal.
	OrdinalLabel = "peapod.io/ordinal"
	// RevisionLabel is the template revision a member Pod was built from.
	RevisionLabel = "peapod.io/revision"
	// MigrationLabel on a Pod names the PodMigration that started it as a member's replacement.
	MigrationLabel = "peapod.io/migration"
	// MigrationReasonLabel on a PodMigration peapod created says why (Drain); one without it was requested.
	MigrationReasonLabel = "peapod.io/migration-reason"
	// ReservedLabelPrefix starts every label peapod owns; templates may not set them.
	ReservedLabelPrefix = "peapod.io/"

	// AppliedHashAnnotation on a Service or ConfigMap is the hash of what peapod last applied to it, so an
	// unchanged group costs no write.
	AppliedHashAnnotation = "peapod.io/applied-hash"

	// AvoidedNodesAnnotation on a member Pod lists, comma-separated, the failed nodes its node affinity keeps it
	// off, so a Pod still Pending once they are healthy again is recreated without them.
	AvoidedNodesAnnotation = "peapod.io/avoided-nodes"

	// EvictionAnnotation on a PodMigration peapod started for an Eviction (lifecycle.k8s.io) names that Eviction,
	// whose status peapod keeps current while the member moves.
	EvictionAnnotation = "peapod.io/eviction"

	// FieldOwner is peapod's field manager for server-side apply.
	FieldOwner = "peapod"
)

// peapod's entry in a member Pod's spec.evictionResponders, set where the cluster serves the EvictionRequest API
// (lifecycle.k8s.io/v1alpha1): an eviction of the Pod is handed to peapod first, which moves the member
// make-before-break; the priority is the one the API asks of a Pod's managing controller.
const (
	EvictionResponder         = "peapod.io/podgroup-controller"
	EvictionResponderPriority = 10000
)

// Env variables injected into every container and init container of a member.
const (
	EnvGroup     = "PEAPOD_GROUP"
	EnvOrdinal   = "PEAPOD_ORDINAL"
	EnvReplicas  = "PEAPOD_REPLICAS"
	EnvService   = "PEAPOD_SERVICE"
	EnvMemberDNS = "PEAPOD_MEMBER_DNS"
	// EnvPeers lists every member's stable DNS name, comma-separated, by ordinal. It is set only while that list
	// is at most MaxPeersEnvBytes long (a few dozen to a few hundred members, by the length of the names): an env
	// string grows every container of every member, and the kernel refuses one over 128 KiB. Above it the
	// variable is left out, not set empty; the peer files under PeersMountPath always hold the full list.
	EnvPeers     = "PEAPOD_PEERS"
	EnvPodName   = "POD_NAME"
	EnvNamespace = "POD_NAMESPACE"
	EnvPodIP     = "POD_IP"
	EnvNodeName  = "NODE_NAME"
	EnvHostIP    = "HOST_IP"
)

// MaxPeersEnvBytes bounds EnvPeers: a longer comma-separated list is not injected.
const MaxPeersEnvBytes = 4096

// MaxReplicas is the most members a group may have, as spec.replicas' Maximum marker says.
const MaxReplicas = 10000

// Where the live peer list is mounted in every container: one stable DNS name a line, by ordinal, updated when the
// membership changes (env variables are fixed when a container starts). Members are listed PeersPerConfigMap to a
// ConfigMap, so one stays under the API server's 1 MiB even for the longest names: the file PeersFile holds
// ordinals 0..4999 (ConfigMap <group>-peers), PeersFile-1 ordinals 5000..9999 (ConfigMap <group>-peers-1), and so
// on; a file appears when the group grows into it and goes when it shrinks below it. `cat /etc/peapod/peers*` is
// the full list, in order. Each file's ConfigMap key is PeersFile.
const (
	PeersMountPath    = "/etc/peapod"
	PeersFile         = "peers"
	PeersVolumeName   = "peapod-peers"
	PeersPerConfigMap = 5000
	SharedVolumeRoot  = "/shared"
)
