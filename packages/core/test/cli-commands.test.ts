/**
 * Spawns the built CLI (`npm run build` first; the root `npm test` does) for present / cleanup / check, with a
 * solver plugin loaded from a file path and secrets from --secrets-dir, checked through real DNS.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDnsServer, type DnsServer } from '../src/dns/index.js';
import { startKubeStub } from '../src/testing/kube-stub.js';

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const FIXTURE = fileURLToPath(new URL('./fixtures/file-solver.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'dns01-cli-'));
const recordsFile = join(dir, 'records.json');
const secretsDir = join(dir, 'secrets');
const configFile = join(dir, 'config.json');
let dns: DnsServer;

function cli(args: string[], cwd?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 20_000, ...(cwd ? { cwd } : {}) }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" first`);
  mkdirSync(join(secretsDir, 'file-token'), { recursive: true });
  writeFileSync(join(secretsDir, 'file-token', 'token'), 'let-me-in\n');
  writeFileSync(configFile, JSON.stringify({ file: recordsFile, tokenSecretRef: { name: 'file-token', key: 'token' } }));
  // The JSON file is the provider; the DNS server reads it on every query.
  const read = (): Record<string, string[]> => (existsSync(recordsFile) ? JSON.parse(readFileSync(recordsFile, 'utf8')) : {});
  dns = await startDnsServer({ source: { zones: () => ['example.test.'], txt: (f) => read()[f] ?? [], names: () => Object.keys(read()) } });
});
afterAll(async () => {
  await dns?.close();
  rmSync(dir, { recursive: true, force: true });
});

const FQDN = '_acme-challenge.www.example.test.';
const common = ['--solver', 'file', '--solver-packages', FIXTURE, '--config', configFile, '--secrets-dir', secretsDir, '--fqdn', FQDN, '--zone', 'example.test.'];

describe('dns01-webhook present / cleanup / check', () => {
  it('present writes the record and check sees it over DNS', async () => {
    const present = await cli(['present', ...common, '--key', 'key-a']);
    expect(present, present.stderr).toMatchObject({ code: 0 });
    expect(present.stdout).toMatch(/^Present _acme-challenge\.www\.example\.test\. TXT "key-a": ok \(solver file, \d+ ms\)/);
    expect((await cli(['present', ...common, '--key', 'key-b'])).code).toBe(0);
    expect(JSON.parse(readFileSync(recordsFile, 'utf8'))[FQDN]).toEqual(['key-a', 'key-b']);

    const visible = await cli(['check', '--fqdn', FQDN, '--key', 'key-a', '--nameserver', dns.address]);
    expect(visible.code, visible.stderr).toBe(0);
    expect(visible.stdout).toContain(`TXT "key-a" at ${FQDN} is visible`);
    expect(visible.stdout).toContain(`yes ${dns.address}: NOERROR "key-a", "key-b"`);
  });

  it('cleanup removes only its own value; check exits 1 listing what is there', async () => {
    const cleanup = await cli(['cleanup', ...common, '--key', 'key-a']);
    expect(cleanup, cleanup.stderr).toMatchObject({ code: 0 });
    expect(cleanup.stdout).toContain('CleanUp _acme-challenge.www.example.test. TXT "key-a": ok');

    const gone = await cli(['check', '--fqdn', FQDN, '--key', 'key-a', '--nameserver', dns.address]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain(`TXT "key-a" at ${FQDN} is NOT visible`);
    expect(gone.stderr).toContain(`no  ${dns.address}: NOERROR "key-b"`);
  });

  it('cleanup of a value that is already gone succeeds', async () => {
    expect((await cli(['cleanup', ...common, '--key', 'key-a'])).code).toBe(0);
    expect((await cli(['cleanup', ...common, '--key', 'key-b'])).code).toBe(0);
    const none = await cli(['check', '--fqdn', FQDN, '--key', 'key-b', '--nameserver', dns.address]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain(`${dns.address}: NXDOMAIN (no TXT values)`);
  });

  it('check --wait sees a value that appears while it polls, and times out when it never does', async () => {
    const waiting = cli(['check', '--fqdn', FQDN, '--key', 'late', '--nameserver', dns.address, '--wait', '--interval', '0.1', '--timeout', '10']);
    await new Promise((r) => setTimeout(r, 600));
    expect((await cli(['present', ...common, '--key', 'late'])).code).toBe(0);
    const res = await waiting;
    expect(res.code, res.stderr).toBe(0);
    expect((await cli(['cleanup', ...common, '--key', 'late'])).code).toBe(0);
    const never = await cli(['check', '--fqdn', FQDN, '--key', 'never', '--nameserver', dns.address, '--wait', '--interval', '0.1', '--timeout', '0.5']);
    expect(never.code).toBe(1);
    expect(never.stderr).toContain('NOT visible');
  });

  it('exits 1 with the solver message (secrets redacted) when the solver fails', async () => {
    writeFileSync(join(secretsDir, 'file-token', 'token'), 'wrong-token');
    try {
      const res = await cli(['present', ...common, '--key', 'k']);
      expect(res.code).toBe(1);
      expect(res.stderr).toContain('file: Present _acme-challenge.www.example.test. failed: file: token "[redacted]" rejected by the provider');
      expect(res.stderr).not.toContain('wrong-token');
    } finally {
      writeFileSync(join(secretsDir, 'file-token', 'token'), 'let-me-in');
    }
    const missing = await cli(['present', ...common.filter((a) => a !== secretsDir && a !== '--secrets-dir'), '--secrets-dir', join(dir, 'nope'), '--key', 'k']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/secret file .*nope\/file-token\/token not found \(expected <secrets-dir>\/<name>\/<key>\)/);
  });

  it('exits 1 naming the field when the config is invalid', async () => {
    const bad = join(dir, 'bad-config.json');
    writeFileSync(bad, JSON.stringify({ file: recordsFile, tokenSecretRef: { name: 'file-token', key: 'token' }, zone: 'x' }));
    const res = await cli(['present', '--solver', 'file', '--solver-packages', FIXTURE, '--config', bad, '--secrets-dir', secretsDir, '--fqdn', FQDN, '--zone', 'example.test.', '--key', 'k']);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/invalid config: .*zone/);
  });

  it('exits 2 on usage errors, saying which flag and what is expected', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['present', '--solver', 'file'], /--fqdn is required/],
      [['present', ...common], /--key is required/],
      [['present', ...common, '--key', 'k', '--extra'], /Unknown option '--extra'/],
      [['present', ...common, '--key', 'k', '--zone', 'other.test'], /--fqdn _acme-challenge\.www\.example\.test\. is not inside --zone other\.test\./],
      [['present', ...common, '--key', 'k', '--kubeconfig', '/x'], /either --secrets-dir or --kubeconfig/],
      [['present', ...common, '--key', 'k', '--solver', 'nope'], /--solver nope: no such solver; loaded: file/],
      [['present', ...common, '--key', 'k', '--config', join(dir, 'missing.json')], /--config .*missing\.json: cannot read the file \(ENOENT\)/],
      [['present', ...common, '--key', 'k', '--timeout', 'soon'], /--timeout must be a positive number of seconds/],
      [['check', '--key', 'k'], /--fqdn is required/],
      [['check', '--fqdn', FQDN, '--key', 'k', '--interval', '1'], /--interval only makes sense with --wait/],
      [['present', ...common, '--key', 'k', '--log-level', 'loud'], /--log-level must be one of fatal, error, warn, info, debug, trace, silent, got "loud"/],
      [['frobnicate'], /unknown command "frobnicate"/],
    ];
    // Most fail before any solver loads, so they are cheap: run them three at a time.
    for (let i = 0; i < cases.length; i += 3) {
      const batch = cases.slice(i, i + 3);
      const results = await Promise.all(batch.map(([args]) => cli(args)));
      results.forEach((res, j) => {
        const [args, message] = batch[j]!;
        expect(res.code, args.join(' ')).toBe(2);
        expect(res.stderr, args.join(' ')).toMatch(message);
      });
    }
    const notJson = join(dir, 'not-json.json');
    writeFileSync(notJson, '{ nope');
    const res = await cli(['present', ...common, '--key', 'k', '--config', notJson]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/not valid JSON/);
  });

  it('loads a solver package given as a path relative to the working directory', async () => {
    const relative = common.map((a) => (a === FIXTURE ? './file-solver.mjs' : a === FQDN ? '_acme-challenge.rel.example.test.' : a));
    const res = await cli(['present', ...relative, '--key', 'relative'], dirname(FIXTURE));
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(readFileSync(recordsFile, 'utf8'))['_acme-challenge.rel.example.test.']).toEqual(['relative']);
  });

  it('a --solver-packages entry that cannot be loaded fails with the reason', async () => {
    const res = await cli(['present', ...common.map((a) => (a === FIXTURE ? join(dir, 'no-such-solver.mjs') : a)), '--key', 'k']);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/cannot load solver package "file:\/\/.*no-such-solver\.mjs"/);
  });

  it('reads secrets from the cluster with --kubeconfig, from --namespace only', async () => {
    const stub = await startKubeStub({
      secrets: { issuers: { 'file-token': { token: 'let-me-in' } }, other: { 'file-token': { token: 'let-me-in' } } },
      secretNamespaces: ['issuers', 'other'],
    });
    try {
      const kube = common.map((a) => (a === '--secrets-dir' ? '--kubeconfig' : a === secretsDir ? stub.kubeconfigPath : a === FQDN ? '_acme-challenge.kube.example.test.' : a));
      const res = await cli(['present', ...kube, '--namespace', 'issuers', '--key', 'from-kube']);
      expect(res.code, res.stderr).toBe(0);
      expect(stub.requestsOf('secret').map((r) => r.path)).toEqual(['/api/v1/namespaces/issuers/secrets/file-token']);
      const missing = await cli(['present', ...kube, '--key', 'from-kube']);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('may not read secret "file-token" in namespace "default"');
    } finally {
      await stub.close();
    }
  });

  it('prints help and version', async () => {
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Commands:[\s\S]*present[\s\S]*check[\s\S]*dev/);
    expect((await cli(['present', '--help'])).stdout).toContain('--secrets-dir <dir>');
    expect((await cli(['check', '--help'])).stdout).toContain('--nameserver <host:port>');
    const version = await cli(['--version']);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});
