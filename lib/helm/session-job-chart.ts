import { JAR_CA_VOLUME } from '../cluster/layout';
import { REST_CLIENT_LABEL } from '../cluster/network-policy';
import { FlinkSessionJob } from '../session';
import { emitTemplate, TplLiteral, TplScalar } from '../synth/yaml';
import { PACKAGE_VERSION } from '../version';
import { JAR_HTTPS, JAR_IN_IMAGE, JAR_S3, renderSchema, renderValues, SHA256_OR_EMPTY, URI_OR_EMPTY, ValueTree } from './values';
import { B, baseMetadata, clone, goString, T } from './context';
import { addedObject } from './templatize';
import { generatedObjects, identity, releaseReferences } from './references';
import { imageValues, splitImage } from './cluster-values';
import { flinkConfigurationChecks, fullnameHelper, imageHelper } from './helpers';
import { chartYaml } from './chart-yaml';
import { scalingArgValues, sessionJobAutoscalerArgs } from '../job-autoscaler';
import { scalingValues } from './pool-chart';
import { AUTOSCALER_PARALLELISM_RANGE } from '../rules/guards';
import { templatesInOneFile } from './template-files';

/** The chart of a session job: its spec ConfigMap and submitter. */

/** A session job's chart: the spec ConfigMap, the submitter (a post-install/post-upgrade hook) and its account. */
export function sessionJobChart(name: string, job: FlinkSessionJob, objects: any[]): Record<string, string> {
  const c = name;
  const files: Record<string, string> = {};
  const generated = generatedObjects([job]);
  for (const o of objects) {
    if (!generated.has(identity(o.kind, o.metadata.name))) {
      const t = addedObject(o);
      files[t.file] = t.text;
      continue;
    }
    let out: any = { ...clone(o), metadata: baseMetadata(o, name, c) };
    let file = `templates/${o.kind.toLowerCase()}-${o.metadata.name.slice(name.length + 1)}.yaml`;
    if (o.kind === 'Job') {
      file = 'templates/job-submit.yaml';
      out = hookJob(c, o, name, '-submit', 'post-install,post-upgrade');
      out.spec.activeDeadlineSeconds = T('{{ .Values.submitTimeoutSeconds }}');
      files['templates/job-stop.yaml'] = stopHook(c, o, name, job, generated);
    }
    if (o.kind === 'Deployment') out = autoscalerDeployment(c, out, job);
    if (o.kind === 'ConfigMap') {
      out.data = { ...o.data, 'job.json': new TplLiteral(`include "${c}.spec" .`) };
    }
    out = releaseReferences(out, o.kind, name, c, generated);
    files[file] = emitTemplate(out).replace(/^\n/, '');
  }
  const spec = job.spec as any;
  const image = splitImage(objects.find((o) => o.kind === 'Job').spec.template.spec.containers[0].image);
  const values: ValueTree = {
    image: {
      doc: 'The operations tool image that submits the job (built from runtime/).',
      children: imageValues(image),
    },
    job: {
      doc: 'The job on the session cluster.',
      children: {
        parallelism: { doc: 'Parallelism of the job.', value: job.parallelism, schema: { type: 'integer', minimum: 1, maximum: 32768 } },
        args: { doc: 'Program arguments (jar jobs).', value: spec.programArgs ?? [], schema: { type: 'array', items: { type: 'string' } } },
        ...(spec.kind === 'jar' ? {
          jarUri: /^s3:/.test(spec.jarFile)
            ? { doc: 'The jar the submitter uploads: s3://bucket/key, read with the keys, endpoint and region of the session cluster\'s S3 credentials, or https://.', value: spec.jarFile, schema: { anyOf: [JAR_S3, JAR_HTTPS] } }
            : { doc: 'The jar the submitter uploads: a path or file:/// URI in the operations image, or https://.', value: spec.jarFile, schema: { anyOf: [{ ...JAR_IN_IMAGE, pattern: '^(file://)?(/[^/\\s]+)+\\.jar$' }, JAR_HTTPS] } },
          jarSha256: { doc: 'The sha256 of an https jar (64 hex digits); the submitter refuses a jar with another digest ("" for not checked).', value: spec.jarSha256 ?? '', schema: SHA256_OR_EMPTY },
        } : {}),
        upgradeMode: { doc: 'stateless or savepoint.', value: job.upgradeMode, schema: { type: 'string', enum: ['stateless', 'savepoint'] } },
        initialSavepointPath: { doc: 'Savepoint the first submission restores from ("" for none).', value: spec.initialSavepointPath ?? '', schema: URI_OR_EMPTY },
        allowNonRestoredState: { doc: 'Let a restore skip state that maps to no operator.', value: spec.allowNonRestoredState ?? false, schema: { type: 'boolean' } },
      },
    },
    flinkConfiguration: { doc: 'Job-level Flink configuration sent with the submission; pipeline.name (the job\'s name on the cluster, which the\nuninstall hook and the job autoscaler find it by) is the release\'s name unless set here.', value: releaseConfiguration(spec.flinkConfiguration, name), schema: { type: 'object', additionalProperties: { type: ['string', 'number', 'boolean'] } } },
    submitTimeoutSeconds: { doc: 'How long the submitter may run.', value: objects.find((o) => o.kind === 'Job').spec.activeDeadlineSeconds, schema: { type: 'integer', minimum: 10, maximum: 7200 } },
    ...(job.jobAutoscaler ? {
      jobAutoscaler: {
        doc: 'The job autoscaler (a Deployment): sets each job vertex\'s parallelism from its busy time and its sources\' backlog\n(the session cluster\'s adaptive scheduler rescales the job in place from its latest checkpoint); the session\'s\nTaskManager pool, when it has one, follows the declared parallelism. job.parallelism is where each submission starts.',
        children: scalingValues(job.jobAutoscaler),
      },
    } : {}),
    uninstall: {
      doc: 'What `helm uninstall` does to the running job (a pre-delete hook; the job is otherwise left running on the session cluster).',
      children: {
        stop: {
          doc: 'savepoint: stop it with a savepoint into the cluster\'s savepoint directory (the path is in the hook\'s log); cancel: cancel it without one; none: leave it running.',
          value: job.upgradeMode === 'savepoint' ? 'savepoint' : 'cancel', schema: { type: 'string', enum: ['savepoint', 'cancel', 'none'] },
        },
        onSavepointFailure: {
          doc: 'fail: a failed savepoint fails the uninstall and leaves the job running; cancel: cancel the job anyway (its state since the last checkpoint is lost).',
          value: 'fail', schema: { type: 'string', enum: ['fail', 'cancel'] },
        },
        timeoutSeconds: { doc: 'How long the hook may run (keep it below helm uninstall --timeout, 5m by default).', value: 240, schema: { type: 'integer', minimum: 60, maximum: 7200 } },
      },
    },
  };
  files['values.yaml'] = renderValues(values, `# Values of the Flink session job "${name}" on session cluster "${job.cluster.name}", generated by cdk8s-flink ${PACKAGE_VERSION}.`);
  files['values.schema.json'] = renderSchema(values, `${name} values`);
  files['templates/_helpers.tpl'] = `{{/* Generated by cdk8s-flink ${PACKAGE_VERSION}. */}}

${fullnameHelper(c, files)}

{{- define "${c}.labels" -}}
app.kubernetes.io/name: ${c}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/component: {{ .component | default "session-job" }}
app.kubernetes.io/part-of: ${objects[0].metadata.labels['app.kubernetes.io/part-of']}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .ctx.Chart.Name .ctx.Chart.Version | replace "+" "_" | trunc 63 }}
{{- end -}}

{{/* The submitter's labels: the session cluster's NetworkPolicy lets ${REST_CLIENT_LABEL} pods call its REST API. */}}
{{- define "${c}.podLabels" -}}
{{ include "${c}.labels" . }}
${REST_CLIENT_LABEL}: ${job.cluster.name}
{{- end -}}

${imageHelper(c)}

{{/* Checks flinkConfiguration as the toolkit checks the definition's; fails the release with one line. */}}
{{- define "${c}.validate" -}}
${flinkConfigurationChecks(new Map(), job.cluster.version)}${job.jobAutoscaler ? autoscalerChecks() : ''}{{- end -}}

{{/* The job's Flink configuration: the values', pipeline.name the release's name unless set there (two releases of this chart on one session are two jobs of their own names). */}}
{{- define "${c}.flinkConfiguration" -}}
{{- $conf := deepCopy .Values.flinkConfiguration }}
{{- if not (index $conf "pipeline.name") }}
{{- $_ := set $conf "pipeline.name" (include "${c}.fullname" .) }}
{{- end }}
{{- toJson $conf }}
{{- end -}}

{{/* The job's name on the cluster, as the uninstall hook and the job autoscaler find it. */}}
{{- define "${c}.jobName" -}}
{{- index (include "${c}.flinkConfiguration" . | fromJson) "pipeline.name" }}
{{- end -}}

{{/* The submission spec the operations tool reads (keys sorted, as the toolkit writes them). */}}
{{- define "${c}.spec" -}}
{{- include "${c}.validate" . }}
{{- $s := dict ${Object.entries(spec).filter(([k]) => !['parallelism', 'programArgs', 'jarFile', 'jarSha256', 'upgradeMode', 'initialSavepointPath', 'allowNonRestoredState', 'flinkConfiguration', 'jobId', 'name'].includes(k)).map(([k, val]) => `${goString(k)} ${goString(String(val))}`).join(' ')} }}
{{- $_ := set $s "name" (include "${c}.fullname" .) }}
{{- $_ := set $s "jobId" ${job.jobIdGiven ? goString(job.jobId) : `(sha256sum (printf "cdk8s-flink/%s/%s" .Release.Namespace .Release.Name) | trunc 32)`} }}
{{- $_ := set $s "parallelism" (int .Values.job.parallelism) }}
{{- $_ := set $s "upgradeMode" .Values.job.upgradeMode }}
{{- $_ := set $s "flinkConfiguration" (include "${c}.flinkConfiguration" . | fromJson) }}
${spec.kind === 'jar' ? `{{- $_ := set $s "programArgs" .Values.job.args }}
{{- $_ := set $s "jarFile" .Values.job.jarUri }}
{{- with .Values.job.jarSha256 }}
{{- $_ := set $s "jarSha256" (lower .) }}
{{- end }}
` : ''}{{- with .Values.job.initialSavepointPath }}
{{- $_ := set $s "initialSavepointPath" . }}
{{- $_ := set $s "allowNonRestoredState" $.Values.job.allowNonRestoredState }}
{{- end }}
{{- toPrettyJson $s }}
{{- end -}}
`;
  files['templates/NOTES.txt'] = `{{ .Release.Name }}: Flink job "${c}" on session cluster "${job.cluster.name}" ({{ .Values.job.upgradeMode }} upgrades).

The submitter's log:
  kubectl -n {{ .Release.Namespace }} logs job/{{ include "${c}.fullname" . }}-submit
{{- if eq .Values.uninstall.stop "none" }}
helm uninstall leaves the job running on the session cluster (uninstall.stop none).
{{- else }}
helm uninstall first {{ if eq .Values.uninstall.stop "savepoint" }}stops the job with a savepoint{{ else }}cancels the job{{ end }} (a pre-delete hook; its Job and log stay for a day):
  kubectl -n {{ .Release.Namespace }} logs job/{{ include "${c}.fullname" . }}-stop
{{- end }}
The cluster's jobs:
  kubectl -n {{ .Release.Namespace }} port-forward svc/${job.cluster.name}-rest 8081:8081
  curl -s http://localhost:8081/jobs/overview
`;
  files['Chart.yaml'] = chartYaml(name, job.cluster.version.toString(), `Flink ${job.cluster.version.line} job "${name}" on session cluster "${job.cluster.name}"`);
  files['.helmignore'] = '*.tgz\n.DS_Store\n';
  return templatesInOneFile(files);
}

