{{/* Chart name, truncated to the 63 characters Kubernetes allows in names and labels. */}}
{{- define "dns01-webhook.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full name: the release name, prefixed onto the chart name unless it already contains it. */}}
{{- define "dns01-webhook.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "dns01-webhook.selectorLabels" -}}
app.kubernetes.io/name: {{ include "dns01-webhook.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "dns01-webhook.labels" -}}
{{ include "dns01-webhook.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end -}}

{{- define "dns01-webhook.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "dns01-webhook.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* groupName, checked once here so every template fails with the same message. */}}
{{- define "dns01-webhook.groupName" -}}
{{- required "groupName is required: the API group Issuers reference as dns01.webhook.groupName (e.g. acme.example.com; acme.imroc.cc to replace the imroc DNSPod webhook)" .Values.groupName -}}
{{- end -}}

{{/* Secret holding the serving certificate: issued by the chart's PKI, or brought by the user. */}}
{{- define "dns01-webhook.servingSecretName" -}}
{{- if .Values.pki.enabled -}}
{{- printf "%s-tls" (include "dns01-webhook.fullname" .) -}}
{{- else -}}
{{- required "pki.existingSecret is required when pki.enabled is false (a kubernetes.io/tls Secret for the serving certificate)" .Values.pki.existingSecret -}}
{{- end -}}
{{- end -}}

{{- define "dns01-webhook.servingCertificateName" -}}
{{- printf "%s-tls" (include "dns01-webhook.fullname" .) -}}
{{- end -}}

{{/* Namespaces whose Secrets the webhook may read (ignored when secrets.clusterWide). */}}
{{- define "dns01-webhook.secretNamespaces" -}}
{{- $namespaces := .Values.secrets.namespaces | default (list .Values.certManager.namespace) -}}
{{- toJson (uniq $namespaces) -}}
{{- end -}}

{{/* Comma list for --solver-packages: bundled solvers by name, then extra packages verbatim. */}}
{{- define "dns01-webhook.solverPackages" -}}
{{- $packages := list -}}
{{- range .Values.solvers.enabled -}}
{{- $packages = append $packages (printf "@dns01-webhook/solver-%s" .) -}}
{{- end -}}
{{- $packages = concat $packages .Values.solvers.extraPackages -}}
{{- if not $packages -}}
{{- fail "solvers.enabled and solvers.extraPackages are both empty: enable at least one solver" -}}
{{- end -}}
{{- join "," $packages -}}
{{- end -}}

{{- define "dns01-webhook.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* RBAC rules for the credentials Issuer configs name: Secrets, and ServiceAccount tokens when enabled. */}}
{{- define "dns01-webhook.credentialRules" -}}
- apiGroups:
    - ""
  resources:
    - secrets
  verbs:
    - get
  {{- with .Values.secrets.resourceNames }}
  resourceNames:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- if .Values.serviceAccountTokens.enabled }}
- apiGroups:
    - ""
  resources:
    - serviceaccounts/token
  verbs:
    - create
  {{- with .Values.serviceAccountTokens.resourceNames }}
  resourceNames:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
{{- end -}}

{{/*
V8's heap for the container's memory limit, in MiB: half of resources.limits.memory ("256Mi", "1Gi", "512M",
bytes). Node does not size its heap from the cgroup limit: without this it grows past the limit and the kernel
OOM-kills the pod instead of V8 collecting garbage. The other half is Node itself, TLS, buffers and the young
generation. Empty when no memory limit is set.
*/}}
{{- define "dns01-webhook.heapMiB" -}}
{{- $limit := toString (dig "limits" "memory" "" (.Values.resources | default dict)) -}}
{{- $units := dict "" 1.0 "Ki" 1024.0 "Mi" 1048576.0 "Gi" 1073741824.0 "Ti" 1099511627776.0 "k" 1000.0 "M" 1000000.0 "G" 1000000000.0 "T" 1000000000000.0 -}}
{{- $number := regexFind "^[0-9]+(\\.[0-9]+)?" $limit -}}
{{- $suffix := trimPrefix $number $limit -}}
{{- if and $number (hasKey $units $suffix) -}}
{{- $mib := floor (divf (mulf (float64 $number) (get $units $suffix)) 2097152.0) | int -}}
{{- if gt $mib 0 }}{{ $mib }}{{ end -}}
{{- end -}}
{{- end -}}

{{/*
Share of each provider quota one replica uses (--rate-limit-share): rateLimit.share, else 1/replicaCount, so
the replicas behind the Service together stay at the provider's per-account quota.
*/}}
{{- define "dns01-webhook.rateLimitShare" -}}
{{- if .Values.rateLimit.share -}}
{{- .Values.rateLimit.share -}}
{{- else -}}
{{- printf "%.4g" (divf 1 (max 1 (int .Values.replicaCount))) -}}
{{- end -}}
{{- end -}}

{{/* --rate-limit value from rateLimit.overrides: solver=N/Ts pairs, sorted. */}}
{{- define "dns01-webhook.rateLimitOverrides" -}}
{{- $items := list -}}
{{- range $solver := keys .Values.rateLimit.overrides | sortAlpha -}}
{{- $items = append $items (printf "%s=%s" $solver (get $.Values.rateLimit.overrides $solver)) -}}
{{- end -}}
{{- join "," $items -}}
{{- end -}}

{{/*
terminationGracePeriodSeconds: the preStop sleep plus the server's drain (--shutdown-grace) plus 5 s for the
process to exit, unless set; a value too short for both fails the render (the kubelet would SIGKILL mid-drain).
*/}}
{{- define "dns01-webhook.terminationGracePeriodSeconds" -}}
{{- $needed := add .Values.preStopSleepSeconds .Values.shutdownGraceSeconds 5 -}}
{{- with .Values.terminationGracePeriodSeconds -}}
{{- if lt (int .) (int $needed) -}}
{{- fail (printf "terminationGracePeriodSeconds=%d is shorter than preStopSleepSeconds + shutdownGraceSeconds + 5 = %d: the kubelet would kill the webhook while it still finishes challenges" (int .) (int $needed)) -}}
{{- end -}}
{{- . -}}
{{- else -}}
{{- $needed -}}
{{- end -}}
{{- end -}}
