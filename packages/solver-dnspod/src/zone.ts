/**
 * Which DNSPod domain hosts a name: `resolvedZone` first, then its parents (a sub-zone may be registered as
 * a domain of its own, or live as plain records inside its parent). DescribeDomain answers
 * DomainNotExists for an unknown name and DomainInvalid for a name inside a registered domain; both mean
 * "not this one, try the parent".
 */
import { SolverError, unFqdn, zoneCandidates } from '@dns01-webhook/core';
import type { DnspodApi } from './client.js';
import { codeOf } from './errors.js';

export interface DnspodDomain {
  id: number;
  /** As DNSPod shows it (Unicode for an IDN). */
  name: string;
  /** ASCII (punycode), lower-case, no trailing dot: what names are compared in. */
  ascii: string;
  grade?: string;
}

const NOT_THIS_DOMAIN = new Set([
  'InvalidParameterValue.DomainNotExists',
  'InvalidParameter.DomainInvalid',
  'InvalidParameter.DomainIdInvalid',
  'ResourceNotFound.NoDataOfDomain',
]);

interface DomainInfo {
  DomainId?: number;
  Domain?: string;
  Punycode?: string;
  Grade?: string;
}

export async function findDomain(api: DnspodApi, fqdn: string, resolvedZone: string): Promise<DnspodDomain> {
  const candidates = zoneCandidates(fqdn, resolvedZone).map(unFqdn);
  for (const candidate of candidates) {
    try {
      const { DomainInfo: info } = await api.call<{ DomainInfo?: DomainInfo }>('DescribeDomain', { Domain: candidate }, { domain: candidate });
      if (!info || typeof info.DomainId !== 'number') continue;
      return {
        id: info.DomainId,
        name: info.Domain ?? candidate,
        ascii: (info.Punycode || candidate).toLowerCase(),
        grade: info.Grade,
      };
    } catch (err) {
      if (!NOT_THIS_DOMAIN.has(codeOf(err) ?? '')) throw err;
    }
  }
  const visible = await visibleDomains(api);
  throw new SolverError(
    `no DNSPod domain hosts ${fqdn}: tried ${candidates.join(', ') || '(no candidates)'}; ` +
      `this API key sees ${visible}. Add the domain to DNSPod, or use a key of the account that owns it`,
    { code: 'DomainNotFound' },
  );
}

/** Best effort, for the error message only. */
async function visibleDomains(api: DnspodApi): Promise<string> {
  try {
    const res = await api.call<{ DomainList?: Array<{ Name?: string; Punycode?: string }> }>('DescribeDomainList', { Limit: 20 });
    const names = (res.DomainList ?? []).map((d) => d.Name ?? d.Punycode ?? '?');
    return names.length ? `[${names.join(', ')}]` : 'no domains';
  } catch (err) {
    return `(could not list domains: ${codeOf(err) ?? (err as Error).message})`;
  }
}
