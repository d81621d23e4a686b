/**
 * The Route 53 data model of the emulator, without HTTP: hosted zones, resource record sets, change batches
 * applied atomically, and the two "start at" listings. Rules follow the Route 53 API reference:
 *  - CREATE fails when the set exists; UPSERT replaces the whole set; DELETE must repeat the set exactly
 *    (values, TTL, SetIdentifier and routing policy).
 *  - A change batch is a transaction: every change is validated against the state left by the previous
 *    ones; if any fails nothing is applied and every failure message is returned (as AWS does).
 *  - A simple set and sets with a SetIdentifier cannot share a name and type; sets sharing a name and type
 *    must all use the same routing policy.
 *  - Listings are sorted by name with labels reversed (`com.example.www.`), then by type, then identifier.
 */
import { randomBytes } from 'node:crypto';
import { parseTxtValue, txtProblemMessage } from './txt.js';

export interface RecordSet {
  name: string;
  type: string;
  ttl?: number;
  values: string[];
  setIdentifier?: string;
  weight?: number;
  multiValueAnswer?: boolean;
}

export interface HostedZone {
  id: string;
  name: string;
  private: boolean;
  callerReference: string;
  sets: RecordSet[];
}

export interface ChangeInfo {
  id: string;
  status: 'PENDING' | 'INSYNC';
  submittedAt: Date;
  comment?: string;
}

export interface Change {
  action: string;
  set: RecordSet;
}

export class Route53Error extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

const TYPES = new Set(['SOA', 'A', 'TXT', 'NS', 'CNAME', 'MX', 'NAPTR', 'PTR', 'SRV', 'SPF', 'AAAA', 'CAA', 'DS', 'TLSA', 'SSHFP', 'SVCB', 'HTTPS']);

/** Absolute, lower-case. Route 53 treats names without the final dot as absolute. */
export function normalizeName(name: string): string {
  const lower = name.trim().toLowerCase();
  return lower.endsWith('.') ? lower : `${lower}.`;
}

/** The sort key Route 53 documents: labels reversed, trailing dot kept (`www.example.com.` → `com.example.www.`). */
export function reversedKey(name: string): string {
  const labels = normalizeName(name).replace(/\.$/, '').split('.');
  return `${labels.reverse().join('.')}.`;
}

function compareSets(a: RecordSet, b: RecordSet): number {
  const ka = reversedKey(a.name);
  const kb = reversedKey(b.name);
  if (ka !== kb) return ka < kb ? -1 : 1;
  if (a.type !== b.type) return a.type < b.type ? -1 : 1;
  const ia = a.setIdentifier ?? '';
  const ib = b.setIdentifier ?? '';
  return ia === ib ? 0 : ia < ib ? -1 : 1;
}

function describe(set: RecordSet): string {
  const id = set.setIdentifier === undefined ? '' : `, set-identifier='${set.setIdentifier}'`;
  return `[name='${set.name}', type='${set.type}'${id}]`;
}

function policyOf(set: RecordSet): 'simple' | 'weighted' | 'multivalue' {
  if (set.multiValueAnswer !== undefined) return 'multivalue';
  if (set.weight !== undefined) return 'weighted';
  return 'simple';
}

/** Same identity: name, type and SetIdentifier. */
function sameSet(a: RecordSet, b: RecordSet): boolean {
  return a.name === b.name && a.type === b.type && (a.setIdentifier ?? null) === (b.setIdentifier ?? null);
}

/** DELETE must repeat every attribute of the current set. Values compare as a set (order does not matter). */
function sameContent(a: RecordSet, b: RecordSet): boolean {
  if (a.ttl !== b.ttl || a.weight !== b.weight || (a.multiValueAnswer ?? null) !== (b.multiValueAnswer ?? null)) return false;
  if (a.values.length !== b.values.length) return false;
  const sa = [...a.values].sort();
  const sb = [...b.values].sort();
  return sa.every((v, i) => v === sb[i]);
}

