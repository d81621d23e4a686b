import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import dnsPacket, { type DecodedPacket } from 'dns-packet';
import { startDnsServer, queryTxt, querySoa, dnsQuery, dnsExchange, findZoneBySoa, type DnsServer } from '../src/dns/index.js';
import { createMemoryStore } from '../src/solvers/memory.js';

const store = createMemoryStore(['example.test.', 'sub.other.test.']);
let dns: DnsServer;

beforeAll(async () => {
  dns = await startDnsServer({ source: store, ttl: 7 });
});
afterAll(async () => {
  await dns.close();
});

function udpRaw(message: Buffer, timeoutMs = 2000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    const timer = setTimeout(() => { socket.close(); reject(new Error('no UDP answer')); }, timeoutMs);
    socket.on('message', (buf) => { clearTimeout(timer); socket.close(); resolve(buf); });
    socket.send(message, dns.port, '127.0.0.1');
  });
}

/** Sends several framed queries in ONE write and collects as many framed answers. */
function tcpRaw(messages: Buffer[]): Promise<DecodedPacket[]> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: dns.port });
    let buffered = Buffer.alloc(0);
    const out: DecodedPacket[] = [];
    socket.on('error', reject);
    socket.on('connect', () => {
      socket.write(Buffer.concat(messages.map((m) => { const b = Buffer.alloc(2); b.writeUInt16BE(m.length); return Buffer.concat([b, m]); })));
    });
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const len = buffered.readUInt16BE(0);
        out.push(dnsPacket.decode(buffered.subarray(2, 2 + len)));
        buffered = buffered.subarray(2 + len);
      }
      if (out.length === messages.length) { socket.destroy(); resolve(out); }
    });
  });
}

const q = (id: number, name: string, type: 'TXT' | 'A' | 'SOA' = 'TXT') =>
  dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type, class: 'IN' }] });

