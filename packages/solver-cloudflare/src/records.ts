/**
 * The three record calls (list / add / remove) on one zone, for the core's record-solver derivation.
 * Names go to the API absolute without the trailing dot (`_acme-challenge.example.com`), values unquoted —
 * what cert-manager's built-in provider sends; what the list returns is compared with quotes normalised.
 */
import { toFqdn, unFqdn, type RecordApi, type TxtRecord } from '@dns01-webhook/core';
import type { Cloudflare } from 'cloudflare';
import { toSolverError } from './errors.js';
import { txtValue } from './quote.js';
import type { ZoneRef } from './zone.js';

/** Large pages: a name rarely has more than a few TXT values, and each page costs quota (1200 / 5 min). */
const PER_PAGE = 100;

export interface RecordCallOptions {
  ttl: number;
  /** Per-request options: the challenge's abort signal and a timeout inside its deadline. */
  request: () => { signal: AbortSignal; timeout: number };
  call: <T>(name: string, fn: () => Promise<T>) => Promise<T>;
}

export function cloudflareRecords(client: Cloudflare, zone: ZoneRef, opts: RecordCallOptions): RecordApi {
  const apiName = (fqdn: string) => unFqdn(toFqdn(fqdn));
  return {
    async list(target) {
      const name = apiName(target.fqdn);
      const what = `listing TXT records at ${name} in zone ${zone.name}`;
      const guard = async <T>(fn: () => Promise<T>) => {
        try {
          return await fn();
        } catch (err) {
          throw toSolverError(err, what, undefined, 'zone');
        }
      };
      let page = await opts.call('ListDnsRecords', () =>
        guard(() => client.dns.records.list({ zone_id: zone.id, type: 'TXT', name: { exact: name }, per_page: PER_PAGE }, opts.request())),
      );
      const found: TxtRecord[] = [];
      for (;;) {
        for (const r of page.result) {
          // The filter asked for TXT at exactly this name; check anyway rather than delete a stranger.
          if (r.type !== 'TXT' || r.name.toLowerCase() !== name || typeof r.content !== 'string') continue;
          found.push({ value: txtValue(r.content), id: r.id, meta: { content: r.content } });
        }
        // total_pages saves the extra request for the empty page the SDK would otherwise fetch to stop.
        const info = page.result_info as { page?: number; total_pages?: number };
        if (typeof info.page === 'number' && typeof info.total_pages === 'number' && info.page >= info.total_pages) break;
        if (!page.hasNextPage()) break;
        const current = page;
        page = await opts.call('ListDnsRecords', () => guard(() => current.getNextPage()));
      }
      return found;
    },

    async add(target, value) {
      const name = apiName(target.fqdn);
      await opts.call('CreateDnsRecord', async () => {
        try {
          await client.dns.records.create({ zone_id: zone.id, type: 'TXT', name, content: value, ttl: opts.ttl }, opts.request());
        } catch (err) {
          throw toSolverError(err, `creating TXT ${name} (ttl ${opts.ttl}) in zone ${zone.name}`, 'exists', 'zone');
        }
      });
    },

    async remove(target, record) {
      const name = apiName(target.fqdn);
      await opts.call('DeleteDnsRecord', async () => {
        try {
          await client.dns.records.delete(record.id!, { zone_id: zone.id }, opts.request());
        } catch (err) {
          throw toSolverError(err, `deleting TXT record ${record.id} at ${name} in zone ${zone.name}`, 'not-found', 'zone');
        }
      });
    },
  };
}
