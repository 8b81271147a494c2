import { flinkContainer, REVISION_ANNOTATION } from '../cluster/flink-cluster';
import { REST_CLIENT_LABEL } from '../cluster/network-policy';
import { minimumJobManagerMiB, minimumTaskManagerMiB } from '../config/memory';
import { keyFor } from '../config/keys';
import { KEY, NOT_SECRET_KEY, SECRET_KEY } from '../config/flink-configuration';
import { FlinkVersion } from '../config/flink-version';
import { URL_CREDENTIALS } from '../errors';
import { emitYaml } from '../synth/yaml';
import { PACKAGE_VERSION } from '../version';
import { Ctx, FLINK_CONFIG_TEMPLATE, goString } from './context';
import { managedKeys } from './cluster-values';
import { optionValueChecks } from './option-checks';
import { countControllerOf, poolPodLabelsHelper } from './pool-chart';
import {
  AUTOSCALER_PARALLELISM_RANGE, AUTOSCALER_TASK_MANAGERS_RANGE, failBlock, IMAGE_PINNED, JOB_MANAGER_HEAP_MINIMUM, LAST_STATE_NEEDS_HA_CHECKPOINTS, PARALLELISM_WITHIN_AUTOSCALING, PARALLELISM_WITHIN_SLOTS, POOL_MIN_WITHIN_MAX, SAVEPOINT_NEEDS_DIRECTORY, SPARE_SLOTS_HOLD_THE_JOB, SUSPEND_NEEDS_DIRECTORY, TASK_HEAP_MINIMUM,
} from '../rules/guards';

/** templates/_helpers.tpl: names, labels, images, resources, the Flink configuration and the checks that fail a release. */

/**
 * The checks of `flinkConfiguration`, as the TypeScript side applies them to the raw escape
 * hatch (same key and credential patterns, same value rules): keys are Flink keys, none the
 * toolkit manages, none a credential; values are one line, carry no credentials in a URL and
 * are what the option's type in the version's catalog accepts (lib/helm/option-checks.ts).
 */
export function flinkConfigurationChecks(managed: Map<string, string>, version: FlinkVersion): string {
  const values = optionValueChecks(version);
  return `{{- $managed := dict${[...managed].map(([k, o]) => ` ${goString(k)} ${goString(o)}`).join('')} }}
{{- with .Values.flinkConfiguration -}}
${values.tables}{{- range $k, $v := . -}}
{{- if not (regexMatch ${goString(KEY.source)} $k) -}}
{{- fail (printf "flinkConfiguration[%q]: is not a Flink configuration key; expected dotted words such as \\"pipeline.max-parallelism\\"" $k) -}}
{{- end -}}
{{- if hasKey $managed $k -}}
{{- fail (printf "flinkConfiguration[%q]: is managed by the toolkit (set from %s); expected a key it does not set" $k (get $managed $k)) -}}
{{- end -}}
{{- if and (regexMatch ${goString('(?i)' + SECRET_KEY.source)} $k) (not (regexMatch ${goString(NOT_SECRET_KEY.source)} $k)) -}}
{{- fail (printf "flinkConfiguration[%q]: looks like a credential, and the Flink configuration lives in a ConfigMap; expected no credentials here (feed them from a Secret with FlinkConfigValue.fromSecret in the definition)" $k) -}}
{{- end -}}
{{- if regexMatch "[\\x00-\\x1f\\x7f]" (toString $v) -}}
{{- fail (printf "flinkConfiguration[%q]: %q contains a line break or control character; expected one line" $k (toString $v)) -}}
{{- end -}}
{{- if regexMatch ${goString('(?i)' + URL_CREDENTIALS.source)} (toString $v) -}}
{{- fail (printf "flinkConfiguration[%q]: carries credentials in a URL, and the Flink configuration lives in a ConfigMap; expected a URL without user:password@ (feed credentials from a Secret with FlinkConfigValue.fromSecret in the definition)" $k) -}}
{{- end -}}
${values.check}{{- end -}}
{{- end -}}
`;
}

