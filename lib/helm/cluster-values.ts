import { FlinkApplication, UpgradeMode } from '../application';
import { KafkaTls, LogPipeline } from '../pipeline/pipeline';
import { flinkContainer, FlinkCluster, REVISION_ANNOTATION } from '../cluster/flink-cluster';
import { defaultIngressController } from '../cluster/access';
import { keyFor, NEW_NAME_SINCE, RENAMED_IN_2 } from '../config/keys';
import { DIGEST_PATTERN, parseImageReference, PINNED_IMAGE_SCHEMA, REPOSITORY_PATTERN, TAG_PATTERN } from '../cluster/image-ref';
import { JAR_HTTPS, JAR_IN_IMAGE, JAR_S3, LABELS, QUANTITY_CPU, QUANTITY_MEMORY, SHA256_OR_EMPTY, URI_OR_EMPTY, ValueTree } from './values';
import { Ctx } from './context';
import { BEHAVIOR_SCHEMA, METRICS_SCHEMA } from '../autoscaling';
import { addedContainers, declaredKafkaCa, monitoringSwitch, NETWORK_PEER } from './templatize';
import { jobAutoscalerOf, jobAutoscalerValues, poolOf, poolValues } from './pool-chart';

/** values.yaml and values.schema.json of a cluster chart: the values tree with its defaults, documentation and schema. */

/** An image reference as the values repository, tag and digest ("" when absent), so that the image helper renders it back as given. */
export function splitImage(image: string): { repository: string; tag: string; digest: string } {
  const ref = parseImageReference('image', image);
  return { repository: ref.domain ? `${ref.domain}/${ref.path}` : ref.path, tag: ref.tag ?? '', digest: ref.digest ?? '' };
}

/** The image values both kinds of chart share: repository, a pinned tag, an optional digest. */
export function imageValues(image: { repository: string; tag: string; digest: string }): ValueTree {
  return {
    repository: { doc: 'Image repository.', value: image.repository, schema: { type: 'string', pattern: REPOSITORY_PATTERN } },
    tag: { doc: 'Image tag, pinned (never "latest") unless a digest pins the image.', value: image.tag, schema: { type: 'string', pattern: TAG_PATTERN } },
    digest: { doc: 'Image digest ("sha256:..." or "sha512:..."); it pins the image whatever the tag.', value: image.digest, schema: { type: 'string', pattern: DIGEST_PATTERN } },
  };
}

/** An image reference pinned by tag or digest, never `:latest`. */
const PINNED_IMAGE = PINNED_IMAGE_SCHEMA;

