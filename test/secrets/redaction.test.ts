/**
 * Issue 7 §1 reproductions, through the real HTTPS webhook server with the real solvers against their
 * emulators: Secrets holding newlines, CRs, leading spaces and trailing newlines (the way editors and
 * `kubectl create secret --from-file` produce them). Node's HTTP clients refuse such a header and quote it
 * in their error; the solvers log that error (retries, debug lines with the raw error object) and return
 * a message built from it. Every log line at debug level and every HTTP answer is scanned for each
 * secret, its trimmed form and each of its lines.
 */
import { request as httpsRequest } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, mapSecrets, Metrics, SolverRegistry } from '@dns01-webhook/core';
import { createWebhookServer, selfSignedServing, type WebhookServer } from '@dns01-webhook/core/server';
import { secretLeaks } from '@dns01-webhook/core/testing';
import cloudflare from '@dns01-webhook/solver-cloudflare';
import dnspod from '@dns01-webhook/solver-dnspod';
import route53 from '@dns01-webhook/solver-route53';
import { startCloudflareEmulator, type CloudflareEmulator } from '../emulators/cloudflare/emulator.js';
import { DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY, startDnspodEmulator, type RunningDnspodEmulator } from '../emulators/dnspod/emulator.js';
import { DEFAULT_KEY, startRoute53Emulator, type RunningRoute53Emulator } from '../emulators/route53/emulator.js';

const GROUP = 'acme.example.com';
const NS = 'cert-manager';
const CF_TOKEN = 'cfTokenForRedactionTests'.padEnd(40, 'x');
const CF_KEY = '0123456789abcdef0123456789abcdef01234';

/** Every Secret value used below; all of them (and each of their lines) must stay out of logs and answers. */
const S = {
  cfShort: 'abc\ndef', // the reproduction: 5 leaking retry lines
  cfShortTrailing: 'abc\ndef\n', // the reproduction: the 201 message quoted `Bearer abc\ndef`
  cfTwoLines: `${CF_TOKEN}\nsecond-line-of-the-token`,
  cfValidPadded: `  ${CF_TOKEN}\r\n`,
  cfKeyCr: `${CF_KEY}\rtrailing-garbage-line`,
  dnspodIdTwoLines: `${DEFAULT_SECRET_ID}\nsecond-line-of-the-id`,
  dnspodIdCrlf: `${DEFAULT_SECRET_ID}\r\nanother-line-of-the-id\r\n`,
  dnspodKeyPadded: ` ${DEFAULT_SECRET_KEY}\n`,
  route53IdTwoLines: `${DEFAULT_KEY.accessKeyId}\nsecond-line-of-the-key-id`,
  route53SecretNewline: `${DEFAULT_KEY.secretAccessKey}\n`,
};

let cf: CloudflareEmulator;
let dp: RunningDnspodEmulator;
let r53: RunningRoute53Emulator;
let server: WebhookServer;
let port: number;
let ca: string;
const lines: string[] = [];
const answers: string[] = [];

beforeAll(async () => {
  [cf, dp, r53] = await Promise.all([
    startCloudflareEmulator({ zones: ['example.test'], tokens: { [CF_TOKEN]: '*' }, users: [{ email: 'ops@example.test', key: CF_KEY }] }),
    startDnspodEmulator({ domains: ['example.test'] }),
    startRoute53Emulator({ zones: ['example.test'] }),
  ]);
  const registry = new SolverRegistry();
  for (const s of [cloudflare, dnspod, route53]) registry.register(s, 'test');
  const tls = await selfSignedServing(['localhost', '127.0.0.1']);
  ca = tls.certPem;
  server = createWebhookServer({
    groupName: GROUP,
    registry,
    secretsFor: mapSecrets({ [NS]: { s: S, id: { plain: DEFAULT_SECRET_ID, key: DEFAULT_SECRET_KEY } } }),
    log: createLogger({ level: 'trace', destination: { write: (line: string) => void lines.push(line) } }),
    metrics: new Metrics(),
    tls,
    bindAddress: '127.0.0.1',
    port: 0,
    // Generous: the first request loads each SDK, which is slow on a busy machine; every failure here is immediate.
    challengeTimeoutMs: 20_000,
  });
  ({ port } = await server.listen());
});

afterAll(async () => {
  await server?.close(1000);
  await Promise.all([cf?.close(), dp?.close(), r53?.close()]);
});

