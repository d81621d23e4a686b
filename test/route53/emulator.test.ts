/**
 * The Route 53 emulator is as strict as the documented API, checked with the real AWS SDK on the wire
 * (and raw HTTP where the SDK would not send the bad request).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  GetHostedZoneCommand,
  ListHostedZonesByNameCommand,
  ListResourceRecordSetsCommand,
  type Change,
} from '@aws-sdk/client-route-53';
import { queryTxt } from '@dns01-webhook/core/conformance';
import { startRoute53Emulator, type RunningRoute53Emulator } from '../emulators/route53/emulator.js';
import { sdk } from './helpers.js';

let emu: RunningRoute53Emulator;
let zone: string;

beforeAll(async () => {
  emu = await startRoute53Emulator({
    zones: ['b.test', 'example.test', 'sub.example.test', { name: 'example.test', private: true }, 'a.test', 'zzz.example.test'],
    insyncAfterMs: 150,
    // These tests send raw SDK calls back to back; the documented quota has its own test below.
    quota: false,
  });
  zone = emu.zoneId('example.test', { private: false });
});
afterAll(async () => {
  await emu?.close();
});

const txt = (name: string, values: string[], ttl = 60, extra: Record<string, unknown> = {}): Change['ResourceRecordSet'] => ({
  Name: name,
  Type: 'TXT',
  TTL: ttl,
  ResourceRecords: values.map((Value) => ({ Value })),
  ...extra,
});
const change = (Action: 'CREATE' | 'DELETE' | 'UPSERT', set: Change['ResourceRecordSet']): Change => ({ Action, ResourceRecordSet: set });

async function batch(changes: Change[], zoneId = zone) {
  return sdk(emu).send(new ChangeResourceRecordSetsCommand({ HostedZoneId: zoneId, ChangeBatch: { Changes: changes } }));
}

async function failure(p: Promise<unknown>): Promise<{ name: string; message: string; status?: number }> {
  try {
    await p;
  } catch (err) {
    const e = err as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, message: e.message, ...(e.$metadata?.httpStatusCode ? { status: e.$metadata.httpStatusCode } : {}) };
  }
  throw new Error('expected the call to fail');
}

const values = (name: string) =>
  emu.store.zones
    .find((z) => z.id === zone)!
    .sets.filter((s) => s.name === name && s.type === 'TXT')
    .flatMap((s) => s.values)
    .sort();

describe('ChangeResourceRecordSets', () => {
  it('applies a batch atomically: one bad change and nothing applies, every problem reported in one message', async () => {
    const err = await failure(
      batch([
        change('CREATE', txt('atomic.example.test.', ['"good"'])),
        change('CREATE', txt('atomic2.example.test.', ['unquoted'])),
        change('DELETE', txt('missing.example.test.', ['"x"'])),
      ]),
    );
    expect(err.name).toBe('InvalidChangeBatch');
    expect(err.status).toBe(400);
    expect(err.message).toBe(
      "[Invalid Resource Record: FATAL problem: InvalidCharacterString (Value should be enclosed in quotation marks) encountered with 'unquoted', Tried to delete resource record set [name='missing.example.test.', type='TXT'] but it was not found]",
    );
    expect(values('atomic.example.test.')).toEqual([]);
  });

  it('CREATE fails when the set exists; UPSERT replaces the whole set', async () => {
    await batch([change('CREATE', txt('create.example.test.', ['"a"']))]);
    const err = await failure(batch([change('CREATE', txt('create.example.test.', ['"b"']))]));
    expect(err.message).toBe("[Tried to create resource record set [name='create.example.test.', type='TXT'] but it already exists]");
    await batch([change('UPSERT', txt('create.example.test.', ['"c"', '"d"']))]);
    expect(values('create.example.test.')).toEqual(['"c"', '"d"']);
  });

  it('DELETE must match values and TTL exactly (order of values does not matter)', async () => {
    await batch([change('CREATE', txt('exact.example.test.', ['"a"', '"b"'], 30))]);
    const mismatch = "[Tried to delete resource record set [name='exact.example.test.', type='TXT'] but the values provided do not match the current values]";
    expect((await failure(batch([change('DELETE', txt('exact.example.test.', ['"a"'], 30))]))).message).toBe(mismatch);
    expect((await failure(batch([change('DELETE', txt('exact.example.test.', ['"a"', '"b"'], 60))]))).message).toBe(mismatch);
    await batch([change('DELETE', txt('exact.example.test.', ['"b"', '"a"'], 30))]);
    expect(values('exact.example.test.')).toEqual([]);
  });

  it('DELETE(old) + CREATE(new) in one batch is a compare-and-swap: a stale DELETE fails and nothing changes', async () => {
    await batch([change('CREATE', txt('cas.example.test.', ['"a"']))]);
    await batch([change('DELETE', txt('cas.example.test.', ['"a"'])), change('CREATE', txt('cas.example.test.', ['"a"', '"b"']))]);
    const stale = await failure(
      batch([change('DELETE', txt('cas.example.test.', ['"a"'])), change('CREATE', txt('cas.example.test.', ['"a"', '"c"']))]),
    );
    expect(stale.message).toBe(
      "[Tried to delete resource record set [name='cas.example.test.', type='TXT'] but the values provided do not match the current values, Tried to create resource record set [name='cas.example.test.', type='TXT'] but it already exists]",
    );
    expect(values('cas.example.test.')).toEqual(['"a"', '"b"']);
  });

  it('requires quoted TXT strings of at most 255 characters; several strings per value are fine', async () => {
    const long = `"${'x'.repeat(256)}"`;
    expect((await failure(batch([change('CREATE', txt('q.example.test.', ['abc']))]))).message).toContain(
      'InvalidCharacterString (Value should be enclosed in quotation marks)',
    );
    expect((await failure(batch([change('CREATE', txt('q.example.test.', [long]))]))).message).toContain('CharacterStringTooLong');
    await batch([change('CREATE', txt('q.example.test.', [`"${'y'.repeat(255)}" "tail"`, '"with \\"quote\\""']))]);
    const dns = await queryTxt('q.example.test.', { server: emu.dns.address });
    expect(dns.values.sort()).toEqual([`${'y'.repeat(255)}tail`, 'with "quote"'].sort());
  });

  it('rejects names outside the zone and duplicate values', async () => {
    expect((await failure(batch([change('CREATE', txt('other.test.', ['"a"']))]))).message).toBe('[RRSet with DNS name other.test. is not permitted in zone example.test.]');
    expect((await failure(batch([change('CREATE', txt('dup.example.test.', ['"a"', '"a"']))]))).message).toContain('Duplicate Resource Record');
  });

  it('a simple set and SetIdentifier sets of one name/type cannot coexist; SetIdentifier needs a routing policy', async () => {
    await batch([change('CREATE', txt('mv.example.test.', ['"k1"'], 10, { SetIdentifier: 'k1', MultiValueAnswer: true }))]);
    await batch([change('CREATE', txt('mv.example.test.', ['"k2"'], 10, { SetIdentifier: 'k2', MultiValueAnswer: true }))]);
    const simple = await failure(batch([change('CREATE', txt('mv.example.test.', ['"s"']))]));
    expect(simple.message).toContain('cannot be created as multivalue answer sets exist with the same name and type');
    await batch([change('CREATE', txt('simple.example.test.', ['"s"']))]);
    const withId = await failure(batch([change('CREATE', txt('simple.example.test.', ['"k"'], 10, { SetIdentifier: 'k', MultiValueAnswer: true }))]));
    expect(withId.message).toContain('cannot be created as a non-multivalue answer set exists');
    const noPolicy = await failure(batch([change('CREATE', txt('np.example.test.', ['"k"'], 10, { SetIdentifier: 'k' }))]));
    expect(noPolicy.name).toBe('InvalidInput');
    // Both multivalue sets are served over DNS.
    expect((await queryTxt('mv.example.test.', { server: emu.dns.address })).values.sort()).toEqual(['k1', 'k2']);
  });

  it('serves at most 8 multivalue answers per DNS query (Route 53 developer guide, multivalue answer routing)', async () => {
    const ids = Array.from({ length: 10 }, (_, i) => `v${i}`);
    await batch(ids.map((id) => change('CREATE', txt('many.example.test.', [`"${id}"`], 10, { SetIdentifier: id, MultiValueAnswer: true }))));
    const answer = await queryTxt('many.example.test.', { server: emu.dns.address });
    expect(answer.values).toHaveLength(8);
    expect(answer.values.every((v) => ids.includes(v))).toBe(true);
  });

  it('answers NoSuchHostedZone (404) for an unknown zone', async () => {
    const err = await failure(batch([change('CREATE', txt('x.example.test.', ['"a"']))], 'ZNOSUCHZONE123'));
    expect(err).toMatchObject({ name: 'NoSuchHostedZone', status: 404 });
  });
});

describe('GetChange', () => {
  it('reports PENDING, then INSYNC after the configured delay; NoSuchChange for an unknown id', async () => {
    const out = await batch([change('CREATE', txt('sync.example.test.', ['"a"']))]);
    expect(out.ChangeInfo?.Status).toBe('PENDING');
    expect(out.ChangeInfo?.Id).toMatch(/^\/change\/C[A-Z0-9]+$/);
    expect((await sdk(emu).send(new GetChangeCommand({ Id: out.ChangeInfo!.Id! }))).ChangeInfo?.Status).toBe('PENDING');
    await new Promise((r) => setTimeout(r, 200));
    expect((await sdk(emu).send(new GetChangeCommand({ Id: out.ChangeInfo!.Id! }))).ChangeInfo?.Status).toBe('INSYNC');
    expect(await failure(sdk(emu).send(new GetChangeCommand({ Id: 'CNOSUCH' })))).toMatchObject({ name: 'NoSuchChange', status: 404 });
  });
});

describe('listings start at a name (not a filter), sorted by reversed labels', () => {
  it('ListHostedZonesByName orders zones by reversed name and pages with NextDNSName/NextHostedZoneId', async () => {
    const all = await sdk(emu).send(new ListHostedZonesByNameCommand({}));
    // Reversed labels: test.a. < test.b. < test.example. < test.example.sub. < test.example.zzz.
    expect(all.HostedZones!.map((z) => z.Name)).toEqual(['a.test.', 'b.test.', 'example.test.', 'example.test.', 'sub.example.test.', 'zzz.example.test.']);
    // The public and the private example.test. are both listed: the caller must skip private zones itself.
    expect(all.HostedZones!.slice(2, 4).map((z) => z.Config?.PrivateZone).sort()).toEqual([false, true]);
    const fromExample = await sdk(emu).send(new ListHostedZonesByNameCommand({ DNSName: 'example.test', MaxItems: 3 }));
    expect(fromExample.HostedZones!.map((z) => z.Name)).toEqual(['example.test.', 'example.test.', 'sub.example.test.']);
    expect(fromExample).toMatchObject({ IsTruncated: true, NextDNSName: 'zzz.example.test.', NextHostedZoneId: emu.zoneId('zzz.example.test') });
    // A name that is no zone: the listing starts at the next zone in order (here the parent's later sibling).
    const fromMissing = await sdk(emu).send(new ListHostedZonesByNameCommand({ DNSName: '_acme-challenge.www.sub.example.test', MaxItems: 1 }));
    expect(fromMissing.HostedZones!.map((z) => z.Name)).toEqual(['zzz.example.test.']);
    // Same-named zones page by HostedZoneId.
    const first = await sdk(emu).send(new ListHostedZonesByNameCommand({ DNSName: 'example.test', MaxItems: 1 }));
    const second = await sdk(emu).send(new ListHostedZonesByNameCommand({ DNSName: first.NextDNSName!, HostedZoneId: first.NextHostedZoneId!, MaxItems: 1 }));
    expect(second.HostedZones![0]!.Name).toBe('example.test.');
    expect(second.HostedZones![0]!.Id).not.toBe(first.HostedZones![0]!.Id);
    expect(second.IsTruncated).toBe(true);
  });

  it('GetHostedZone tells public from private', async () => {
    const pub = await sdk(emu).send(new GetHostedZoneCommand({ Id: `/hostedzone/${zone}` }));
    expect(pub.HostedZone?.Config?.PrivateZone).toBe(false);
    const priv = await sdk(emu).send(new GetHostedZoneCommand({ Id: emu.zoneId('example.test', { private: true }) }));
    expect(priv.HostedZone?.Config?.PrivateZone).toBe(true);
  });

  it('ListResourceRecordSets starts at name/type, includes SetIdentifier sets, and pages with NextRecordIdentifier', async () => {
    const z = emu.zoneId('zzz.example.test');
    const changes: Change[] = [
      change('CREATE', txt('a.zzz.example.test.', ['"1"'])),
      change('CREATE', txt('m.zzz.example.test.', ['"x"'], 10, { SetIdentifier: 'x', MultiValueAnswer: true })),
      change('CREATE', txt('m.zzz.example.test.', ['"y"'], 10, { SetIdentifier: 'y', MultiValueAnswer: true })),
      change('CREATE', txt('m.zzz.example.test.', ['"z"'], 10, { SetIdentifier: 'z', MultiValueAnswer: true })),
      change('CREATE', { Name: 'm.zzz.example.test.', Type: 'A', TTL: 60, ResourceRecords: [{ Value: '192.0.2.1' }] }),
      change('CREATE', txt('z.zzz.example.test.', ['"9"'])),
    ];
    await batch(changes, z);
    const page1 = await sdk(emu).send(new ListResourceRecordSetsCommand({ HostedZoneId: z, StartRecordName: 'm.zzz.example.test', StartRecordType: 'TXT', MaxItems: 2 }));
    expect(page1.ResourceRecordSets!.map((s) => `${s.Name} ${s.Type} ${s.SetIdentifier ?? ''}`)).toEqual(['m.zzz.example.test. TXT x', 'm.zzz.example.test. TXT y']);
    expect(page1).toMatchObject({ IsTruncated: true, NextRecordName: 'm.zzz.example.test.', NextRecordType: 'TXT', NextRecordIdentifier: 'z' });
    const page2 = await sdk(emu).send(
      new ListResourceRecordSetsCommand({ HostedZoneId: z, StartRecordName: page1.NextRecordName!, StartRecordType: 'TXT', StartRecordIdentifier: page1.NextRecordIdentifier!, MaxItems: 2 }),
    );
    // Not a filter: after m's TXT sets comes the next name.
    expect(page2.ResourceRecordSets!.map((s) => `${s.Name} ${s.Type}`)).toEqual(['m.zzz.example.test. TXT', 'z.zzz.example.test. TXT']);
    const whole = await sdk(emu).send(new ListResourceRecordSetsCommand({ HostedZoneId: z }));
    expect(whole.ResourceRecordSets!.map((s) => `${s.Name} ${s.Type}`).slice(0, 4)).toEqual([
      'zzz.example.test. NS',
      'zzz.example.test. SOA',
      'a.zzz.example.test. TXT',
      'm.zzz.example.test. A',
    ]);
    expect(await failure(sdk(emu).send(new ListResourceRecordSetsCommand({ HostedZoneId: z, StartRecordType: 'TXT' })))).toMatchObject({ name: 'InvalidInput' });
  });
});

describe('SigV4', () => {
  it('rejects a wrong secret (SignatureDoesNotMatch) and an unknown key (InvalidClientTokenId), 403', async () => {
    const wrongSecret = await failure(sdk(emu, { accessKeyId: emu.credentials.accessKeyId, secretAccessKey: 'not-the-secret' }).send(new ListHostedZonesByNameCommand({})));
    expect(wrongSecret).toMatchObject({ name: 'SignatureDoesNotMatch', status: 403 });
    const unknown = await failure(sdk(emu, { accessKeyId: 'AKIAUNKNOWN000000000', secretAccessKey: emu.credentials.secretAccessKey }).send(new ListHostedZonesByNameCommand({})));
    expect(unknown).toMatchObject({ name: 'InvalidClientTokenId', status: 403 });
  });

  it('rejects a request altered after signing, and an unsigned request', async () => {
    const client = sdk(emu);
    client.middlewareStack.addRelativeTo(
      (next: any) => async (args: any) => {
        args.request.query = { ...args.request.query, maxitems: '7' };
        return next(args);
      },
      { relation: 'after', toMiddleware: 'httpSigningMiddleware', name: 'tamperAfterSigning' },
    );
    expect(await failure(client.send(new ListHostedZonesByNameCommand({ MaxItems: 5 })))).toMatchObject({ name: 'SignatureDoesNotMatch' });
    const res = await fetch(`${emu.url}/2013-04-01/hostedzonesbyname`);
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('<Code>MissingAuthenticationToken</Code>');
  });
});

describe('throttling and faults through the shared control', () => {
  it('enforces the documented five requests per second per account by default, counting per access key', async () => {
    const e = await startRoute53Emulator({ zones: ['t.test'] });
    try {
      const c = sdk(e);
      for (let i = 0; i < 5; i++) await c.send(new ListHostedZonesByNameCommand({}));
      expect(await failure(c.send(new ListHostedZonesByNameCommand({})))).toMatchObject({ name: 'Throttling', message: 'Rate exceeded', status: 400 });
      expect(e.control.throttled()).toBe(1);
      expect(e.control.requestsBy()).toEqual({ [`accessKey:${e.credentials.accessKeyId}`]: 6 });
      await new Promise((r) => setTimeout(r, 1_050));
      await c.send(new ListHostedZonesByNameCommand({}));
    } finally {
      await e.close();
    }
  });

  it('answers Throttling "Rate exceeded" (HTTP 400) once the quota is spent, and PriorRequestNotComplete when injected', async () => {
    const e = await startRoute53Emulator({ zones: ['t.test'], quota: { burst: 2, perSecond: 0.01 } });
    try {
      const c = sdk(e);
      await c.send(new ListHostedZonesByNameCommand({}));
      await c.send(new ListHostedZonesByNameCommand({}));
      expect(await failure(c.send(new ListHostedZonesByNameCommand({})))).toMatchObject({ name: 'Throttling', message: 'Rate exceeded', status: 400 });
      e.control.reset();
      e.control.inject({ kind: 'throttle', code: 'PriorRequestNotComplete', action: 'ChangeResourceRecordSets' });
      const id = e.zoneId('t.test');
      expect(
        await failure(c.send(new ChangeResourceRecordSetsCommand({ HostedZoneId: id, ChangeBatch: { Changes: [change('CREATE', txt('x.t.test.', ['"a"']))] } }))),
      ).toMatchObject({ name: 'PriorRequestNotComplete', status: 400 });
      e.control.inject({ kind: 'server-error' });
      expect(await failure(c.send(new ListHostedZonesByNameCommand({})))).toMatchObject({ status: 500 });
      expect(e.control.calls('ChangeResourceRecordSets')).toBe(1);
    } finally {
      await e.close();
    }
  });
});
