/**
 * Redaction is a property of the challenge: every value handed out through ctx.secrets /
 * ctx.serviceAccountTokens / ctx.treatAsSecret is scrubbed from every line ctx.log writes (whatever the
 * solver logs: retries, raw error objects with cause chains, nested fields, child loggers) and from the
 * returned message. Secrets with newlines, CRs, leading spaces and trailing newlines; every line scanned.
 */
import { describe, expect, it } from 'vitest';
import {
  defineRecordSolver,
  defineSolver,
  executeChallenge,
  logRetries,
  mapSecrets,
  redactingLogger,
  SecretRegistry,
  secretForms,
  secretSelector,
  SolverError,
  withRetry,
  z,
  type ChallengeRequest,
  type ServiceAccountTokenSource,
} from '@dns01-webhook/core';
import { secretLeaks } from '@dns01-webhook/core/testing';
import { captureLog as capture, challengeRequest } from './fixtures/challenge.js';

function req(config: unknown, action: 'Present' | 'CleanUp' = 'Present'): ChallengeRequest {
  return challengeRequest({ uid: 'uid-1', action, config });
}

/** Secrets as they come out of real Kubernetes Secrets: editors add newlines, pastes add CRs and spaces. */
const SECRETS = {
  newline: 'first-line-token-8f3a\nsecond-line-token-77c1',
  crlf: 'crlf-token-part-one\r\ncrlf-token-part-two\r\n',
  cr: 'cr-only-token-aaaa\rcr-only-token-bbbb',
  leadingSpace: '   leading-space-token-0d9e',
  trailingNewline: 'trailing-newline-token-51b2\n',
  pem: '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n-----END PRIVATE KEY-----\n',
};

describe('secretForms', () => {
  it('registers the raw and trimmed value, each line, and their JSON-escaped and URL-encoded forms', () => {
    const forms = secretForms(' alpha-line-1\nbeta-line-2 \n');
    for (const f of [' alpha-line-1\nbeta-line-2 \n', 'alpha-line-1\nbeta-line-2', ' alpha-line-1', 'alpha-line-1', 'beta-line-2 ', 'beta-line-2']) {
      expect(forms).toContain(f);
    }
    expect(forms).toContain('alpha-line-1\\nbeta-line-2'); // inside a JSON body
    expect(forms).toContain(encodeURIComponent('alpha-line-1\nbeta-line-2')); // inside a URL
    // Longest first, so the raw value wins over its trimmed form and its lines.
    expect([...forms].sort((a, b) => b.length - a.length)).toEqual(forms);
  });

  it('skips fragments too short to be a credential (they would garble ordinary words)', () => {
    expect(secretForms('abc')).toEqual([]);
    expect(secretForms('abc\ndef')).toEqual(expect.arrayContaining(['abc\ndef', 'abc\\ndef']));
    expect(secretForms('abc\ndef')).not.toContain('abc');
    expect(secretForms('long-enough\nab')).not.toContain('ab');
  });
});

