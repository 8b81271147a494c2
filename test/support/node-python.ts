/**
 * An image for `JobSource.python` jobs on the tests' real node: the project's runtime image of
 * line 2.2 (runtime/images/flink-2.2) with what a user's Dockerfile adds for PyFlink, built here
 * with buildah from that image (nothing pulled from a registry):
 *
 *   FROM <the runtime image>
 *   USER root
 *   RUN apt-get install python3                      (Debian's 3.11, from this machine's sources)
 *   RUN pip install apache-flink==2.2.1              (here: the packages ensurePyFlink installed
 *                                                    from PyPI for the local Python test, copied
 *                                                    into /usr/local/lib/python3.11/dist-packages;
 *                                                    the host's and the image's Python are 3.11)
 *   COPY flink-python-2.2.1.jar /opt/flink/opt/     (the official image carries it; the tests'
 *                                                    stand-in for it, from PyPI's distribution,
 *                                                    does not: taken from the same apache-flink)
 *
 * apache-flink's own copy of Flink's lib/ (pyflink/lib), pip and the packages' `tests` folders
 * are left out: the client that PythonDriver
 * starts and the TaskManagers' Python workers talk to the JVM that is already running, whose
 * classpath is the image's /opt/flink. The image's user stays the runtime image's.
 */
import * as fs from 'fs';
import * as path from 'path';
import { withLock } from './cache';
import { exec } from './control-plane';
import { ensurePyFlink } from './flink-dist';
import { ImageBuild, LOCAL_REGISTRY, packageVersion } from './images';
import { buildah, buildahArgs, imageInputs, INPUTS_LABEL } from './node';
import { sha } from './node-services';

export const PYFLINK_VERSION = '2.2.1';
/** What PythonDriver's client and the TaskManager's Beam worker import for a Table API job with Python UDFs. */
const WORKER_IMPORTS = [
  'import pemja, pyflink.table, pyflink.table.udf, pyflink.fn_execution.coders, pyflink.fn_execution.table.operations',
  'import pyflink.fn_execution.beam.beam_worker_pool_service, pyflink.fn_execution.beam.beam_operations, pyflink.fn_execution.beam.beam_coders',
  'import pyflink.version; print(pyflink.version.__version__)',
].join('\n');
/** Where Debian's python3 finds packages installed beside it (on its default sys.path). */
const DIST_PACKAGES = '/usr/local/lib/python3.11/dist-packages';

/** The Python image's name for a runtime image of Flink PYFLINK_VERSION. */
export const pythonImageName = () => `${LOCAL_REGISTRY}/flink-python:${PYFLINK_VERSION}-${packageVersion()}`;

export async function ensurePythonFlinkImage(runtimeImage: string): Promise<ImageBuild> {
  const python = await ensurePyFlink(PYFLINK_VERSION);
  const venv = path.dirname(path.dirname(python));
  const lib = fs.readdirSync(path.join(venv, 'lib')).find((d) => /^python3\.\d+$/.test(d));
  if (lib !== 'python3.11') throw new Error(`the PyFlink environment in ${venv} is ${lib}; the image's Debian bookworm python3 is 3.11`);
  const site = path.join(venv, 'lib', lib, 'site-packages');
  const jar = path.join(site, 'pyflink', 'opt', `flink-python-${PYFLINK_VERSION}.jar`);
  if (!fs.existsSync(jar)) throw new Error(`apache-flink ${PYFLINK_VERSION} has no ${jar}`);
  const baseId = (await buildah(['inspect', '--type', 'image', '--format', '{{.FromImageID}}', runtimeImage])).stdout.trim();
  const dists = fs.readdirSync(site).filter((f) => f.endsWith('.dist-info')).sort();
  const steps = [
    'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 >/dev/null && rm -rf /var/lib/apt/lists/*',
    // Flink's jars (the JVM has the image's own), pip, and the packages' test suites and C headers
    `rm -rf ${DIST_PACKAGES}/pyflink/lib ${DIST_PACKAGES}/pip ${DIST_PACKAGES}/setuptools ${DIST_PACKAGES}/pyarrow/include && find ${DIST_PACKAGES} -depth -type d -name tests -exec rm -rf {} +`,
    `cp ${DIST_PACKAGES}/pyflink/opt/flink-python-${PYFLINK_VERSION}.jar /opt/flink/opt/ && chmod 0644 /opt/flink/opt/flink-python-${PYFLINK_VERSION}.jar`,
  ];
  const inputs = sha(baseId, ...dists, ...steps);
  const name = pythonImageName();
  if ((await imageInputs(name)) === inputs) return { name, ms: 0 };
  return withLock(`image-${path.basename(name)}`, 30 * 60_000, async () => {
    if ((await imageInputs(name)) === inputs) return { name, ms: 0 };
    const t = Date.now();
    const ctr = (await buildah(['from', '--pull=never', runtimeImage])).stdout.trim();
    try {
      await buildah(['run', '--user', '0:0', '--network', 'host', ctr, '--', 'sh', '-c', steps[0]], { timeoutMs: 10 * 60_000 });
      await buildah(['copy', '--chmod', '0755', ctr, site, DIST_PACKAGES], { timeoutMs: 10 * 60_000 });
      for (const step of steps.slice(1)) await buildah(['run', '--user', '0:0', ctr, '--', 'sh', '-c', step]);
      // as the image's user would: the interpreter imports what the client and the Python worker of a Table API job with UDFs import
      const check = await buildah(['run', ctr, '--', 'python3', '-c', WORKER_IMPORTS]);
      if (check.stdout.trim() !== PYFLINK_VERSION) throw new Error(`python3 in ${name} finds PyFlink ${check.stdout.trim()}, not ${PYFLINK_VERSION}`);
      await buildah(['config', '--label', `${INPUTS_LABEL}=${inputs}`, ctr]);
      await buildah(['commit', '--rm', ctr, name], { timeoutMs: 10 * 60_000 });
    } catch (e) {
      await exec('buildah', buildahArgs(['rm', ctr]));
      throw e;
    }
    return { name, ms: Date.now() - t };
  });
}
