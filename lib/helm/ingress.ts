

/** templates/ingress.yaml: the optional Ingress of the REST API and web UI. */

/** The Ingress for the REST API and web UI, from the values (off unless the definition has one). */
export function ingressTemplate(c: string): string {
  return `{{- if .Values.ingress.enabled }}
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {{ include "${c}.fullname" . }}-rest
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "${c}.labels" (dict "ctx" $ "component" "jobmanager") | nindent 4 }}
  {{- with .Values.ingress.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  {{- with .Values.ingress.className }}
  ingressClassName: {{ . | quote }}
  {{- end }}
  {{- with .Values.ingress.tls.secretName }}
  tls:
    - secretName: {{ . | quote }}
      {{- with $.Values.ingress.host }}
      hosts:
        - {{ . | quote }}
      {{- end }}
  {{- end }}
  rules:
    - http:
        paths:
          - path: {{ .Values.ingress.path | quote }}
            pathType: {{ .Values.ingress.pathType }}
            backend:
              service:
                name: {{ include "${c}.fullname" . }}-rest
                port:
                  name: rest
      {{- with .Values.ingress.host }}
      host: {{ . | quote }}
      {{- end }}
{{- end }}
`;
}
