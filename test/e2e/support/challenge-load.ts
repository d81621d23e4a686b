/**
 * A steady stream of DNS-01 challenges through kube-apiserver, as cert-manager sends them: each challenge is a
 * Present and, once that succeeded, a CleanUp of the same key, POSTed to /apis/<group>/v1alpha1/<solver> with
 * cert-manager's ServiceAccount token. Bounded in time and in concurrency; stops by itself.
 *
 * It counts what an operator would notice during an upgrade:
 * - failed: any answer other than 201 with `response.success: true` (including connection errors and the
 *   aggregator's 503s), per action;
 * - lost: a Present answered success whose TXT value the provider (emulator) does not have right after;
 * - leftBehind: a CleanUp answered success whose value the provider still has, plus values still there at
 *   the end (a challenge whose CleanUp never ran counts too).
 */
import { Agent, request } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ChallengeLoadOptions {
  /** kube-apiserver URL and the CA that signed its certificate. */
  server: string;
  ca: string;
  token: string;
  groupName: string;
  solverName: string;
  /** Names challenges are spread over (several values live at one name at once, as with wildcard + apex). */
  fqdns: string[];
  zone: string;
  resourceNamespace: string;
  config: Record<string, unknown>;
  /** The provider's current TXT values at an FQDN (the emulator's own store, not DNS caches). */
  valuesAt(fqdn: string): string[];
  /** Requests per second (Present and CleanUp each count). Default 20. */
  requestsPerSecond?: number;
  /** At most this many challenges in flight. Default 40. */
  maxInFlight?: number;
  /** Hard stop for the stream. Default 5 minutes. */
  maxDurationMs?: number;
}

export interface Failure {
  action: 'Present' | 'CleanUp';
  key: string;
  at: number;
  detail: string;
}

export interface LoadResult {
  challenges: number;
  requests: number;
  failed: Failure[];
  lost: string[];
  leftBehind: string[];
  durationMs: number;
}

export class ChallengeLoad {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });
  private running = new Set<Promise<void>>();
  private stopped = false;
  private loop: Promise<void> | undefined;
  startedAt = 0;
  private seq = 0;
  private readonly result: LoadResult = { challenges: 0, requests: 0, failed: [], lost: [], leftBehind: [], durationMs: 0 };
  /** key → fqdn of every challenge whose value may be at the provider. */
  private readonly outstanding = new Map<string, string>();

  constructor(private readonly o: ChallengeLoadOptions) {}

  start(): this {
    this.startedAt = Date.now();
    const perSecond = this.o.requestsPerSecond ?? 20;
    // One challenge = two requests.
    const intervalMs = 2000 / perSecond;
    const maxInFlight = this.o.maxInFlight ?? 40;
    const deadline = this.startedAt + (this.o.maxDurationMs ?? 5 * 60_000);
    this.loop = (async () => {
      let next = Date.now();
      while (!this.stopped && Date.now() < deadline) {
        if (this.running.size < maxInFlight) {
          const p = this.challenge().finally(() => this.running.delete(p));
          this.running.add(p);
        }
        next += intervalMs;
        await sleep(Math.max(0, next - Date.now()));
      }
    })();
    return this;
  }

  /** Challenges answered so far (both requests), for waiting until traffic flows. */
  get completed(): number {
    return this.result.challenges;
  }

  get failures(): number {
    return this.result.failed.length;
  }

  /** Stops starting challenges, waits for the running ones, and checks the provider for leftovers. */
  async stop(): Promise<LoadResult> {
    this.stopped = true;
    await this.loop;
    await Promise.all([...this.running]);
    for (const [key, fqdn] of this.outstanding) {
      if (this.o.valuesAt(fqdn).includes(key)) this.result.leftBehind.push(key);
    }
    this.agent.destroy();
    this.result.durationMs = Date.now() - this.startedAt;
    return this.result;
  }

  private async challenge(): Promise<void> {
    const n = ++this.seq;
    const key = `rollout-${process.pid}-${n}-${Math.random().toString(36).slice(2, 10)}`;
    const fqdn = this.o.fqdns[n % this.o.fqdns.length]!;
    this.outstanding.set(key, fqdn);
    if (!(await this.call('Present', key, fqdn))) return;
    if (!this.o.valuesAt(fqdn).includes(key)) this.result.lost.push(key);
    if (!(await this.call('CleanUp', key, fqdn))) return;
    if (this.o.valuesAt(fqdn).includes(key)) this.result.leftBehind.push(key);
    this.outstanding.delete(key);
    this.result.challenges++;
  }

  /** One request; true when it succeeded, else recorded as failed. */
  private async call(action: 'Present' | 'CleanUp', key: string, fqdn: string): Promise<boolean> {
    this.result.requests++;
    const body = JSON.stringify({
      request: {
        uid: '',
        action,
        type: 'dns-01',
        dnsName: fqdn.replace(/^_acme-challenge\./, '').replace(/\.$/, ''),
        key,
        resourceNamespace: this.o.resourceNamespace,
        resolvedFQDN: fqdn,
        resolvedZone: this.o.zone,
        allowAmbientCredentials: false,
        config: this.o.config,
      },
    });
    const at = Date.now() - this.startedAt;
    try {
      const res = await this.post(`/apis/${this.o.groupName}/v1alpha1/${this.o.solverName}`, body);
      let parsed: { response?: { success?: boolean; status?: { message?: string } } } | undefined;
      try {
        parsed = JSON.parse(res.text);
      } catch {
        parsed = undefined;
      }
      if (res.status === 201 && parsed?.response?.success === true) return true;
      this.result.failed.push({ action, key, at, detail: `HTTP ${res.status}: ${parsed?.response?.status?.message ?? res.text.slice(0, 300)}` });
    } catch (err) {
      this.result.failed.push({ action, key, at, detail: (err as Error).message });
    }
    return false;
  }

  private post(path: string, body: string): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const req = request(`${this.o.server}${path}`, {
        method: 'POST',
        agent: this.agent,
        ca: this.o.ca,
        timeout: 70_000,
        headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${this.o.token}`, 'content-length': Buffer.byteLength(body) },
      }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`timeout: ${path}`)));
      req.on('error', reject);
      req.end(body);
    });
  }
}
