/**
 * Route 53 change batching. Route 53 allows 5 requests/s per account, and every Present or CleanUp is a
 * read + a compare-and-swap write of the name's TXT set (rrset.ts). In a storm (hundreds of certificates
 * renewing at once) that is two calls per challenge. Here, changes to one hosted zone that arrive within a
 * short window — and all that arrive while the zone's previous batch is out — go out as ONE
 * ChangeResourceRecordSets:
 *   - different names side by side in the batch, each as its own DELETE(exact)+CREATE pair (the CAS);
 *   - several values for the same name (a wildcard and its apex share one) merged into one CAS of the set;
 *   - the sets are read with as few ListResourceRecordSets as the zone's order allows (one listing covers
 *     every wanted name up to 300 sets), falling back to one read per name on a retry;
 *   - within Route 53's limits per request: 1,000 ResourceRecord elements and 32,000 characters of values
 *     (API reference, ChangeResourceRecordSets);
 *   - the batch is atomic, so a batch that fails for a reason other than a lost race or throttling is split
 *     in halves and retried, down to one name, then one challenge: one bad change cannot fail the others.
 *
 * Present does not wait for INSYNC. cert-manager checks propagation itself against the authoritative servers
 * before it asks the CA to validate, so INSYNC adds nothing to correctness; polling GetChange would spend the
 * account's 5 requests/s that the batches are saving, and INSYNC can take up to ~60 s — longer than
 * kube-apiserver's request budget.
 */
import type { Change, ResourceRecordSet } from '@aws-sdk/client-route-53';
import { SolverError, logRetries, withRetry, type CoalesceEntry, type Logger, type SolverContext } from '@dns01-webhook/core';
import { decodeName, type Route53Api } from './api.js';
import { isConflict } from './errors.js';
import { cleanUpChanges, exact, presentChanges, quoteTxt, unquoteTxt, type Target } from './rrset.js';

/** Per ChangeResourceRecordSets request (API reference). */
export const MAX_RESOURCE_RECORDS = 1000;
export const MAX_VALUE_CHARS = 32_000;

export interface EditItem {
  target: Target;
  action: 'Present' | 'CleanUp';
  api: Route53Api;
  ctx: SolverContext<unknown>;
}

type Entry = CoalesceEntry<EditItem, void>;

/** Route 53's listing order: labels reversed (`www.example.com.` → `com.example.www.`). */
export function listingKey(fqdn: string): string {
  return `${fqdn.replace(/\.$/, '').split('.').reverse().join('.')}.`;
}

/** One name's part of a batch: the changes (a CAS pair, or the multivalue sets) and the entries it settles. */
interface Unit {
  fqdn: string;
  changes: Change[];
  entries: Entry[];
}

/** The TXT sets of each wanted name, read with one listing per run of names the zone's order allows. */
async function readSets(api: Route53Api, zoneId: string, names: string[], perName: boolean): Promise<Map<string, ResourceRecordSet[]>> {
  const out = new Map<string, ResourceRecordSet[]>(names.map((n) => [n, []]));
  if (perName) {
    for (const name of names) out.set(name, await api.txtSets(zoneId, name));
    return out;
  }
  let remaining = [...names].sort((a, b) => (listingKey(a) < listingKey(b) ? -1 : listingKey(a) > listingKey(b) ? 1 : 0));
  while (remaining.length > 0) {
    const start = remaining[0]!;
    const page = await api.listPage(zoneId, start);
    for (const set of page.sets) {
      if (set.Type !== 'TXT' || set.Name === undefined) continue;
      const name = decodeName(set.Name);
      if (out.has(name)) out.get(name)!.push(set);
    }
    if (!page.next) break;
    // Names before where the next page starts are complete; a name split across pages is read on its own.
    const nextKey = listingKey(decodeName(page.next.name));
    const done = (n: string) => listingKey(n) < nextKey || (listingKey(n) === nextKey && page.next!.type > 'TXT');
    const split = remaining.filter((n) => listingKey(n) === nextKey && page.next!.type === 'TXT');
    for (const n of split) out.set(n, await api.txtSets(zoneId, n));
    remaining = remaining.filter((n) => !done(n) && !split.includes(n));
  }
  return out;
}

