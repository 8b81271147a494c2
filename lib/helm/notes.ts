import { Ctx } from './context';

/** templates/NOTES.txt: how to reach the UI and see the job. */

export function notes(ctx: Ctx): string {
  const { c, app, cluster } = ctx;
  return `{{ .Release.Name }}: Flink ${cluster.version} ${app ? `application cluster running the job "${c}"` : `session cluster "${c}"`} in namespace {{ .Release.Namespace }}.
${app ? `Job state: {{ .Values.job.state }}; upgrade mode: {{ .Values.job.upgradeMode }}.
` : ''}
Web UI and REST API:
  kubectl -n {{ .Release.Namespace }} port-forward svc/{{ include "${c}.fullname" . }}-rest 8081:8081
  then open http://localhost:8081

${app ? `The job's state and checkpoints:
  curl -s http://localhost:8081/jobs/overview
  kubectl -n {{ .Release.Namespace }} logs deploy/{{ include "${c}.fullname" . }}-jobmanager

Prove it end to end:
  helm test {{ .Release.Name }} -n {{ .Release.Namespace }}

Suspend (stop with a savepoint, scale to zero) and resume:
  helm upgrade {{ .Release.Name }} <chart> --reuse-values --set job.state=suspended
  helm upgrade {{ .Release.Name }} <chart> --reuse-values --set job.state=running
` : `Jobs on this cluster:
  curl -s http://localhost:8081/jobs/overview
${cluster.highAvailability ? '' : `
Without high availability an upgrade that restarts the JobManager cancels every job on this cluster.
`}`}`;
}
