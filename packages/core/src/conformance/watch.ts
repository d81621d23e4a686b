/** Polls one nameserver until the TXT values at a name satisfy a condition, as cert-manager's check does. */
import { queryTxt, type TxtResult } from '../dns/client.js';

export interface WatchOptions {
  nameserver: string;
  pollIntervalMs: number;
  timeoutMs: number;
}

/** The nameserver itself is wrong (not slow): polling longer cannot help. */
class NameserverError extends Error {}

export function describeAnswer(res: TxtResult | undefined): string {
  if (!res) return 'no answer';
  return `${res.rcode}${res.authoritative ? '' : ' (not authoritative)'}, values ${JSON.stringify(res.values)}`;
}

/** Resolves with the matching answer; throws `expected <what>, but ...` with the last answer seen. */
export async function waitForTxt(fqdn: string, what: string, ok: (values: string[]) => boolean, opts: WatchOptions): Promise<TxtResult> {
  const started = Date.now();
  let last: TxtResult | undefined;
  let lastError: Error | undefined;
  for (;;) {
    try {
      last = await queryTxt(fqdn, { server: opts.nameserver, timeoutMs: Math.min(5000, Math.max(opts.timeoutMs, 500)) });
      lastError = undefined;
      // A server that refuses or fails is misconfigured, not slow: waiting would only hide that.
      if (last.rcode === 'REFUSED' || last.rcode === 'SERVFAIL' || last.rcode === 'NOTIMP') {
        throw new NameserverError(`nameserver ${opts.nameserver} answered ${last.rcode} for ${fqdn}: is it authoritative for the zone?`);
      }
      if (ok(last.values)) return last;
    } catch (err) {
      if (err instanceof NameserverError) throw err;
      lastError = err as Error;
    }
    const elapsed = Date.now() - started;
    if (elapsed >= opts.timeoutMs) {
      const seen = lastError ? `the last query failed: ${lastError.message}` : `DNS showed ${describeAnswer(last)}`;
      throw new Error(`expected ${what} at ${fqdn} (nameserver ${opts.nameserver}) within ${opts.timeoutMs} ms, but ${seen}`);
    }
    await new Promise((r) => setTimeout(r, Math.min(opts.pollIntervalMs, opts.timeoutMs - elapsed)));
  }
}
