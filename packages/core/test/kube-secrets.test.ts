import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKubeClient } from '../src/kube/client.js';
import { kubeSecrets } from '../src/secrets/kube.js';
import type { SecretReader, SecretSelector } from '../src/solver/contract.js';
import { SolverError } from '../src/solver/errors.js';
import { startKubeStub, type KubeStub } from '../src/testing/kube-stub.js';

async function failure(reader: SecretReader, selector: SecretSelector): Promise<SolverError> {
  try {
    await reader.get(selector);
  } catch (err) {
    expect(err).toBeInstanceOf(SolverError);
    return err as SolverError;
  }
  throw new Error('expected get() to fail');
}

describe('kubeSecrets: Secrets from the Kubernetes API, bound to one namespace', () => {
  let stub: KubeStub;
  let secretsFor: (namespace: string) => SecretReader;

  beforeAll(async () => {
    stub = await startKubeStub({
      secrets: {
        issuers: { dnspod: { 'secret-id': 'AKID-123', 'secret-key': 'very-secret-value\n' }, empty: {} },
        'cert-manager': { dnspod: { 'secret-id': 'cluster-id' } },
        locked: { dnspod: { 'secret-id': 'locked-value' } },
      },
      secretNamespaces: ['issuers', 'cert-manager'],
    });
    secretsFor = kubeSecrets(createKubeClient({ kubeconfig: stub.kubeconfigPath }));
  });
  afterAll(async () => {
    await stub.close();
  });

  it('returns the base64-decoded value from the bound namespace only', async () => {
    stub.clearRequests();
    expect(await secretsFor('issuers').get({ name: 'dnspod', key: 'secret-id' })).toBe('AKID-123');
    expect(await secretsFor('issuers').get({ name: 'dnspod', key: 'secret-key' })).toBe('very-secret-value\n');
    expect(await secretsFor('cert-manager').get({ name: 'dnspod', key: 'secret-id' })).toBe('cluster-id');
    expect(stub.requestsOf('secret').map((r) => r.path)).toEqual([
      '/api/v1/namespaces/issuers/secrets/dnspod',
      '/api/v1/namespaces/issuers/secrets/dnspod',
      '/api/v1/namespaces/cert-manager/secrets/dnspod',
    ]);
  });

  it('403 → tells the operator which RBAC grant is missing', async () => {
    const err = await failure(secretsFor('locked'), { name: 'dnspod', key: 'secret-id' });
    expect(err.message).toBe(
      `the webhook's ServiceAccount may not read secret "dnspod" in namespace "locked" (grant get on secrets in locked; see the chart's secret RBAC values)`,
    );
    expect(err.code).toBe('SecretForbidden');
  });

  it('404 → secret not found in the namespace', async () => {
    const err = await failure(secretsFor('issuers'), { name: 'cloudflare', key: 'token' });
    expect(err.message).toBe('secret "cloudflare" in namespace "issuers" not found');
    expect(err.code).toBe('SecretNotFound');
  });

  it('missing key → names the keys that exist, never a value', async () => {
    const err = await failure(secretsFor('issuers'), { name: 'dnspod', key: 'token' });
    expect(err.message).toBe('secret "dnspod" in namespace "issuers" has no key "token" (it has: secret-id, secret-key)');
    expect(err.message).not.toContain('AKID-123');
    expect(err.message).not.toContain('very-secret-value');
    const empty = await failure(secretsFor('issuers'), { name: 'empty', key: 'token' });
    expect(empty.message).toContain('(it has no data)');
  });

  it('refuses selectors that try to leave the namespace, without asking the API', async () => {
    stub.clearRequests();
    const reader = secretsFor('issuers');
    for (const name of ['locked/dnspod', '../locked/dnspod', '..', 'DNSPOD', '', 'a b']) {
      const err = await failure(reader, { name, key: 'secret-id' });
      expect(err.code).toBe('InvalidSecretRef');
    }
    for (const key of ['../x', '..', 'a/b', '']) {
      expect((await failure(reader, { name: 'dnspod', key })).code).toBe('InvalidSecretRef');
    }
    expect(stub.requestsOf('secret')).toEqual([]);
    // A smuggled `namespace` field is ignored: the read still goes to the bound namespace.
    const sneaky = { name: 'dnspod', key: 'secret-id', namespace: 'locked' } as SecretSelector;
    expect(await reader.get(sneaky)).toBe('AKID-123');
    expect(stub.requestsOf('secret').map((r) => r.path)).toEqual(['/api/v1/namespaces/issuers/secrets/dnspod']);
  });

  it('reports an unreachable API as retryable, without values', async () => {
    const reader = kubeSecrets({
      getSecret: async () => {
        const { KubeApiError } = await import('../src/kube/errors.js');
        throw new KubeApiError('get secret issuers/dnspod: kube-apiserver unreachable: connect ECONNREFUSED', 0);
      },
    })('issuers');
    const err = await failure(reader, { name: 'dnspod', key: 'secret-id' });
    expect(err.retryable).toBe(true);
    expect(err.message).toContain('cannot read secret "dnspod" in namespace "issuers"');
  });
});