export function clusterValues(ctx: Ctx, objects: any[]): ValueTree {
  const { cluster, app } = ctx;
  const jm = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === `${ctx.name}-jobmanager`);
  const tm = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === `${ctx.name}-taskmanager`);
  const jmRes = flinkContainer(jm.spec.template.spec, 'jobmanager').resources;
  const tmRes = flinkContainer(tm.spec.template.spec, 'taskmanager').resources;
  const pod = tm.spec.template.spec;
  const image = splitImage(cluster.image);
  const tree: any = {
    image: {
      doc: 'The Flink image (the runtime image built from runtime/ for SQL and pipeline jobs).',
      children: {
        ...imageValues(image),
        pullPolicy: { doc: 'Image pull policy.', value: flinkContainer(jm.spec.template.spec, 'jobmanager').imagePullPolicy, schema: { type: 'string', enum: ['IfNotPresent', 'Always', 'Never'] } },
      },
    },
  };
  if (app) {
    tree.job = {
      doc: 'The job and how releases carry its state.',
      children: {
        state: { doc: 'running, or suspended: stop with a savepoint and scale to zero; running again restores from it.', value: 'running', schema: { type: 'string', enum: ['running', 'suspended'] } },
        upgradeMode: { doc: 'How an upgrade carries state: stateless (start over), savepoint (stop with a savepoint, restore from it), last-state (restore the latest checkpoint through HA metadata).', value: app.upgradeMode, schema: { type: 'string', enum: Object.values(UpgradeMode) } },
        parallelism: { doc: 'Default parallelism of the job; at most taskManager.replicas x slots per TaskManager.', value: app.parallelism, schema: { type: 'integer', minimum: 1, maximum: 32768 } },
        args: { doc: app.boundJob.kind === 'sql' ? 'Extra program arguments, after the SQL runner\'s --script.' : app.boundJob.python ? 'Arguments of the job\'s Python script (sys.argv[1:]).' : 'Program arguments of the job\'s main class.', value: app.boundJob.kind === 'sql' ? [] : app.boundJob.programArgs, schema: { type: 'array', items: { type: 'string' } } },
        initialSavepointPath: { doc: 'Savepoint or retained checkpoint the first install restores from ("" for none).', value: app.initialSavepointPath ?? '', schema: URI_OR_EMPTY },
        allowNonRestoredState: { doc: 'Let a restore skip state that maps to no operator.', value: app.allowNonRestoredState, schema: { type: 'boolean' } },
        savepointDirectory: { doc: 'Where upgrade and suspend savepoints go ("" for none: then only stateless upgrades).', value: app.savepointDirectory ?? '', schema: URI_OR_EMPTY },
        ...jarValues(app),
      },
    };
  }
  tree.jobManager = {
    doc: 'The JobManager.',
    children: {
      resources: {
        doc: 'CPU request and memory; the memory is Flink\'s process size and the container\'s request and limit.',
        children: {
          cpu: { doc: 'CPU request.', value: jmRes.requests.cpu, schema: QUANTITY_CPU },
          memory: { doc: 'Memory request = limit = jobmanager.memory.process.size (Mi or Gi).', value: jmRes.requests.memory, schema: QUANTITY_MEMORY },
        },
      },
    },
  };
  const tmChildren: any = {};
  if (tm.spec.replicas !== undefined) {
    const standby = app?.standbyTaskManagers ? `, ${app.standbyTaskManagers} of them standby beyond what job.parallelism needs` : '';
    const slots = app?.spareSlotsPerTaskManager
      ? `${cluster.taskManagerSlots} slots each for the job and ${app.spareSlotsPerTaskManager} spare: the others hold the job after losing one`
      : `${cluster.taskManagerSlots} slots each`;
    tmChildren.replicas = { doc: `Number of TaskManagers (${slots}${standby}).`, value: tm.spec.replicas, schema: { type: 'integer', minimum: app ? 1 : 0, maximum: 1000 } };
  }
  tmChildren.resources = {
    doc: 'CPU request, optional CPU limit, and memory of each TaskManager.',
    children: {
      cpu: { doc: 'CPU request.', value: tmRes.requests.cpu, schema: QUANTITY_CPU },
      cpuLimit: { doc: 'CPU limit ("" for none: a limit throttles Flink\'s timers and heartbeats).', value: tmRes.limits.cpu ?? '', schema: { anyOf: [QUANTITY_CPU, { const: '' }] } },
      memory: { doc: 'Memory request = limit = taskmanager.memory.process.size (Mi or Gi).', value: tmRes.requests.memory, schema: QUANTITY_MEMORY },
    },
  };
  if (app?.autoscaler) {
    const hpa = objects.find((o) => o.kind === 'HorizontalPodAutoscaler');
    const how = app.reactive ? 'reactive mode: the job takes every slot' : 'the adaptive scheduler: the job runs with the slots there are, up to job.parallelism';
    tmChildren.autoscaling = {
      doc: `The HorizontalPodAutoscaler owns the TaskManager count (${how});\nevery scale event restarts the job from its latest checkpoint.`,
      children: {
        minReplicas: { doc: 'Fewest TaskManagers.', value: hpa.spec.minReplicas, schema: { type: 'integer', minimum: 1, maximum: 1000 } },
        maxReplicas: { doc: 'Most TaskManagers.', value: hpa.spec.maxReplicas, schema: { type: 'integer', minimum: 1, maximum: 1000 } },
        metrics: {
          doc: 'What the HPA follows (autoscaling/v2 MetricSpecs: Resource cpu/memory Utilization 10-100 or AverageValue,\nPods and External metrics with their target); it scales to the largest count any metric asks for.',
          value: hpa.spec.metrics ?? [], schema: METRICS_SCHEMA,
        },
        behavior: { doc: 'How fast it scales each way (autoscaling/v2 behavior: scaleUp, scaleDown; {} for Kubernetes\' defaults).', value: hpa.spec.behavior ?? {}, schema: BEHAVIOR_SCHEMA },
      },
    };
  }
  const pool = poolOf(cluster);
  if (pool) Object.assign(tmChildren, poolValues(pool.pool));
  const jobAutoscaler = jobAutoscalerOf(cluster);
  if (jobAutoscaler) Object.assign(tmChildren, jobAutoscalerValues(jobAutoscaler.autoscaler));
  tree.taskManager = { doc: 'The TaskManagers.', children: tmChildren };
  tree.flinkConfiguration = {
    doc: 'Flink configuration keys merged over the generated configuration. Keys the toolkit manages\n(addresses, memory, parallelism, restore) are set through their own values and rejected here.',
    value: {},
    schema: { type: 'object', additionalProperties: { type: ['string', 'number', 'boolean'] } },
  };
  const cas: KafkaTls[] = (pod.volumes ?? []).flatMap((v: any) => declaredKafkaCa(v, ctx) ?? []);
  if (cas.length) {
    const readers = (t: KafkaTls) => (app?.job.pipeline ? kafkaConnectionsOf(app.job.pipeline, t.volumeName) : 'the session jobs that read it');
    tree.kafkaTls = {
      doc: 'The certificate authorities (PEM) the Kafka clients trust, each from a key of a Secret, mounted\nread-only at /etc/kafka-ca/<entry>/ca.pem into the Flink pods' + (app ? ' and the Kafka hooks' : '') + '.',
      children: Object.fromEntries(cas.map((t) => [t.volumeName, {
        doc: `The CA of ${readers(t)}.`,
        children: {
          secretName: { doc: 'The Secret.', value: t.secretName, schema: { type: 'string', maxLength: 253, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$' } },
          key: { doc: 'Its key holding the PEM certificate(s).', value: t.key, schema: { type: 'string', maxLength: 253, pattern: '^[-._a-zA-Z0-9]+$', not: { pattern: '^(\\.|\\.\\..*)$' } } },
        },
      }])),
    };
  }
  const templates = (['jobmanager', 'taskmanager'] as const).map((component) => {
    const d = component === 'jobmanager' ? jm : tm;
    const all = [...d.spec.template.spec.containers, ...(d.spec.template.spec.initContainers ?? [])];
    const names = addedContainers(ctx, component).filter((n) => all.some((x: any) => x.name === n));
    return [component === 'jobmanager' ? 'jobManager' : 'taskManager', names.map((n) => [n, all.find((x: any) => x.name === n).image])] as const;
  }).filter(([, list]) => list.length);
  if (templates.length) {
    tree.podTemplate = {
      doc: 'The images of the containers the definition\'s pod templates add (sidecars and init containers), by component\nand container name; their other fields are as defined.',
      children: Object.fromEntries(templates.map(([key, list]) => [key, {
        doc: `Containers added to the ${key === 'jobManager' ? 'JobManager' : 'TaskManager'} pods.`,
        children: Object.fromEntries(list.map(([name, image]) => [name, {
          doc: `The container ${name}.`,
          children: { image: { doc: 'Its image, pinned by tag or digest (never "latest").', value: image, schema: PINNED_IMAGE } },
        }])),
      }])),
    };
  }
  tree.podLabels = { doc: 'Extra labels on the pods.', value: {}, schema: LABELS };
  const podAnnotations = Object.fromEntries(Object.entries(tm.spec.template.metadata.annotations ?? {}).filter(([k]) => k !== 'checksum/config' && k !== REVISION_ANNOTATION));
  tree.podAnnotations = { doc: 'Extra annotations on the pods (with annotation scraping, the prometheus.io/* ones).', value: podAnnotations, schema: LABELS };
  tree.nodeSelector = { doc: 'Node labels the pods must match.', value: pod.nodeSelector ?? {}, schema: LABELS };
  tree.tolerations = { doc: 'Taints the pods tolerate.', value: pod.tolerations ?? [], schema: { type: 'array', items: { type: 'object' } } };
  tree.affinity = { doc: 'Affinity of the pods; when set it replaces the generated TaskManager anti-affinity.', value: {}, schema: { type: 'object' } };
  tree.serviceAccount = {
    doc: 'The ServiceAccount of the JobManager and TaskManager pods' + (cluster.highAvailability ? ' (bound to the HA Role)' : '') + '.',
    children: {
      create: { doc: 'Create it; false uses the existing ServiceAccount serviceAccount.name.', value: cluster.serviceAccount !== undefined, schema: { type: 'boolean' } },
      name: { doc: 'Its name ("" with create: <release>-flink).', value: cluster.serviceAccount ? '' : cluster.serviceAccountName, schema: { type: 'string', maxLength: 253, pattern: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)?$' } },
      annotations: { doc: 'Annotations of the created ServiceAccount: cloud IAM bindings such as eks.amazonaws.com/role-arn\nor iam.gke.io/gcp-service-account.', value: cluster.serviceAccountAnnotations, schema: LABELS },
    },
  };
  const ing = cluster.ingressOptions;
  tree.ingress = {
    doc: 'An Ingress for the REST API and web UI (the <release>-rest Service); it opens the REST port to\nthe ingress controller in the NetworkPolicy.' + (app ? '' : ' On this session cluster it exposes jar upload and run\n(code execution) and needs networkPolicy.allowRemoteCodeExecutionViaRestApi.'),
    children: {
      enabled: { doc: 'Create the Ingress.', value: ing !== undefined, schema: { type: 'boolean' } },
      className: { doc: 'The IngressClass ("" for the cluster\'s default).', value: ing?.className ?? '', schema: { type: 'string' } },
      host: { doc: 'The host name ("" for every host).', value: ing?.host ?? '', schema: { type: 'string', pattern: '^((\\*\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)?$' } },
      path: { doc: 'The URL path.', value: ing?.path ?? '/', schema: { type: 'string', pattern: '^/\\S*$' } },
      pathType: { doc: 'How the path matches.', value: ing?.pathType ?? 'Prefix', schema: { type: 'string', enum: ['Prefix', 'Exact', 'ImplementationSpecific'] } },
      tls: {
        doc: 'TLS termination at the ingress controller.',
        children: {
          secretName: { doc: 'A kubernetes.io/tls Secret for host ("" for no TLS).', value: ing?.tlsSecretName ?? '', schema: { type: 'string' } },
        },
      },
      annotations: { doc: 'Annotations of the Ingress (the controller\'s options: authentication, rewrites).', value: ing?.annotations ?? {}, schema: LABELS },
      controller: {
        doc: 'The ingress controller\'s pods (a NetworkPolicyPeer), allowed to call the REST API when the Ingress is enabled.',
        value: (ing?.controller ?? defaultIngressController())._toPeer(),
        schema: NETWORK_PEER.items,
      },
    },
  };
  const access = cluster.networkAccess;
  tree.networkPolicy = {
    doc: 'Ingress to the pods: Flink RPC, blob and data ports only from this release\'s JobManager and\nTaskManager pods; the REST API only from ' + (app ? 'the hooks, the test pod' : 'the session jobs\' submitters\n(pods labelled cdk8s-flink/rest-client: <release>)') + ' and restClients; metrics only from\nmetricsScrapers. Egress is not restricted.',
    children: {
      enabled: { doc: 'Create the NetworkPolicy; false leaves every port open to every pod of the cluster.', value: access.enabled, schema: { type: 'boolean' } },
      restClients: {
        doc: 'More peers (NetworkPolicyPeer: podSelector, namespaceSelector, ipBlock) allowed to call the REST API.' + (app ? '' : '\nAn ipBlock needs allowRemoteCodeExecutionViaRestApi.'),
        value: access.restClients.map((p) => p._toPeer()),
        schema: NETWORK_PEER,
      },
      ...(cluster.metricsEnabled ? {
        metricsScrapers: {
          doc: 'Peers allowed to scrape the metrics port ([] closes it). The default is kube-prometheus-stack\'s Prometheus\n(app.kubernetes.io/name: prometheus) in the namespace "monitoring".',
          value: access.metricsScrapers.map((p) => p._toPeer()),
          schema: NETWORK_PEER,
        },
      } : {}),
      ...(app ? {} : {
        allowRemoteCodeExecutionViaRestApi: {
          doc: 'Allow ipBlock restClients: addresses outside the cluster reach the REST API, whose jar upload and run\nexecute code in pods that hold the jobs\' credentials.',
          value: access.restExposureAllowed,
          schema: { type: 'boolean' },
        },
      }),
    },
  };
  const switches = objects.map((o) => [o, monitoringSwitch(o, ctx)] as const).filter(([, w]) => w !== undefined);
  const on = (which: string) => switches.some(([, w]) => w === which);
  const release = switches.map(([o]) => o.metadata.labels?.release).find(Boolean) ?? '';
  tree.monitoring = {
    doc: 'Prometheus and Grafana wiring; each part can be switched off.',
    children: {
      scrape: { doc: 'The PodMonitor or ServiceMonitor (and its metrics Service).', value: on('scrape'), schema: { type: 'boolean' } },
      alerts: { doc: 'The alerting rules (PrometheusRule, or a rules ConfigMap with annotation scraping).', value: on('alerts'), schema: { type: 'boolean' } },
      dashboard: { doc: 'The Grafana dashboard ConfigMap (labelled grafana_dashboard: "1").', value: on('dashboard'), schema: { type: 'boolean' } },
      releaseLabel: { doc: 'The release label kube-prometheus-stack selects monitors and rules by ("" for none).', value: release, schema: { type: 'string', pattern: '^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$', maxLength: 63 } },
    },
  };
  if (app) {
    tree.hooks = {
      doc: 'The upgrade, rollback, cleanup and test hooks (the operations tool).',
      children: {
        image: { doc: 'Image of the operations tool (built from runtime/).', value: app.opsImage, schema: PINNED_IMAGE },
        timeoutSeconds: { doc: 'How long a hook may run (stop with savepoint included) before it fails the release.', value: 600, schema: { type: 'integer', minimum: 30, maximum: 7200 } },
        cleanupHaConfigMaps: { doc: 'On uninstall, also delete the Flink HA ConfigMaps (the job\'s recovery metadata).', value: false, schema: { type: 'boolean' } },
        ...(app.job.pipeline ? {
          preflight: {
            doc: 'The Kafka preflight before install and upgrade: source topics exist, the parallelism fits their partitions, sink topics exist.',
            children: {
              enabled: { doc: 'Run the preflight; a failed check fails the install or upgrade before anything changes.', value: true, schema: { type: 'boolean' } },
              createSinkTopics: { doc: 'Create missing Kafka sink topics (on the source brokers) instead of failing.', value: false, schema: { type: 'boolean' } },
            },
          },
        } : {}),
      },
    };
  }
  return tree;
}

/**
 * Keys the toolkit manages (what the model set through typed props, reserved for start or fed
 * from Secrets, and what the chart sets from its own values), under every name Flink reads
 * them by, with the prop or value that owns each: `flinkConfiguration` may not set them.
 */
export function managedKeys(cluster: FlinkCluster): Map<string, string> {
  const v = cluster.version;
  const owners = new Map(cluster.configuration.managed);
  const own: Record<string, string> = {
    'jobmanager.rpc.address': 'the release name', 'rest.address': 'the release name', 'kubernetes.cluster-id': 'the release name',
    'jobmanager.memory.process.size': 'jobManager.resources.memory', 'taskmanager.memory.process.size': 'taskManager.resources.memory',
    ...(cluster instanceof FlinkApplication ? { 'parallelism.default': 'job.parallelism', 'execution.checkpointing.savepoint-dir': 'job.savepointDirectory' } : {}),
  };
  for (const [k, owner] of Object.entries(own)) if (!owners.has(keyFor(v, k))) owners.set(keyFor(v, k), owner);
  // Other names of the same options (pre-2.0 names, newer names).
  for (const alias of [...Object.keys(RENAMED_IN_2), ...Object.values(RENAMED_IN_2), ...Object.keys(NEW_NAME_SINCE)]) {
    const owner = owners.get(keyFor(v, alias));
    if (owner !== undefined && !owners.has(alias)) owners.set(alias, owner);
  }
  return new Map([...owners].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Which Kafka connections of a pipeline trust the CA of volume `name`. */
function kafkaConnectionsOf(p: LogPipeline, name: string): string {
  const uses = [
    ...(p.props.source.tls?.volumeName === name ? ['the source'] : []),
    ...p.props.sinks.flatMap((s, i) => ((s as any).tls?.volumeName === name ? [`sinks[${i}]`] : [])),
  ];
  return uses.join(', ');
}

/** The job's jar as values: its path in the Flink image, or its https or s3 URI and sha256 (fetched by the JobManager's init container). */
function jarValues(app: FlinkApplication): ValueTree {
  const jar = app.boundJob.jar;
  if (!jar) return {};
  if (jar.kind === 'image') {
    return { jarUri: { doc: 'The job\'s jar in the Flink image: local:///path.jar, file:///path.jar or /path.jar (run with --jars).', value: jar.uri, schema: JAR_IN_IMAGE } };
  }
  return {
    jarUri: jar.kind === 's3'
      ? { doc: 'The job\'s jar (s3://bucket/key), fetched into the JobManager pod by its init container (the hooks image) with the keys, endpoint and region of the cluster\'s S3 credentials.', value: jar.uri, schema: JAR_S3 }
      : { doc: 'The job\'s jar (https://), fetched into the JobManager pod by its init container (the hooks image).', value: jar.uri, schema: JAR_HTTPS },
    jarSha256: { doc: 'The jar\'s sha256 (64 hex digits); the fetch refuses a jar with another digest ("" for not checked).', value: jar.sha256 ?? '', schema: SHA256_OR_EMPTY },
  };
}
