import { describe, expect, it } from 'vitest';
import {
  noEconomy,
  defineRecordSolver,
  executeChallenge,
  mapSecrets,
  RecordExistsError,
  RecordNotFoundError,
  SolverError,
  silentLogger,
  z,
  type ChallengeRequest,
  type RecordApi,
  type TxtRecord,
} from '@dns01-webhook/core';

/** A provider-like store with record ids, whose failures the tests script. */
function fakeProvider() {
  let nextId = 1;
  const records = new Map<string, TxtRecord & { fqdn: string }>();
  const script: { add: Array<() => never>; list: Array<() => never>; remove: Array<() => never> } = { add: [], list: [], remove: [] };
  const api: RecordApi = {
    async list(t) {
      script.list.shift()?.();
      return [...records.values()].filter((r) => r.fqdn === t.fqdn).map(({ value, id }) => ({ value, id }));
    },
    async add(t, value) {
      script.add.shift()?.();
      const id = String(nextId++);
      records.set(id, { id, value, fqdn: t.fqdn });
    },
    async remove(_t, record) {
      script.remove.shift()?.();
      if (!records.delete(record.id!)) throw new RecordNotFoundError();
    },
  };
  return { api, records, script, values: (fqdn: string) => [...records.values()].filter((r) => r.fqdn === fqdn).map((r) => r.value).sort() };
}

const FQDN = '_acme-challenge.example.test.';
function request(action: 'Present' | 'CleanUp', key: string, config: unknown = {}): ChallengeRequest {
  return {
    uid: 'u1', action, type: 'dns-01', dnsName: 'example.test', key, resourceNamespace: 'ns1',
    resolvedFQDN: FQDN, resolvedZone: 'example.test.', allowAmbientCredentials: false, config,
  };
}

function setup() {
  const provider = fakeProvider();
  const solver = defineRecordSolver({
    name: 'fake',
    config: z.strictObject({ ttl: z.number().int().min(1).optional() }),
    async connect() {
      return provider.api;
    },
  });
  const run = (action: 'Present' | 'CleanUp', key: string, config?: unknown) =>
    executeChallenge(solver, request(action, key, config), { secretsFor: mapSecrets({}), log: silentLogger(), timeoutMs: 5000 });
  return { provider, run };
}

describe('defineRecordSolver derivation', () => {
  it('Present is idempotent: the same key twice leaves one value', async () => {
    const { provider, run } = setup();
    expect(await run('Present', 'k1')).toEqual({ success: true });
    expect(await run('Present', 'k1')).toEqual({ success: true });
    expect(provider.values(FQDN)).toEqual(['k1']);
  });

  it('CleanUp removes only the value equal to key and keeps the others', async () => {
    const { provider, run } = setup();
    await run('Present', 'apex');
    await run('Present', 'wildcard');
    expect(await run('CleanUp', 'wildcard')).toEqual({ success: true });
    expect(provider.values(FQDN)).toEqual(['apex']);
  });

  it('CleanUp of a value that is already gone succeeds, twice', async () => {
    const { run } = setup();
    expect(await run('CleanUp', 'never-there')).toEqual({ success: true });
    expect(await run('CleanUp', 'never-there')).toEqual({ success: true });
  });

  it('"already exists" from add (a concurrent Present won) is success', async () => {
    const { provider, run } = setup();
    provider.script.add.push(() => {
      throw new RecordExistsError('exists');
    });
    expect(await run('Present', 'k1')).toEqual({ success: true });
  });

  it('"not found" from remove (a concurrent CleanUp won) is success', async () => {
    const { provider, run } = setup();
    await run('Present', 'k1');
    provider.script.remove.push(() => {
      throw new RecordNotFoundError('gone');
    });
    expect(await run('CleanUp', 'k1')).toEqual({ success: true });
  });

  it('retries retryable provider errors, then succeeds', async () => {
    const { provider, run } = setup();
    provider.script.add.push(() => {
      throw new SolverError('throttled', { code: 'Throttling', retryable: true, retryAfterMs: 10 });
    });
    expect(await run('Present', 'k1')).toEqual({ success: true });
    expect(provider.values(FQDN)).toEqual(['k1']);
  });

  it('does not retry permanent errors and reports the provider code', async () => {
    const { provider, run } = setup();
    provider.script.add.push(() => {
      throw new SolverError('zone is locked', { code: 'DomainLocked' });
    });
    provider.script.add.push(() => {
      throw new Error('second attempt must not happen');
    });
    const outcome = await run('Present', 'k1');
    expect(outcome).toEqual({ success: false, message: expect.stringContaining('zone is locked (code DomainLocked)') });
    expect(provider.values(FQDN)).toEqual([]);
  });

  it('rejects a bad config with the field named, before calling the provider', async () => {
    const { run } = setup();
    const outcome = await run('Present', 'k1', { ttl: 'sixty', extra: 1 });
    expect(outcome.success).toBe(false);
    if (!outcome.success) {
      expect(outcome.message).toMatch(/config\.ttl/);
      expect(outcome.message).toMatch(/extra/);
    }
  });

  it('derives a read-only check: connect + one list, with the zone connect found; nothing is written', async () => {
    const provider = fakeProvider();
    const solver = defineRecordSolver({
      name: 'fake',
      config: z.strictObject({}),
      connect: async () => Object.assign(provider.api, { zone: 'example.test.' }),
    });
    provider.records.set('x', { id: 'x', value: 'there', fqdn: FQDN });
    const ctx = { config: {}, secrets: mapSecrets({})('ns1'), allowAmbientCredentials: false, log: silentLogger(), signal: new AbortController().signal, deadline: Date.now() + 5000, treatAsSecret: () => {}, track: <T>(_c: string, fn: () => Promise<T>) => fn(), ...noEconomy() };
    expect(await solver.check!(request('Present', 'k'), ctx)).toEqual({ zone: 'example.test.', detail: `listed 1 TXT value(s) at ${FQDN} in zone example.test.` });
    expect(provider.values(FQDN)).toEqual(['there']);
    provider.script.list.push(() => {
      throw new SolverError('fake: HTTP 403 token lacks Zone:Read');
    });
    await expect(solver.check!(request('Present', 'k'), ctx)).rejects.toThrow('HTTP 403 token lacks Zone:Read');
  });
});