/** The changes one name needs for all its entries, applied in arrival order. */
function unitFor(fqdn: string, sets: ResourceRecordSet[], entries: Entry[]): Unit {
  const builtIn = sets.some((s) => s.SetIdentifier !== undefined);
  if (builtIn || entries.length === 1) {
    // cert-manager's built-in style (one set per value) or a lone entry: rrset.ts decides, per entry.
    const changes: Change[] = [];
    const seen = new Set<string>();
    for (const e of entries) {
      const key = `${e.item.action}|${e.item.target.key}`;
      if (seen.has(key)) continue;
      seen.add(key);
      changes.push(...(e.item.action === 'Present' ? presentChanges(sets, e.item.target) : cleanUpChanges(sets, e.item.target)));
    }
    return { fqdn, changes, entries };
  }
  const current = sets[0];
  const values = (current?.ResourceRecords ?? []).map((r) => r.Value ?? '');
  let next = [...values];
  for (const e of entries) {
    const key = e.item.target.key;
    const has = next.some((v) => unquoteTxt(v) === key);
    if (e.item.action === 'Present' && !has) next.push(quoteTxt(key));
    if (e.item.action === 'CleanUp' && has) next = next.filter((v) => unquoteTxt(v) !== key);
  }
  const changed = next.length !== values.length || next.some((v, i) => v !== values[i]);
  if (!changed) return { fqdn, changes: [], entries };
  const ttl = entries[0]!.item.target.ttl;
  const changes: Change[] = [];
  if (current) changes.push({ Action: 'DELETE', ResourceRecordSet: exact(current) });
  if (next.length > 0) {
    const base: ResourceRecordSet = current ? exact(current) : { Name: fqdn, Type: 'TXT', TTL: ttl };
    changes.push({ Action: 'CREATE', ResourceRecordSet: { ...base, ResourceRecords: next.map((Value) => ({ Value })) } });
  }
  return { fqdn, changes, entries };
}

function sizeOf(unit: Unit): { records: number; chars: number } {
  let records = 0;
  let chars = 0;
  for (const c of unit.changes) {
    for (const r of c.ResourceRecordSet?.ResourceRecords ?? []) {
      records += 1;
      chars += (r.Value ?? '').length;
    }
  }
  return { records, chars };
}

