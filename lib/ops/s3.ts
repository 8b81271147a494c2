/**
 * Reading one object from S3 or an S3-compatible store (MinIO, Ceph, ...) with AWS Signature
 * Version 4, for the job jars of `s3://bucket/key` URIs: no SDK, only what a GET needs.
 *
 * The credentials come from the environment in the AWS SDKs' order (resolveS3Keys): static keys
 * (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` when set; in the charts,
 * from the Secret of the cluster's `StorageCredentials.s3`), else a web identity
 * (`AWS_ROLE_ARN` and `AWS_WEB_IDENTITY_TOKEN_FILE`, as EKS's IAM roles for service accounts
 * inject them; `StorageCredentials.s3WebIdentity`) exchanged for temporary keys with STS
 * `AssumeRoleWithWebIdentity`. Instance-profile credentials are not read.
 */
import { createHash, createHmac } from 'crypto';
import * as fs from 'fs';
import { S3_BUCKET } from '../errors';
import { OpsError } from './errors';

/** Where and how to reach the store. */
export interface S3Access {
  /** The store's URL, e.g. `http://minio.storage.svc:9000`; undefined: AWS, `https://s3.<region>.amazonaws.com`. */
  readonly endpoint?: string;
  /** Path-style addressing (`<endpoint>/<bucket>/<key>`), which most S3-compatible stores need; else `<bucket>.<endpoint host>`. */
  readonly pathStyle?: boolean;
  /** The region the request is signed for. @default 'us-east-1' */
  readonly region?: string;
}

export interface S3Keys {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** The sha256 of an empty payload, the payload hash of a GET. */
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** `s3://bucket/key` split; undefined when the URI is not one. */
export function parseS3Uri(uri: string): { bucket: string; key: string } | undefined {
  const m = new RegExp(`^s3://(${S3_BUCKET})/(\\S*[^/\\s])$`).exec(uri);
  return m ? { bucket: m[1], key: m[2] } : undefined;
}

/** The keys from the environment, or a one-line error naming what is missing. */
export function s3KeysFromEnv(what: string, env: NodeJS.ProcessEnv = process.env): S3Keys {
  const accessKeyId = env.AWS_ACCESS_KEY_ID ?? '';
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY ?? '';
  const missing = [accessKeyId ? '' : 'AWS_ACCESS_KEY_ID', secretAccessKey ? '' : 'AWS_SECRET_ACCESS_KEY'].filter(Boolean);
  if (missing.length) throw new OpsError(`${what}: ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not set; expected the S3 keys in the environment (in the charts, from the Secret of StorageCredentials.s3), or AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE for a web identity`);
  return { accessKeyId, secretAccessKey, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) };
}

/** The environment names a web identity: AWS_ROLE_ARN or AWS_WEB_IDENTITY_TOKEN_FILE is set and no static key is. */
function webIdentityIn(env: NodeJS.ProcessEnv): boolean {
  return !env.AWS_ACCESS_KEY_ID && !env.AWS_SECRET_ACCESS_KEY && Boolean(env.AWS_ROLE_ARN || env.AWS_WEB_IDENTITY_TOKEN_FILE);
}

/**
 * The STS endpoint of a web identity exchange, as the AWS SDKs choose it: `AWS_ENDPOINT_URL_STS`,
 * else `AWS_ENDPOINT_URL`, else the regional endpoint of `AWS_REGION` / `AWS_DEFAULT_REGION` (EKS
 * sets `AWS_REGION`), else the global `https://sts.amazonaws.com`.
 */
export function stsEndpoint(env: NodeJS.ProcessEnv): string {
  const explicit = env.AWS_ENDPOINT_URL_STS || env.AWS_ENDPOINT_URL;
  if (explicit) return explicit;
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION;
  return region ? `https://sts.${region}.amazonaws.com` : 'https://sts.amazonaws.com';
}

/**
 * Temporary keys for the role `AWS_ROLE_ARN`, from STS `AssumeRoleWithWebIdentity` with the token
 * in `AWS_WEB_IDENTITY_TOKEN_FILE` (an unsigned call: the token is the credential). The session
 * is named `AWS_ROLE_SESSION_NAME`, else `cdk8s-flink-fetch-<time>`, and lasts 15 minutes, the
 * least STS grants: a fetch needs one GET.
 */