describe('embedded DNS server', () => {
  it('serves UDP and TCP on the same port', () => {
    expect(dns.port).toBeGreaterThan(0);
    expect(dns.address).toBe(`127.0.0.1:${dns.port}`);
  });

  it('answers TXT authoritatively and sees changes at the next query (no caching)', async () => {
    const name = '_acme-challenge.example.test.';
    expect(await queryTxt(name, { server: dns.address })).toEqual({ rcode: 'NXDOMAIN', values: [], authoritative: true });
    store.add(name, 'value-one');
    store.add(name, 'value-two');
    const seen = await queryTxt(name, { server: dns.address });
    expect(seen).toEqual({ rcode: 'NOERROR', values: ['value-one', 'value-two'], authoritative: true });
    const tcp = await queryTxt(name, { server: dns.address, tcp: true });
    expect(tcp.values).toEqual(['value-one', 'value-two']);
    store.remove(name, 'value-one');
    expect((await queryTxt(name, { server: dns.address })).values).toEqual(['value-two']);
    store.remove(name, 'value-two');
    expect((await queryTxt(name, { server: dns.address })).rcode).toBe('NXDOMAIN');
  });

  it('matches names case-insensitively and echoes the question case', async () => {
    store.add('mixed.example.test.', 'v');
    const res = await dnsQuery('MiXeD.Example.TEST', 'TXT', { server: dns.address });
    expect(res.rcode).toBe('NOERROR');
    expect(res.packet.answers?.[0]?.name).toBe('MiXeD.Example.TEST');
    store.remove('mixed.example.test.', 'v');
  });

  it('serves SOA and NS at the apex, with the SOA in the authority section of negative answers', async () => {
    const soa = await querySoa('example.test.', { server: dns.address });
    expect(soa).toMatchObject({ rcode: 'NOERROR', authoritative: true, soa: { zone: 'example.test.', mname: 'ns1.example.test.', rname: 'hostmaster.example.test.', minimum: 7 } });
    const ns = await dnsQuery('example.test', 'NS', { server: dns.address });
    expect(ns.packet.answers?.map((a) => (a as { data: unknown }).data)).toEqual(['ns1.example.test']);
    const missing = await dnsQuery('nothing.example.test', 'TXT', { server: dns.address });
    expect(missing.rcode).toBe('NXDOMAIN');
    expect(missing.packet.authorities?.[0]).toMatchObject({ type: 'SOA', name: 'example.test' });
    // The most specific zone wins.
    expect((await querySoa('x.sub.other.test.', { server: dns.address })).soa?.zone).toBe('sub.other.test.');
  });

  it('answers NODATA for another type at an existing name, for the apex, and for an empty non-terminal', async () => {
    store.add('a.b.example.test.', 'deep');
    for (const [name, type] of [['a.b.example.test', 'A'], ['example.test', 'TXT'], ['b.example.test', 'TXT']] as const) {
      const res = await dnsQuery(name, type, { server: dns.address });
      expect(res.rcode, `${type} ${name}`).toBe('NOERROR');
      expect(res.packet.answers).toEqual([]);
      expect(res.packet.authorities?.[0]?.type).toBe('SOA');
      expect(res.authoritative).toBe(true);
    }
    store.remove('a.b.example.test.', 'deep');
    expect((await dnsQuery('b.example.test', 'TXT', { server: dns.address })).rcode).toBe('NXDOMAIN');
  });

  it('refuses names outside its zones', async () => {
    expect(await queryTxt('_acme-challenge.example.com.', { server: dns.address })).toEqual({ rcode: 'REFUSED', values: [], authoritative: false });
    expect((await queryTxt('other.test.', { server: dns.address })).rcode).toBe('REFUSED');
  });

  it('splits long values into 255-byte character-strings and joins them back', async () => {
    const long = 'x'.repeat(300) + 'y'.repeat(100);
    store.add('long.example.test.', long);
    const res = await dnsQuery('long.example.test', 'TXT', { server: dns.address });
    const data = (res.packet.answers?.[0] as { data: Buffer[] }).data;
    expect(data.map((b) => b.length)).toEqual([255, 145]);
    expect((await queryTxt('long.example.test.', { server: dns.address })).values).toEqual([long]);
    store.remove('long.example.test.', long);
  });

  it('sets TC on a UDP answer over 512 bytes; queryTxt falls back to TCP', async () => {
    const name = 'big.example.test.';
    const values = Array.from({ length: 12 }, (_, i) => `${i}-${'k'.repeat(60)}`);
    for (const v of values) store.add(name, v);
    const raw = dnsPacket.decode(await udpRaw(q(4242, name.slice(0, -1))));
    expect(raw.flag_tc).toBe(true);
    expect(raw.answers).toEqual([]);
    const res = await queryTxt(name, { server: dns.address });
    expect(res.values).toEqual(values);
    // An EDNS client advertising 4096 bytes gets it over UDP in one go.
    const edns = dnsPacket.encode({ type: 'query', id: 7, questions: [{ name: name.slice(0, -1), type: 'TXT', class: 'IN' }], additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 4096, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] });
    const big = dnsPacket.decode(await udpRaw(edns));
    expect(big.flag_tc).toBe(false);
    expect(big.answers).toHaveLength(12);
    expect(big.additionals?.[0]?.type).toBe('OPT');
    for (const v of values) store.remove(name, v);
  });

  it('answers several queries on one TCP connection, framed by length', async () => {
    store.add('tcp.example.test.', 'over-tcp');
    const answers = await tcpRaw([q(1, 'tcp.example.test'), q(2, 'example.test', 'SOA'), q(3, 'nope.example.test')]);
    expect(answers.map((a) => a.id)).toEqual([1, 2, 3]);
    expect((answers[0]!.answers?.[0] as { data: unknown }).data).toEqual([Buffer.from('over-tcp')]);
    expect(answers[0]!.flag_rd).toBe(true);
    expect(answers[1]!.answers?.[0]?.type).toBe('SOA');
    expect(answers[2]!.flags! & 0xf).toBe(3);
    store.remove('tcp.example.test.', 'over-tcp');
  });

  it('answers FORMERR to junk that has a header, and ignores shorter junk', async () => {
    const junk = Buffer.from([0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff]);
    const res = dnsPacket.decode(await udpRaw(junk));
    expect(res.id).toBe(0x1234);
    expect(res.flags! & 0xf).toBe(1);
    await expect(udpRaw(Buffer.from([1, 2, 3]), 300)).rejects.toThrow('no UDP answer');
  });

  it('queryTxt times out clearly when nobody answers', async () => {
    const silent = createSocket('udp4');
    await new Promise<void>((r) => silent.bind(0, '127.0.0.1', () => r()));
    const port = silent.address().port;
    await expect(queryTxt('x.example.test.', { server: `127.0.0.1:${port}`, timeoutMs: 200 })).rejects.toThrow(/no answer from 127\.0\.0\.1:\d+ over UDP within 200 ms/);
    silent.close();
  });

  it('dnsExchange ends at once when its signal aborts, and ignores replies accept() rejects', async () => {
    const silent = createSocket('udp4');
    await new Promise<void>((r) => silent.bind(0, '127.0.0.1', () => r()));
    // Answers every message with junk that accept() turns down: the exchange must keep waiting, not resolve.
    silent.on('message', (_m, rinfo) => silent.send(Buffer.from('not ours'), rinfo.port, rinfo.address));
    const server = `127.0.0.1:${silent.address().port}`;
    const started = Date.now();
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('challenge deadline')), 150);
    await expect(dnsExchange(Buffer.from('query'), { server, timeoutMs: 5000, signal: controller.signal }, () => false)).rejects.toThrow('challenge deadline');
    expect(Date.now() - started).toBeLessThan(1000);
    await expect(dnsExchange(Buffer.from('q'), { server, signal: AbortSignal.abort(new Error('already gone')) }, () => true)).rejects.toThrow('already gone');
    silent.close();
  });

  it('findZoneBySoa walks up like cert-manager: the first NOERROR answer with an SOA names the zone', async () => {
    const walk = await findZoneBySoa('_acme-challenge.a.b.example.test.', { server: dns.address });
    expect(walk.zone).toBe('example.test.');
    expect(walk.steps.map((s) => s.name)).toEqual(['_acme-challenge.a.b.example.test.', 'a.b.example.test.', 'b.example.test.', 'example.test.']);
    // Outside every zone the server answers REFUSED: the walk stops with that, as cert-manager's does.
    await expect(findZoneBySoa('x.elsewhere.', { server: dns.address })).rejects.toThrow(/SOA query for x\.elsewhere\. to .* answered REFUSED/);
  });

  it('serves IPv6 loopback too', async () => {
    const v6 = await startDnsServer({ source: store, host: '::1' });
    try {
      store.add('v6.example.test.', 'six');
      expect((await queryTxt('v6.example.test.', { server: v6.address })).values).toEqual(['six']);
      expect((await queryTxt('v6.example.test.', { server: v6.address, tcp: true })).values).toEqual(['six']);
      store.remove('v6.example.test.', 'six');
    } finally {
      await v6.close();
    }
  });
});
