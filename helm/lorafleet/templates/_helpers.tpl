{{/* Chart name, overridable. */}}
{{- define "lorafleet.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name prefix of every object. Kept to 40 characters: StatefulSet pods add "-worker-NNN"
and a controller-revision hash label, and all of it must stay within 63.
*/}}
{{- define "lorafleet.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "lorafleet.coordinator.fullname" -}}
{{- printf "%s-coordinator" (include "lorafleet.fullname" .) }}
{{- end }}

{{/* The headless Service for the cluster ports: its DNS name is the coordinator's Pekko host. */}}
{{- define "lorafleet.coordinator.clusterService" -}}
{{- printf "%s-coordinator-cluster" (include "lorafleet.fullname" .) }}
{{- end }}

{{- define "lorafleet.worker.fullname" -}}
{{- printf "%s-worker" (include "lorafleet.fullname" .) }}
{{- end }}

{{- define "lorafleet.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "lorafleet.coordinator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "lorafleet.tokenSecretName" -}}
{{- default (printf "%s-token" (include "lorafleet.fullname" .)) .Values.auth.existingSecret }}
{{- end }}

{{- define "lorafleet.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels that identify this release's pods: the NetworkPolicies trust exactly these. */}}
{{- define "lorafleet.selectorLabels" -}}
app.kubernetes.io/name: {{ include "lorafleet.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "lorafleet.labels" -}}
helm.sh/chart: {{ include "lorafleet.chart" . }}
{{ include "lorafleet.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: lorafleet
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "lorafleet.image" -}}
{{- $root := index . 0 }}
{{- $image := index . 1 }}
{{- printf "%s%s:%s" $root.Values.image.registry $image.repository (default $root.Chart.AppVersion $root.Values.image.tag) }}
{{- end }}

{{/* Quantity in Mi of the Aeron term buffer length, for the notes. */}}
{{- define "lorafleet.termMi" -}}
{{- div (int64 .Values.aeron.termBufferLength) 1048576 }}
{{- end }}

{{/* Whether the coordinator holds a Kubernetes Lease (its Role and token come with rbac.create). */}}
{{- define "lorafleet.coordinator.kubernetesLease" -}}
{{- if and .Values.rbac.create .Values.coordinator.lease.kubernetes }}true{{- end }}
{{- end }}