describe('SecretRegistry', () => {
  it('scrubs every form, longest first, including JSON-escaped quotes of a multi-line value', () => {
    const r = new SecretRegistry();
    r.register(SECRETS.crlf);
    const quoted = JSON.stringify({ header: `Bearer ${SECRETS.crlf.trim()}` });
    expect(r.scrub(quoted)).toBe('{"header":"Bearer [redacted]"}');
    expect(r.scrub(`one line: crlf-token-part-two.`)).toBe('one line: [redacted].');
    expect(r.scrub(`raw: ${SECRETS.crlf}|`)).toBe('raw: [redacted]|');
  });

  it('copies error objects with their whole cause chain, AggregateErrors, nested fields and maps, scrubbed', () => {
    const r = new SecretRegistry();
    r.register(SECRETS.newline);
    const inner = Object.assign(new TypeError(`Headers.append: "Bearer ${SECRETS.newline}" is an invalid header value.`), { code: 'ERR_INVALID_CHAR' });
    const outer = new Error('request failed', { cause: new AggregateError([inner], 'all attempts failed') });
    (outer as unknown as Record<string, unknown>).request = { headers: new Map([['x-custom', SECRETS.newline]]), authorization: 'Bearer whatever', body: Buffer.from('x') };
    const circular: Record<string, unknown> = { note: `token second-line-token-77c1 in a note` };
    circular.self = circular;
    const copy = r.loggable({ err: outer, circular }, { stacks: true });
    const text = JSON.stringify(copy);
    expect(secretLeaks([text], [SECRETS.newline])).toEqual([]);
    expect(copy).toMatchObject({
      err: {
        type: 'Error',
        message: 'request failed',
        request: { headers: { 'x-custom': '[redacted]' }, authorization: '[redacted]', body: '[1 bytes]' },
        cause: { type: 'AggregateError', errors: [{ type: 'TypeError', code: 'ERR_INVALID_CHAR', message: 'Headers.append: "Bearer [redacted]" is an invalid header value.' }] },
      },
      circular: { note: 'token [redacted] in a note', self: '[circular]' },
    });
    expect(text).toContain('"stack":"Error: request failed');
  });
});

describe('redactingLogger', () => {
  it('scrubs messages, fields, child bindings and loose call shapes; a secret registered after child() is still scrubbed', () => {
    const { lines, log } = capture('debug');
    const r = new SecretRegistry();
    const logger = redactingLogger(log, r);
    const child = logger.child({ component: 'early' });
    r.register(SECRETS.trailingNewline);
    const s = SECRETS.trailingNewline.trim();
    child.info({ nested: { deeper: [{ value: s }] } }, `message with ${s}`);
    (child.warn as (o: unknown) => void)(new Error(`thrown with ${s}`));
    (child.debug as (o: unknown) => void)(`a string first argument ${s}`);
    logger.child({ bound: s }).error({}, 'bound');
    expect(lines).toHaveLength(4);
    expect(secretLeaks(lines, [SECRETS.trailingNewline])).toEqual([]);
    expect(lines.map((l) => JSON.parse(l).msg)).toEqual(['message with [redacted]', 'thrown with [redacted]', 'a string first argument [redacted]', 'bound']);
    expect(JSON.parse(lines[3]!).bound).toBe('[redacted]');
  });
});