/** POSTs a Present as kube-apiserver forwards it; returns the raw answer text (kept for the final scan). */
function present(solver: string, config: Record<string, unknown>, uid: string): Promise<{ status: number; text: string; message: string | undefined; success: boolean }> {
  const body = JSON.stringify({
    apiVersion: 'webhook.acme.cert-manager.io/v1alpha1',
    kind: 'ChallengePayload',
    request: {
      uid, action: 'Present', type: 'dns-01', dnsName: 'example.test', key: `key-${uid}`, resourceNamespace: NS,
      resolvedFQDN: '_acme-challenge.example.test.', resolvedZone: 'example.test.', allowAmbientCredentials: false, config,
    },
  });
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port, path: `/apis/${GROUP}/v1alpha1/${solver}`, method: 'POST', ca, servername: 'localhost', agent: false,
        headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          answers.push(text);
          const json = JSON.parse(text);
          resolve({ status: res.statusCode ?? 0, text, success: json.response?.success, message: json.response?.status?.message });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const ref = (key: keyof typeof S) => ({ name: 's', key });
const linesOf = (uid: string) => lines.filter((l) => l.includes(`"uid":"${uid}"`));

describe('no secret byte in any log line or answer (issue 7 §1)', () => {
  it('cloudflare, token "abc\\ndef": the quoted header is logged (raw error object at debug) but scrubbed', async () => {
    const res = await present('cloudflare', { apiTokenSecretRef: ref('cfShort'), endpoint: cf.url }, 'cf-short');
    expect(res.status).toBe(201);
    expect(res.success).toBe(false);
    expect(res.message).toMatch(/cannot be sent as an HTTP header/);
    // The undici error that quotes "Bearer <token>" really reached the log, with the token scrubbed.
    expect(linesOf('cf-short').some((l) => l.includes('Bearer [redacted]'))).toBe(true);
  });

  it('cloudflare, token "abc\\ndef\\n": the 201 message does not carry it', async () => {
    const res = await present('cloudflare', { apiTokenSecretRef: ref('cfShortTrailing'), endpoint: cf.url }, 'cf-short-trailing');
    expect(res.success).toBe(false);
    expect(res.text).not.toMatch(/abc\\ndef/);
  });

  it('cloudflare, a two-line token and a global key with a CR: failures, nothing leaked; a padded valid token works', async () => {
    expect((await present('cloudflare', { apiTokenSecretRef: ref('cfTwoLines'), endpoint: cf.url }, 'cf-two-lines')).success).toBe(false);
    expect((await present('cloudflare', { email: 'ops@example.test', apiKeySecretRef: ref('cfKeyCr'), endpoint: cf.url }, 'cf-key-cr')).success).toBe(false);
    expect((await present('cloudflare', { apiTokenSecretRef: ref('cfValidPadded'), endpoint: cf.url }, 'cf-padded'))).toMatchObject({ success: true });
  });

  it('dnspod, secretIdRef with a second line (LF and CRLF): the Authorization header quote is scrubbed', async () => {
    for (const [uid, key] of [['dp-id-lf', 'dnspodIdTwoLines'], ['dp-id-crlf', 'dnspodIdCrlf']] as const) {
      const res = await present('dnspod', { secretIdRef: ref(key), secretKeyRef: { name: 'id', key: 'key' }, endpoint: dp.url }, uid);
      expect(res.success).toBe(false);
      expect(res.message).toMatch(/cannot be sent as an HTTP header/);
      expect(linesOf(uid).some((l) => l.includes('Credential=[redacted]'))).toBe(true);
    }
    const padded = await present('dnspod', { secretIdRef: { name: 'id', key: 'plain' }, secretKeyRef: ref('dnspodKeyPadded'), endpoint: dp.url }, 'dp-padded');
    expect(padded).toMatchObject({ success: true });
  });

  it('route53, accessKeyIDSecretRef with a second line and a secret key with a trailing newline', async () => {
    const res = await present(
      'route53',
      { region: 'us-east-1', accessKeyIDSecretRef: ref('route53IdTwoLines'), secretAccessKeySecretRef: ref('route53SecretNewline'), endpoint: r53.url },
      'r53-two-lines',
    );
    expect(res.success).toBe(false);
    expect(res.message).toMatch(/cannot be sent as an HTTP header/);
  });

  it('the scan: no form of any secret in any log line or answer', () => {
    expect(lines.length).toBeGreaterThan(20);
    expect(answers.length).toBe(9);
    expect(secretLeaks([...lines, ...answers], Object.values(S))).toEqual([]);
  });
});