/** Units packed into requests within the per-request limits (a unit is never split: it is one CAS). */
export function pack(units: Unit[]): Unit[][] {
  const batches: Unit[][] = [];
  let current: Unit[] = [];
  let records = 0;
  let chars = 0;
  for (const unit of units) {
    const size = sizeOf(unit);
    if (current.length > 0 && (records + size.records > MAX_RESOURCE_RECORDS || chars + size.chars > MAX_VALUE_CHARS)) {
      batches.push(current);
      current = [];
      records = 0;
      chars = 0;
    }
    current.push(unit);
    records += size.records;
    chars += size.chars;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

const settleAll = (units: Unit[], result: { ok: true; value: void } | { ok: false; error: unknown }) => {
  for (const u of units) for (const e of u.entries) e.settle(result);
};

/**
 * Sends `units` as one request; a rejected batch is split so that only the bad change fails. Returns the
 * units that lost a compare-and-swap race or were throttled: they are read again and retried.
 */
async function send(api: Route53Api, zoneId: string, units: Unit[], log: Logger): Promise<Unit[]> {
  const changes = units.flatMap((u) => u.changes);
  try {
    await api.change(zoneId, changes, `dns01-webhook: ${units.reduce((n, u) => n + u.entries.length, 0)} challenge(s)`);
    settleAll(units, { ok: true, value: undefined });
    return [];
  } catch (err) {
    if (isConflict(err) || (err as { retryable?: boolean }).retryable) {
      if (units.length === 1 || !isConflict(err)) return units;
      // One name lost a race: find it by halves rather than re-reading every name.
    } else if (units.length === 1 && units[0]!.entries.length > 1) {
      // One name, several challenges merged into one CAS: retry each challenge on its own, so one bad value fails alone.
      log.warn({ fqdn: units[0]!.fqdn, err: (err as Error).message }, 'merged change rejected; retrying each challenge alone');
      return units[0]!.entries.map((e) => ({ fqdn: units[0]!.fqdn, changes: [], entries: [e], alone: true }) as Unit);
    } else if (units.length === 1) {
      settleAll(units, { ok: false, error: err });
      return [];
    }
    log.warn({ names: units.length, err: (err as Error).message }, 'change batch rejected; splitting it');
    const half = Math.ceil(units.length / 2);
    return [...(await send(api, zoneId, units.slice(0, half), log)), ...(await send(api, zoneId, units.slice(half), log))];
  }
}

/** The flush for one hosted zone: read, merge, pack, send, split; retried on lost races and throttling. */
export async function flushZone(batch: Entry[]): Promise<void> {
  // The carrier is the entry whose challenge waits longest: its client, deadline and rate limit drive the
  // batch. Results are handed out when the flush is over, so no challenge (and its client) ends mid-flush.
  const results = new Map<Entry, Parameters<Entry['settle']>[0]>();
  const entries: Entry[] = batch.map((e) => ({ ...e, settle: (r) => void (results.has(e) || results.set(e, r)) }));
  let failure: unknown = new SolverError('route53: the change batch ended without an answer for this challenge', { code: 'Internal' });
  try {
    await flushEntries(entries);
  } catch (err) {
    failure = err;
  } finally {
    for (const e of batch) e.settle(results.get(e) ?? { ok: false, error: failure });
  }
}

async function flushEntries(entries: Entry[]): Promise<void> {
  const carrier = entries.reduce((a, b) => (b.deadline > a.deadline ? b : a));
  const { api, ctx } = carrier.item;
  const zoneId = carrier.item.target.zoneId;
  let pending = entries;
  let alone = new Set<Entry>();
  try {
    await withRetry(
      async (attempt) => {
        const byName = new Map<string, Entry[]>();
        for (const e of pending) {
          const list = byName.get(e.item.target.fqdn) ?? [];
          list.push(e);
          byName.set(e.item.target.fqdn, list);
        }
        // A retry reads each name on its own (exact and cheap for the few names that lost a race).
        const sets = await readSets(api, zoneId, [...byName.keys()], attempt > 1);
        const units: Unit[] = [];
        for (const [fqdn, group] of byName) {
          const separate = group.filter((e) => alone.has(e));
          const merged = group.filter((e) => !alone.has(e));
          const parts = [...(merged.length ? [merged] : []), ...separate.map((e) => [e])];
          for (const part of parts) {
            let unit: Unit;
            try {
              unit = unitFor(fqdn, sets.get(fqdn) ?? [], part);
            } catch (err) {
              settleAll([{ fqdn, changes: [], entries: part }], { ok: false, error: err });
              continue;
            }
            if (unit.changes.length === 0) {
              ctx.log.debug({ fqdn }, 'nothing to change');
              settleAll([unit], { ok: true, value: undefined });
            } else units.push(unit);
          }
        }
        const again: Unit[] = [];
        for (const batch of pack(units)) again.push(...(await send(api, zoneId, batch, ctx.log)));
        const retryAlone = again.filter((u) => (u as Unit & { alone?: boolean }).alone);
        alone = new Set([...alone, ...retryAlone.flatMap((u) => u.entries)]);
        pending = again.flatMap((u) => u.entries);
        if (pending.length > 0) {
          throw new SolverError(`route53: TXT sets in hosted zone ${zoneId} kept changing concurrently (or Route 53 throttled the batch)`, {
            code: 'InvalidChangeBatch',
            retryable: true,
          });
        }
      },
      {
        signal: ctx.signal,
        deadline: ctx.deadline,
        attempts: 12,
        baseMs: 100,
        maxMs: 3_000,
        onRetry: logRetries(ctx.log, 'ChangeResourceRecordSets', { zoneId }),
      },
    );
  } catch (err) {
    for (const e of pending) e.settle({ ok: false, error: err });
  }
}
