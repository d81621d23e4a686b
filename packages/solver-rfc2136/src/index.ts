/**
 * `rfc2136` solver: TXT records through RFC 2136 dynamic updates signed with TSIG (RFC 8945), for
 * self-hosted authoritative servers (BIND, Knot, PowerDNS, Windows DNS). Config is cert-manager's built-in
 * `rfc2136` block (config.ts).
 *
 * The protocol does what record APIs need a list for: Present is one UPDATE adding the RR (a server ignores a
 * duplicate, RFC 2136 §3.4.2.2, so it is idempotent), CleanUp is one UPDATE deleting exactly that RR
 * (class NONE, §2.5.4: other values at the name stay; deleting a missing RR is a no-op, so "already gone" is
 * success). Both are atomic on the server, so concurrent challenges need no locking and no state is kept.
 */
import { defineSolver, querySoa, SolverError, withRetry, type ChallengeRequest, type SolverCheck, type SolverContext } from '@dns01-webhook/core';
import { DEFAULT_ALGORITHM, rfc2136ConfigSchema, type Rfc2136Config } from './config.js';
import { querySoaSigned, sendUpdate, UpdateError, type UpdateOptions } from './update.js';
import type { TsigKey } from './tsig.js';
import { CLASS, TYPE, txtRdata, type ResourceRecord } from './wire.js';

export { rfc2136ConfigSchema, DEFAULT_TTL, DEFAULT_ALGORITHM, type Rfc2136Config } from './config.js';
export { querySoaSigned, sendUpdate, UpdateError, type UpdateOptions } from './update.js';
export { TSIG_ALGORITHMS, type TsigAlgorithm, type TsigKey } from './tsig.js';

/** One exchange may take at most this long, so a lost datagram still leaves time for a retry. */
const MAX_EXCHANGE_MS = 10_000;
/** Kept free at the end of the deadline to answer cert-manager. */
const DEADLINE_MARGIN_MS = 250;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

async function tsigKey(config: Rfc2136Config, ctx: SolverContext<Rfc2136Config>): Promise<TsigKey | undefined> {
  if (!config.tsigKeyName || !config.tsigSecretSecretRef) return undefined;
  const ref = config.tsigSecretSecretRef;
  const text = (await ctx.secrets.get(ref)).replace(/\s+/g, '');
  if (text === '' || !BASE64.test(text) || text.length % 4 === 1) {
    throw new SolverError(
      `rfc2136: Secret ${ctx.secrets.namespace}/${ref.name} key "${ref.key}" is not a base64 TSIG secret (as in BIND's secret "..." or Knot's secret:)`,
      { code: 'InvalidSecret' },
    );
  }
  return { name: config.tsigKeyName, algorithm: config.tsigAlgorithm ?? DEFAULT_ALGORITHM, secret: Buffer.from(text, 'base64') };
}

/** One exchange with the server; its timeout is computed per attempt, from what is left of the deadline. */
function exchangeOptions(request: ChallengeRequest, ctx: SolverContext<Rfc2136Config>, key: TsigKey | undefined): UpdateOptions {
  return {
    nameserver: ctx.config.nameserver,
    zone: request.resolvedZone,
    ...(key ? { key } : {}),
    protocol: ctx.config.protocol ?? 'UDP',
    timeoutMs: Math.max(1, Math.min(MAX_EXCHANGE_MS, ctx.deadline - Date.now() - DEADLINE_MARGIN_MS)),
    signal: ctx.signal,
  };
}

