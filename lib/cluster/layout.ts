/** Fixed ports of the Flink processes; named container ports refer to them. */
export const PORTS = {
  jobManagerRpc: 6123,
  blobServer: 6124,
  rest: 8081,
  taskManagerRpc: 6122,
  taskManagerData: 6121,
  metrics: 9249,
} as const;

/** The Flink image's user and group. */
export const FLINK_UID = 9999;

/** Where the image keeps Flink; the layout of the official images. */
export const FLINK_HOME = '/opt/flink';
export const CONF_TEMPLATE_DIR = '/opt/flink/conf-template';
/** Where the JobManager's init container reads the state hand-off (job id, savepoint path). */
export const HANDOFF_DIR = '/opt/flink/handoff';
export const JOB_FILES_DIR = '/opt/flink/job';
/**
 * Where the JobManager's init container fetches a remote job jar (an emptyDir), as `job.jar`;
 * also the default of Flink's `user.artifacts.base-dir`, where Flink's own `--jars` fetch would
 * write.
 */
export const ARTIFACTS_DIR = '/opt/flink/artifacts';
/** The JobManager's init container that fetches an https job jar (the operations image's `fetch-artifact`). */
export const FETCH_JAR_INIT_CONTAINER = 'fetch-job-jar';
/** The emptyDir the JobManager's fetch init container writes the job jar into. */
export const ARTIFACTS_VOLUME = 'flink-artifacts';
/** The Secret volume of a job jar's private certificate authority (JarJobOptions.jarCaSecret), mounted only where the jar is fetched. */
export const JAR_CA_VOLUME = 'flink-jar-ca';
export const JAR_CA_DIR = '/etc/cdk8s-flink/jar-ca';

/**
 * The containers the toolkit owns in a Flink pod, by name: the main container is named after its
 * component (`jobmanager`, `taskmanager`), the init container that prepares the configuration
 * `flink-config`. A chart applies its image, resources and args values to these only; containers
 * added through escape hatches keep what they were given.
 */
export const CONFIG_INIT_CONTAINER = 'flink-config';

/** The JobManager pod annotation that carries the release revision. */
export const REVISION_ANNOTATION = 'cdk8s-flink/revision';
