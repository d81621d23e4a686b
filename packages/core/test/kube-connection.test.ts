/**
 * How the kube client finds and authenticates to kube-apiserver without @kubernetes/client-node on the
 * common paths (YAML or JSON kubeconfig with a token, a token file, CA files relative to the kubeconfig),
 * and with it, loaded only then, for exec credential plugins. Every call goes to the kube API stub over TLS.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKubeClient } from '../src/kube/client.js';
import { authenticationConfigData, startKubeStub, type KubeStub } from '../src/testing/kube-stub.js';

let dir: string;
let stub: KubeStub;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kube-connection-'));
  stub = await startKubeStub({ configMaps: { 'kube-system/extension-apiserver-authentication': authenticationConfigData({ clientCaPem: 'x' }) } });
  await writeFile(join(dir, 'ca.crt'), stub.caPem);
});
afterAll(async () => {
  await stub?.close();
  await rm(dir, { recursive: true, force: true });
});

function yamlKubeconfig(user: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: stub',
    '  cluster:',
    `    server: ${stub.url}`,
    '    certificate-authority: ca.crt # relative to this file',
    'users:',
    '- name: webhook',
    '  user:',
    ...user.split('\n').map((l) => `    ${l}`),
    'contexts:',
    '- name: stub',
    '  context: { cluster: stub, user: webhook }',
    'current-context: stub',
    '',
  ].join('\n');
}

async function readsTheConfigMap(kubeconfig: string): Promise<void> {
  const client = createKubeClient({ kubeconfig });
  const cm = await client.getConfigMap('kube-system', 'extension-apiserver-authentication');
  expect(cm.data['client-ca-file']).toBe('x');
}

describe('kube connection', () => {
  it('a YAML kubeconfig with a token and a CA file path relative to it', async () => {
    const path = join(dir, 'token.yaml');
    await writeFile(path, yamlKubeconfig(`token: ${stub.webhookToken}`));
    await readsTheConfigMap(path);
  });

  it('a tokenFile user', async () => {
    await writeFile(join(dir, 'token'), `${stub.webhookToken}\n`);
    const path = join(dir, 'token-file.yaml');
    await writeFile(path, yamlKubeconfig(`tokenFile: ${join(dir, 'token')}`));
    await readsTheConfigMap(path);
  });

  it('an exec credential plugin (handed to client-node, loaded only for it)', async () => {
    const plugin = join(dir, 'credential-plugin.mjs');
    await writeFile(plugin, `process.stdout.write(JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: ${JSON.stringify(stub.webhookToken)} } }));\n`);
    const path = join(dir, 'exec.yaml');
    await writeFile(path, yamlKubeconfig(['exec:', '  apiVersion: client.authentication.k8s.io/v1', `  command: ${process.execPath}`, `  args: [${plugin}]`, '  interactiveMode: Never'].join('\n')));
    await readsTheConfigMap(path);
  });

  it('wrong credentials are a 401 KubeApiError, an unknown context a clear error', async () => {
    const path = join(dir, 'wrong.yaml');
    await writeFile(path, yamlKubeconfig('token: not-the-webhooks-token'));
    await expect(createKubeClient({ kubeconfig: path }).getConfigMap('kube-system', 'extension-apiserver-authentication')).rejects.toMatchObject({ status: 401 });
    const broken = join(dir, 'broken.yaml');
    await writeFile(broken, yamlKubeconfig(`token: x`).replace('current-context: stub', 'current-context: elsewhere'));
    expect(() => createKubeClient({ kubeconfig: broken })).toThrow(/has no current cluster/);
  });
});
