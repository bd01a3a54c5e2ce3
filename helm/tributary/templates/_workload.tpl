{{/*
One service's Deployment, Service and (SQLite) PersistentVolumeClaim; takes a component dict
from "tributary.components".
*/}}
{{- define "tributary.workload" -}}
{{- $root := .root }}
{{- $values := $root.Values }}
{{- $settings := .settings }}
{{- $autoscaling := default dict $settings.autoscaling }}
{{- $sqlite := eq $values.database.backend "sqlite" }}
{{- $selector := include "tributary.selectorLabels" . }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .name }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "tributary.componentLabels" . | nindent 4 }}
spec:
  {{- if not $autoscaling.enabled }}
  replicas: {{ int $settings.replicas }}
  {{- end }}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      {{- $selector | nindent 6 }}
  strategy:
    {{- if $sqlite }}
    # One pod owns the SQLite volume: stop the old pod before the new one mounts it.
    type: Recreate
    {{- else }}
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 1
      maxUnavailable: 0
    {{- end }}
  template:
    metadata:
      labels:
        {{- $selector | nindent 8 }}
        {{- with include "tributary.meshLabels" $root }}
        {{- . | nindent 8 }}
        {{- end }}
        {{- with $values.pod.labels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- $annotations := include "tributary.meshAnnotations" (dict "root" $root "job" false) }}
      {{- if or $annotations $values.pod.annotations }}
      annotations:
        {{- with $annotations }}
        {{- . | nindent 8 }}
        {{- end }}
        {{- with $values.pod.annotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- end }}
    spec:
      serviceAccountName: {{ include "tributary.serviceAccountName" $root }}
      automountServiceAccountToken: false
      # Kubernetes would otherwise inject <SERVICE>_PORT-style variables, and names starting with
      # TRIBUTARY_ are configuration to the services.
      enableServiceLinks: false
      terminationGracePeriodSeconds: {{ int $values.pod.terminationGracePeriodSeconds }}
      {{- with $values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- toYaml $values.pod.securityContext | nindent 8 }}
      containers:
        - name: {{ .component }}
          image: {{ include "tributary.image" $root }}
          imagePullPolicy: {{ $values.image.pullPolicy }}
          command:
            - /usr/local/bin/{{ .binary }}
          args:
            - serve
          ports:
            - name: grpc
              containerPort: {{ .port }}
              protocol: TCP
            - name: metrics
              containerPort: {{ int $values.ports.metrics }}
              protocol: TCP
          env:
            {{- include "tributary.baseEnv" . | trim | nindent 12 }}
            - name: TRIBUTARY_LISTEN
              value: {{ printf "%s:%d" $values.listenAddress (int .port) | quote }}
            - name: TRIBUTARY_METRICS_LISTEN
              value: {{ printf "%s:%d" $values.listenAddress (int $values.ports.metrics) | quote }}
            - name: TRIBUTARY_MIGRATE_ON_START
              value: {{ include "tributary.migrateOnStart" $root | quote }}
            - name: TRIBUTARY_SHUTDOWN_GRACE_SECONDS
              value: {{ int $values.pod.shutdownGraceSeconds | quote }}
            {{- if eq .component "membership" }}
            - name: TRIBUTARY_BOOTSTRAP_KEY
              valueFrom:
                secretKeyRef:
                  name: {{ include "tributary.keysSecretName" $root }}
                  key: {{ $values.auth.operatorKeyKey }}
            - name: TRIBUTARY_BOOTSTRAP_SERVICE_KEY
              valueFrom:
                secretKeyRef:
                  name: {{ include "tributary.keysSecretName" $root }}
                  key: {{ $values.auth.serviceKeyKey }}
            {{- else }}
            - name: TRIBUTARY_MEMBERSHIP_ENDPOINT
              value: {{ include "tributary.membershipEndpoint" $root | quote }}
            - name: TRIBUTARY_SERVICE_API_KEY
              valueFrom:
                secretKeyRef:
                  name: {{ include "tributary.keysSecretName" $root }}
                  key: {{ $values.auth.serviceKeyKey }}
            - name: TRIBUTARY_AUTH_CACHE_TTL_SECONDS
              value: {{ int $values.auth.cacheTtlSeconds | quote }}
            {{- end }}
            {{- with $values.telemetry.otlpEndpoint }}
            - name: OTEL_EXPORTER_OTLP_ENDPOINT
              value: {{ . | quote }}
            {{- end }}
            - name: TRIBUTARY_TRACE_FILTER
              value: {{ $values.telemetry.traceFilter | quote }}
            {{- with include "tributary.tlsEnv" $root | trim }}
            {{- . | nindent 12 }}
            {{- end }}
            {{- with $settings.extraEnv }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          startupProbe:
            {{- include "tributary.probeAction" (dict "root" $root "port" .port) | nindent 12 }}
            periodSeconds: {{ int $values.probes.startup.periodSeconds }}
            failureThreshold: {{ int $values.probes.startup.failureThreshold }}
          livenessProbe:
            {{- include "tributary.probeAction" (dict "root" $root "port" .port) | nindent 12 }}
            periodSeconds: {{ int $values.probes.liveness.periodSeconds }}
            timeoutSeconds: {{ int $values.probes.liveness.timeoutSeconds }}
            failureThreshold: {{ int $values.probes.liveness.failureThreshold }}
          readinessProbe:
            {{- include "tributary.probeAction" (dict "root" $root "port" .port) | nindent 12 }}
            periodSeconds: {{ int $values.probes.readiness.periodSeconds }}
            timeoutSeconds: {{ int $values.probes.readiness.timeoutSeconds }}
            failureThreshold: {{ int $values.probes.readiness.failureThreshold }}
          resources:
            {{- toYaml (default dict $settings.resources) | nindent 12 }}
          securityContext:
            {{- toYaml $values.pod.containerSecurityContext | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
            {{- if $sqlite }}
            - name: data
              mountPath: /data
            {{- end }}
            {{- if $values.tls.enabled }}
            - name: tls
              mountPath: {{ $values.tls.mountPath }}
              readOnly: true
            {{- end }}
      volumes:
        - name: tmp
          emptyDir:
            sizeLimit: 64Mi
        {{- if $sqlite }}
        - name: data
          persistentVolumeClaim:
            claimName: {{ .name }}-data
        {{- end }}
        {{- if $values.tls.enabled }}
        - name: tls
          secret:
            secretName: {{ $values.tls.secretName }}
        {{- end }}
      {{- with $values.pod.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $values.pod.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $settings.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- if $values.pod.topologySpreadConstraints }}
      topologySpreadConstraints:
        {{- range $values.pod.topologySpreadConstraints }}
        {{- $constraint := deepCopy . }}
        {{- if not $constraint.labelSelector }}
        {{- $_ := set $constraint "labelSelector" (dict "matchLabels" ($selector | fromYaml)) }}
        {{- end }}
        - {{- toYaml $constraint | nindent 10 }}
        {{- end }}
      {{- end }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ .name }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "tributary.componentLabels" . | nindent 4 }}
  {{- with $values.service.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  type: ClusterIP
  {{- if $values.service.headless }}
  clusterIP: None
  {{- end }}
  selector:
    {{- $selector | nindent 4 }}
  ports:
    - name: grpc
      port: {{ .port }}
      targetPort: grpc
      protocol: TCP
      appProtocol: grpc
    - name: metrics
      port: {{ int $values.ports.metrics }}
      targetPort: metrics
      protocol: TCP
      appProtocol: http
{{- if $sqlite }}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: {{ .name }}-data
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "tributary.componentLabels" . | nindent 4 }}
  annotations:
    # The SQLite file outlives `helm uninstall`; delete the claim to drop the data.
    helm.sh/resource-policy: keep
spec:
  accessModes:
    {{- toYaml $values.database.sqlite.accessModes | nindent 4 }}
  {{- with $values.database.sqlite.storageClassName }}
  storageClassName: {{ . }}
  {{- end }}
  resources:
    requests:
      storage: {{ $values.database.sqlite.size }}
{{- end }}
{{- end }}

{{/*
How the kubelet probes a service: the native gRPC health check, or a TCP connect when native TLS
is on (the kubelet's gRPC probe speaks plaintext only, so it cannot check a TLS listener).
*/}}
{{- define "tributary.probeAction" -}}
{{- if .root.Values.tls.enabled -}}
tcpSocket:
  port: {{ .port }}
{{- else -}}
grpc:
  port: {{ .port }}
{{- end -}}
{{- end }}
