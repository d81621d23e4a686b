/**
 * The authoritative answer logic of the embedded DNS server, without sockets: one decoded query in, one
 * response packet out. Kept pure so the rules (AA, NODATA vs NXDOMAIN, REFUSED, SOA in authority) are in one
 * place and read `source` fresh on every query — a record appears or disappears at the next query.
 */
import dnsPacket, { type Answer, type DecodedPacket, type Packet, type Question } from 'dns-packet';
import type { DnsRecordSource } from './types.js';

/**
 * What the server can serve. `names()` (optional) lists every name that has TXT values, so an empty
 * non-terminal (`_acme-challenge.example.test.` when only `a._acme-challenge.example.test.` has records) is
 * told apart from a missing name; without it such a name answers NXDOMAIN.
 * `ttl(fqdn)` (optional) overrides the server's TTL for one name's TXT records.
 */
export interface ServableRecordSource extends DnsRecordSource {
  names?(): Iterable<string>;
  ttl?(fqdn: string): number | undefined;
}

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
const RCODE_NAMES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];

export function rcodeName(flags: number | undefined): string {
  const code = (flags ?? 0) & 0xf;
  return RCODE_NAMES[code] ?? `RCODE${code}`;
}

/** A TXT string is at most 255 bytes on the wire: longer values become several character-strings of one RR. */
export function splitTxt(value: string): Buffer[] {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length === 0) return [Buffer.alloc(0)];
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += 255) chunks.push(bytes.subarray(i, i + 255));
  return chunks;
}

/** dns-packet decodes names without the trailing dot; zones and sources use absolute lower-case names. */
export function absolute(name: string): string {
  const lower = name.toLowerCase().replace(/\.+$/, '');
  return lower === '' ? '.' : `${lower}.`;
}

const wire = (fqdn: string) => (fqdn === '.' ? '.' : fqdn.replace(/\.$/, ''));

function zoneOf(fqdn: string, zones: string[]): string | undefined {
  let best: string | undefined;
  for (const raw of zones) {
    const zone = absolute(raw);
    const inside = zone === '.' || fqdn === zone || fqdn.endsWith(`.${zone}`);
    if (inside && (best === undefined || zone.length > best.length)) best = zone;
  }
  return best;
}

function soaRecord(zone: string, ttl: number, owner = wire(zone)): Answer {
  return {
    type: 'SOA',
    name: owner,
    ttl,
    data: {
      mname: wire(`ns1.${zone}`),
      rname: wire(`hostmaster.${zone}`),
      // Records change without notice; a time-based serial only ever grows.
      serial: Math.floor(Date.now() / 1000) >>> 0,
      refresh: 3600,
      retry: 600,
      expire: 86400,
      minimum: ttl,
    },
  };
}

function nsRecord(zone: string, ttl: number, owner: string): Answer {
  return { type: 'NS', name: owner, ttl, data: wire(`ns1.${zone}`) };
}

/** True when some name with records sits below `fqdn` (then `fqdn` is an empty non-terminal, not missing). */
function hasDescendant(fqdn: string, source: ServableRecordSource): boolean {
  if (!source.names) return false;
  for (const name of source.names()) {
    const n = absolute(name);
    if (n !== fqdn && n.endsWith(`.${fqdn}`) && source.txt(n).length > 0) return true;
  }
  return false;
}

/** Builds the response to one query. `query` must already be decoded; malformed packets never get here. */
export function answerQuery(query: DecodedPacket, source: ServableRecordSource, defaultTtl: number): Packet {
  const flags = query.flags ?? 0;
  const opcode = (flags >> 11) & 0xf;
  const base = {
    id: query.id,
    type: 'response' as const,
    questions: query.questions ?? [],
    // Echo RD (RFC 1035 §4.1.1); we never recurse, so RA stays clear.
    flags: flags & dnsPacket.RECURSION_DESIRED,
  };
  const reply = (rcode: number, extra: Partial<Packet> = {}, aa = false): Packet => ({
    ...base,
    ...extra,
    flags: base.flags | rcode | (aa ? dnsPacket.AUTHORITATIVE_ANSWER : 0),
  });

  if (opcode !== 0) return reply(RCODE.NOTIMP);
  const questions = query.questions ?? [];
  if (questions.length !== 1) return reply(RCODE.FORMERR);
  const question = questions[0] as Question;
  if (question.class !== 'IN' && question.class !== 'ANY') return reply(RCODE.REFUSED);

  const fqdn = absolute(question.name);
  const zone = zoneOf(fqdn, source.zones());
  if (zone === undefined) return reply(RCODE.REFUSED);

  const ttl = defaultTtl;
  const answers: Answer[] = [];
  const apex = fqdn === zone;
  const values = source.txt(fqdn);
  const txtTtl = source.ttl?.(fqdn) ?? ttl;
  const qtype: string = question.type;
  const want = (type: string) => qtype === type || qtype === 'ANY';
  if (apex && want('SOA')) answers.push(soaRecord(zone, ttl, question.name));
  if (apex && want('NS')) answers.push(nsRecord(zone, ttl, question.name));
  if (want('TXT')) {
    // The answer keeps the case of the question (0x20-randomising resolvers compare it).
    for (const value of values) answers.push({ type: 'TXT', name: question.name, ttl: txtTtl, data: splitTxt(value) });
  }
  if (answers.length > 0) return reply(RCODE.NOERROR, { answers }, true);

  const exists = apex || values.length > 0 || hasDescendant(fqdn, source);
  // Negative answers carry the zone's SOA so resolvers can cache them (RFC 2308).
  return reply(exists ? RCODE.NOERROR : RCODE.NXDOMAIN, { authorities: [soaRecord(zone, ttl)] }, true);
}
