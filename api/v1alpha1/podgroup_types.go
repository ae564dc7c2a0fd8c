package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// PodGroupSpec is the desired state of a PodGroup.
//
// +kubebuilder:validation:XValidation:rule="!has(self.updateStrategy) || !has(self.updateStrategy.rollingUpdate) || !has(self.updateStrategy.rollingUpdate.partition) || !has(self.replicas) || self.updateStrategy.rollingUpdate.partition <= self.replicas",message="spec.updateStrategy.rollingUpdate.partition must not exceed spec.replicas",fieldPath=".updateStrategy.rollingUpdate.partition"
// +kubebuilder:validation:XValidation:rule="!has(self.updateStrategy) || self.updateStrategy.type != 'OnDelete' || !has(self.updateStrategy.rollingUpdate)",message="spec.updateStrategy.rollingUpdate is only allowed with type RollingUpdate",fieldPath=".updateStrategy.rollingUpdate"
// +kubebuilder:validation:XValidation:rule="size(self.template.spec.containers) >= 1",message="spec.template.spec.containers must have at least one container",fieldPath=".template.spec.containers"
// +kubebuilder:validation:XValidation:rule="!has(self.migration) || !has(self.migration.nodeFailure) || !has(self.migration.nodeFailure.after) || duration(self.migration.nodeFailure.after) >= duration('5s')",message="spec.migration.nodeFailure.after must be at least 5s: a healthy kubelet renews its Lease every 10s",fieldPath=".migration.nodeFailure.after"
type PodGroupSpec struct {
	// replicas is the number of members. Each member is one Pod named <group>-<ordinal>, ordinals 0..replicas-1.
	// Scaling down removes the highest ordinals first. The scale subresource sets it (kubectl scale, HPA).
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=10000
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`

	// template is the Pod of every member: its containers share network, localhost and volumes. Everything a Pod
	// has may be set (volumes, resources, node selector, affinity, tolerations, runtime class). Labels under
	// peapod.io/ are reserved. peapod sets hostname and subdomain so every member has a stable DNS name.
	// +required
	Template corev1.PodTemplateSpec `json:"template"`

	// sharedVolumes is a shorthand for storage shared by the containers of one member: each entry becomes an
	// emptyDir volume named after it, mounted into every container and init container at /shared/<name>.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=16
	// +optional
	SharedVolumes []SharedVolume `json:"sharedVolumes,omitempty"`

	// volumeClaimTemplates give every member PersistentVolumeClaims of its own, named <name>-<group>-<ordinal>,
	// that follow the member's identity wherever it runs. A template's containers mount one by its name; the
	// template's own volumes must not use these names. They cannot be changed once set, as with a StatefulSet.
	// The admission policy checks each has a DNS-label name of its own, access modes and a storage request.
	// +kubebuilder:validation:MaxItems=16
	// +optional
	VolumeClaimTemplates []VolumeClaimTemplate `json:"volumeClaimTemplates,omitempty"`

	// persistentVolumeClaimRetentionPolicy says whether the members' claims are kept when the group is deleted or
	// scaled down. Default: kept in both cases.
	// +optional
	PersistentVolumeClaimRetentionPolicy *ClaimRetentionPolicy `json:"persistentVolumeClaimRetentionPolicy,omitempty"`

	// service says how the group is reached. A headless Service named <group>-members always exists for the
	// per-member DNS names <group>-<ordinal>.<group>-members.<namespace>.svc; when ports are given, a ClusterIP
	// Service named <group> selects the Ready members.
	// +optional
	Service *GroupService `json:"service,omitempty"`

	// env is added to every container and init container, after the variables peapod injects (PEAPOD_GROUP,
	// PEAPOD_ORDINAL, PEAPOD_REPLICAS, PEAPOD_SERVICE, PEAPOD_MEMBER_DNS, PEAPOD_PEERS, POD_NAME, POD_NAMESPACE,
	// POD_IP, NODE_NAME, HOST_IP). PEAPOD_PEERS, all members' names comma-separated, is set only while that list
	// is at most 4096 bytes (about 150 members with short names, 22 with the longest); above it the variable is
	// left out, and the full list is in the files /etc/peapod/peers* (cat /etc/peapod/peers*). A container's own
	// variable of the same name wins over both.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=128
	// +optional
	Env []corev1.EnvVar `json:"env,omitempty"`

	// updateStrategy says how a template change reaches existing members.
	// +optional
	UpdateStrategy *UpdateStrategy `json:"updateStrategy,omitempty"`

	// revisionHistoryLimit is how many ControllerRevisions of earlier templates are kept, besides the current and
	// update revisions and those a member still runs; older ones are deleted, oldest first. A partitioned rollout
	// recreates a member below the partition from its revision. Default 10, like a StatefulSet's.
	// +kubebuilder:default=10
	// +kubebuilder:validation:Minimum=0
	// +optional
	RevisionHistoryLimit *int32 `json:"revisionHistoryLimit,omitempty"`

	// placement spreads the members over nodes or zones.
	// +optional
	Placement *Placement `json:"placement,omitempty"`

	// minReadySeconds is how long a member must be Ready, with no container crashing, to count as available.
	// +kubebuilder:validation:Minimum=0
	// +optional
	MinReadySeconds int32 `json:"minReadySeconds,omitempty"`

	// migration says when and how members leave a failed node.
	// +optional
	Migration *MigrationPolicy `json:"migration,omitempty"`
}

// MigrationPolicy says how members leave nodes.
type MigrationPolicy struct {
	// nodeFailure says when a member on a failed node is replaced on a healthy one.
	// +optional
	NodeFailure *NodeFailurePolicy `json:"nodeFailure,omitempty"`

	// drain says what happens to a member whose node is cordoned or drained: Migrate (the default) moves it
	// make-before-break, so the group's Ready count does not drop while there is room elsewhere; Evict lets the
	// eviction kill it and recreates it afterwards, like a StatefulSet. With Migrate, peapod keeps a
	// PodDisruptionBudget named <group> that refuses evictions of Ready members: `kubectl drain` retries until
	// the member has moved.
	// +kubebuilder:default=Migrate
	// +optional
	Drain DrainPolicy `json:"drain,omitempty"`

	// maxConcurrentMigrations caps how many of the group's members are being moved at once (off failed nodes,
	// drained nodes, or on request), so a zone outage does not become a storm. The manager's
	// --max-concurrent-migrations caps failovers of all groups together. Default: no cap of the group's own.
	// +kubebuilder:validation:Minimum=1
	// +optional
	MaxConcurrentMigrations *int32 `json:"maxConcurrentMigrations,omitempty"`
}

// DrainPolicy says how members leave a drained node.
// +kubebuilder:validation:Enum=Migrate;Evict
type DrainPolicy string

const (
	// DrainMigrate moves members off cordoned nodes make-before-break.
	DrainMigrate DrainPolicy = "Migrate"
	// DrainEvict lets evictions delete members; they are recreated, same name, once the old Pod is gone.
	DrainEvict DrainPolicy = "Evict"
)

// FencingPolicy says whether a member may be replaced while its old Pod might still run.
// +kubebuilder:validation:Enum=None;Required
type FencingPolicy string

const (
	// FencingNone replaces a member once its node has been unhealthy for nodeFailure.after: the old Pod object is
	// force-deleted and the member recreated, same name, on a healthy node. A partitioned node may still run the
	// old copy until its kubelet returns, as with a Deployment. Members with a volumeClaimTemplate that is not
	// ReadWriteMany or ReadOnlyMany are replaced as under Required whatever the group says: their volume stays
	// attached to the old node until it is fenced, and the group's AwaitingFencing condition says so.
	FencingNone FencingPolicy = "None"
	// FencingRequired replaces a member only once its node is known to be dead: the node carries the
	// node.kubernetes.io/out-of-service taint, or the Node object is deleted. At most one live Pod per identity.
	FencingRequired FencingPolicy = "Required"
)

// NodeFailurePolicy says when a member on a failed node is replaced.
type NodeFailurePolicy struct {
	// after is how long a member's node may be unhealthy before the member is replaced: its Lease in
	// kube-node-lease not renewed for that long (kubelets renew every 10 s), or its Ready condition False or
	// Unknown, or the not-ready/unreachable taint on it, for that long. Default 20s; at least 5s.
	// +kubebuilder:default="20s"
	// +optional
	After *metav1.Duration `json:"after,omitempty"`

	// fencing is None (the default: replace after `after`) or Required (replace only once the node is known dead).
	// +kubebuilder:default=None
	// +optional
	Fencing FencingPolicy `json:"fencing,omitempty"`
}

// SharedVolume is storage shared by all containers of one member.
type SharedVolume struct {
	// name names the volume and its mount point /shared/<name>. It must not collide with a template volume, nor
	// be peapod-peers, the volume of the peer list.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +kubebuilder:validation:XValidation:rule="self != 'peapod-peers'",message="spec.sharedVolumes[*].name: peapod-peers is reserved: it is the volume of the peer list peapod mounts at /etc/peapod"
	// +required
	Name string `json:"name"`

	// medium is the emptyDir medium: "" for the node's disk, "Memory" for tmpfs.
	// +kubebuilder:validation:Enum="";Memory
	// +optional
	Medium corev1.StorageMedium `json:"medium,omitempty"`

	// sizeLimit caps the volume's size.
	// +optional
	SizeLimit *resource.Quantity `json:"sizeLimit,omitempty"`
}

// GroupService describes the ClusterIP Service in front of the group.
type GroupService struct {
	// ports are the ports of the ClusterIP Service named <group>, which selects the group's Ready members.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	// +required
	Ports []ServicePort `json:"ports"`
}

// ServicePort is one port of the group's Service.
type ServicePort struct {
	// name is the port's name, unique in the Service (an IANA_SVC_NAME: lowercase, at most 15 characters).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=15
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +required
	Name string `json:"name"`

	// port is the port the Service listens on.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +required
	Port int32 `json:"port"`

	// targetPort is the container port (number or name) traffic goes to; it defaults to port.
	// +optional
	TargetPort *intstr.IntOrString `json:"targetPort,omitempty"`

	// protocol is TCP, UDP or SCTP.
	// +kubebuilder:validation:Enum=TCP;UDP;SCTP
	// +kubebuilder:default=TCP
	// +optional
	Protocol corev1.Protocol `json:"protocol,omitempty"`
}

// UpdateStrategyType says how template changes reach existing members.
// +kubebuilder:validation:Enum=RollingUpdate;OnDelete
type UpdateStrategyType string

const (
	// RollingUpdateStrategy replaces outdated members, highest ordinal first, keeping at most maxUnavailable
	// members unavailable.
	RollingUpdateStrategy UpdateStrategyType = "RollingUpdate"
	// OnDeleteStrategy updates a member only when someone deletes its Pod.
	OnDeleteStrategy UpdateStrategyType = "OnDelete"
)

// UpdateStrategy says how a template change reaches existing members.
type UpdateStrategy struct {
	// type is RollingUpdate (the default) or OnDelete.
	// +kubebuilder:default=RollingUpdate
	// +optional
	Type UpdateStrategyType `json:"type,omitempty"`

	// rollingUpdate tunes the RollingUpdate strategy.
	// +optional
	RollingUpdate *RollingUpdate `json:"rollingUpdate,omitempty"`
}

// RollingUpdate tunes a rolling update.
//
// +kubebuilder:validation:XValidation:rule="!has(self.maxUnavailable) || (type(self.maxUnavailable) == int ? self.maxUnavailable >= 1 : self.maxUnavailable.matches('^(100|[1-9][0-9]?)%$'))",message="spec.updateStrategy.rollingUpdate.maxUnavailable must be an integer >= 1 or a percentage from 1% to 100%",fieldPath=".maxUnavailable"
// +kubebuilder:validation:XValidation:rule="!has(self.maxSurge) || (type(self.maxSurge) == int ? self.maxSurge >= 0 : self.maxSurge.matches('^(100|[1-9]?[0-9])%$'))",message="spec.updateStrategy.rollingUpdate.maxSurge must be an integer >= 0 or a percentage from 0% to 100%",fieldPath=".maxSurge"
type RollingUpdate struct {
	// maxUnavailable is how many members (a number, or a percentage of replicas rounded down, at least 1) may be
	// unavailable at once during the update. Default 1.
	// +kubebuilder:validation:XIntOrString
	// +optional
	MaxUnavailable *intstr.IntOrString `json:"maxUnavailable,omitempty"`

	// maxSurge is how many members (a number, or a percentage of replicas rounded up) are updated at once
	// make-before-break: a replacement at the new revision, with the member's identity, starts beside the
	// member's Pod, and the old Pod is retired only once the replacement is Ready, so the update never lowers the
	// Ready count. Each such move is a PodMigration with reason Update. Default 0: members are deleted and
	// recreated, at most maxUnavailable at once. Members with a volumeClaimTemplate that is not ReadWriteMany or
	// ReadOnlyMany always roll that way (stop-then-start): their volume cannot be on two nodes at once.
	// +kubebuilder:validation:XIntOrString
	// +optional
	MaxSurge *intstr.IntOrString `json:"maxSurge,omitempty"`

	// partition stages a rollout: only members with an ordinal >= partition are updated. Default 0.
	// +kubebuilder:validation:Minimum=0
	// +optional
	Partition *int32 `json:"partition,omitempty"`
}

// SpreadPolicy says over what the members are spread, and how strictly.
// +kubebuilder:validation:Enum=None;Node;Zone;OnePerNode;OnePerZone
type SpreadPolicy string

const (
	// SpreadNone places members wherever the scheduler likes.
	SpreadNone SpreadPolicy = "None"
	// SpreadNode spreads members evenly over the nodes they may use: the member counts of two nodes differ by at
	// most one (max skew 1 over kubernetes.io/hostname). Two members may share a node when there are fewer usable
	// nodes than members, e.g. while one is drained.
	SpreadNode SpreadPolicy = "Node"
	// SpreadZone spreads members evenly over zones (max skew 1 over topology.kubernetes.io/zone).
	SpreadZone SpreadPolicy = "Zone"
	// SpreadOnePerNode allows at most one member per node (required pod anti-affinity on kubernetes.io/hostname),
	// so losing a node never loses two members: a member with no free node stays Pending, and a drain waits for a
	// free node rather than co-locating two members.
	SpreadOnePerNode SpreadPolicy = "OnePerNode"
	// SpreadOnePerZone allows at most one member per zone (required pod anti-affinity on
	// topology.kubernetes.io/zone), with the same waiting.
	SpreadOnePerZone SpreadPolicy = "OnePerZone"
)

// Placement spreads the members.
type Placement struct {
	// spread is how members are placed relative to each other: None; Node or Zone to spread them evenly (max
	// skew 1: a topology spread constraint, added to the template's own; members may share a node or zone when
	// there are fewer than members); OnePerNode or OnePerZone for at most one member per node or zone (a required
	// pod anti-affinity: members wait Pending, and drains wait, rather than share). Only OnePerNode guarantees
	// that a node failure or drain never takes two members at once.
	// +kubebuilder:default=None
	// +optional
	Spread SpreadPolicy `json:"spread,omitempty"`
}

// PodGroupStatus is the observed state of a PodGroup.
type PodGroupStatus struct {
	// observedGeneration is the metadata.generation this status was computed from.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// replicas is the number of member Pods that exist and are not being deleted.
	// +optional
	Replicas int32 `json:"replicas,omitempty"`

	// readyReplicas is the number of members whose Pod is Ready.
	// +optional
	ReadyReplicas int32 `json:"readyReplicas,omitempty"`

	// availableReplicas is the number of members Ready for at least minReadySeconds.
	// +optional
	AvailableReplicas int32 `json:"availableReplicas,omitempty"`

	// updatedReplicas is the number of members at updateRevision.
	// +optional
	UpdatedReplicas int32 `json:"updatedReplicas,omitempty"`

	// currentRevision is the template revision all members had before the update in progress, if any.
	// +optional
	CurrentRevision string `json:"currentRevision,omitempty"`

	// updateRevision is the revision of the current template.
	// +optional
	UpdateRevision string `json:"updateRevision,omitempty"`

	// selector is the label selector of the members, for the scale subresource (HPA).
	// +optional
	Selector string `json:"selector,omitempty"`

	// lastMigration is the most recent member move: a failover off a failed node, a drain or a PodMigration.
	// +optional
	LastMigration *MigrationRecord `json:"lastMigration,omitempty"`

	// conditions are Available (at least the desired members are available), Progressing (members are being
	// created, updated or replaced) and Degraded (something keeps the group from its spec; the reason says what).
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// MigrationRecord tells of one member move.
type MigrationRecord struct {
	// member is the ordinal that moved.
	Member int32 `json:"member"`
	// reason is NodeFailed, Drain or Requested.
	Reason MigrationReason `json:"reason"`
	// migration names the PodMigration that moved the member, if one did.
	// +optional
	Migration string `json:"migration,omitempty"`
	// from is the node the member left.
	// +optional
	From string `json:"from,omitempty"`
	// to is the node the member runs on now, once known.
	// +optional
	To string `json:"to,omitempty"`
	// startTime is when the move started (for a failover: when peapod replaced the member).
	StartTime metav1.Time `json:"startTime"`
	// readyTime is when the member was Ready again on its new node.
	// +optional
	ReadyTime *metav1.Time `json:"readyTime,omitempty"`
	// downtime is how long the member had no Ready Pod, for a move that stopped it first (StopThenStart).
	// +optional
	Downtime *metav1.Duration `json:"downtime,omitempty"`
}

// PodGroup is a group of identical members; each member is one Pod of tightly coupled containers with a stable
// name and DNS identity, reachable through the group's Services, told about its peers, and replaced on a healthy
// node when its node fails.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:subresource:scale:specpath=.spec.replicas,statuspath=.status.replicas,selectorpath=.status.selector
// +kubebuilder:resource:shortName=pgroup,categories={peapod,all}
// +kubebuilder:printcolumn:name="Desired",type=integer,JSONPath=`.spec.replicas`
// +kubebuilder:printcolumn:name="Ready",type=integer,JSONPath=`.status.readyReplicas`
// +kubebuilder:printcolumn:name="Available",type=integer,JSONPath=`.status.availableReplicas`
// +kubebuilder:printcolumn:name="Up-to-date",type=integer,JSONPath=`.status.updatedReplicas`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 55",message="metadata.name must be at most 55 characters, so that the headless Service <name>-members and the members' hostnames <name>-<ordinal> stay DNS labels"
// +kubebuilder:validation:XValidation:rule="self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",message="metadata.name must be a DNS-1035 label (lowercase letters, digits and '-', starting with a letter), because it names the group's Services"
type PodGroup struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired state of the group.
	// +required
	Spec PodGroupSpec `json:"spec"`

	// status is the observed state of the group.
	// +optional
	Status PodGroupStatus `json:"status,omitempty"`
}

// PodGroupList is a list of PodGroups.
//
// +kubebuilder:object:root=true
type PodGroupList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []PodGroup `json:"items"`
}