const id = (prefix: string, length: number) =>
  prefix +
  Array.from(randomBytes(length), (b) => 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'[b % 36])
    .join('')
    .slice(0, length);

export interface StoreOptions {
  /** Milliseconds a change stays PENDING before GetChange reports INSYNC. Default 1000. */
  insyncAfterMs?: number;
}

export class Route53Store {
  readonly zones: HostedZone[] = [];
  readonly #changes = new Map<string, ChangeInfo>();
  readonly insyncAfterMs: number;

  constructor(options: StoreOptions = {}) {
    this.insyncAfterMs = options.insyncAfterMs ?? 1000;
  }

  createZone(name: string, options: { private?: boolean; id?: string } = {}): HostedZone {
    const zoneName = normalizeName(name);
    const zone: HostedZone = {
      id: options.id ?? id('Z', 21),
      name: zoneName,
      private: options.private ?? false,
      callerReference: randomBytes(8).toString('hex'),
      sets: [],
    };
    // Route 53 creates the apex SOA and NS sets with every zone.
    zone.sets.push({ name: zoneName, type: 'SOA', ttl: 900, values: [`ns-1.awsdns-01.org. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400`] });
    zone.sets.push({ name: zoneName, type: 'NS', ttl: 172800, values: ['ns-1.awsdns-01.org.', 'ns-2.awsdns-02.co.uk.'] });
    this.zones.push(zone);
    return zone;
  }

  zone(zoneId: string): HostedZone {
    const bare = zoneId.replace(/^\/?hostedzone\//, '');
    const zone = this.zones.find((z) => z.id === bare);
    if (!zone) throw new Route53Error('NoSuchHostedZone', `No hosted zone found with ID: ${bare}`, 404);
    return zone;
  }

  /** ListHostedZonesByName: starts at `dnsName` (and `hostedZoneId` among same-named zones); not a filter. */
  listZonesByName(dnsName: string | undefined, hostedZoneId: string | undefined, maxItems: number) {
    if (hostedZoneId !== undefined && dnsName === undefined) {
      throw new Route53Error('InvalidInput', 'The input is not valid: hostedzoneid requires dnsname');
    }
    const sorted = [...this.zones].sort((a, b) => {
      const ka = reversedKey(a.name);
      const kb = reversedKey(b.name);
      return ka !== kb ? (ka < kb ? -1 : 1) : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
    });
    let start = 0;
    if (dnsName !== undefined) {
      const key = reversedKey(dnsName);
      start = sorted.findIndex((z) => {
        const k = reversedKey(z.name);
        return k > key || (k === key && (hostedZoneId === undefined || z.id >= hostedZoneId));
      });
      if (start < 0) start = sorted.length;
    }
    const page = sorted.slice(start, start + maxItems);
    const next = sorted[start + maxItems];
    return { zones: page, truncated: next !== undefined, nextDnsName: next?.name, nextZoneId: next?.id };
  }

  /** ListResourceRecordSets: starts at (name, type, identifier); not a filter. */
  listSets(zoneId: string, start: { name?: string; type?: string; identifier?: string }, maxItems: number) {
    const zone = this.zone(zoneId);
    if (start.type !== undefined && start.name === undefined) {
      throw new Route53Error('InvalidInput', 'The input is not valid: StartRecordType requires StartRecordName');
    }
    if (start.type !== undefined && !TYPES.has(start.type)) throw new Route53Error('InvalidInput', `Invalid type: ${start.type}`);
    if (start.identifier !== undefined && start.type === undefined) {
      throw new Route53Error('InvalidInput', 'The input is not valid: StartRecordIdentifier requires StartRecordType');
    }
    const sorted = [...zone.sets].sort(compareSets);
    let from = 0;
    if (start.name !== undefined) {
      const probe: RecordSet = {
        name: normalizeName(start.name),
        type: start.type ?? '',
        values: [],
        ...(start.identifier === undefined ? {} : { setIdentifier: start.identifier }),
      };
      from = sorted.findIndex((s) => compareSets(s, probe) >= 0);
      if (from < 0) from = sorted.length;
    }
    const page = sorted.slice(from, from + maxItems);
    const next = sorted[from + maxItems];
    return { sets: page, truncated: next !== undefined, next };
  }

  /** Applies a batch atomically; throws InvalidChangeBatch with every problem found, or returns PENDING ChangeInfo. */
  applyBatch(zoneId: string, changes: Change[], comment?: string): ChangeInfo {
    const zone = this.zone(zoneId);
    if (changes.length === 0) throw new Route53Error('InvalidInput', 'The input is not valid: ChangeBatch must contain at least one Change');
    if (changes.length > 1000) throw new Route53Error('InvalidChangeBatch', '[Number of records limit of 1000 exceeded.]');
    const working = zone.sets.map((s) => ({ ...s, values: [...s.values] }));
    const problems: string[] = [];
    for (const change of changes) {
      const problem = this.#validate(zone, change.set) ?? this.#apply(zone, working, change);
      if (problem) problems.push(problem);
    }
    if (problems.length > 0) throw new Route53Error('InvalidChangeBatch', `[${problems.join(', ')}]`);
    zone.sets.splice(0, zone.sets.length, ...working);
    const info: ChangeInfo = { id: id('C', 21), status: 'PENDING', submittedAt: new Date(), ...(comment ? { comment } : {}) };
    this.#changes.set(info.id, info);
    return info;
  }

  change(changeId: string): ChangeInfo {
    const bare = changeId.replace(/^\/?change\//, '');
    const info = this.#changes.get(bare);
    if (!info) throw new Route53Error('NoSuchChange', `A change with the specified change ID does not exist: ${bare}`, 404);
    if (info.status === 'PENDING' && Date.now() - info.submittedAt.getTime() >= this.insyncAfterMs) info.status = 'INSYNC';
    return info;
  }

  /** Record-level checks that do not depend on the current state. */
  #validate(zone: HostedZone, set: RecordSet): string | undefined {
    if (!(set.name === zone.name || set.name.endsWith(`.${zone.name}`))) {
      return `RRSet with DNS name ${set.name} is not permitted in zone ${zone.name}`;
    }
    if (set.type === 'TXT' || set.type === 'SPF') {
      for (const value of set.values) {
        const parsed = parseTxtValue(value);
        if (!parsed.ok) return txtProblemMessage(parsed.problem, value);
      }
    }
    const seen = new Set<string>();
    for (const value of set.values) {
      if (seen.has(value)) return `Duplicate Resource Record: '${value}'`;
      seen.add(value);
    }
    return undefined;
  }

  /** Applies one change to `working`; returns the problem message instead when it cannot apply. */
  #apply(zone: HostedZone, working: RecordSet[], change: Change): string | undefined {
    const { set } = change;
    const current = working.findIndex((s) => sameSet(s, set));
    const action = change.action;
    if (action === 'DELETE') {
      if (current < 0) return `Tried to delete resource record set ${describe(set)} but it was not found`;
      if (!sameContent(working[current]!, set)) return `Tried to delete resource record set ${describe(set)} but the values provided do not match the current values`;
      if (set.name === zone.name && (set.type === 'SOA' || set.type === 'NS')) {
        return `A HostedZone must contain at least one NS record for the zone itself.`;
      }
      working.splice(current, 1);
      return undefined;
    }
    if (action === 'CREATE' && current >= 0) return `Tried to create resource record set ${describe(set)} but it already exists`;
    const siblings = working.filter((s, i) => i !== current && s.name === set.name && s.type === set.type);
    const policy = policyOf(set);
    if (set.setIdentifier === undefined && siblings.length > 0) {
      return `RRSet with DNS name ${set.name}, type ${set.type} cannot be created as ${siblings[0]!.multiValueAnswer !== undefined ? 'multivalue answer' : 'weighted'} sets exist with the same name and type.`;
    }
    const simple = siblings.find((s) => s.setIdentifier === undefined);
    if (set.setIdentifier !== undefined && simple) {
      return `RRSet with DNS name ${set.name}, type ${set.type}, SetIdentifier ${set.setIdentifier} cannot be created as a non-${policy === 'multivalue' ? 'multivalue answer' : 'weighted'} set exists with the same name and type.`;
    }
    const otherPolicy = siblings.find((s) => policyOf(s) !== policy);
    if (otherPolicy) {
      return `RRSet with DNS name ${set.name}, type ${set.type}, SetIdentifier ${set.setIdentifier} cannot be created because a set with a different routing policy exists with the same name and type.`;
    }
    const copy = { ...set, values: [...set.values] };
    if (current >= 0) working[current] = copy;
    else working.push(copy);
    return undefined;
  }

  /** Structural check of one Change as parsed from XML (Route 53 answers InvalidInput for these). */
  static checkChange(change: Change): void {
    const { action, set } = change;
    if (!['CREATE', 'DELETE', 'UPSERT'].includes(action)) throw new Route53Error('InvalidInput', `Invalid action: ${action}`);
    if (!TYPES.has(set.type)) throw new Route53Error('InvalidInput', `Invalid XML ; Value '${set.type}' is not a valid RRType.`);
    if (set.ttl === undefined) throw new Route53Error('InvalidInput', `Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found none in Change with [Action=${action}, Name=${set.name}, Type=${set.type}, SetIdentifier=${set.setIdentifier ?? 'null'}]`);
    if (set.values.length === 0) throw new Route53Error('InvalidInput', `Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found none in Change with [Action=${action}, Name=${set.name}, Type=${set.type}, SetIdentifier=${set.setIdentifier ?? 'null'}]`);
    if (!Number.isInteger(set.ttl) || set.ttl < 0 || set.ttl > 2147483647) throw new Route53Error('InvalidInput', `Invalid XML ; TTL ${set.ttl} is out of range`);
    const hasPolicy = set.weight !== undefined || set.multiValueAnswer !== undefined;
    if (set.setIdentifier !== undefined && !hasPolicy) {
      throw new Route53Error('InvalidInput', `Invalid request: Missing field 'Weight' or 'MultiValueAnswer' in Change with [Action=${action}, Name=${set.name}, Type=${set.type}, SetIdentifier=${set.setIdentifier}]`);
    }
    if (set.setIdentifier === undefined && hasPolicy) {
      throw new Route53Error('InvalidInput', `Invalid request: Missing field 'SetIdentifier' in Change with [Action=${action}, Name=${set.name}, Type=${set.type}, SetIdentifier=null]`);
    }
  }

  /** Everything, for the control API's records dump. */
  dump() {
    return this.zones.map((z) => ({ id: z.id, name: z.name, private: z.private, sets: [...z.sets].sort(compareSets) }));
  }

  /** Removes every set except the apex SOA/NS (control API reset). */
  resetRecords(): void {
    for (const z of this.zones) z.sets = z.sets.filter((s) => s.name === z.name && (s.type === 'SOA' || s.type === 'NS'));
  }
}
