/**
 * The four Route 53 calls the solver makes, each tracked for metrics, bound to the challenge's abort signal,
 * and mapped to SolverError. Nothing else talks to the SDK.
 */
import type { Change, HostedZone, ResourceRecordSet, Route53Client } from '@aws-sdk/client-route-53';
import type { SolverContext } from '@dns01-webhook/core';
import { toSolverError } from './errors.js';

export type TxtSet = ResourceRecordSet;

/** Route 53 returns names with `\ddd` escapes for characters outside [a-z0-9-_.]; compare them decoded. */
export function decodeName(name: string): string {
  const decoded = name.replace(/\\(\d{3})/g, (_, d: string) => String.fromCharCode(parseInt(d, 8))).toLowerCase();
  return decoded.endsWith('.') ? decoded : `${decoded}.`;
}

export class Route53Api {
  constructor(
    private readonly client: Route53Client,
    private readonly ctx: SolverContext<unknown>,
  ) {}

  /** Mapped inside track(): the core's breaker sees which errors reject the credentials, and the deadline message names the last one. */
  private call<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return this.ctx.track(name, async () => {
      try {
        return await fn();
      } catch (err) {
        throw toSolverError(err, name);
      }
    });
  }

  /** One page of ListHostedZonesByName starting at `dnsName` (and `hostedZoneId`). */
  async listZonesByName(dnsName: string, hostedZoneId?: string): Promise<{ zones: HostedZone[]; nextDnsName?: string; nextZoneId?: string }> {
    const { ListHostedZonesByNameCommand } = await import('@aws-sdk/client-route-53');
    const out = await this.call('ListHostedZonesByName', () =>
      this.client.send(new ListHostedZonesByNameCommand({ DNSName: dnsName, ...(hostedZoneId ? { HostedZoneId: hostedZoneId } : {}), MaxItems: 100 }), {
        abortSignal: this.ctx.signal,
      }),
    );
    return {
      zones: out.HostedZones ?? [],
      ...(out.IsTruncated && out.NextDNSName ? { nextDnsName: out.NextDNSName } : {}),
      ...(out.IsTruncated && out.NextHostedZoneId ? { nextZoneId: out.NextHostedZoneId } : {}),
    };
  }

  /** Every TXT set named exactly `fqdn` (simple, or all SetIdentifier sets), following pagination. */
  async txtSets(zoneId: string, fqdn: string): Promise<TxtSet[]> {
    const { ListResourceRecordSetsCommand } = await import('@aws-sdk/client-route-53');
    const found: TxtSet[] = [];
    let identifier: string | undefined;
    // Listing starts at (name, type[, identifier]) and runs on through later names; stop once past ours.
    for (;;) {
      const out = await this.call('ListResourceRecordSets', () =>
        this.client.send(
          new ListResourceRecordSetsCommand({
            HostedZoneId: zoneId,
            StartRecordName: fqdn,
            StartRecordType: 'TXT',
            ...(identifier === undefined ? {} : { StartRecordIdentifier: identifier }),
            MaxItems: 100,
          }),
          { abortSignal: this.ctx.signal },
        ),
      );
      for (const set of out.ResourceRecordSets ?? []) {
        if (set.Type === 'TXT' && set.Name !== undefined && decodeName(set.Name) === fqdn) found.push(set);
      }
      const more = out.IsTruncated && out.NextRecordName !== undefined && decodeName(out.NextRecordName) === fqdn && out.NextRecordType === 'TXT' && out.NextRecordIdentifier;
      if (!more) return found;
      identifier = out.NextRecordIdentifier;
    }
  }

  /** One page (up to 300 sets) of the zone's listing, starting at (`fqdn`, TXT); `next` = where the next page starts. */
  async listPage(zoneId: string, fqdn: string): Promise<{ sets: TxtSet[]; next?: { name: string; type: string; identifier?: string } }> {
    const { ListResourceRecordSetsCommand } = await import('@aws-sdk/client-route-53');
    const out = await this.call('ListResourceRecordSets', () =>
      this.client.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId, StartRecordName: fqdn, StartRecordType: 'TXT', MaxItems: 300 }), {
        abortSignal: this.ctx.signal,
      }),
    );
    const sets = out.ResourceRecordSets ?? [];
    if (!out.IsTruncated || out.NextRecordName === undefined) return { sets };
    return {
      sets,
      next: { name: out.NextRecordName, type: out.NextRecordType ?? '', ...(out.NextRecordIdentifier ? { identifier: out.NextRecordIdentifier } : {}) },
    };
  }

  /** One atomic change batch. */
  async change(zoneId: string, changes: Change[], comment: string): Promise<void> {
    const { ChangeResourceRecordSetsCommand } = await import('@aws-sdk/client-route-53');
    await this.call('ChangeResourceRecordSets', () =>
      this.client.send(new ChangeResourceRecordSetsCommand({ HostedZoneId: zoneId, ChangeBatch: { Comment: comment, Changes: changes } }), {
        abortSignal: this.ctx.signal,
      }),
    );
  }
}
