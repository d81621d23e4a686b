/**
 * The route53 solver against moto — a Route 53 implementation nobody here wrote — through the real SDK:
 * Present/CleanUp (two values on one name), read back with ListResourceRecordSets.
 * Where moto and our emulator disagree, the test pins both and says what the Route 53 API reference
 * documents; the emulator follows the documentation.
 * moto is installed by test/install/moto.sh (CI runs it); without it this file FAILS on purpose.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ChangeResourceRecordSetsCommand,
  CreateHostedZoneCommand,
  ListHostedZonesByNameCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
  type Change,
} from '@aws-sdk/client-route-53';
import { executeChallenge, mapSecrets, silentLogger } from '@dns01-webhook/core';
import { randomKey } from '@dns01-webhook/core/conformance';
import route53Solver from '@dns01-webhook/solver-route53';
import { startRoute53Emulator, type RunningRoute53Emulator } from '../emulators/route53/emulator.js';
import { currentEconomy, freshEconomy, request } from './helpers.js';

const MOTO_SERVER = join(process.env.DNS01_CACHE ?? '/var/cache/dns01-webhook', 'moto-venv', 'bin', 'moto_server');
const CREDS = { accessKeyId: 'AKIAMOTOTESTING00001', secretAccessKey: 'moto-does-not-check-signatures' };

let moto: ChildProcess | undefined;
let motoUrl: string;
let client: Route53Client;
let zoneId: string;
let emu: RunningRoute53Emulator;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

async function startMoto(): Promise<string> {
  if (!existsSync(MOTO_SERVER)) {
    throw new Error(`moto is not installed (${MOTO_SERVER} missing): run test/install/moto.sh first (CI runs it from .ci/run)`);
  }
  const port = await freePort();
  const child = spawn(MOTO_SERVER, ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  moto = child;
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`moto_server exited with ${child.exitCode}: ${output}`);
    try {
      const res = await fetch(`${url}/moto-api/`);
      if (res.status < 500) return url;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`moto_server did not start within 20 s: ${output}`);
}

beforeAll(async () => {
  motoUrl = await startMoto();
  client = new Route53Client({ region: 'us-east-1', endpoint: motoUrl, credentials: CREDS, maxAttempts: 1 });
  const zone = await client.send(new CreateHostedZoneCommand({ Name: 'moto.test', CallerReference: `moto-${Date.now()}` }));
  zoneId = zone.HostedZone!.Id!;
  await client.send(new CreateHostedZoneCommand({ Name: 'sub.moto.test', CallerReference: `sub-${Date.now()}` }));
  emu = await startRoute53Emulator({ zones: ['moto.test', 'sub.moto.test'] });
}, 30_000);

afterAll(async () => {
  client?.destroy();
  await emu?.close();
  if (moto && moto.exitCode === null) {
    const exited = new Promise((r) => moto!.once('exit', r));
    moto.kill('SIGTERM');
    await exited;
  }
});

const config = () => ({ region: 'us-east-1', accessKeyID: CREDS.accessKeyId, secretAccessKeySecretRef: { name: 'aws', key: 'secret' }, endpoint: motoUrl });
const secrets = mapSecrets({ default: { aws: { secret: CREDS.secretAccessKey } } });

async function challenge(action: 'Present' | 'CleanUp', fqdn: string, key: string) {
  const out = await executeChallenge(route53Solver, request(action, fqdn, 'moto.test.', key, config()), { secretsFor: secrets, log: silentLogger(), economy: currentEconomy() });
  expect(out).toEqual({ success: true });
}

async function readBack(fqdn: string): Promise<Array<{ ttl?: number; values: string[] }>> {
  const out = await client.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId, StartRecordName: fqdn, StartRecordType: 'TXT' }));
  return (out.ResourceRecordSets ?? [])
    .filter((s) => s.Name === fqdn && s.Type === 'TXT')
    .map((s) => ({ ...(s.TTL === undefined ? {} : { ttl: s.TTL }), values: (s.ResourceRecords ?? []).map((r) => r.Value!).sort() }));
}

describe('route53 solver against moto', () => {
  it('Present A, Present B on one name → one set with both; CleanUp A keeps B; CleanUp B deletes the set', async () => {
    freshEconomy();
    const fqdn = '_acme-challenge.www.moto.test.';
    const [a, b] = [randomKey(), randomKey()];
    await challenge('Present', fqdn, a);
    expect(await readBack(fqdn)).toEqual([{ ttl: 10, values: [`"${a}"`] }]);
    await challenge('Present', fqdn, b);
    await challenge('Present', fqdn, b); // idempotent
    expect(await readBack(fqdn)).toEqual([{ ttl: 10, values: [`"${a}"`, `"${b}"`].sort() }]);
    await challenge('CleanUp', fqdn, a);
    expect(await readBack(fqdn)).toEqual([{ ttl: 10, values: [`"${b}"`] }]);
    await challenge('CleanUp', fqdn, a); // already gone = success
    await challenge('CleanUp', fqdn, b);
    expect(await readBack(fqdn)).toEqual([]);
  }, 20_000);

  it('finds the nested public zone sub.moto.test for a name below it', async () => {
    freshEconomy();
    const fqdn = '_acme-challenge.x.sub.moto.test.';
    const key = randomKey();
    const out = await executeChallenge(route53Solver, request('Present', fqdn, 'sub.moto.test.', key, config()), { secretsFor: secrets, log: silentLogger(), economy: currentEconomy() });
    expect(out).toEqual({ success: true });
    const zones = await client.send(new ListHostedZonesByNameCommand({ DNSName: 'sub.moto.test' }));
    const sub = zones.HostedZones!.find((z) => z.Name === 'sub.moto.test.')!;
    const sets = await client.send(new ListResourceRecordSetsCommand({ HostedZoneId: sub.Id!, StartRecordName: fqdn, StartRecordType: 'TXT' }));
    expect(sets.ResourceRecordSets!.filter((s) => s.Name === fqdn).map((s) => s.ResourceRecords![0]!.Value)).toEqual([`"${key}"`]);
  }, 20_000);
});

describe('where moto and the emulator differ (the emulator follows the Route 53 API reference)', () => {
  const txt = (name: string, values: string[], ttl = 60): Change['ResourceRecordSet'] => ({ Name: name, Type: 'TXT', TTL: ttl, ResourceRecords: values.map((Value) => ({ Value })) });
  const send = (c: Route53Client, zone: string, changes: Change[]) => c.send(new ChangeResourceRecordSetsCommand({ HostedZoneId: zone, ChangeBatch: { Changes: changes } }));
  const emuClient = () => new Route53Client({ region: 'us-east-1', endpoint: emu.url, credentials: emu.credentials, maxAttempts: 1 });
  const error = (p: Promise<unknown>) => p.then(() => undefined, (e: Error) => `${e.name}: ${e.message}`);

  it('ListHostedZonesByName: moto filters to the exact name; Route 53 documents a listing that *starts at* dnsname', async () => {
    const fromMoto = await client.send(new ListHostedZonesByNameCommand({ DNSName: 'moto.test' }));
    expect(fromMoto.HostedZones!.map((z) => z.Name)).toEqual(['moto.test.']);
    const fromEmu = await emuClient().send(new ListHostedZonesByNameCommand({ DNSName: 'moto.test' }));
    expect(fromEmu.HostedZones!.map((z) => z.Name)).toEqual(['moto.test.', 'sub.moto.test.']);
  });

  it('unquoted TXT: moto accepts it; Route 53 documents InvalidChangeBatch "InvalidCharacterString (Value should be enclosed in quotation marks)"', async () => {
    expect(await error(send(client, zoneId, [{ Action: 'CREATE', ResourceRecordSet: txt('unquoted.moto.test.', ['abc']) }]))).toBeUndefined();
    const emuError = await error(send(emuClient(), emu.zoneId('moto.test'), [{ Action: 'CREATE', ResourceRecordSet: txt('unquoted.moto.test.', ['abc']) }]));
    expect(emuError).toContain('InvalidChangeBatch: [Invalid Resource Record: FATAL problem: InvalidCharacterString (Value should be enclosed in quotation marks)');
  });

  it('DELETE with stale values: moto answers InvalidInput; Route 53 documents InvalidChangeBatch "... but the values provided do not match the current values"', async () => {
    await send(client, zoneId, [{ Action: 'CREATE', ResourceRecordSet: txt('stale.moto.test.', ['"a"', '"b"']) }]);
    const motoError = await error(send(client, zoneId, [{ Action: 'DELETE', ResourceRecordSet: txt('stale.moto.test.', ['"a"']) }]));
    expect(motoError).toMatch(/^InvalidInput: /);
    const z = emu.zoneId('moto.test');
    await send(emuClient(), z, [{ Action: 'CREATE', ResourceRecordSet: txt('stale.moto.test.', ['"a"', '"b"']) }]);
    const emuError = await error(send(emuClient(), z, [{ Action: 'DELETE', ResourceRecordSet: txt('stale.moto.test.', ['"a"']) }]));
    expect(emuError).toBe(
      "InvalidChangeBatch: [Tried to delete resource record set [name='stale.moto.test.', type='TXT'] but the values provided do not match the current values]",
    );
  });

  it('both agree: CREATE on an existing set fails with InvalidChangeBatch "... but it already exists"', async () => {
    await send(client, zoneId, [{ Action: 'CREATE', ResourceRecordSet: txt('exists.moto.test.', ['"a"']) }]);
    expect(await error(send(client, zoneId, [{ Action: 'CREATE', ResourceRecordSet: txt('exists.moto.test.', ['"a"']) }]))).toContain(
      "InvalidChangeBatch: Tried to create resource record set [name='exists.moto.test.', type='TXT'] but it already exists",
    );
  });
});
