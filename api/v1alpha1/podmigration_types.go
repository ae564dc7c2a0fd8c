package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// PodMigrationSpec says which member to move, and where. Each field is checked as the object it names would be:
// spec.group as a PodGroup's name, spec.pod as a Pod's, spec.target.nodeName as a Node's, the node selector's keys
// and values as labels.
//
// +kubebuilder:validation:XValidation:rule="has(self.member) != has(self.pod)",message="exactly one of spec.member and spec.pod must be set"
// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec is immutable: delete the PodMigration and create a new one"
// +kubebuilder:validation:XValidation:rule="!has(self.pod) || self.pod.startsWith(self.group + '-')",message="spec.pod must name a Pod of spec.group: <group>-<ordinal>, or a replacement <group>-<ordinal>-m<hash>",fieldPath=".pod"
type PodMigrationSpec struct {
	// group is the PodGroup, in the PodMigration's namespace, whose member moves: a PodGroup's name, a DNS-1035
	// label of at most 55 characters.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=55
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",message="spec.group must be a PodGroup's name: a DNS-1035 label (lowercase letters, digits and '-', starting with a letter, ending with a letter or digit)"
	// +required
	Group string `json:"group"`

	// member is the ordinal of the member to move (the 1 of web-1), from 0 to 9999. Set member or pod, not both.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=9999
	// +optional
	Member *int32 `json:"member,omitempty"`

	// pod names the member's current Pod instead of its ordinal: <group>-<ordinal>, or <group>-<ordinal>-m<hash>
	// once the member has migrated.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')",message="spec.pod must be a Pod's name: a DNS subdomain (lowercase letters, digits, '-' and '.', starting and ending with a letter or digit)"
	// +optional
	Pod string `json:"pod,omitempty"`

	// target says where the member goes; by default anywhere the scheduler likes except its current node.
	// +optional
	Target *MigrationTarget `json:"target,omitempty"`
}

// MigrationTarget narrows the nodes a migrating member may go to.
type MigrationTarget struct {
	// nodeName is the node to move to. It must exist and accept Pods (not cordoned); otherwise, or if the
	// scheduler finds the member does not fit there, the migration fails and the member stays where it is.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')",message="spec.target.nodeName must be a Node's name: a DNS subdomain (lowercase letters, digits, '-' and '.', starting and ending with a letter or digit)"
	// +optional
	NodeName string `json:"nodeName,omitempty"`

	// nodeSelector are labels the target node must have, added to the member's own node selector: at most 32, each
	// key a label key (an optional DNS-subdomain prefix of at most 253 characters and '/', then a name of at most 63
	// letters, digits, '-', '_' and '.', starting and ending with a letter or digit) and each value a label value.
	// +kubebuilder:validation:MaxProperties=32
	// +kubebuilder:validation:XValidation:rule="self.all(k, k.matches('^([a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$') && (!k.contains('/') || k.indexOf('/') <= 253))",message="spec.target.nodeSelector keys must be label keys: an optional DNS-subdomain prefix (at most 253 characters) and '/', then a name of at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit"
	// +optional
	NodeSelector map[string]LabelValue `json:"nodeSelector,omitempty"`
}

// A type of its own bounds the values' length for the CRD rules' cost: a rule on the values of a map of plain
// strings is estimated at the largest request and exceeds the budget.

// LabelValue is a label's value: empty, or at most 63 letters, digits, '-', '_' and '.', starting and ending with a
// letter or digit.
// +kubebuilder:validation:MaxLength=63
// +kubebuilder:validation:XValidation:rule="self.matches('^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$')",message="spec.target.nodeSelector values must be label values: empty, or at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit"
type LabelValue string

// MigrationPhase is where a migration is.
// +kubebuilder:validation:Enum=Pending;Running;Succeeded;Failed
type MigrationPhase string

const (
	// MigrationPending waits to start: for the group's maxConcurrentMigrations, or for the member to exist.
	MigrationPending MigrationPhase = "Pending"
	// MigrationRunning has a replacement Pod starting on the target; the source Pod still serves.
	MigrationRunning MigrationPhase = "Running"
	// MigrationSucceeded moved the member: the replacement was Ready, then the source Pod was retired.
	MigrationSucceeded MigrationPhase = "Succeeded"
	// MigrationFailed did not move the member, and left it where it was; the reason says why.
	MigrationFailed MigrationPhase = "Failed"
)

// MigrationReason says what started a migration.
// +kubebuilder:validation:Enum=Requested;Drain;NodeFailed;Update;Eviction
type MigrationReason string

const (
	// MigrationRequested is a PodMigration someone created.
	MigrationRequested MigrationReason = "Requested"
	// MigrationDrain is a member leaving a cordoned or draining node, make-before-break.
	MigrationDrain MigrationReason = "Drain"
	// MigrationNodeFailed is a member replaced because its node failed.
	MigrationNodeFailed MigrationReason = "NodeFailed"
	// MigrationUpdate is a member updated make-before-break by a rolling update with maxSurge: its replacement
	// runs the new revision.
	MigrationUpdate MigrationReason = "Update"
	// MigrationEviction is a member moved make-before-break because an Eviction (lifecycle.k8s.io, the
	// EvictionRequest API) of its Pod made peapod, the Pod's eviction responder, the active one.
	MigrationEviction MigrationReason = "Eviction"
)

