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

	// FieldOwner is peapod's field manager for server-side apply.
	FieldOwner = "peapod"
)

// Env variables injected into every container and init container of a member.
const (
	EnvGroup     = "PEAPOD_GROUP"
	EnvOrdinal   = "PEAPOD_ORDINAL"
	EnvReplicas  = "PEAPOD_REPLICAS"
	EnvService   = "PEAPOD_SERVICE"
	EnvMemberDNS = "PEAPOD_MEMBER_DNS"
	EnvPeers     = "PEAPOD_PEERS"
	EnvPodName   = "POD_NAME"
	EnvNamespace = "POD_NAMESPACE"
	EnvPodIP     = "POD_IP"
	EnvNodeName  = "NODE_NAME"
	EnvHostIP    = "HOST_IP"
)

// Where the live peer list is mounted in every container: file PeersFile holds one stable DNS name a line and is
// updated when the membership changes (env variables are fixed when a container starts).
const (
	PeersMountPath   = "/etc/peapod"
	PeersFile        = "peers"
	PeersVolumeName  = "peapod-peers"
	SharedVolumeRoot = "/shared"
)
