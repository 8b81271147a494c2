/**
 * The ops tool's S3 reads (lib/ops/s3.ts): AWS Signature Version 4 against the examples of
 * Amazon's S3 documentation ("Signature Calculations for the Authorization Header: Transferring
 * Payload in a Single Chunk", the same values botocore's S3SigV4Auth computes), object URLs in
 * both addressing styles, `s3://` URIs and the keys from the environment.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { EMPTY_SHA256, parseS3Uri, s3KeysFromEnv, s3ObjectUrl, signS3Request } from '../../lib/ops/s3';

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