export async function assumeRoleWithWebIdentity(what: string, env: NodeJS.ProcessEnv, signal: AbortSignal): Promise<S3Keys> {
  const roleArn = env.AWS_ROLE_ARN ?? '';
  const tokenFile = env.AWS_WEB_IDENTITY_TOKEN_FILE ?? '';
  const missing = [roleArn ? '' : 'AWS_ROLE_ARN', tokenFile ? '' : 'AWS_WEB_IDENTITY_TOKEN_FILE'].filter(Boolean);
  if (missing.length) throw new OpsError(`${what}: ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not set; expected both for a web identity (a ServiceAccount bound to an IAM role), or the keys AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`);
  let token: string;
  try {
    token = fs.readFileSync(tokenFile, 'utf8').trim();
  } catch (e) {
    throw new OpsError(`${what}: AWS_WEB_IDENTITY_TOKEN_FILE ${tokenFile} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); expected the projected service account token`);
  }
  if (!token) throw new OpsError(`${what}: AWS_WEB_IDENTITY_TOKEN_FILE ${tokenFile} is empty; expected the projected service account token`);
  const endpoint = stsEndpoint(env);
  const body = new URLSearchParams({
    Action: 'AssumeRoleWithWebIdentity', Version: '2011-06-15', RoleArn: roleArn,
    RoleSessionName: env.AWS_ROLE_SESSION_NAME || `cdk8s-flink-fetch-${Date.now()}`, WebIdentityToken: token, DurationSeconds: '900',
  });
  let res: Response;
  try {
    res = await fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8', accept: 'application/xml' }, body, redirect: 'manual', signal });
  } catch (e) {
    const cause = (e as { cause?: { message?: string } }).cause?.message ?? (e as Error).message;
    throw new OpsError(`${what}: STS AssumeRoleWithWebIdentity at ${endpoint} failed: ${cause}`);
  }
  const text = (await res.text().catch(() => '')).slice(0, 8000);
  const field = (n: string) => new RegExp(`<${n}>([^<]*)</${n}>`).exec(text)?.[1];
  if (res.status !== 200) {
    const code = field('Code');
    const message = field('Message');
    throw new OpsError(`${what}: STS AssumeRoleWithWebIdentity for ${roleArn} at ${endpoint} answered ${res.status}${code ? ` ${code}` : ''}${message ? `: ${message.replace(/\s+/g, ' ')}` : ''}; expected 200 with temporary credentials`);
  }
  const accessKeyId = field('AccessKeyId');
  const secretAccessKey = field('SecretAccessKey');
  const sessionToken = field('SessionToken');
  if (!accessKeyId || !secretAccessKey || !sessionToken) {
    throw new OpsError(`${what}: STS AssumeRoleWithWebIdentity for ${roleArn} at ${endpoint} answered 200 without AccessKeyId, SecretAccessKey and SessionToken; expected temporary credentials`);
  }
  return { accessKeyId, secretAccessKey, sessionToken };
}

/**
 * The credentials of an S3 read, in the AWS SDKs' order: the static keys of the environment
 * (s3KeysFromEnv), else its web identity (assumeRoleWithWebIdentity); a one-line error naming
 * what is missing when there is neither.
 */
export async function resolveS3Keys(what: string, env: NodeJS.ProcessEnv, signal: AbortSignal): Promise<S3Keys> {
  if (webIdentityIn(env)) return assumeRoleWithWebIdentity(what, env, signal);
  return s3KeysFromEnv(what, env);
}

/** The URL of an object, path-style or virtual-host style. */
export function s3ObjectUrl(bucket: string, key: string, access: S3Access): URL {
  const region = access.region ?? 'us-east-1';
  const base = new URL(access.endpoint ?? `https://s3.${region}.amazonaws.com`);
  const path = key.split('/').map(encodeRfc3986).join('/');
  const prefix = base.pathname.replace(/\/+$/, '');
  if (access.pathStyle) return new URL(`${base.protocol}//${base.host}${prefix}/${bucket}/${path}`);
  return new URL(`${base.protocol}//${bucket}.${base.host}${prefix}/${path}`);
}

