import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/**
 * The directory where tests and scripts cache what they download or build
 * (Flink distributions, Kafka jars, helm, schemas, Kubernetes binaries).
 * Override with CDK8S_FLINK_CACHE.
 */
export function cacheDir(...sub: string[]): string {
  const root = process.env.CDK8S_FLINK_CACHE ?? path.join(os.homedir(), '.cache', 'cdk8s-flink');
  const dir = path.join(root, ...sub);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}