/** Checks of the TaskManagers' values: a CPU limit at least the request, autoscaling max at least min. */
export function taskManagerChecks(ctx: Ctx): string {
  const { c, app } = ctx;
  return `{{- with .Values.taskManager.resources.cpuLimit -}}
{{- if lt (include "${c}.millicores" . | atoi) (include "${c}.millicores" $.Values.taskManager.resources.cpu | atoi) -}}
{{- fail (printf "taskManager.resources.cpuLimit: %s is below the CPU request taskManager.resources.cpu (%s); expected at least the request" . $.Values.taskManager.resources.cpu) -}}
{{- end -}}
{{- end -}}
${app?.autoscaler ? `{{- if lt (int .Values.taskManager.autoscaling.maxReplicas) (int .Values.taskManager.autoscaling.minReplicas) -}}
{{- fail (printf "taskManager.autoscaling.maxReplicas: %d is below taskManager.autoscaling.minReplicas (%d); expected at least minReplicas" (int .Values.taskManager.autoscaling.maxReplicas) (int .Values.taskManager.autoscaling.minReplicas)) -}}
{{- end -}}
` : ''}`;
}

/**
 * The release-based object name. The release name prefixes every object name: it must be a DNS
 * label (Service names are) short enough that the longest name the chart derives from it stays
 * within 63 characters (Service names, and Job names, which become label values).
 */
export function fullnameHelper(c: string, files: Record<string, string>): string {
  const re = new RegExp(`include "${c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.fullname" [.$] \\}\\}([-a-z0-9]*)`, 'g');
  const suffixes = Object.values(files).flatMap((t) => [...t.matchAll(re)].map((m) => m[1]));
  const longest = suffixes.reduce((a, b) => (b.length > a.length ? b : a), '');
  const max = 63 - longest.length;
  return `{{- define "${c}.fullname" -}}
{{- if or (gt (len .Release.Name) ${max}) (not (regexMatch "^[a-z]([-a-z0-9]*[a-z0-9])?$" .Release.Name)) -}}
{{- fail (printf "release name %q cannot prefix this chart's object names; expected a DNS label (lowercase letters, digits and \\"-\\", starting with a letter) of at most ${max} characters, so that %s${longest} stays within 63" .Release.Name .Release.Name) -}}
{{- end -}}
{{- .Release.Name -}}
{{- end -}}`;
}