/** The submitter Job as a hook of the chart: named per release, the chart's image, the REST-client pod labels. */
function hookJob(c: string, o: any, name: string, suffix: string, hook: string): any {
  const out = { ...clone(o), metadata: {
    ...baseMetadata({ metadata: { ...o.metadata, name: `${name}${suffix}` } }, name, c),
    annotations: { 'helm.sh/hook': hook, 'helm.sh/hook-weight': '0', 'helm.sh/hook-delete-policy': 'before-hook-creation' },
  } };
  out.spec.template.spec.containers[0].image = T(`{{ include "${c}.image" $ }}`);
  out.spec.template.metadata.labels = B(`include "${c}.podLabels" (dict "ctx" $)`);
  return out;
}

/** The autoscaler's bounds, checked as the toolkit checks the definition's (one line each). */
function autoscalerChecks(): string {
  const a = '.Values.jobAutoscaler';
  return `{{- if gt (int ${a}.minParallelism) (int ${a}.maxParallelism) }}
{{- fail (printf "jobAutoscaler.minParallelism: %d is above jobAutoscaler.maxParallelism (%d); expected at most %d" (int ${a}.minParallelism) (int ${a}.maxParallelism) (int ${a}.maxParallelism)) }}
{{- end }}
{{- if ${AUTOSCALER_PARALLELISM_RANGE.refusedWhen({ values: a })} }}
{{- fail (printf "job.parallelism: %d is outside jobAutoscaler's %d-%d; expected a starting parallelism within it" (int .Values.job.parallelism) (int ${a}.minParallelism) (int ${a}.maxParallelism)) }}
{{- end }}
`;
}

