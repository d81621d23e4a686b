/**
 * The emulator's account: registered domains (a sub-zone can be a domain of its own, as DNSPod allows) and
 * their records. Names are kept in ASCII (punycode) and shown in Unicode where DNSPod shows the "original
 * form" (DescribeDomain's Domain, DescribeRecordList's Name).
 */
import { domainToASCII, domainToUnicode } from 'node:url';

export interface DomainSpec {
  /** Domain name, ASCII or Unicode, without trailing dot. */
  name: string;
  /** Plan code; DP_FREE (the default) allows TTL ≥ 600. */
  grade?: string;
  /** Smallest TTL the plan accepts (default 600 for DP_FREE, 1 for paid plans). */
  minTtl?: number;
}

export interface DomainEntry {
  id: number;
  /** Unicode ("original") form. */
  name: string;
  /** ASCII form, lower-case, no trailing dot. */
  punycode: string;
  grade: string;
  minTtl: number;
  createdOn: string;
}

export interface RecordEntry {
  id: number;
  domainId: number;
  /** Host relative to the domain in ASCII, `@` for the apex. */
  name: string;
  type: string;
  line: string;
  lineId: string;
  value: string;
  ttl: number;
  status: 'ENABLE' | 'DISABLE';
  updatedOn: string;
  /** Epoch ms of creation: DescribeRecordList only shows records once DNSPod's index has them. */
  createdAt: number;
  /** The two NS records DNSPod adds to every domain (DefaultNS). */
  defaultNs?: boolean;
}

export const DEFAULT_LINE = '默认';
export const DEFAULT_LINE_ID = '0';

/** ASCII, lower-case, no trailing dot; '' when the name is not a valid host name. */
export function toAscii(name: string): string {
  const trimmed = name.trim().replace(/\.+$/, '');
  if (trimmed === '' || trimmed === '@') return trimmed;
  return trimmed
    .split('.')
    .map((label) => (/^[\x00-\x7f]*$/.test(label) ? label.toLowerCase() : domainToASCII(label)))
    .join('.');
}

/** Unicode form of an ASCII host/label sequence (labels that are not punycode stay as they are). */
export function toUnicode(ascii: string): string {
  return ascii
    .split('.')
    .map((label) => (label.startsWith('xn--') ? domainToUnicode(label) || label : label))
    .join('.');
}

function now(): string {
  return new Date().toISOString().replace('T', ' ').slice(0, 19);
}

export class DnspodStore {
  readonly domains: DomainEntry[] = [];
  readonly records: RecordEntry[] = [];
  #nextDomainId = 1001;
  #nextRecordId = 500_001;

  addDomain(spec: DomainSpec | string): DomainEntry {
    const s = typeof spec === 'string' ? { name: spec } : spec;
    const punycode = toAscii(s.name);
    if (!punycode || !punycode.includes('.')) throw new Error(`invalid domain ${s.name}`);
    const existing = this.domains.find((d) => d.punycode === punycode);
    if (existing) return existing;
    const grade = s.grade ?? 'DP_FREE';
    const entry: DomainEntry = {
      id: this.#nextDomainId++,
      name: toUnicode(punycode),
      punycode,
      grade,
      minTtl: s.minTtl ?? (grade === 'DP_FREE' ? 600 : 1),
      createdOn: now(),
    };
    this.domains.push(entry);
    for (const ns of ['f1g1ns1.dnspod.net.', 'f1g1ns2.dnspod.net.']) {
      this.records.push({
        id: this.#nextRecordId++, domainId: entry.id, name: '@', type: 'NS', line: DEFAULT_LINE, lineId: DEFAULT_LINE_ID,
        value: ns, ttl: 86400, status: 'ENABLE', updatedOn: now(), createdAt: 0, defaultNs: true,
      });
    }
    return entry;
  }

  domainByName(name: string): DomainEntry | undefined {
    const ascii = toAscii(name);
    return this.domains.find((d) => d.punycode === ascii);
  }

  domainById(id: number): DomainEntry | undefined {
    return this.domains.find((d) => d.id === id);
  }

  /** True when `name` lies strictly inside some registered domain (DNSPod then says DomainInvalid). */
  isInsideRegistered(name: string): boolean {
    const ascii = toAscii(name);
    return this.domains.some((d) => ascii.endsWith(`.${d.punycode}`));
  }

  recordsOf(domainId: number): RecordEntry[] {
    return this.records.filter((r) => r.domainId === domainId);
  }

  addRecord(r: Omit<RecordEntry, 'id' | 'updatedOn' | 'createdAt'>): RecordEntry {
    const entry = { ...r, id: this.#nextRecordId++, updatedOn: now(), createdAt: Date.now() };
    this.records.push(entry);
    return entry;
  }

  deleteRecord(domainId: number, id: number): boolean {
    const i = this.records.findIndex((r) => r.domainId === domainId && r.id === id);
    if (i < 0) return false;
    this.records.splice(i, 1);
    return true;
  }

  /** Records users created (not the default NS ones), for the control API and test assertions. */
  dump(): Array<{ domain: string; id: number; name: string; fqdn: string; type: string; line: string; value: string; ttl: number }> {
    return this.records
      .filter((r) => !r.defaultNs)
      .map((r) => {
        const d = this.domainById(r.domainId)!;
        return {
          domain: d.punycode, id: r.id, name: r.name, fqdn: r.name === '@' ? `${d.punycode}.` : `${r.name}.${d.punycode}.`,
          type: r.type, line: r.line, value: r.value, ttl: r.ttl,
        };
      });
  }

  clearRecords(): void {
    for (let i = this.records.length - 1; i >= 0; i--) if (!this.records[i]!.defaultNs) this.records.splice(i, 1);
  }

  /** The domain that answers for `fqdn` in DNS: the longest registered suffix (a sub-zone shadows its parent). */
  authoritativeFor(fqdnAscii: string): DomainEntry | undefined {
    const name = fqdnAscii.replace(/\.$/, '');
    let best: DomainEntry | undefined;
    for (const d of this.domains) {
      if ((name === d.punycode || name.endsWith(`.${d.punycode}`)) && (!best || d.punycode.length > best.punycode.length)) best = d;
    }
    return best;
  }

  /** Enabled TXT values at an absolute ASCII name, as the authoritative server would serve them. */
  txtAt(fqdnAscii: string): RecordEntry[] {
    const d = this.authoritativeFor(fqdnAscii);
    if (!d) return [];
    const name = fqdnAscii.replace(/\.$/, '');
    const host = name === d.punycode ? '@' : name.slice(0, name.length - d.punycode.length - 1);
    return this.records.filter((r) => r.domainId === d.id && r.type === 'TXT' && r.name === host && r.status === 'ENABLE');
  }
}