/** _helpers.tpl: names, labels, image, resources, the Flink configuration and the checks. */
export function helpers(ctx: Ctx, objects: any[], configFile: string, files: Record<string, string>): string {
  const { c, cluster, app, name } = ctx;
  const labels = objects[0].metadata.labels as Record<string, string>;
  const extraLabels = Object.entries(labels).filter(([k]) => !k.startsWith('app.kubernetes.io/'));
  const config = cluster.configuration.toObject();
  const v = cluster.version;
  const dynamic: Record<string, string> = {
    [keyFor(v, 'jobmanager.rpc.address')]: `(printf "%s-jobmanager" (include "${c}.fullname" .))`,
    [keyFor(v, 'rest.address')]: `(printf "%s-rest" (include "${c}.fullname" .))`,
    [keyFor(v, 'jobmanager.memory.process.size')]: `(include "${c}.flinkMemory" .Values.jobManager.resources.memory)`,
    [keyFor(v, 'taskmanager.memory.process.size')]: `(include "${c}.flinkMemory" .Values.taskManager.resources.memory)`,
  };
  if (config[keyFor(v, 'kubernetes.cluster-id')] === name) dynamic[keyFor(v, 'kubernetes.cluster-id')] = `(include "${c}.fullname" .)`;
  if (app) dynamic[keyFor(v, 'parallelism.default')] = '(toString .Values.job.parallelism)';
  const spKey = keyFor(v, 'execution.checkpointing.savepoint-dir');
  const lines: string[] = [];
  for (const [k, val] of Object.entries(config)) {
    if (k in dynamic || (app && k === spKey)) continue;
    const text = configFile === 'config.yaml' ? emitYaml({ v: val }).replace(/^\nv: /, '').replace(/\n$/, '') : String(val);
    lines.push(`{{- $_ := set $c ${goString(k)} ${goString(text)} }}`);
  }
  for (const [k, expr] of Object.entries(dynamic)) if (k in config) lines.push(`{{- $_ := set $c ${goString(k)} ${expr} }}`);
  if (app) lines.push(`{{- with .Values.job.savepointDirectory }}{{ $_ := set $c ${goString(spKey)} . }}{{ end }}`);
  const jmArgs = app ? jobManagerArgsHelper(ctx, objects) : '';
  const slots = cluster.taskManagerSlots;
  const managedFraction = Number(config['taskmanager.memory.managed.fraction']);
  const minTm = minimumTaskManagerMiB(managedFraction);
  const tmMemory = { managedFraction, processMiB: `include "${c}.mebibytes" .Values.taskManager.resources.memory | atoi` };
  const minJm = minimumJobManagerMiB();
  const deployment = (component: string) => objects.find((o) => o.kind === 'Deployment' && o.metadata.name === `${name}-${component}`);
  const affinityHelper = (component: 'jobmanager' | 'taskmanager', what: string) => {
    const aff = deployment(component).spec.template.spec.affinity;
    return aff ? `
{{/* ${what} affinity: the values' affinity, else the generated anti-affinity across nodes. */}}
{{- define "${c}.${component === 'jobmanager' ? 'jobManager' : 'taskManager'}Affinity" -}}
{{- if .Values.affinity -}}
{{ toYaml .Values.affinity }}
{{- else -}}
${affinityTemplate(aff, c, component)}
{{- end -}}
{{- end -}}
` : '';
  };
  const restClients = app
    ? cluster.restClientComponents.map((component) => `- podSelector:
    matchLabels:
      {{- include "${c}.selectorLabels" (dict "ctx" $ "component" "${component}") | nindent 6 }}`).join('\n')
    : `- podSelector:
    matchLabels:
      ${REST_CLIENT_LABEL}: {{ include "${c}.fullname" . }}`;
  return `{{/* Generated by cdk8s-flink ${PACKAGE_VERSION}. */}}

{{/* Object names start with the release name, so two releases of this chart never collide. */}}
${fullnameHelper(c, files)}

{{/* Selector labels: stable across versions. Call with (dict "ctx" $ "component" "..."). */}}
{{- define "${c}.selectorLabels" -}}
app.kubernetes.io/name: ${c}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
{{- with .component }}
app.kubernetes.io/component: {{ . }}
{{- end }}
{{- end -}}

{{/* The recommended labels. Call with (dict "ctx" $ "component" "..."). */}}
{{- define "${c}.labels" -}}
${extraLabels.map(([k, val]) => `${k}: ${JSON.stringify(val)}\n`).join('')}app.kubernetes.io/name: ${c}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
{{- with .component }}
app.kubernetes.io/component: {{ . }}
{{- end }}
app.kubernetes.io/part-of: ${cluster.partOf}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .ctx.Chart.Name .ctx.Chart.Version | replace "+" "_" | trunc 63 }}
{{- if and (eq .component "monitoring") .ctx.Values.monitoring.releaseLabel }}
release: {{ .ctx.Values.monitoring.releaseLabel | quote }}
{{- end }}
{{- with .extra }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "${c}.podLabels" -}}
{{ include "${c}.labels" . }}
{{- with .ctx.Values.podLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Pod annotations: the user's, a checksum of the configuration (pods roll when it changes) and, on the JobManager, the release revision (it restarts on every release to pick up the hand-off). */}}
{{- define "${c}.podAnnotations" -}}
{{- with .ctx.Values.podAnnotations }}
{{ toYaml . }}
{{- end }}
checksum/config: {{ include (print .ctx.Template.BasePath "/${FLINK_CONFIG_TEMPLATE}") .ctx | sha256sum }}
${app ? `{{- if eq .component "jobmanager" }}
${REVISION_ANNOTATION}: {{ .ctx.Release.Revision | quote }}
{{- end }}
` : ''}{{- end -}}

${imageHelper(c)}

{{/* Container resources: memory request = limit; a CPU limit only when asked. */}}
{{- define "${c}.resources" -}}
requests:
  cpu: {{ .cpu | quote }}
  memory: {{ .memory | quote }}
limits:
  memory: {{ .memory | quote }}
  {{- with .cpuLimit }}
  cpu: {{ . | quote }}
  {{- end }}
{{- end -}}

{{/* A Kubernetes quantity (Mi or Gi) as a Flink memory size. */}}
{{- define "${c}.flinkMemory" -}}
{{- if hasSuffix "Gi" . -}}
{{ mul (trimSuffix "Gi" . | atoi) 1024 }}m
{{- else -}}
{{ trimSuffix "Mi" . }}m
{{- end -}}
{{- end -}}

{{/* A CPU quantity (plain cores or millicores) in millicores. */}}
{{- define "${c}.millicores" -}}
{{- if hasSuffix "m" (toString .) -}}{{ trimSuffix "m" (toString .) | atoi }}{{- else -}}{{ mulf (float64 .) 1000 | int }}{{- end -}}
{{- end -}}

{{- define "${c}.mebibytes" -}}
{{- if hasSuffix "Gi" . -}}{{ mul (trimSuffix "Gi" . | atoi) 1024 }}{{- else -}}{{ trimSuffix "Mi" . }}{{- end -}}
{{- end -}}

{{/* The Flink configuration file: the generated keys, the values that change them, then flinkConfiguration. */}}
{{- define "${c}.flinkConfig" -}}
{{- $c := dict }}
${lines.join('\n')}
{{- range $k, $v := .Values.flinkConfiguration }}{{ $_ := set $c $k (toJson $v) }}{{ end }}
{{- range $i, $k := keys $c | sortAlpha }}{{ if $i }}{{ "\\n" }}{{ end }}{{ $k }}: {{ get $c $k }}{{ end }}
{{- end -}}

{{/* Checks values the schema cannot express; fails the release with one line. */}}
{{- define "${c}.validate" -}}
${TASK_HEAP_MINIMUM.assignments!(tmMemory)}{{- if ${TASK_HEAP_MINIMUM.refusedWhen(tmMemory)} -}}
{{- fail (printf "taskManager.resources.memory: %s is below Flink's minimum; expected at least ${minTm}Mi" .Values.taskManager.resources.memory) -}}
{{- end -}}
{{- if ${JOB_MANAGER_HEAP_MINIMUM.refusedWhen({ processMiB: `include "${c}.mebibytes" .Values.jobManager.resources.memory | atoi` })} -}}
{{- fail (printf "jobManager.resources.memory: %s is below Flink's minimum; expected at least ${minJm}Mi" .Values.jobManager.resources.memory) -}}
{{- end -}}
${taskManagerChecks(ctx)}${flinkConfigurationChecks(managedKeys(cluster), v)}${app ? appValidation(ctx, slots) : sessionValidation(ctx)}{{- end -}}
${app ? `
{{/* The job id of the first install: sha256("cdk8s-flink/<namespace>/<release>"), as the toolkit derives it. Upgrade hooks rotate it. */}}
{{- define "${c}.jobId" -}}
${app.jobIdGiven ? app.jobId : `{{- sha256sum (printf "cdk8s-flink/%s/%s" .Release.Namespace .Release.Name) | trunc 32 -}}`}
{{- end -}}
${jmArgs}` : ''}${countControllerOf(cluster) ? poolPodLabelsHelper(c, REST_CLIENT_LABEL, countControllerOf(cluster)!.component) : ''}${affinityHelper('jobmanager', 'JobManager (standbys)')}${affinityHelper('taskmanager', 'TaskManager')}
{{/* Peers allowed to call the REST API: ${app ? 'the hooks and the test pod' : 'the session jobs\' submitters'}, the ingress controller with an Ingress, then networkPolicy.restClients. */}}

{{/* The pods' ServiceAccount: serviceAccount.name, else <release>-flink when the chart creates it. */}}
{{- define "${c}.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{ default (printf "%s-flink" (include "${c}.fullname" .)) .Values.serviceAccount.name }}
{{- else if .Values.serviceAccount.name -}}
{{ .Values.serviceAccount.name }}
{{- else -}}
{{- fail "serviceAccount.name: \\"\\" is empty while serviceAccount.create is false; expected the name of an existing ServiceAccount" -}}
{{- end -}}
{{- end -}}

{{- define "${c}.restClients" -}}
${restClients}
{{- if .Values.ingress.enabled }}
- {{- toYaml .Values.ingress.controller | nindent 2 }}
{{- end }}
{{- with .Values.networkPolicy.restClients }}
{{ toYaml . }}
{{- end }}
{{- end -}}
`;
}

