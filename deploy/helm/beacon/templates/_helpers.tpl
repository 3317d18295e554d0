{{- define "beacon.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "beacon.labels" -}}
app.kubernetes.io/name: beacon
app.kubernetes.io/part-of: beacon
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "beacon.selector" -}}
app.kubernetes.io/name: beacon
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "beacon.podEnv" -}}
- name: POD_NAME
  valueFrom:
    fieldRef:
      apiVersion: v1
      fieldPath: metadata.name
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      apiVersion: v1
      fieldPath: metadata.namespace
{{- end -}}

{{- define "beacon.probes" -}}
livenessProbe:
  httpGet:
    path: /healthz
    port: monitoring
  initialDelaySeconds: 5
  periodSeconds: 10
  failureThreshold: 3
readinessProbe:
  httpGet:
    path: /readyz
    port: monitoring
  periodSeconds: 5
  failureThreshold: 3
{{- end -}}
