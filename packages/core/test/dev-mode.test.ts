/**
 * Spawns `dns01-webhook dev` (built CLI) on free ports, runs the printed curl commands' equivalent over real
 * HTTPS and checks the record through real DNS, then stops it with SIGTERM.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { request } from 'node:https';
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { queryTxt } from '../src/dns/index.js';

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url));

interface Dev {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  exit: Promise<number | null>;
}

function startDev(args: string[]): Promise<Dev> {
  const child = spawn(process.execPath, [CLI, 'dev', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const dev: Dev = { child, stdout: '', stderr: '', exit: new Promise((r) => child.once('exit', (code) => r(code))) };
  child.stdout!.on('data', (b: Buffer) => (dev.stdout += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (dev.stderr += b.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`dev mode did not get ready: ${dev.stderr}`)), 20_000);
    const poll = setInterval(() => {
      if (dev.stdout.includes('Stop with Ctrl-C.')) {
        clearInterval(poll);
        clearTimeout(timer);
        resolve(dev);
      }
    }, 50);
    void dev.exit.then((code) => {
      clearInterval(poll);
      clearTimeout(timer);
      if (!dev.stdout.includes('Stop with Ctrl-C.')) resolve(dev); // exited early: the test inspects why
      void code;
    });
  });
}

/** `curl -ksS -X POST <url> -H '...' -d '<json>'` → url and body, exactly as printed. */
function parseCurl(line: string): { url: string; body: string } {
  const m = /curl -ksS -X POST (\S+) -H 'Content-Type: application\/json' -d '(.*)'$/.exec(line.trim());
  if (!m) throw new Error(`not a printed curl line: ${line}`);
  return { url: m[1]!, body: m[2]!.replace(/'\\''/g, "'") };
}

function post(url: string, body: string): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, rejectUnauthorized: false }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, json: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

let dev: Dev;
beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" first`);
  dev = await startDev(['--dns-port', '0', '--port', '0', '--group', 'acme.dev.test']);
});
afterAll(async () => {
  if (dev.child.exitCode === null) dev.child.kill('SIGKILL');
});

describe('dns01-webhook dev', () => {
  it('prints ready-to-paste commands; the Present curl makes the TXT visible in DNS and CleanUp removes it', async () => {
    const curls = dev.stdout.split('\n').filter((l) => l.includes('curl -ksS'));
    expect(curls).toHaveLength(2);
    const present = parseCurl(curls[0]!);
    const cleanup = parseCurl(curls[1]!);
    expect(present.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/apis\/acme\.dev\.test\/v1alpha1\/memory$/);
    const dig = /dig @127\.0\.0\.1 -p (\d+) TXT (\S+) \+short/.exec(dev.stdout);
    expect(dig).not.toBeNull();
    const server = `127.0.0.1:${dig![1]}`;
    const name = `${dig![2]}.`;
    const key = JSON.parse(present.body).request.key as string;
    expect(name).toBe('_acme-challenge.example.test.');

    expect((await queryTxt(name, { server })).values).toEqual([]);
    const res = await post(present.url, present.body);
    expect(res.status).toBe(201);
    expect(res.json.response).toEqual({ uid: 'dev-1', success: true });
    expect(await queryTxt(name, { server })).toEqual({ rcode: 'NOERROR', values: [key], authoritative: true });
    // The printed check line runs exactly as printed, from the repository (npx finds the linked bin).
    const checkLine = dev.stdout.split('\n').find((l) => l.trim().startsWith('npx dns01-webhook check'))!.trim();
    expect(checkLine).toBe(`npx dns01-webhook check --nameserver ${server} --fqdn ${name} --key ${key}`);
    const check = spawnSync('sh', ['-c', checkLine], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(check.status, `${check.stdout}${check.stderr}`).toBe(0);
    expect(check.stdout).toContain(key);

    const res2 = await post(cleanup.url, cleanup.body);
    expect(res2.json.response.success).toBe(true);
    expect(await queryTxt(name, { server })).toEqual({ rcode: 'NXDOMAIN', values: [], authoritative: true });
  });

  it('warns loudly that authentication is off', () => {
    expect(dev.stderr).toContain('AUTHENTICATION IS DISABLED');
    expect(dev.stderr).toContain('DEV MODE: authentication is OFF');
  });

  it('stops cleanly on SIGTERM', async () => {
    dev.child.kill('SIGTERM');
    expect(await dev.exit).toBe(0);
  });

  it('an explicitly requested port that is taken fails with a clear message', async () => {
    const taken = createSocket('udp4');
    await new Promise<void>((r) => taken.bind(0, '127.0.0.1', () => r()));
    try {
      const failed = await startDev(['--dns-port', String(taken.address().port), '--port', '0']);
      expect(await failed.exit).toBe(1);
      expect(failed.stderr).toMatch(/cannot start DNS server on 127\.0\.0\.1:\d+: port already in use/);
    } finally {
      taken.close();
    }
  });

  it('rejects a bad flag with exit 2', async () => {
    const bad = await startDev(['--dns-port', 'fifty']);
    expect(await bad.exit).toBe(2);
    expect(bad.stderr).toContain('--dns-port must be a port number 0-65535, got "fifty"');
  });
});