/** The image from repository, tag and digest (each when set), refused unless pinned. */
export function imageHelper(c: string): string {
  return `{{- define "${c}.image" -}}
${failBlock(IMAGE_PINNED.refusedWhen({ values: '.Values.image' }), '(printf "image.tag: %q does not pin the image; expected a tag other than \\"latest\\", or image.digest" .Values.image.tag)')}\
{{ .Values.image.repository }}{{ with .Values.image.tag }}:{{ . }}{{ end }}{{ with .Values.image.digest }}@{{ . }}{{ end }}
{{- end -}}`;
}

export function affinityTemplate(aff: any, c: string, component: string): string {
  const anti = aff.podAntiAffinity;
  if (anti.requiredDuringSchedulingIgnoredDuringExecution) {
    return `podAntiAffinity:
  requiredDuringSchedulingIgnoredDuringExecution:
    - topologyKey: kubernetes.io/hostname
      labelSelector:
        matchLabels:
          {{- include "${c}.selectorLabels" (dict "ctx" $ "component" "${component}") | nindent 10 }}`;
  }
  return `podAntiAffinity:
  preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "${c}.selectorLabels" (dict "ctx" $ "component" "${component}") | nindent 12 }}`;
}

/** A session cluster's REST API runs uploaded jars: address blocks among its clients need the opt-in. */
export function sessionValidation(ctx: Ctx): string {
  const pool = countControllerOf(ctx.cluster)?.component === 'pool' ? `{{- if ${POOL_MIN_WITHIN_MAX.refusedWhen()} -}}
{{- fail (printf "taskManager.pool.min: %d is above taskManager.pool.max (%d); expected at most max" (int .Values.taskManager.pool.min) (int .Values.taskManager.pool.max)) -}}
{{- end -}}
` : '';
  return `${pool}{{- if not .Values.networkPolicy.allowRemoteCodeExecutionViaRestApi -}}
{{- if .Values.ingress.enabled -}}
{{- fail "ingress.enabled: true exposes the session cluster's REST API (jar upload and run: code execution) through an ingress controller; expected networkPolicy.allowRemoteCodeExecutionViaRestApi: true to accept that, or ingress.enabled: false" -}}
{{- end -}}
{{- range $i, $p := .Values.networkPolicy.restClients -}}
{{- if $p.ipBlock -}}
{{- fail (printf "networkPolicy.restClients[%d].ipBlock: %v opens the session cluster's REST API (jar upload and run: code execution) to addresses outside the cluster; expected podSelector or namespaceSelector peers, or networkPolicy.allowRemoteCodeExecutionViaRestApi: true" $i $p.ipBlock.cidr) -}}
{{- end -}}
{{- end -}}
{{- end -}}
`;
}

