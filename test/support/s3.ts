/**
 * A real S3-compatible server for tests: moto's server (PyPI `moto[server]`, Apache-2.0),
 * installed with pip into cacheDir('moto', version)/site on first use and run with the Python
 * that runs pip. It listens on 127.0.0.1 on a free port.
 *
 * Access is checked as S3 checks it: once the server is set up (an IAM user `flink` whose
 * policy allows s3:* on the test's buckets, an access key pair for it, the buckets), moto's
 * authentication is switched on, so every later request must carry a valid AWS Signature V4 of
 * that key pair; a wrong secret gets SignatureDoesNotMatch, an unknown key InvalidAccessKeyId.
 * Two IAM roles stand for web identities' roles: STS AssumeRoleWithWebIdentity at the same
 * endpoint (unsigned, as in AWS; moto does not verify the token) returns temporary keys whose
 * requests are authorized by the role's policy (`reader` may read objects, `other` nothing).
 *
 * The test reads the buckets through moto's S3 API with boto3 (a dependency of moto, in the same
 * folder), signed with the same keys, so checking what Flink wrote needs no S3 client in Node.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ensurePipPackages, PYTHON, run } from './flink-dist';
import { freePorts, ManagedProcess, spawnManaged, waitFor } from './flink-proc';

/** moto 5.2.5: its server speaks the S3 REST API, path-style and virtual-host style. */
export const MOTO_VERSION = '5.2.5';

/** The folder of moto's server and its dependencies (for PYTHONPATH), installed on first use. */
export function ensureMoto(version = MOTO_VERSION): Promise<string> {
  return ensurePipPackages('moto', version, [`moto[server]==${version}`]);
}

