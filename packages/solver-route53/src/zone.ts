/**
 * Which hosted zone holds the TXT name: `hostedZoneID` when configured, else the longest public zone whose
 * name is a suffix of the FQDN. ListHostedZonesByName lists zones in (reversed-label) order *starting at*
 * the name given — it is not a filter — so each candidate (resolvedZone, then its parents) gets one lookup
 * that keeps only exact, public matches. The core caches the answer per credential (ctx.cachedZone in index.ts).
 */
import { SolverError, unFqdn, zoneCandidates } from '@dns01-webhook/core';
import { decodeName, type Route53Api } from './api.js';

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

export async function findZoneId(api: Route53Api, fqdn: string, resolvedZone: string): Promise<string> {
  const candidates = zoneCandidates(fqdn, resolvedZone);
  for (const candidate of candidates) {
    const ids = await publicZonesNamed(api, candidate);
    if (ids.length > 1) {
      throw new SolverError(
        `route53: several public hosted zones are named ${candidate} (${ids.join(', ')}); set hostedZoneID to the one delegated from the parent zone`,
        { code: 'AmbiguousHostedZone' },
      );
    }
    if (ids.length === 1) return ids[0]!;
  }
  throw new SolverError(
    `route53: no public hosted zone for ${unFqdn(fqdn)} visible to these credentials (looked for ${candidates.map(unFqdn).join(', ')}); check the account, or set hostedZoneID`,
    { code: 'NoSuchHostedZone' },
  );
}
