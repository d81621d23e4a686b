/**
 * Finds the Cloudflare zone that holds a name: walks `resolvedZone` and its parents (never a bare TLD)
 * with `GET /zones?name=`, most specific first. A token without Zone:Read on a zone does not see it at all,
 * so "not found" names every candidate tried and the permission it takes.
 */
import { unFqdn, zoneCandidates } from '@dns01-webhook/core';
import type { Cloudflare } from 'cloudflare';
import { SolverError } from '@dns01-webhook/core';
import { toSolverError } from './errors.js';
import type { CloudflareAuth } from './client.js';

export interface ZoneRef {
  id: string;
  name: string;
}

export async function findZone(
  client: Cloudflare,
  fqdn: string,
  resolvedZone: string,
  auth: CloudflareAuth,
  call: <T>(name: string, fn: () => Promise<T>) => Promise<T>,
): Promise<ZoneRef> {
  const candidates = zoneCandidates(fqdn, resolvedZone).map(unFqdn);
  for (const name of candidates) {
    const page = await call('ListZones', async () => {
      try {
        return await client.zones.list({ name, per_page: 5 });
      } catch (err) {
        throw toSolverError(err, `looking up zone ${name}`);
      }
    });
    const zone = page.result.find((z) => z.name.toLowerCase() === name.toLowerCase());
    if (zone) return { id: zone.id, name: zone.name };
  }
  const who =
    auth.kind === 'token'
      ? 'the API token needs Zone:Zone:Read (and Zone:DNS:Edit) on the zone — a token without it sees no zone'
      : `the account ${auth.email} has no such zone`;
  throw new SolverError(
    `cloudflare: no zone found for ${fqdn}: tried ${candidates.join(', ')} with GET /zones?name=; ${who}`,
    { code: 'ZoneNotFound' },
  );
}