// Condition types and reasons of a PodMigration.
const (
	// MigrationReplacementReady is True once the replacement Pod is Ready on the target node.
	MigrationReplacementReady = "ReplacementReady"
	// MigrationComplete is True once the source Pod is retired and the replacement is the member.
	MigrationComplete = "Complete"
	// MigrationFailedCondition is True when the migration gave up; the member keeps running where it was.
	MigrationFailedCondition = "Failed"

	ReasonGroupNotFound       = "GroupNotFound"
	ReasonMemberNotFound      = "MemberNotFound"
	ReasonTargetNotFound      = "TargetNodeNotFound"
	ReasonTargetUnschedulable = "TargetNodeUnschedulable"
	ReasonUnschedulable       = "Unschedulable"
	ReasonWaitingForCapacity  = "WaitingForCapacity"
	ReasonAlreadyMigrating    = "MemberAlreadyMigrating"
	ReasonReplacementFailed   = "ReplacementFailed"
	ReasonSourceGone          = "SourcePodGone"
)

// MigrationMode is how a member moves.
// +kubebuilder:validation:Enum=MakeBeforeBreak;StopThenStart
type MigrationMode string

const (
	// MakeBeforeBreak starts the replacement beside the old Pod and retires the old Pod once it is Ready.
	MakeBeforeBreak MigrationMode = "MakeBeforeBreak"
	// StopThenStart stops the old Pod first and starts the replacement once it is gone: the member's claims can be
	// mounted by one node at a time.
	StopThenStart MigrationMode = "StopThenStart"
)

// PodMigrationStatus is what happened so far.
type PodMigrationStatus struct {
	// phase is Pending, Running, Succeeded or Failed.
	// +optional
	Phase MigrationPhase `json:"phase,omitempty"`

	// reason is what started the migration: Requested, Drain or NodeFailed.
	// +optional
	Reason MigrationReason `json:"reason,omitempty"`

	// member is the ordinal being moved.
	// +optional
	Member *int32 `json:"member,omitempty"`

	// sourcePod and sourceNode are the member's Pod and node when the migration started.
	// +optional
	SourcePod string `json:"sourcePod,omitempty"`
	// +optional
	SourceNode string `json:"sourceNode,omitempty"`

	// replacementPod is the Pod started for the member on the target; it carries the member's identity
	// (hostname, DNS name, ordinal, env) under its own Pod name.
	// +optional
	ReplacementPod string `json:"replacementPod,omitempty"`
	// targetNode is the node the replacement was scheduled to.
	// +optional
	TargetNode string `json:"targetNode,omitempty"`

	// mode is how the member moves: MakeBeforeBreak (the replacement runs beside the old Pod until it is Ready)
	// or StopThenStart (the member has claims only one node may mount: the old Pod is stopped first, and the
	// replacement starts, with the same claims, once it is gone).
	// +optional
	Mode MigrationMode `json:"mode,omitempty"`

	// startTime is when the move started: the replacement Pod created (MakeBeforeBreak), or the old Pod told to
	// stop (StopThenStart).
	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty"`
	// replacementReadyTime is when the replacement became Ready.
	// +optional
	ReplacementReadyTime *metav1.Time `json:"replacementReadyTime,omitempty"`
	// completionTime is when the migration succeeded or failed.
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`
	// downtime is how long the member had no Ready Pod in a StopThenStart move: from the old Pod told to stop to
	// the replacement Ready. A MakeBeforeBreak move has none.
	// +optional
	Downtime *metav1.Duration `json:"downtime,omitempty"`

	// message says, in a sentence, where the migration is or why it failed.
	// +optional
	Message string `json:"message,omitempty"`

	// conditions are ReplacementReady, Complete and Failed.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// PodMigration moves one member of a PodGroup to another node, make-before-break: a replacement with the
// member's identity starts on the target, and only once it is Ready is the old Pod retired. Deleting a
// PodMigration before that cancels it (the replacement is removed); one migration per member runs at a time.
// peapod creates PodMigrations itself when a member's node is drained.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=pmig,categories={peapod}
// +kubebuilder:printcolumn:name="Group",type=string,JSONPath=`.spec.group`
// +kubebuilder:printcolumn:name="Member",type=integer,JSONPath=`.status.member`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.reason`
// +kubebuilder:printcolumn:name="From",type=string,JSONPath=`.status.sourceNode`
// +kubebuilder:printcolumn:name="To",type=string,JSONPath=`.status.targetNode`
// +kubebuilder:printcolumn:name="Mode",type=string,JSONPath=`.status.mode`,priority=1
// +kubebuilder:printcolumn:name="Downtime",type=string,JSONPath=`.status.downtime`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="oldSelf.hasValue() || self.metadata.name.size() <= 63",optionalOldSelf=true,message="metadata.name must be at most 63 characters: it is the value of the peapod.io/migration label on the replacement Pod"
type PodMigration struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec says which member moves where.
	// +required
	Spec PodMigrationSpec `json:"spec"`

	// status is what happened so far.
	// +optional
	Status PodMigrationStatus `json:"status,omitempty"`
}

// PodMigrationList is a list of PodMigrations.
//
// +kubebuilder:object:root=true
type PodMigrationList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []PodMigration `json:"items"`
}

// Active says the migration has not ended.
func (m *PodMigration) Active() bool {
	return m.Status.Phase != MigrationSucceeded && m.Status.Phase != MigrationFailed
}