/**
 * The job autoscaler's Deployment: the release's names and selector, the chart's operations
 * image, and its arguments from the `jobAutoscaler` values (the job found by the name the stop
 * hook also uses). A starting parallelism outside the bounds fails the release with one line.
 */
function autoscalerDeployment(c: string, out: any, job: FlinkSessionJob): any {
  const component = 'autoscaler';
  out.spec.selector.matchLabels = { 'app.kubernetes.io/name': c, 'app.kubernetes.io/instance': T('{{ .Release.Name }}'), 'app.kubernetes.io/component': component };
  out.spec.template.metadata.labels = B(`include "${c}.podLabels" (dict "ctx" $ "component" "${component}")`);
  const ct = out.spec.template.spec.containers[0];
  ct.image = T(`{{ include "${c}.image" $ }}`);
  ct.args = sessionJobAutoscalerArgs<TplScalar>({
    restUrl: job.cluster.restUrl,
    jobName: T(`{{ include "${c}.jobName" . | quote }}`),
    ...scalingArgValues(job.jobAutoscaler!, (k, _literal, quote) => T(`{{ .Values.jobAutoscaler.${k}${quote ? ' | quote' : ''} }}`)),
  });
  return out;
}

/**
 * The pre-delete hook: stops the job before its release goes (a session job otherwise keeps
 * running on the cluster after `helm uninstall`). The submitter's pod, with the submitter's
 * account and REST-client label, running `cdk8s-flink-ops uninstall`: it needs only the
 * cluster's REST API. The Job stays after success (for a day) so the savepoint's path in its log
 * can be read after the release is gone.
 */
