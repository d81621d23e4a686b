/**
 * The control plane every provider emulator shares: call counts per action, fault injection (the
 * provider's own throttling error, 5xx, delays), documented quotas (token buckets), and an HTTP control
 * API under `/_emulator/` so out-of-process tests (e2e, Go conformance) can drive an emulator too.
 * The provider-specific part of an emulator only decides how a fault or quota breach looks on its wire.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export type FaultKind = 'throttle' | 'server-error' | 'delay';

export interface FaultSpec {
  kind: FaultKind;
  /** Provider action name (e.g. `CreateRecord`, `ChangeResourceRecordSets`, `POST dns_records`); omitted = any. */
  action?: string;
  /** How many matching calls it hits before it expires (default 1). */
  times?: number;
  /** For `delay`: milliseconds added before the call is handled. */
  delayMs?: number;
  /** For `throttle`: which of the provider's throttling codes to answer with, when it has several (Route 53: `Throttling`, `PriorRequestNotComplete`). */
  code?: string;
}

/**
 * A quota, per scope (the provider's account or token, as the emulator passes it to `gate`):
 *   - token bucket `{burst, perSecond}` (Route 53's model), or
 *   - sliding window `{requests, perSeconds}`: at most `requests` calls in any `perSeconds` (how DNSPod's
 *     "N per second" and Cloudflare's "1200 per 5 minutes" read).
 */
export type QuotaSpec = {
  /** Provider action name, `*` for all calls, or a list of actions sharing one quota. */
  action: string | string[];
} & ({ burst: number; perSecond: number } | { requests: number; perSeconds: number });

interface Bucket {
  spec: QuotaSpec;
  /** Per scope: tokens (bucket) or recent call times (window). */
  state: Map<string, { tokens: number; updated: number; times: number[] }>;
}

const coversAction = (spec: QuotaSpec, action: string) =>
  spec.action === '*' || spec.action === action || (Array.isArray(spec.action) && spec.action.includes(action));

export class EmulatorControl {
  readonly #calls = new Map<string, number>();
  readonly #byScope = new Map<string, number>();
  #throttled = 0;
  #faults: Array<FaultSpec & { remaining: number }> = [];
  #buckets: Bucket[] = [];
  #defaults: QuotaSpec[] = [];

  /** Count one API request by who sent it (a credential id, never the secret) — rejected ones included. */
  countRequest(scope: string): void {
    this.#byScope.set(scope, (this.#byScope.get(scope) ?? 0) + 1);
  }

