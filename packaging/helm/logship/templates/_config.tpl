{{/*
The agent's and the collector's configuration files: the user's `agent.config` /
`collector.config` with the keys the chart owns laid over them (paths of the chart's mounts,
listeners, endpoints, token and TLS files). The result is plain agent.yaml / collector.yaml.
*/}}

{{- define "logship.agent.config" -}}
{{- $endpoints := list -}}
{{- if .Values.collector.enabled -}}
{{- $endpoints = append $endpoints (printf "%s:%d" (include "logship.collector.host" .) (int .Values.collector.service.grpcPort)) -}}
{{- end -}}
{{- $endpoints = concat $endpoints .Values.agent.extraEndpoints -}}
{{- $collector := dict "endpoints" $endpoints "token_file" (include "logship.paths.tokenFile" .) -}}
{{- if .Values.tls.enabled -}}
{{- $tls := dict "ca_file" (printf "%s/ca.crt" (include "logship.paths.tlsDir" .)) "server_name" (include "logship.tls.serverName" .) -}}
{{- if .Values.tls.clientAuth.enabled -}}
{{- $_ := set $tls "cert_file" (printf "%s/tls.crt" (include "logship.paths.tlsDir" .)) -}}
{{- $_ := set $tls "key_file" (printf "%s/tls.key" (include "logship.paths.tlsDir" .)) -}}
{{- end -}}
{{- $_ := set $collector "tls" $tls -}}
{{- end -}}
{{- $owned := dict "agent_id" "${NODE_NAME}" "data_dir" "/var/lib/logship" "collector" $collector "http" (dict "listen" (printf "0.0.0.0:%d" (int .Values.agent.httpPort))) -}}
{{- toYaml (mergeOverwrite (deepCopy .Values.agent.config) $owned) -}}
{{- end -}}

{{- define "logship.collector.config" -}}
{{- $owned := dict "listen" (printf "0.0.0.0:%d" (int .Values.collector.service.grpcPort)) "data_dir" "/var/lib/logship-collector" -}}
{{- $_ := set $owned "auth" (dict "tokens" (list (dict "agent" "*" "token_file" (include "logship.paths.tokenFile" .)))) -}}
{{- $_ := set $owned "http" (dict "listen" (printf "0.0.0.0:%d" (int .Values.collector.service.httpPort))) -}}
{{- if .Values.tls.enabled -}}
{{- $tlsDir := include "logship.paths.tlsDir" . -}}
{{- $tls := dict "cert_file" (printf "%s/tls.crt" $tlsDir) "key_file" (printf "%s/tls.key" $tlsDir) -}}
{{- if .Values.tls.clientAuth.enabled -}}
{{- $_ := set $tls "client_ca_file" (printf "%s/client-ca.crt" $tlsDir) -}}
{{- end -}}
{{- $_ := set $owned "tls" $tls -}}
{{- end -}}
{{- $config := deepCopy .Values.collector.config -}}
{{- $kafka := .Values.collector.kafka -}}
{{- $client := dict "brokers" $kafka.brokers "topic" $kafka.topic -}}
{{- if $kafka.properties -}}
{{- $_ := set $client "properties" $kafka.properties -}}
{{- end -}}
{{- if eq (toString $kafka.role) "edge" -}}
{{- $sinks := default (dict) $config.sinks -}}
{{- $_ := set $sinks "kafka" (merge (deepCopy $client) (deepCopy (default (dict) $kafka.sink))) -}}
{{- $_ := set $config "sinks" $sinks -}}
{{- else if eq (toString $kafka.role) "indexer" -}}
{{- $_ := set $config "inputs" (dict "kafka" (merge (deepCopy $client) (dict "group" $kafka.group))) -}}
{{- end -}}
{{- toYaml (mergeOverwrite $config $owned) -}}
{{- end -}}