/** For NOTAUTH/NOTZONE: which zone the server itself says holds the name, to tell the user what to fix. */
async function zoneHint(request: ChallengeRequest, nameserver: string, ctx: SolverContext<Rfc2136Config>): Promise<string> {
  try {
    const { soa, authoritative } = await querySoa(request.resolvedFQDN, { server: nameserver, timeoutMs: 2000, signal: ctx.signal });
    if (!soa || !authoritative) return `; ${nameserver} serves no zone containing ${request.resolvedFQDN}: point nameserver at the zone's primary server`;
    if (soa.zone === request.resolvedZone.toLowerCase()) return `; ${nameserver} does serve zone ${soa.zone}, so it denied the update`;
    return `; ${nameserver} serves ${request.resolvedFQDN} in zone ${soa.zone}, not ${request.resolvedZone}: check the zone cert-manager resolved (SOA records, delegations)`;
  } catch {
    return '';
  }
}

async function change(request: ChallengeRequest, ctx: SolverContext<Rfc2136Config>, action: 'add' | 'delete'): Promise<void> {
  const config = ctx.config;
  const key = await tsigKey(config, ctx);
  const rr: ResourceRecord =
    action === 'add'
      ? { name: request.resolvedFQDN, type: TYPE.TXT, class: CLASS.IN, ttl: config.ttl, rdata: txtRdata(request.key) }
      : // Delete an RR from an RRset: class NONE, TTL 0, the exact RDATA.
        { name: request.resolvedFQDN, type: TYPE.TXT, class: CLASS.NONE, ttl: 0, rdata: txtRdata(request.key) };
  const call = action === 'add' ? 'UpdateAdd' : 'UpdateDelete';
  try {
    const result = await withRetry(
      () => ctx.track(call, () => sendUpdate([rr], exchangeOptions(request, ctx, key))),
      {
        signal: ctx.signal,
        deadline: ctx.deadline,
        onRetry: (err, attempt, waitMs) => ctx.log.warn({ call, attempt, waitMs, err: (err as Error).message }, 'update failed, retrying'),
      },
    );
    ctx.log.debug({ fqdn: request.resolvedFQDN, zone: request.resolvedZone, overTcp: result.overTcp }, `rfc2136 ${action} applied`);
  } catch (err) {
    if (err instanceof UpdateError && err.skewSeconds !== undefined) {
      ctx.log.warn({ nameserver: config.nameserver, skewSeconds: err.skewSeconds }, 'TSIG BADTIME: the server\'s clock minus this host\'s');
    }
    if (err instanceof UpdateError && (err.rcode === 'NOTAUTH' || err.rcode === 'NOTZONE')) {
      throw new UpdateError(`${err.message}${await zoneHint(request, config.nameserver, ctx)}`, err.rcode);
    }
    throw err;
  }
}

/** Read-only (doctor): a signed SOA query proves the key (the server checks TSIG on queries too) and finds the zone. */
async function check(request: ChallengeRequest, ctx: SolverContext<Rfc2136Config>): Promise<SolverCheck> {
  const config = ctx.config;
  const key = await tsigKey(config, ctx);
  const answer = await withRetry(
    () => ctx.track('QuerySOA', () => querySoaSigned(request.resolvedFQDN, exchangeOptions(request, ctx, key))),
    { signal: ctx.signal, deadline: ctx.deadline },
  );
  if (!answer.zone || !answer.authoritative) {
    throw new SolverError(`rfc2136: ${config.nameserver} is not authoritative for ${request.resolvedFQDN} (SOA query answered ${answer.rcode}): point nameserver at the zone's primary server`, {
      code: answer.rcode,
    });
  }
  const signed = key ? `, signed with TSIG key "${key.name}" (${key.algorithm}) and verified` : ', unsigned';
  return { zone: answer.zone, detail: `${config.nameserver} is authoritative for ${request.resolvedFQDN} in zone ${answer.zone} (SOA query${signed})` };
}

export const rfc2136Solver = defineSolver<Rfc2136Config>({
  name: 'rfc2136',
  config: rfc2136ConfigSchema,
  description: 'RFC 2136 dynamic update with TSIG (BIND, Knot, PowerDNS, Windows DNS)',
  present: (request, ctx) => change(request, ctx, 'add'),
  cleanUp: (request, ctx) => change(request, ctx, 'delete'),
  check,
});

export default rfc2136Solver;
