{{/* peapod.name: the chart's name, or nameOverride. */}}
{{- define "peapod.name" -}}
{{- .Values.nameOverride | default .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
peapod.fullname: the prefix of every object's name. The release's name alone when it already names the chart, so
`helm install peapod` gives "peapod", not "peapod-peapod". 48 characters at most, so that the metrics Service's
name (a DNS label of at most 63) fits.
*/}}
{{- define "peapod.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 48 | trimSuffix "-" }}
{{- else if contains (include "peapod.name" .) .Release.Name }}
{{- .Release.Name | trunc 48 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name (include "peapod.name" .) | trunc 48 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "peapod.selectorLabels" -}}
app.kubernetes.io/name: {{ include "peapod.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* peapod.managerSelectorLabels: the labels that select the managers' Pods and only them. */}}
{{- define "peapod.managerSelectorLabels" -}}
{{ include "peapod.selectorLabels" . }}
app.kubernetes.io/component: manager
{{- end }}

{{- define "peapod.labels" -}}
{{ include "peapod.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end }}

{{- define "peapod.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- .Values.serviceAccount.name | default (include "peapod.fullname" .) }}
{{- else if .Values.serviceAccount.name }}
{{- .Values.serviceAccount.name }}
{{- else }}
{{- fail "serviceAccount.name: must name an existing ServiceAccount when serviceAccount.create is false" }}
{{- end }}
{{- end }}

{{/*
peapod.leaderElection: "true" or "false". Two managers without it would both act on every PodGroup, so that
combination is refused rather than rendered.
*/}}
{{- define "peapod.leaderElection" -}}
{{- $replicas := int .Values.replicaCount }}
{{- $enabled := .Values.leaderElection.enabled }}
{{- if eq (toString $enabled) "auto" }}
{{- gt $replicas 1 }}
{{- else if or $enabled (le $replicas 1) }}
{{- $enabled }}
{{- else }}
{{- fail (printf "leaderElection.enabled: false with replicaCount %d would run %d managers acting at once; use auto or true" $replicas $replicas) }}
{{- end }}
{{- end }}

{{/* peapod.metricsScheme: what the metrics endpoint speaks, also the name of its ports. */}}
{{- define "peapod.metricsScheme" -}}
{{- ternary "https" "http" .Values.metrics.secure }}
{{- end }}

{{/* peapod.subject: the manager's ServiceAccount as the subject of a (Cluster)RoleBinding. */}}
{{- define "peapod.subject" -}}
- kind: ServiceAccount
  name: {{ include "peapod.serviceAccountName" . }}
  namespace: {{ .Release.Namespace }}
{{- end }}

{{/*
peapod.rulesOf: the rules of a role in config/rbac, from the copy hack/sync-chart.sh keeps in files/rbac/, so the
chart grants exactly what config/ (and the controllers' +kubebuilder:rbac markers) say. Called with the role's
file name and the root context: include "peapod.rulesOf" (list "role.yaml" $).
*/}}
{{- define "peapod.rulesOf" -}}
{{- $file := printf "files/rbac/%s" (index . 0) }}
{{- $role := (index . 1).Files.Get $file | fromYaml }}
{{- if not $role.rules }}
{{- fail (printf "%s has no rules: run `make manifests`" $file) }}
{{- end }}
{{- toYaml $role.rules }}
{{- end }}

{{/*
peapod.rulesNaming: the rules of a role in config/rbac that names one object (resourceNames), with the chart's name
for it instead of install.yaml's: include "peapod.rulesNaming" (list "webhook_cert_role.yaml" "name" $).
*/}}
{{- define "peapod.rulesNaming" -}}
{{- $rules := include "peapod.rulesOf" (list (index . 0) (index . 2)) | fromYamlArray }}
{{- range $rules }}
{{- $_ := set . "resourceNames" (list (index $ 1)) }}
{{- end }}
{{- toYaml $rules }}
{{- end }}

{{/*
peapod.namespaceSelector: shard.namespaceSelector as the manager's --namespace-selector takes it (kubectl -l's
syntax, terms joined by commas); empty for {}, every namespace.
*/}}
{{- define "peapod.namespaceSelector" -}}
{{- $terms := list }}
{{- range $key, $value := .matchLabels }}
{{- $terms = append $terms (printf "%s=%s" $key $value) }}
{{- end }}
{{- range .matchExpressions }}
{{- if eq .operator "In" }}
{{- $terms = append $terms (printf "%s in (%s)" .key (join "," .values)) }}
{{- else if eq .operator "NotIn" }}
{{- $terms = append $terms (printf "%s notin (%s)" .key (join "," .values)) }}
{{- else if eq .operator "Exists" }}
{{- $terms = append $terms .key }}
{{- else if eq .operator "DoesNotExist" }}
{{- $terms = append $terms (printf "!%s" .key) }}
{{- else }}
{{- fail (printf "shard.namespaceSelector.matchExpressions: operator %q of key %q is none of In, NotIn, Exists, DoesNotExist" .operator .key) }}
{{- end }}
{{- end }}
{{- join "," $terms }}
{{- end }}

{{/*
peapod.leaderElectionID: the Lease the managers elect their leader with. Each shard's is named after its release,
so two shards in one namespace never share one; a release for every namespace keeps the name it always had, so
an upgrade never runs two leaders under two names.
*/}}
{{- define "peapod.leaderElectionID" -}}
{{- if include "peapod.namespaceSelector" .Values.shard.namespaceSelector }}
{{- printf "%s.manager.peapod.io" (include "peapod.fullname" .) }}
{{- else }}
{{- "manager.peapod.io" }}
{{- end }}
{{- end }}
