/**
 * Which hosted zone holds the TXT name: `hostedZoneID` when configured, else the longest public zone whose
 * name is a suffix of the FQDN. ListHostedZonesByName lists zones in (reversed-label) order *starting at*
 * the name given — it is not a filter — so each candidate (resolvedZone, then its parents) gets one lookup
 * that keeps only exact, public matches. Zone ids (not record ids) are cached in memory for a few minutes,
 * keyed by the credentials' identity, because two issuers may see different accounts.
 */
import { SolverError, unFqdn, zoneCandidates } from '@dns01-webhook/core';
import { decodeName, type Route53Api } from './api.js';

const CACHE_TTL_MS = 5 * 60_000;
const cache = new Map<string, { id: string; expires: number }>();

/** For tests: forget cached zone ids. */
export function clearZoneCache(): void {
  cache.clear();
}

const bareId = (id: string) => id.replace(/^\/hostedzone\//, '');

async function publicZonesNamed(api: Route53Api, name: string): Promise<string[]> {
  const ids: string[] = [];
  let zoneId: string | undefined;
  for (;;) {
    const page = await api.listZonesByName(name, zoneId);
    for (const z of page.zones) {
      if (z.Name !== undefined && decodeName(z.Name) === name && z.Config?.PrivateZone !== true && z.Id) ids.push(bareId(z.Id));
    }
    // Same-named zones may continue on the next page; anything else there sorts after ours.
    if (page.nextDnsName === undefined || decodeName(page.nextDnsName) !== name) return ids;
    zoneId = page.nextZoneId;
  }
}

export async function findZoneId(api: Route53Api, fqdn: string, resolvedZone: string, identity: string, endpoint: string): Promise<string> {
  const candidates = zoneCandidates(fqdn, resolvedZone);
  const key = `${endpoint}|${identity}|${fqdn}`;
  const hit = cache.get(key);
  if (hit && hit.expires > Date.now()) return hit.id;
  for (const candidate of candidates) {
    const ids = await publicZonesNamed(api, candidate);
    if (ids.length > 1) {
      throw new SolverError(
        `route53: several public hosted zones are named ${candidate} (${ids.join(', ')}); set hostedZoneID to the one delegated from the parent zone`,
        { code: 'AmbiguousHostedZone' },
      );
    }
    if (ids.length === 1) {
      cache.set(key, { id: ids[0]!, expires: Date.now() + CACHE_TTL_MS });
      return ids[0]!;
    }
  }
  throw new SolverError(
    `route53: no public hosted zone for ${unFqdn(fqdn)} visible to these credentials (looked for ${candidates.map(unFqdn).join(', ')}); check the account, or set hostedZoneID`,
    { code: 'NoSuchHostedZone' },
  );
}