  /** Requests per scope (see countRequest). */
  requestsBy(): Record<string, number> {
    return Object.fromEntries(this.#byScope);
  }

  /** Answers that were the provider's throttling error because a quota was exhausted (injected faults excluded). */
  throttled(): number {
    return this.#throttled;
  }

  /** Count a call; call once per API request, before handling it. */
  countCall(action: string): void {
    this.#calls.set(action, (this.#calls.get(action) ?? 0) + 1);
  }

  calls(): Record<string, number>;
  calls(action: string): number;
  calls(action?: string): Record<string, number> | number {
    if (action !== undefined) return this.#calls.get(action) ?? 0;
    return Object.fromEntries(this.#calls);
  }

  inject(fault: FaultSpec): void {
    this.#faults.push({ ...fault, remaining: fault.times ?? 1 });
  }

  /** The next fault for this action, consumed; undefined when none applies. */
  takeFault(action: string): FaultSpec | undefined {
    const i = this.#faults.findIndex((f) => f.remaining > 0 && (f.action === undefined || f.action === action));
    if (i < 0) return undefined;
    const fault = this.#faults[i]!;
    fault.remaining -= 1;
    if (fault.remaining === 0) this.#faults.splice(i, 1);
    return fault;
  }

  setQuota(quota: QuotaSpec): void {
    const key = JSON.stringify(quota.action);
    this.#buckets = this.#buckets.filter((b) => JSON.stringify(b.spec.action) !== key);
    this.#buckets.push({ spec: quota, state: new Map() });
  }

  /** False when a quota that covers this action is exhausted for `scope` (the emulator then answers with its throttling error). */
  takeQuota(action: string, scope = 'account'): boolean {
    const now = Date.now();
    let ok = true;
    for (const b of this.#buckets) {
      if (!coversAction(b.spec, action)) continue;
      let st = b.state.get(scope);
      if (!st) b.state.set(scope, (st = { tokens: 'burst' in b.spec ? b.spec.burst : 0, updated: now, times: [] }));
      if ('burst' in b.spec) {
        st.tokens = Math.min(b.spec.burst, st.tokens + ((now - st.updated) / 1000) * b.spec.perSecond);
        st.updated = now;
        if (st.tokens < 1) ok = false;
        else st.tokens -= 1;
      } else {
        const cutoff = now - b.spec.perSeconds * 1000;
        while (st.times.length > 0 && st.times[0]! <= cutoff) st.times.shift();
        if (st.times.length >= b.spec.requests) ok = false;
        else st.times.push(now);
      }
    }
    if (!ok) this.#throttled += 1;
    return ok;
  }

  /** The provider's documented quotas: in force from the start, and again after every reset(). */
  setDefaultQuotas(quotas: QuotaSpec[]): void {
    this.#defaults = quotas;
    this.#buckets = [];
    for (const q of quotas) this.setQuota(q);
  }

  /** Clears counts, faults and a test's own quotas; the documented quotas stay (with fresh windows). */
  reset(): void {
    this.#calls.clear();
    this.#byScope.clear();
    this.#throttled = 0;
    this.#faults = [];
    this.#buckets = [];
    for (const q of this.#defaults) this.setQuota(q);
  }

  /**
   * Common gate for one API call: counts it, applies a pending delay, and tells the caller whether to answer
   * with the provider's throttling error or a 5xx instead of handling the call.
   */
  async gate(action: string, scope = 'account'): Promise<'ok' | 'throttle' | 'server-error'> {
    this.countCall(action);
    let fault = this.takeFault(action);
    while (fault?.kind === 'delay') {
      await new Promise((r) => setTimeout(r, fault!.delayMs ?? 1000));
      fault = this.takeFault(action);
    }
    if (fault) return fault.kind === 'throttle' ? 'throttle' : 'server-error';
    return this.takeQuota(action, scope) ? 'ok' : 'throttle';
  }
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? {} : JSON.parse(text);
}

function send(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/**
 * Handles `/_emulator/*` requests; returns false for any other path so the provider handler runs.
 *   GET  /_emulator/records   → dumpRecords()
 *   GET  /_emulator/calls     → call counts per action
 *   GET  /_emulator/stats     → {calls, requestsBy (per credential id), throttled}
 *   POST /_emulator/faults    → inject a FaultSpec
 *   POST /_emulator/quota     → set a QuotaSpec
 *   POST /_emulator/reset     → clear counts, faults, quotas (and records, when resetRecords is given)
 */
export async function handleControlRequest(
  req: IncomingMessage,
  res: ServerResponse,
  control: EmulatorControl,
  hooks: { dumpRecords: () => unknown; resetRecords?: () => void },
): Promise<boolean> {
  const path = (req.url ?? '').split('?')[0] ?? '';
  if (!path.startsWith('/_emulator/')) return false;
  try {
    const route = `${req.method} ${path}`;
    if (route === 'GET /_emulator/records') send(res, 200, hooks.dumpRecords());
    else if (route === 'GET /_emulator/calls') send(res, 200, control.calls());
    else if (route === 'GET /_emulator/stats') send(res, 200, { calls: control.calls(), requestsBy: control.requestsBy(), throttled: control.throttled() });
    else if (route === 'POST /_emulator/faults') {
      control.inject((await readJson(req)) as FaultSpec);
      send(res, 200, { ok: true });
    } else if (route === 'POST /_emulator/quota') {
      control.setQuota((await readJson(req)) as QuotaSpec);
      send(res, 200, { ok: true });
    } else if (route === 'POST /_emulator/reset') {
      control.reset();
      hooks.resetRecords?.();
      send(res, 200, { ok: true });
    } else send(res, 404, { error: `unknown control route ${route}` });
  } catch (err) {
    send(res, 400, { error: (err as Error).message });
  }
  return true;
}

/** What every `start<Provider>Emulator()` resolves to. */
export interface RunningEmulator {
  /** Base URL of the provider API (http://127.0.0.1:<port>). */
  url: string;
  /** The emulator's authoritative DNS server (UDP+TCP), `host:port`. */
  dns: { host: string; port: number; address: string };
  control: EmulatorControl;
  close(): Promise<void>;
}