describe('executeChallenge redacts everything the context handed out', () => {
  const namespaceSecrets = mapSecrets({ 'team-a': { creds: Object.fromEntries(Object.entries(SECRETS)) } });
  const config = z.strictObject({ ref: secretSelector, serviceAccount: z.string().optional() });

  /** Logs the raw error object at debug, its message at info, through child loggers, then fails with it. */
  const careless = defineSolver({
    name: 'careless',
    config,
    async present(_r, ctx) {
      const value = await ctx.secrets.get(ctx.config.ref);
      const trimmed = value.trim();
      const firstLine = trimmed.split(/\r?\n|\r/)[0]!;
      const root = Object.assign(new TypeError(`Headers.append: "Bearer ${trimmed}" is an invalid header value.`), { code: 'ERR_INVALID_CHAR' });
      const err = new SolverError(`provider said: token ${firstLine} rejected`, { code: 'AuthFailure', cause: new Error(`wrapped ${value}`, { cause: root }) });
      ctx.log.debug({ err, request: { headers: { authorization: `Bearer ${trimmed}` }, body: JSON.stringify({ token: trimmed }) } }, 'raw error');
      ctx.log.child({ sub: 'client' }).info({ attempt: 1 }, `retrying after ${err.message}: ${(err.cause as Error).message}`);
      throw err;
    },
    async cleanUp() {},
  });

  for (const [name, secret] of Object.entries(SECRETS)) {
    it(`a ${name} secret reaches no log line and not the message`, async () => {
      const { lines, log } = capture('debug');
      const outcome = await executeChallenge(careless, req({ ref: { name: 'creds', key: name } }), { secretsFor: namespaceSecrets, log });
      expect(outcome.success).toBe(false);
      const message = outcome.success ? '' : outcome.message;
      expect(message).toContain('[redacted]');
      // The lines really were written (the scan is not vacuous) ...
      expect(lines.map((l) => JSON.parse(l).msg)).toEqual(['raw error', expect.stringMatching(/^retrying after/), 'challenge failed']);
      expect(lines.join('')).toContain('ERR_INVALID_CHAR');
      // ... and no form of the secret is in any of them or in the message.
      expect(secretLeaks([...lines, message], [secret])).toEqual([]);
    });
  }

  it('a solver that never calls redact: retries logged by the record-solver derivation are scrubbed', async () => {
    const { lines, log } = capture('debug');
    let attempts = 0;
    const solver = defineRecordSolver({
      name: 'retrier',
      config,
      async connect(_r, ctx) {
        const token = (await ctx.secrets.get(ctx.config.ref)).trim();
        return {
          list: async () => {
            attempts++;
            throw new SolverError(`HTTP 503 for token ${token}`, { code: 'HTTP503', retryable: true });
          },
          add: async () => {},
          remove: async () => {},
        };
      },
    });
    const outcome = await executeChallenge(solver, req({ ref: { name: 'creds', key: 'newline' } }), { secretsFor: namespaceSecrets, log, timeoutMs: 1500 });
    expect(outcome.success).toBe(false);
    expect(attempts).toBeGreaterThan(1);
    expect(lines.filter((l) => l.includes('provider call failed, retrying')).length).toBe(attempts - 1);
    expect(secretLeaks([...lines, outcome.success ? '' : outcome.message], [SECRETS.newline])).toEqual([]);
  });

  it('ServiceAccount tokens minted for the challenge and material registered with treatAsSecret are scrubbed', async () => {
    const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6dGVhbS1hOmRucyJ9.c2lnbmF0dXJlLWJ5dGVz';
    const STS_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYTEMPORARYKEY';
    const tokens: ServiceAccountTokenSource = { createToken: async () => ({ token: TOKEN }) };
    const solver = defineSolver({
      name: 'federated',
      config,
      async present(_r, ctx) {
        const { token } = await ctx.serviceAccountTokens!.createToken(ctx.config.serviceAccount!, { audiences: ['sts.amazonaws.com'] });
        ctx.treatAsSecret(STS_SECRET);
        ctx.log.warn({ token, sts: { SecretAccessKey: STS_SECRET, note: `key=${STS_SECRET}` } }, `exchanging ${token}`);
        throw new SolverError(`STS rejected ${token} / ${STS_SECRET}`);
      },
      async cleanUp() {},
    });
    const { lines, log } = capture('debug');
    const outcome = await executeChallenge(solver, req({ ref: { name: 'creds', key: 'newline' }, serviceAccount: 'dns' }), {
      secretsFor: namespaceSecrets,
      serviceAccountTokensFor: () => tokens,
      log,
    });
    expect(outcome).toEqual({ success: false, message: 'federated: Present _acme-challenge.example.test. failed: STS rejected [redacted] / [redacted]' });
    expect(lines.some((l) => l.includes('exchanging [redacted]'))).toBe(true);
    expect(secretLeaks(lines, [TOKEN, STS_SECRET])).toEqual([]);
  });

  it('logRetries writes one warn line per retry with call, attempt, wait and code', async () => {
    const { lines, log } = capture('info');
    let n = 0;
    await withRetry(
      async () => {
        if (++n < 3) throw new SolverError('busy', { code: 'HTTP503', retryable: true });
        return 'ok';
      },
      { baseMs: 1, onRetry: logRetries(log, 'ListRecords', { zone: 'example.test' }), random: () => 0 },
    );
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      expect.objectContaining({ level: 'warn', call: 'ListRecords', zone: 'example.test', attempt: 1, waitMs: 0, code: 'HTTP503', err: 'busy', msg: 'provider call failed, retrying' }),
      expect.objectContaining({ attempt: 2 }),
    ]);
  });
});
