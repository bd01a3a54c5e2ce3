{{/*
Names, labels and the list of services ("components") the chart runs. Every template that needs
one object per service walks the same list, built once by "tributary.components".
*/}}

{{- define "tributary.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "tributary.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "tributary.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels every object carries. */}}
{{- define "tributary.labels" -}}
helm.sh/chart: {{ include "tributary.chart" . }}
app.kubernetes.io/name: {{ include "tributary.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tributary
{{- end }}

{{/* Selector labels of one component; takes a component dict (see tributary.components). */}}
{{- define "tributary.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tributary.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- if .region }}
tributary.io/region: {{ .region }}
{{- end }}
{{- end }}

{{/* All labels of one component's objects. */}}
{{- define "tributary.componentLabels" -}}
{{ include "tributary.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- if .region }}
tributary.io/region: {{ .region }}
{{- end }}
{{- end }}

{{- define "tributary.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "tributary.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "tributary.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "tributary.keysSecretName" -}}
{{- default (printf "%s-keys" (include "tributary.fullname" .)) .Values.auth.existingSecret }}
{{- end }}

{{- define "tributary.databaseSecretName" -}}
{{- printf "%s-database" (include "tributary.fullname" .) }}
{{- end }}

{{- define "tributary.scheme" -}}
{{- if .Values.tls.enabled }}https{{ else }}http{{ end }}
{{- end }}

{{/* The in-cluster DNS name of a Service; takes (dict "root" $ "name" <service name>). */}}
{{- define "tributary.serviceHost" -}}
{{- printf "%s.%s.svc.%s" .name .root.Release.Namespace .root.Values.clusterDomain }}
{{- end }}

{{- define "tributary.membershipEndpoint" -}}
{{- $name := printf "%s-membership" (include "tributary.fullname" .) }}
{{- printf "%s://%s:%d" (include "tributary.scheme" .) (include "tributary.serviceHost" (dict "root" . "name" $name)) (int .Values.membership.port) }}
{{- end }}

{{/* True when the services migrate at start-up rather than in hook Jobs. */}}
{{- define "tributary.migrateOnStart" -}}
{{- if and (eq .Values.database.backend "postgres") .Values.migrations.enabled }}false{{ else }}true{{ end }}
{{- end }}

{{/*
Checks values that cannot be expressed in the schema; every template includes it so a bad
combination fails whichever template renders first.
*/}}
{{- define "tributary.validate" -}}
{{- if not (has .Values.database.backend (list "sqlite" "postgres")) }}
{{- fail (printf "database.backend must be sqlite or postgres, not %q" .Values.database.backend) }}
{{- end }}
{{- if not (has .Values.mesh.provider (list "none" "linkerd" "istio")) }}
{{- fail (printf "mesh.provider must be none, linkerd or istio, not %q" .Values.mesh.provider) }}
{{- end }}
{{- if and .Values.tls.enabled (ne .Values.mesh.provider "none") }}
{{- fail "tls.enabled and mesh.provider are exclusive: the mesh brings mutual TLS; native TLS is for installs without a mesh" }}
{{- end }}
{{- if and .Values.tls.enabled (not .Values.tls.secretName) }}
{{- fail "tls.enabled needs tls.secretName: a Secret with tls.crt, tls.key and ca.crt" }}
{{- end }}
{{- if and .Values.mesh.istio.peerAuthentication (ne .Values.mesh.provider "istio") }}
{{- fail "mesh.istio.peerAuthentication needs mesh.provider: istio" }}
{{- end }}
{{- if not .Values.regions }}
{{- fail "regions must list at least one region, e.g. [{name: us-east-1}]" }}
{{- end }}
{{- $seen := dict }}
{{- range .Values.regions }}
{{- if not .name }}
{{- fail "every entry of regions needs a name" }}
{{- end }}
{{- if not (regexMatch "^[a-z]+(-[a-z]+)+-[0-9]+$" .name) }}
{{- fail (printf "region %q is not a region name like us-east-1" .name) }}
{{- end }}
{{- if hasKey $seen .name }}
{{- fail (printf "region %q is listed twice" .name) }}
{{- end }}
{{- $_ := set $seen .name true }}
{{- end }}
{{- end }}

{{/*
The components: membership, the aggregator and one collector per region. Takes
(dict "root" $ "out" <dict>) and sets out.items to a list of dicts with:
  key        membership | aggregator | collector-<region> (database Secret key, Job suffix)
  component  membership | aggregator | collector
  region     the collector's region, or ""
  name       the Deployment/Service name
  binary     the executable in the image
  port       the gRPC port
  settings   the component's values (collectors: the collector defaults, replaced key by key by
             the region entry)
Fails when SQLite would run more than one replica or a PostgreSQL URL is missing.
*/}}
{{- define "tributary.components" -}}
{{- $root := .root }}
{{- $fullname := include "tributary.fullname" $root }}
{{- $items := list }}
{{- $items = append $items (dict "root" $root "key" "membership" "component" "membership" "region" "" "name" (printf "%s-membership" $fullname) "binary" "tributary-membership" "port" (int $root.Values.membership.port) "settings" $root.Values.membership) }}
{{- $items = append $items (dict "root" $root "key" "aggregator" "component" "aggregator" "region" "" "name" (printf "%s-aggregator" $fullname) "binary" "tributary-aggregator" "port" (int $root.Values.aggregator.port) "settings" $root.Values.aggregator) }}
{{- range $root.Values.regions }}
{{- /* A region's own keys replace the collector defaults whole (false and 0 included). */}}
{{- $settings := deepCopy (omit $root.Values.collector "port") }}
{{- range $key, $value := omit . "name" }}
{{- $_ := set $settings $key $value }}
{{- end }}
{{- $items = append $items (dict "root" $root "key" (printf "collector-%s" .name) "component" "collector" "region" .name "name" (printf "%s-collector-%s" $fullname .name) "binary" "tributary-collector" "port" (int $root.Values.collector.port) "settings" $settings) }}
{{- end }}
{{- range $items }}
{{- if gt (len .name) 63 }}
{{- fail (printf "%s is longer than 63 characters; shorten the release name or set fullnameOverride" .name) }}
{{- end }}
{{- $autoscaling := default dict .settings.autoscaling }}
{{- if eq $root.Values.database.backend "sqlite" }}
{{- if or (gt (int .settings.replicas) 1) $autoscaling.enabled }}
{{- fail (printf "%s: SQLite allows one replica only (replicas %v, autoscaling %v); use database.backend: postgres to scale" .name .settings.replicas (default false $autoscaling.enabled)) }}
{{- end }}
{{- else }}
{{- $database := default dict .settings.database }}
{{- if not (or $database.existingSecret $database.url) }}
{{- fail (printf "%s: the postgres backend needs database.url or database.existingSecret for this service" .name) }}
{{- end }}
{{- end }}
{{- end }}
{{- $_ := set .out "items" $items }}
{{- end }}

{{/* The env var holding a component's database URL; takes a component dict. */}}
{{- define "tributary.databaseEnv" -}}
{{- $root := .root }}
- name: TRIBUTARY_DATABASE_URL
{{- if eq $root.Values.database.backend "sqlite" }}
  value: {{ printf "sqlite:///data/%s.db" .key | quote }}
{{- else }}
{{- $database := .settings.database }}
  valueFrom:
    secretKeyRef:
{{- if $database.existingSecret }}
      name: {{ $database.existingSecret }}
      key: {{ default "database-url" $database.existingSecretKey }}
{{- else }}
      name: {{ include "tributary.databaseSecretName" $root }}
      key: {{ .key }}
{{- end }}
{{- end }}
{{- end }}

{{/* Environment shared by a component's service container and its migration Job. */}}
{{- define "tributary.baseEnv" -}}
{{- $root := .root }}
{{ include "tributary.databaseEnv" . }}
- name: RUST_LOG
  value: {{ $root.Values.logLevel | quote }}
- name: TRIBUTARY_LOG_FORMAT
  value: {{ $root.Values.logFormat | quote }}
{{- if .region }}
- name: TRIBUTARY_REGION
  value: {{ .region | quote }}
{{- end }}
{{- end }}

{{/* TLS env vars and mount; takes the root context. */}}
{{- define "tributary.tlsEnv" -}}
{{- if .Values.tls.enabled }}
- name: TRIBUTARY_TLS__CERT_FILE
  value: {{ printf "%s/tls.crt" .Values.tls.mountPath | quote }}
- name: TRIBUTARY_TLS__KEY_FILE
  value: {{ printf "%s/tls.key" .Values.tls.mountPath | quote }}
- name: TRIBUTARY_TLS__CLIENT_CA_FILE
  value: {{ printf "%s/ca.crt" .Values.tls.mountPath | quote }}
{{- end }}
{{- end }}

{{/* Pod annotations for the mesh; takes (dict "root" $ "job" true|false). */}}
{{- define "tributary.meshAnnotations" -}}
{{- $provider := .root.Values.mesh.provider }}
{{- if eq $provider "linkerd" }}
linkerd.io/inject: enabled
{{- if .job }}
config.beta.linkerd.io/proxy-enable-native-sidecar: "true"
{{- end }}
{{- else if eq $provider "istio" }}
sidecar.istio.io/inject: "true"
{{- if .job }}
sidecar.istio.io/nativeSidecar: "true"
{{- end }}
{{- end }}
{{- end }}

{{/* Pod labels for the mesh (Istio reads the injection label). */}}
{{- define "tributary.meshLabels" -}}
{{- if eq .Values.mesh.provider "istio" }}
sidecar.istio.io/inject: "true"
{{- end }}
{{- end }}

{{/* Annotations and labels keeping a pod out of any mesh (migration Jobs). */}}
{{- define "tributary.noMeshAnnotations" -}}
linkerd.io/inject: disabled
sidecar.istio.io/inject: "false"
{{- end }}