export function appValidation(ctx: Ctx, slots: number): string {
  const app = ctx.app!;
  // With autoscaling the HPA owns the count (no taskManager.replicas); the adaptive scheduler's parallelism is an upper bound.
  // With the job autoscaler the job starts within its range of parallelism, and it sizes the TaskManagers.
  const slotCheck = app.jobAutoscaler ? failBlock(AUTOSCALER_PARALLELISM_RANGE.refusedWhen(),
    '(printf "job.parallelism: %d is outside taskManager.jobAutoscaler\'s %d-%d; expected a starting parallelism within it" (int .Values.job.parallelism) (int .Values.taskManager.jobAutoscaler.minParallelism) (int .Values.taskManager.jobAutoscaler.maxParallelism))')
    + failBlock(AUTOSCALER_TASK_MANAGERS_RANGE.refusedWhen(),
      '(printf "taskManager.jobAutoscaler.minTaskManagers: %d is above taskManager.jobAutoscaler.maxTaskManagers (%d); expected at most maxTaskManagers" (int .Values.taskManager.jobAutoscaler.minTaskManagers) (int .Values.taskManager.jobAutoscaler.maxTaskManagers))')
    : !app.autoscaling ? `{{- if ${PARALLELISM_WITHIN_SLOTS.refusedWhen({ slotsPerTaskManager: slots })} -}}
{{- fail (printf "job.parallelism: %d exceeds the %d slots of %d TaskManagers x ${slots} slots; raise taskManager.replicas" (int .Values.job.parallelism) (mul (int .Values.taskManager.replicas) ${slots}) (int .Values.taskManager.replicas)) -}}
{{- end -}}
` : app.reactive ? '' : `{{- if ${PARALLELISM_WITHIN_AUTOSCALING.refusedWhen({ slotsPerTaskManager: slots })} -}}
{{- fail (printf "job.parallelism: %d exceeds the %d slots of taskManager.autoscaling.maxReplicas (%d) TaskManagers x ${slots} slots, a parallelism the job never reaches; lower it or raise maxReplicas" (int .Values.job.parallelism) (mul (int .Values.taskManager.autoscaling.maxReplicas) ${slots}) (int .Values.taskManager.autoscaling.maxReplicas)) -}}
{{- end -}}
`;
  const spareCheck = app.spareSlotsPerTaskManager ? failBlock(SPARE_SLOTS_HOLD_THE_JOB.refusedWhen({ slotsPerTaskManager: slots + app.spareSlotsPerTaskManager }),
    `(printf "taskManager.replicas: %d TaskManagers of ${slots + app.spareSlotsPerTaskManager} slots (${app.spareSlotsPerTaskManager} spare) cannot hold job.parallelism %d after losing one; raise taskManager.replicas" (int .Values.taskManager.replicas) (int .Values.job.parallelism))`) : '';
  return `${slotCheck}${spareCheck}${failBlock(SUSPEND_NEEDS_DIRECTORY.refusedWhen(), '"job.state: \\"suspended\\" needs job.savepointDirectory: suspending stops the job with a savepoint"')}\
{{- if ${SAVEPOINT_NEEDS_DIRECTORY.refusedWhen()} -}}
{{- fail "job.upgradeMode: \\"savepoint\\" needs job.savepointDirectory" -}}
{{- end -}}
${failBlock(LAST_STATE_NEEDS_HA_CHECKPOINTS.refusedWhen({ highAvailability: app.highAvailability, checkpointDirectory: app.checkpointDirectory }),
    `"job.upgradeMode: \\"last-state\\" needs ${app.highAvailability ? 'a checkpoint directory' : 'high availability'}, which this job was not built with; use savepoint"`)}`;
}

/** The JobManager's args: the generated ones, then job.args. */
/** The `--jars` argument of a jar in the image, from values: `local://` and the path. */
const JAR_ARG = '(printf "local://%s" (.Values.job.jarUri | trimPrefix "local://" | trimPrefix "file://"))';

export function jobManagerArgsHelper(ctx: Ctx, objects: any[]): string {
  const { c, app, name } = ctx;
  const jm = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === `${name}-jobmanager`);
  const args: string[] = flinkContainer(jm.spec.template.spec, 'jobmanager').args;
  const fixed = app!.boundJob.kind === 'sql' ? args : args.slice(0, args.length - app!.boundJob.programArgs.length);
  return `
{{/* The JobManager's container args: the generated ones, then job.args. */}}
{{- define "${c}.jobManagerArgs" -}}
{{- $args := list ${fixed.map((a, i) => (fixed[i - 1] === '--jars' && app!.boundJob.jar?.kind === 'image' ? JAR_ARG : goString(a))).join(' ')} }}
{{- toYaml (concat $args .Values.job.args) }}
{{- end -}}
`;
}
