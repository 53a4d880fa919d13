{{/* Names, labels and the values every template shares. */}}

{{- define "logship.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* <release>-logship, or fullnameOverride; 63 characters at most (DNS label). */}}
{{- define "logship.fullname" -}}
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

{{- define "logship.agent.fullname" -}}
{{- printf "%s-agent" (include "logship.fullname" . | trunc 57 | trimSuffix "-") -}}
{{- end -}}

{{- define "logship.collector.fullname" -}}
{{- printf "%s-collector" (include "logship.fullname" . | trunc 53 | trimSuffix "-") -}}
{{- end -}}

{{- define "logship.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "logship.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: logship
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Selector labels of one component ("agent" or "collector"), passed as (list . "agent"). */}}
{{- define "logship.selectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ include "logship.name" $root }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "logship.image" -}}
{{- $image := index . 0 -}}
{{- $root := index . 1 -}}
{{- printf "%s:%s" $image.repository (default $root.Chart.AppVersion $image.tag) -}}
{{- end -}}

{{/* The Secret holding the fleet token: yours, or the one the chart makes. */}}
{{- define "logship.tokenSecret" -}}
{{- default (printf "%s-token" (include "logship.fullname" .)) .Values.auth.existingSecret -}}
{{- end -}}

{{/* The collector Service's DNS name, which agents dial and expect in its certificate. */}}
{{- define "logship.collector.host" -}}
{{- printf "%s.%s.svc" (include "logship.collector.fullname" .) .Release.Namespace -}}
{{- end -}}

{{- define "logship.tls.serverName" -}}
{{- default (include "logship.collector.host" .) .Values.tls.serverName -}}
{{- end -}}

{{- define "logship.tls.caSecret" -}}
{{- default .Values.tls.serverSecret .Values.tls.caSecret -}}
{{- end -}}

{{/* Paths inside the containers (the chart's mounts). */}}
{{- define "logship.paths.configDir" -}}/etc/logship/config{{- end -}}
{{- define "logship.paths.tokenFile" -}}/etc/logship/tokens/fleet{{- end -}}
{{- define "logship.paths.tlsDir" -}}/etc/logship/tls{{- end -}}

{{/* Fails the render on values that cannot work, with a message saying why. */}}
{{- define "logship.validate" -}}
{{- if hasKey .Values.collector "kafkaRole" -}}
{{- fail "collector.kafkaRole is gone: set collector.kafka.role (edge or indexer) and collector.kafka.brokers" -}}
{{- end -}}
{{- $kafkaRole := toString .Values.collector.kafka.role -}}
{{- if not (has $kafkaRole (list "" "edge" "indexer")) -}}
{{- fail (printf "collector.kafka.role %q: must be \"\", \"edge\" or \"indexer\" (one role a release; install the chart twice for both)" $kafkaRole) -}}
{{- end -}}
{{- if and $kafkaRole (not .Values.collector.kafka.brokers) -}}
{{- fail (printf "collector.kafka.role %s needs collector.kafka.brokers (host:port of the bootstrap brokers)" $kafkaRole) -}}
{{- end -}}
{{- if and .Values.tls.enabled (not .Values.tls.serverSecret) -}}
{{- fail "tls.enabled needs tls.serverSecret: a kubernetes.io/tls Secret with the collector's certificate" -}}
{{- end -}}
{{- if and .Values.tls.clientAuth.enabled (not .Values.tls.enabled) -}}
{{- fail "tls.clientAuth.enabled needs tls.enabled" -}}
{{- end -}}
{{- if and .Values.tls.clientAuth.enabled (not .Values.tls.clientAuth.agentCertSecret) -}}
{{- fail "tls.clientAuth.enabled needs tls.clientAuth.agentCertSecret: the agents' client certificate (kubernetes.io/tls)" -}}
{{- end -}}
{{- if and .Values.agent.enabled (not .Values.collector.enabled) (not .Values.agent.extraEndpoints) -}}
{{- fail "agent.enabled without collector.enabled needs agent.extraEndpoints (a collector to ship to)" -}}
{{- end -}}
{{- end -}}