/** URI-encoding as SigV4 wants it: every byte but A-Z a-z 0-9 - . _ ~ as %XY. */
function encodeRfc3986(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

const hmac = (key: Uint8Array | string, data: string): Uint8Array => new Uint8Array(createHmac('sha256', key).update(data).digest());
const sha256Hex = (data: string) => createHash('sha256').update(data).digest('hex');

export interface SignInput {
  readonly method: string;
  readonly url: URL;
  /** Headers to send and sign besides host, x-amz-date and x-amz-content-sha256 (names lower-case). */
  readonly headers?: Record<string, string>;
  readonly payloadSha256?: string;
  readonly region: string;
  readonly keys: S3Keys;
  readonly now: Date;
}

/**
 * The headers of a SigV4-signed S3 request (service `s3`): `authorization`, `x-amz-date`,
 * `x-amz-content-sha256`, the session token when there is one, and `headers`. The path is used as
 * given (already encoded once, as S3 wants); the query is sorted and encoded.
 */
export function signS3Request(i: SignInput): Record<string, string> {
  const amzDate = i.now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
  const day = amzDate.slice(0, 8);
  const payload = i.payloadSha256 ?? EMPTY_SHA256;
  const headers: Record<string, string> = {
    ...Object.fromEntries(Object.entries(i.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
    host: i.url.host,
    'x-amz-content-sha256': payload,
    'x-amz-date': amzDate,
    ...(i.keys.sessionToken ? { 'x-amz-security-token': i.keys.sessionToken } : {}),
  };
  const names = Object.keys(headers).sort();
  const query = [...i.url.searchParams.entries()]
    .map(([k, v]) => [encodeRfc3986(k), encodeRfc3986(v)])
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const canonical = [
    i.method,
    i.url.pathname || '/',
    query,
    ...names.map((n) => `${n}:${headers[n].trim().replace(/\s+/g, ' ')}`),
    '',
    names.join(';'),
    payload,
  ].join('\n');
  const scope = `${day}/${i.region}/s3/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonical)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${i.keys.secretAccessKey}`, day), i.region), 's3'), 'aws4_request');
  const signature = createHmac('sha256', key).update(toSign).digest('hex');
  const { host: _host, ...send } = headers;
  return { ...send, authorization: `AWS4-HMAC-SHA256 Credential=${i.keys.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}` };
}

/**
 * GETs `s3://bucket/key`; returns the response (status 200 with a body). Any other answer is a
 * one-line error with S3's error code and message; a redirect (an object in another region) is
 * not followed, since the signature is bound to the host.
 */
export async function getS3Object(uri: string, access: S3Access, keys: S3Keys, signal: AbortSignal): Promise<Response> {
  const where = parseS3Uri(uri);
  if (!where) throw new OpsError(`${uri}: is not an S3 URI; expected s3://bucket/key`);
  const url = s3ObjectUrl(where.bucket, where.key, access);
  const headers = signS3Request({ method: 'GET', url, region: access.region ?? 'us-east-1', keys, now: new Date() });
  let res: Response;
  try {
    res = await fetch(url, { headers, redirect: 'manual', signal });
  } catch (e) {
    const cause = (e as { cause?: { message?: string } }).cause?.message ?? (e as Error).message;
    throw new OpsError(`GET ${uri} (${url.origin}) failed: ${cause}`);
  }
  if (res.status === 200 && res.body) return res;
  const text = (await res.text().catch(() => '')).slice(0, 4000);
  const field = (n: string) => new RegExp(`<${n}>([^<]*)</${n}>`).exec(text)?.[1];
  const code = field('Code');
  const message = field('Message');
  throw new OpsError(`GET ${uri} (${url.origin}) answered ${res.status}${code ? ` ${code}` : ''}${message ? `: ${message.replace(/\s+/g, ' ')}` : ''}; expected 200 with the jar`);
}
