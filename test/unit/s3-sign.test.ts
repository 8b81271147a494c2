/**
 * The ops tool's S3 reads (lib/ops/s3.ts): AWS Signature Version 4 against the examples of
 * Amazon's S3 documentation ("Signature Calculations for the Authorization Header: Transferring
 * Payload in a Single Chunk", the same values botocore's S3SigV4Auth computes), object URLs in
 * both addressing styles, `s3://` URIs and the keys from the environment: static keys, or a web
 * identity exchanged at STS (here a local HTTP server answering as STS does; the exchange with
 * moto's STS and its authorization is in test/e2e/jar-artifacts.test.ts).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { EMPTY_SHA256, parseS3Uri, resolveS3Keys, s3KeysFromEnv, s3ObjectUrl, signS3Request, stsEndpoint } from '../../lib/ops/s3';

const KEYS = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
const NOW = new Date('2013-05-24T00:00:00Z');
const signature = (h: Record<string, string>) => /Signature=([0-9a-f]{64})$/.exec(h.authorization)?.[1];

test('s3 signing: the documented GET Object example (a signed Range header) gives its signature', () => {
  const h = signS3Request({ method: 'GET', url: new URL('https://examplebucket.s3.amazonaws.com/test.txt'), headers: { Range: 'bytes=0-9' }, region: 'us-east-1', keys: KEYS, now: NOW });
  assert.equal(h.authorization, 'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41');
  assert.equal(h['x-amz-date'], '20130524T000000Z');
  assert.equal(h['x-amz-content-sha256'], EMPTY_SHA256);
  assert.equal(h.range, 'bytes=0-9');
  assert.ok(!('host' in h), 'host is signed, and sent by the HTTP client itself');
});

test('s3 signing: the documented queries (GET Bucket lifecycle, ListObjects with max-keys and prefix) give their signatures', () => {
  const sign = (url: string) => signature(signS3Request({ method: 'GET', url: new URL(url), region: 'us-east-1', keys: KEYS, now: NOW }));
  assert.equal(sign('https://examplebucket.s3.amazonaws.com/?lifecycle'), 'fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543');
  // the query's order does not matter: it is sorted
  assert.equal(sign('https://examplebucket.s3.amazonaws.com/?prefix=J&max-keys=2'), '34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7');
});

test('s3 signing: a key with a space, a plus and a tilde is encoded once, as botocore signs it; another region, secret or date changes the signature', () => {
  const url = s3ObjectUrl('examplebucket', 'photos/2024 summer/a+b~c.jar', { endpoint: 'https://s3.amazonaws.com' });
  assert.equal(url.toString(), 'https://examplebucket.s3.amazonaws.com/photos/2024%20summer/a%2Bb~c.jar');
  const base = { method: 'GET', url, region: 'us-east-1', keys: KEYS, now: NOW };
  assert.equal(signature(signS3Request(base)), '17f011636a5bfc7eae912a199b2089e5b276a77c22d095f4e2f88cb8ed632726');
  const others = [
    signS3Request({ ...base, region: 'eu-west-1' }),
    signS3Request({ ...base, keys: { ...KEYS, secretAccessKey: `${KEYS.secretAccessKey}x` } }),
    signS3Request({ ...base, now: new Date('2013-05-24T00:00:01Z') }),
  ].map(signature);
  assert.equal(new Set([signature(signS3Request(base)), ...others]).size, 4);
  const withToken = signS3Request({ ...base, keys: { ...KEYS, sessionToken: 'tok' } });
  assert.equal(withToken['x-amz-security-token'], 'tok');
  assert.match(withToken.authorization, /SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,/);
});

test('s3 object URLs: path style and virtual-host style, AWS by region when no endpoint, an endpoint with a path kept', () => {
  assert.equal(s3ObjectUrl('jobs', 'a/b.jar', { endpoint: 'http://minio.storage.svc:9000', pathStyle: true }).toString(), 'http://minio.storage.svc:9000/jobs/a/b.jar');
  assert.equal(s3ObjectUrl('jobs', 'a/b.jar', { endpoint: 'http://minio.storage.svc:9000' }).toString(), 'http://jobs.minio.storage.svc:9000/a/b.jar');
  assert.equal(s3ObjectUrl('jobs', 'a/b.jar', { region: 'eu-west-1' }).toString(), 'https://jobs.s3.eu-west-1.amazonaws.com/a/b.jar');
  assert.equal(s3ObjectUrl('jobs', 'a/b.jar', {}).toString(), 'https://jobs.s3.us-east-1.amazonaws.com/a/b.jar');
  assert.equal(s3ObjectUrl('jobs', 'b.jar', { endpoint: 'https://gw.example.com/s3/', pathStyle: true }).toString(), 'https://gw.example.com/s3/jobs/b.jar');
});

test('s3 URIs and keys: bucket and key parsed; anything else is not an S3 object; missing keys are named in one line', () => {
  assert.deepEqual(parseS3Uri('s3://jobs/audit/x.jar'), { bucket: 'jobs', key: 'audit/x.jar' });
  for (const bad of ['s3://jobs/', 's3://jobs', 's3://Jobs/x.jar', 's3a://jobs/x.jar', 'https://jobs/x.jar', 's3://j/x.jar']) assert.equal(parseS3Uri(bad), undefined, bad);
  assert.deepEqual(s3KeysFromEnv('s3://b/k', { AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 's' }), { accessKeyId: 'a', secretAccessKey: 's' });
  assert.deepEqual(s3KeysFromEnv('s3://b/k', { AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 's', AWS_SESSION_TOKEN: 't' }), { accessKeyId: 'a', secretAccessKey: 's', sessionToken: 't' });
  assert.throws(() => s3KeysFromEnv('s3://b/k', {}), /s3:\/\/b\/k: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set; expected the S3 keys in the environment/);
  assert.throws(() => s3KeysFromEnv('s3://b/k', { AWS_ACCESS_KEY_ID: 'a' }), /: AWS_SECRET_ACCESS_KEY is not set;/);
});

test('s3 web identity: STS endpoint chosen as the SDKs do; static keys win; what is missing or unreadable is one line', async () => {
  assert.equal(stsEndpoint({ AWS_ENDPOINT_URL_STS: 'http://sts.local', AWS_ENDPOINT_URL: 'http://all.local', AWS_REGION: 'eu-west-1' }), 'http://sts.local');
  assert.equal(stsEndpoint({ AWS_ENDPOINT_URL: 'http://all.local', AWS_REGION: 'eu-west-1' }), 'http://all.local');
  assert.equal(stsEndpoint({ AWS_REGION: 'eu-west-1', AWS_DEFAULT_REGION: 'us-west-2' }), 'https://sts.eu-west-1.amazonaws.com');
  assert.equal(stsEndpoint({ AWS_DEFAULT_REGION: 'us-west-2' }), 'https://sts.us-west-2.amazonaws.com');
  assert.equal(stsEndpoint({}), 'https://sts.amazonaws.com');
  const signal = AbortSignal.timeout(10_000);
  // static keys come first, as in the SDKs' chain (no STS call: the endpoint does not exist)
  assert.deepEqual(await resolveS3Keys('s3://b/k', { AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 's', AWS_ROLE_ARN: 'arn:aws:iam::1:role/r', AWS_WEB_IDENTITY_TOKEN_FILE: '/nonexistent', AWS_ENDPOINT_URL_STS: 'http://127.0.0.1:9' }, signal),
    { accessKeyId: 'a', secretAccessKey: 's' });
  await assert.rejects(resolveS3Keys('s3://b/k', {}, signal), /^OpsError: s3:\/\/b\/k: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set; .* or AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE for a web identity$/);
  await assert.rejects(resolveS3Keys('s3://b/k', { AWS_ROLE_ARN: 'arn:aws:iam::1:role/r' }, signal), /: AWS_WEB_IDENTITY_TOKEN_FILE is not set; expected both for a web identity/);
  await assert.rejects(resolveS3Keys('s3://b/k', { AWS_ROLE_ARN: 'arn:aws:iam::1:role/r', AWS_WEB_IDENTITY_TOKEN_FILE: '/nonexistent/token' }, signal), /: AWS_WEB_IDENTITY_TOKEN_FILE \/nonexistent\/token cannot be read \(ENOENT\); expected the projected service account token$/);
});

test('s3 web identity: the STS exchange posts the role, session and token unsigned, returns the temporary keys; an STS error is one line with its code', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-flink-sts-'));
  const seen: Array<{ headers: http.IncomingHttpHeaders; form: URLSearchParams }> = [];
  let answer = { status: 200, body: '' };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      seen.push({ headers: req.headers, form: new URLSearchParams(body) });
      res.writeHead(answer.status, { 'content-type': 'text/xml' }).end(answer.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const token = path.join(dir, 'token');
    fs.writeFileSync(token, 'header.payload.signature\n');
    const env = { AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/jars', AWS_WEB_IDENTITY_TOKEN_FILE: token, AWS_ROLE_SESSION_NAME: 'fetch-1', AWS_ENDPOINT_URL_STS: `http://127.0.0.1:${(server.address() as any).port}` };
    answer = { status: 200, body: '<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>ASIAEXAMPLE</AccessKeyId><SecretAccessKey>secret/+x</SecretAccessKey><SessionToken>session-token</SessionToken><Expiration>2026-12-03T18:00:00Z</Expiration></Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>' };
    assert.deepEqual(await resolveS3Keys('s3://b/k', env, AbortSignal.timeout(10_000)), { accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'secret/+x', sessionToken: 'session-token' });
    const { headers, form } = seen[0];
    assert.equal(headers.authorization, undefined, 'unsigned: the token is the credential');
    assert.deepEqual(Object.fromEntries(form), { Action: 'AssumeRoleWithWebIdentity', Version: '2011-06-15', RoleArn: env.AWS_ROLE_ARN, RoleSessionName: 'fetch-1', WebIdentityToken: 'header.payload.signature', DurationSeconds: '900' });
    answer = { status: 400, body: '<ErrorResponse><Error><Type>Sender</Type><Code>InvalidIdentityToken</Code><Message>No OpenIDConnect provider found in your account for\n https://oidc.example</Message></Error></ErrorResponse>' };
    await assert.rejects(resolveS3Keys('s3://b/k', env, AbortSignal.timeout(10_000)),
      /^OpsError: s3:\/\/b\/k: STS AssumeRoleWithWebIdentity for arn:aws:iam::123456789012:role\/jars at http:\/\/127\.0\.0\.1:\d+ answered 400 InvalidIdentityToken: No OpenIDConnect provider found in your account for https:\/\/oidc\.example; expected 200 with temporary credentials$/);
    answer = { status: 200, body: '<AssumeRoleWithWebIdentityResponse/>' };
    await assert.rejects(resolveS3Keys('s3://b/k', env, AbortSignal.timeout(10_000)), /answered 200 without AccessKeyId, SecretAccessKey and SessionToken; expected temporary credentials$/);
  } finally {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
