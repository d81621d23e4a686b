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

export interface QuotaSpec {
  /** Provider action name, or `*` for all calls. */
  action: string;
  /** Bucket size (burst). */
  burst: number;
  /** Refill rate per second. */
  perSecond: number;
}

interface Bucket extends QuotaSpec {
  tokens: number;
  updated: number;
}

export class EmulatorControl {
  readonly #calls = new Map<string, number>();
  #faults: Array<FaultSpec & { remaining: number }> = [];
  #buckets: Bucket[] = [];

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
    this.#buckets = this.#buckets.filter((b) => b.action !== quota.action);
    this.#buckets.push({ ...quota, tokens: quota.burst, updated: Date.now() });
  }

  /** False when a quota that covers this action is exhausted (the emulator then answers with its throttling error). */
  takeQuota(action: string): boolean {
    const now = Date.now();
    let ok = true;
    for (const b of this.#buckets) {
      if (b.action !== '*' && b.action !== action) continue;
      b.tokens = Math.min(b.burst, b.tokens + ((now - b.updated) / 1000) * b.perSecond);
      b.updated = now;
      if (b.tokens < 1) ok = false;
      else b.tokens -= 1;
    }
    return ok;
  }

  reset(): void {
    this.#calls.clear();
    this.#faults = [];
    this.#buckets = [];
  }

  /**
   * Common gate for one API call: counts it, applies a pending delay, and tells the caller whether to answer
   * with the provider's throttling error or a 5xx instead of handling the call.
   */
  async gate(action: string): Promise<'ok' | 'throttle' | 'server-error'> {
    this.countCall(action);
    let fault = this.takeFault(action);
    while (fault?.kind === 'delay') {
      await new Promise((r) => setTimeout(r, fault!.delayMs ?? 1000));
      fault = this.takeFault(action);
    }
    if (fault) return fault.kind === 'throttle' ? 'throttle' : 'server-error';
    return this.takeQuota(action) ? 'ok' : 'throttle';
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