export interface S3Keys {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** The same keys with a secret that differs in its last character (whatever that character is). */
export function wrongSecret(keys: S3Keys): S3Keys {
  const s = keys.secretAccessKey;
  return { ...keys, secretAccessKey: `${s.slice(0, -1)}${s.endsWith('x') ? 'y' : 'x'}` };
}

export interface S3Object {
  readonly key: string;
  readonly size: number;
}

export interface S3Server {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  /** The access key pair of the IAM user `flink`, allowed s3:* on the buckets. */
  readonly keys: S3Keys;
  /** Roles a web identity assumes (STS AssumeRoleWithWebIdentity at `endpoint`): `reader` may GetObject in the buckets, `other` may do nothing. */
  readonly roles: { readonly reader: string; readonly other: string };
  /** The objects under a prefix, read with `keys` (ListObjectsV2, every page). */
  list(bucket: string, prefix?: string): Promise<S3Object[]>;
  /** The contents of the objects under a prefix, as text, by key. */
  read(bucket: string, prefix: string): Promise<Record<string, string>>;
  /** Uploads a file as `key`, signed with `keys`. */
  put(bucket: string, key: string, file: string): Promise<void>;
  /** The error code the server answers a ListObjectsV2 signed with `keys` with, or 'ok'. */
  probe(bucket: string, keys: S3Keys): Promise<string>;
  logs(): string;
  stop(): Promise<void>;
}

// moto's server. It checks a signature by computing it again with botocore, whose signer leaves
// out headers that a client SDK may have signed (the AWS SDK for Java, Hadoop S3A's, signs
// User-Agent, and Expect on uploads): then every such request would get SignatureDoesNotMatch.
// S3 signs exactly the request's SignedHeaders, so the server here does too.
export const MOTO_SERVER_PY = String.raw`
import sys
import botocore.auth
botocore.auth.SIGNED_HEADERS_BLACKLIST.clear()
# STS AssumeRoleWithWebIdentity is an unsigned call (the token is the credential), as in AWS.
from moto.core.authorization import ActionAuthenticatorMixin
_authorize = ActionAuthenticatorMixin._authenticate_and_authorize_action
def _authorize_unless_web_identity(self, *args, **kwargs):
    if self._get_action() == 'AssumeRoleWithWebIdentity':
        return None
    return _authorize(self, *args, **kwargs)
ActionAuthenticatorMixin._authenticate_and_authorize_action = _authorize_unless_web_identity
from moto.server import main
main(sys.argv[1:])
`;

// One request through boto3, printed as JSON. argv: op endpoint key secret bucket prefix (put: bucket key file)
export const MOTO_CLIENT_PY = String.raw`
import json, sys
import boto3, botocore.exceptions
from botocore.config import Config
op, endpoint, key, secret = sys.argv[1:5]
cfg = Config(s3={'addressing_style': 'path'}, retries={'max_attempts': 2})
session = boto3.session.Session(aws_access_key_id=key, aws_secret_access_key=secret, region_name='us-east-1')
s3 = session.client('s3', endpoint_url=endpoint, config=cfg)
if op == 'setup':
    iam = session.client('iam', endpoint_url=endpoint)
    user, buckets = sys.argv[5], sys.argv[6:]
    iam.create_user(UserName=user)
    resources = [r for b in buckets for r in ('arn:aws:s3:::' + b, 'arn:aws:s3:::' + b + '/*')]
    iam.put_user_policy(UserName=user, PolicyName='buckets', PolicyDocument=json.dumps(
        {'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Action': 's3:*', 'Resource': resources}]}))
    k = iam.create_access_key(UserName=user)['AccessKey']
    # roles a web identity assumes: one that may read the buckets, one that may not
    trust = json.dumps({'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Principal': {'Federated': 'arn:aws:iam::123456789012:oidc-provider/oidc.test'}, 'Action': 'sts:AssumeRoleWithWebIdentity'}]})
    reader = iam.create_role(RoleName=user + '-reader', AssumeRolePolicyDocument=trust)['Role']['Arn']
    iam.put_role_policy(RoleName=user + '-reader', PolicyName='read', PolicyDocument=json.dumps(
        {'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Action': 's3:GetObject', 'Resource': [r for r in resources if r.endswith('/*')]}]}))
    other = iam.create_role(RoleName=user + '-other', AssumeRolePolicyDocument=trust)['Role']['Arn']
    for b in buckets:
        s3.create_bucket(Bucket=b)
    print(json.dumps({'accessKeyId': k['AccessKeyId'], 'secretAccessKey': k['SecretAccessKey'], 'readerRoleArn': reader, 'otherRoleArn': other}))
    sys.exit(0)
bucket, prefix = sys.argv[5], sys.argv[6]
if op == 'put':
    s3.upload_file(sys.argv[7], bucket, prefix)
    print(json.dumps('ok'))
    sys.exit(0)
if op == 'probe':
    try:
        s3.list_objects_v2(Bucket=bucket, MaxKeys=1)
        print(json.dumps('ok'))
    except botocore.exceptions.ClientError as e:
        print(json.dumps(e.response['Error']['Code']))
    sys.exit(0)
objects = []
for page in s3.get_paginator('list_objects_v2').paginate(Bucket=bucket, Prefix=prefix):
    objects += [{'key': o['Key'], 'size': o['Size']} for o in page.get('Contents', [])]
if op == 'list':
    print(json.dumps(objects))
elif op == 'read':
    print(json.dumps({o['key']: s3.get_object(Bucket=bucket, Key=o['key'])['Body'].read().decode('utf-8') for o in objects}))
else:
    sys.exit('unknown op ' + op)
`;

export interface StartS3Options {
  /** The buckets to create. */
  readonly buckets: string[];
}

/** Installs (first use) and starts moto's server, sets up the user, its keys and the buckets, then switches authentication on. */
export async function startS3(opts: StartS3Options): Promise<S3Server> {
  const site = await ensureMoto();
  const [port] = await freePorts(1);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-flink-s3-'));
  const endpoint = `http://127.0.0.1:${port}`;
  // No AWS settings of the machine leak in: the server and the client see only these.
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: root, PYTHONPATH: site, PYTHONDONTWRITEBYTECODE: '1', AWS_CONFIG_FILE: path.join(root, 'none'), AWS_SHARED_CREDENTIALS_FILE: path.join(root, 'none') };
  const client = async (op: string, keys: S3Keys, ...args: string[]) =>
    JSON.parse((await run(PYTHON, ['-c', MOTO_CLIENT_PY, op, endpoint, keys.accessKeyId, keys.secretAccessKey, ...args], { env, timeoutMs: 120_000 })).stdout) as unknown;
  const proc: ManagedProcess = spawnManaged(`moto-${port}`, PYTHON, ['-c', MOTO_SERVER_PY, '-H', '127.0.0.1', '-p', String(port)], { env, cwd: root, logFile: path.join(root, 'moto.log') });
  const logs = () => `---- moto ${MOTO_VERSION} (tail) ----\n${proc.logs().split('\n').slice(-80).join('\n')}`;
  const stop = async () => {
    await proc.stop(10_000);
    fs.rmSync(root, { recursive: true, force: true });
  };
  let keys: S3Keys;
  let roles: { reader: string; other: string };
  try {
    const died = () => (proc.exitCode() !== undefined ? `moto's server exited with ${proc.exitCode()}: ${proc.logs().slice(-2000)}` : undefined);
    await waitFor(async () => (await fetch(`${endpoint}/moto-api/`).catch(() => undefined))?.ok, { timeoutMs: 60_000, intervalMs: 250, what: `moto's server at ${endpoint}`, abortIf: died });
    // Before authentication is on, any key pair is accepted: the setup's is a throwaway.
    const setup = await client('setup', { accessKeyId: 'setup', secretAccessKey: 'setup' }, 'flink', ...opts.buckets) as S3Keys & { readerRoleArn: string; otherRoleArn: string };
    keys = { accessKeyId: setup.accessKeyId, secretAccessKey: setup.secretAccessKey };
    roles = { reader: setup.readerRoleArn, other: setup.otherRoleArn };
    const on = await fetch(`${endpoint}/moto-api/reset-auth`, { method: 'POST', body: '0' });
    if (!on.ok) throw new Error(`switching moto's authentication on: HTTP ${on.status} ${await on.text()}`);
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    endpoint,
    keys,
    roles,
    list: async (bucket, prefix = '') => (await client('list', keys, bucket, prefix)) as S3Object[],
    read: async (bucket, prefix) => (await client('read', keys, bucket, prefix)) as Record<string, string>,
    put: async (bucket, key, file) => { await client('put', keys, bucket, key, file); },
    probe: async (bucket, k) => (await client('probe', k, bucket, '')) as string,
    logs,
    stop,
  };
}