function stopHook(c: string, submitter: any, name: string, job: FlinkSessionJob, generated: ReadonlySet<string>): string {
  const out = hookJob(c, submitter, name, '-stop', 'pre-delete');
  out.spec = { ...out.spec, backoffLimit: 0, ttlSecondsAfterFinished: 86400, activeDeadlineSeconds: T('{{ .Values.uninstall.timeoutSeconds }}') };
  const pod = out.spec.template.spec;
  const ct = pod.containers[0];
  ct.name = 'stop';
  ct.args = [
    'uninstall',
    '--rest-url', job.cluster.restUrl,
    '--job-name', T(`{{ include "${c}.jobName" . | quote }}`),
    '--stop', T('{{ .Values.uninstall.stop }}'),
    '--savepoint-dir', T(`{{ ${goString(job.cluster.savepointDirectory ?? '')} | quote }}`),
    '--on-savepoint-failure', T('{{ .Values.uninstall.onSavepointFailure }}'),
    '--timeout', T('{{ printf "%ds" (sub (int .Values.uninstall.timeoutSeconds) 30) | quote }}'),
  ];
  // Only the REST API: no spec, no API token, no storage keys.
  delete ct.env;
  ct.volumeMounts = ct.volumeMounts.filter((m: any) => m.name !== 'spec' && m.name !== JAR_CA_VOLUME);
  pod.volumes = pod.volumes.filter((v: any) => v.name !== 'spec' && v.name !== JAR_CA_VOLUME);
  const noDir = job.cluster.savepointDirectory ? '' : `{{- if eq .Values.uninstall.stop "savepoint" }}
{{- fail ${goString(`uninstall.stop: "savepoint" needs a savepoint directory, and session cluster "${job.cluster.name}" has none; expected cancel or none`)} }}
{{- end }}
`;
  return `{{- if ne .Values.uninstall.stop "none" }}
${noDir}${emitTemplate(releaseReferences(out, 'Job', name, c, generated)).replace(/^\n/, '')}{{- end }}
`;
}

/**
 * The values' Flink configuration: the job's, without the `pipeline.name` the toolkit gives it
 * (the definition's name; the definition cannot set another), which the chart takes from the
 * release's name instead: the same for a release named after the job, a job of its own name for
 * another release of the chart on the same session.
 */
function releaseConfiguration(conf: Record<string, unknown>, name: string): Record<string, unknown> {
  if (conf['pipeline.name'] !== name) return conf;
  const { ['pipeline.name']: _, ...rest } = conf;
  return rest;
}
