/**
 * The provider economy of one webhook process: zone cache, singleflight, per-credential rate limits,
 * breakers on rejected credentials and coalesced batches — the state every challenge shares. The server
 * makes one per process; tests and the benchmark make their own (or switch mechanisms off to compare).
 * Per challenge, `session()` gives the pieces executeChallenge puts on the SolverContext.
 */
import type { Metrics } from '../observability/metrics.js';
import type { EconomyFeatures, SolverContext } from '../solver/contract.js';
import { CredentialBreaker, CredentialsRejectedError, type BreakerOptions } from './breaker.js';
import { Coalescer, type CoalesceEntry } from './coalesce.js';
import { credentialId } from './credential.js';
import { CredentialLimiter, RateLimitedError, type RateLimitRule } from './rate-limit.js';
import { ZoneCache } from './zone-cache.js';

export type { EconomyFeatures };

export const ALL_FEATURES: EconomyFeatures = Object.freeze({
  zoneCache: true,
  singleflight: true,
  rateLimits: true,
  breaker: true,
  batching: true,
  callFloor: true,
});

export const NO_FEATURES: EconomyFeatures = Object.freeze({
  zoneCache: false,
  singleflight: false,
  rateLimits: false,
  breaker: false,
  batching: false,
  callFloor: false,
});

/** A rate as configured: `{requests, perSeconds}`, or `off`. */
export type RateSetting = { requests: number; perSeconds: number } | 'off';

export interface EconomyOptions {
  features?: Partial<EconomyFeatures>;
  /**
   * Fraction of each quota this process uses (0 < share ≤ 1), for replicas sharing one account: with 2
   * replicas behind one Service, 0.5 each keeps the sum at the quota. Default 1.
   */
  rateLimitShare?: number;
  /** Per solver: replaces the solver's overall (all-calls) default quota, or switches its limits off. */
  rateLimitOverrides?: Record<string, RateSetting>;
  breaker?: BreakerOptions;
  zoneCacheTtlMs?: number;
  /** How long the first change to a key waits for company before its batch goes out (default 100 ms). */
  batchWindowMs?: number;
}

const DEFAULT_BATCH_WINDOW_MS = 100;

/** Effective rules: the config's `rateLimit` (per Issuer), else the process override, else the solver's defaults; × share. */
export function effectiveRules(
  defaults: readonly RateLimitRule[],
  override: RateSetting | undefined,
  fromConfig: RateSetting | undefined,
  share: number,
): { rules: RateLimitRule[]; origin: string } {
  const chosen = fromConfig ?? override;
  const origin = fromConfig !== undefined ? 'config.rateLimit' : override !== undefined ? '--rate-limit' : 'the documented quota';
  if (chosen === 'off') return { rules: [], origin };
  let rules = [...defaults];
  if (chosen) {
    const overall: RateLimitRule = { requests: chosen.requests, perSeconds: chosen.perSeconds };
    rules = [overall, ...rules.filter((r) => r.calls !== undefined)];
  }
  const shareText = share < 1 ? `, this replica's share ${share}` : '';
  return {
    rules: rules.map((r) => ({ ...r, requests: Math.max(1, Math.floor(r.requests * share)) })),
    origin: origin + shareText,
  };
}

export class Economy {
  readonly features: EconomyFeatures;
  readonly #options: EconomyOptions;
  readonly #zones: ZoneCache;
  readonly #limiters = new Map<string, CredentialLimiter>();
  readonly #breakers = new Map<string, CredentialBreaker>();
  readonly #flights = new Map<string, Promise<unknown>>();
  readonly #coalescer: Coalescer;
  /** Set by the challenge that last used the economy, for the batch-size histogram. */
  #metrics: Metrics | undefined;

  constructor(options: EconomyOptions = {}) {
    this.#options = options;
    this.features = Object.freeze({ ...ALL_FEATURES, ...options.features });
    const share = options.rateLimitShare ?? 1;
    if (!(share > 0 && share <= 1)) throw new Error(`rateLimitShare must be in (0, 1], got ${share}`);
    this.#zones = new ZoneCache(options.zoneCacheTtlMs === undefined ? {} : { ttlMs: options.zoneCacheTtlMs });
    this.#coalescer = new Coalescer((key, size) => this.#metrics?.batchSize.observe({ solver: key.split('|')[0]! }, size));
  }

  static disabled(): Economy {
    return new Economy({ features: NO_FEATURES });
  }

  /** Identical concurrent runs (same key) share one promise. */
  singleflight<T>(key: string, run: () => Promise<T>): { result: Promise<T>; shared: boolean } {
    if (!this.features.singleflight) return { result: run(), shared: false };
    const existing = this.#flights.get(key);
    if (existing) return { result: existing as Promise<T>, shared: true };
    const result = run().finally(() => this.#flights.delete(key));
    this.#flights.set(key, result);
    return { result, shared: false };
  }

  session(init: SessionInit): ChallengeEconomy {
    if (init.metrics) this.#metrics = init.metrics;
    return new ChallengeEconomy(this, init);
  }

  /** @internal */
  limiterFor(key: string, rules: RateLimitRule[]): CredentialLimiter {
    let limiter = this.#limiters.get(key);
    if (!limiter) this.#limiters.set(key, (limiter = new CredentialLimiter(rules)));
    else limiter.configure(rules);
    return limiter;
  }

  /** @internal */
  breakerFor(_solver: string, key: string): CredentialBreaker {
    let breaker = this.#breakers.get(key);
    if (!breaker) this.#breakers.set(key, (breaker = new CredentialBreaker(this.#options.breaker)));
    return breaker;
  }

  /** Credentials whose breaker is open, per solver (for the gauge). */
  openBreakers(solver: string): number {
    let n = 0;
    for (const [key, b] of this.#breakers) if (key.startsWith(`${solver}|`) && b.isOpen) n++;
    return n;
  }

  /** @internal */
  get zones(): ZoneCache {
    return this.#zones;
  }

  /** @internal */
  get coalescer(): Coalescer {
    return this.#coalescer;
  }

  /** @internal */
  rulesFor(solver: string, defaults: readonly RateLimitRule[], fromConfig: RateSetting | undefined) {
    return effectiveRules(defaults, this.#options.rateLimitOverrides?.[solver], fromConfig, this.#options.rateLimitShare ?? 1);
  }

  get batchWindowMs(): number {
    return this.#options.batchWindowMs ?? DEFAULT_BATCH_WINDOW_MS;
  }
}

export interface SessionInit {
  solver: string;
  defaults: readonly RateLimitRule[];
  fromConfig: RateSetting | undefined;
  deadline: number;
  signal: AbortSignal;
  metrics: Metrics | undefined;
}

/** One challenge's view of the economy: what it declared, which cache entries it used. */
export class ChallengeEconomy {
  #credential: string | undefined;
  /** Cache keys this challenge read, and whether any was a hit (a stale hit may explain a failure). */
  readonly usedZones = new Map<string, boolean>();

  constructor(
    private readonly economy: Economy,
    private readonly init: SessionInit,
  ) {}

  get credential(): string | undefined {
    return this.#credential;
  }

  /** ctx.useCredential: remembers the hash (never the material); fails at once while its breaker is open. */
  useCredential(material: readonly string[]): void {
    if (material.length === 0) throw new Error('useCredential needs the credential material (key id, secret, ...)');
    this.#credential = credentialId(this.init.solver, material);
    if (!this.economy.features.breaker) return;
    // Fails here already (before tokens, STS calls or clients are made) with the breaker's stable message.
    this.economy.breakerFor(this.init.solver, this.#key()).check();
  }

  #key(): string {
    return `${this.init.solver}|${this.#credential ?? 'none'}`;
  }

  /** Runs one provider call through the breaker and the rate limiter of the declared credential. */
  async call<T>(call: string, fn: () => Promise<T>, onWait: (seconds: number) => void, onBreaker: () => void): Promise<T> {
    if (this.#credential === undefined) return fn();
    const key = this.#key();
    const breaker = this.economy.features.breaker ? this.economy.breakerFor(this.init.solver, key) : undefined;
    let ticket;
    try {
      ticket = await breaker?.enter(this.init.signal);
    } catch (err) {
      if (err instanceof CredentialsRejectedError) onBreaker();
      throw err;
    }
    let release: (() => void) | undefined;
    if (this.economy.features.rateLimits) {
      const { rules, origin } = this.economy.rulesFor(this.init.solver, this.init.defaults, this.init.fromConfig);
      if (rules.length > 0) {
        const limiter = this.economy.limiterFor(key, rules);
        const started = Date.now();
        try {
          release = await limiter.acquire({
            call,
            deadline: this.init.deadline,
            signal: this.init.signal,
            onGiveUp: (rule) => new RateLimitedError(rule, origin),
          });
        } catch (err) {
          ticket?.cancel();
          throw err;
        } finally {
          onWait((Date.now() - started) / 1000);
        }
      }
    }
    try {
      const value = await fn();
      release?.();
      ticket?.settle(undefined);
      return value;
    } catch (err) {
      release?.();
      const replaced = ticket ? ticket.settle(err) : err;
      if (replaced !== err) onBreaker();
      throw replaced;
    }
  }

  /** ctx.cachedZone. Without a declared credential nothing is cached: the cache must never mix accounts. */
  cachedZone<T>(name: string, lookup: () => Promise<T>, onResult: (hit: boolean) => void): Promise<T> {
    if (!this.economy.features.zoneCache || this.#credential === undefined) return lookup();
    const key = `${this.#key()}|${name}`;
    const { value, hit } = this.economy.zones.get(key, lookup);
    this.usedZones.set(key, (this.usedZones.get(key) ?? false) || hit);
    onResult(hit);
    return value;
  }

  /** Drops the cache entries this challenge used; true when one of them was a hit (worth one more try). */
  forgetZones(): boolean {
    let hadHit = false;
    for (const [key, hit] of this.usedZones) {
      this.economy.zones.invalidate(key);
      hadHit ||= hit;
    }
    this.usedZones.clear();
    return hadHit;
  }

  /** ctx.coalesce: batches per (solver, credential, key); off = a batch of one, at once. */
  coalesce<I, R>(key: string, item: I, flush: (entries: Array<CoalesceEntry<I, R>>) => Promise<void>): Promise<R> {
    const full = `${this.#key()}|${key}`;
    if (!this.economy.features.batching) {
      return new Promise<R>((resolve, reject) => {
        const entry: CoalesceEntry<I, R> = { item, deadline: this.init.deadline, settle: (r) => (r.ok ? resolve(r.value) : reject(r.error)) };
        flush([entry]).catch(reject);
      });
    }
    const result = this.economy.coalescer.submit(full, item, this.init.deadline, this.economy.batchWindowMs, flush);
    // The entry's own challenge stops waiting at its deadline (the batch may still land for the others).
    return new Promise<R>((resolve, reject) => {
      const onAbort = () => reject(this.init.signal.reason);
      if (this.init.signal.aborted) return onAbort();
      this.init.signal.addEventListener('abort', onAbort, { once: true });
      result.then(
        (v) => {
          this.init.signal.removeEventListener('abort', onAbort);
          resolve(v);
        },
        (e) => {
          this.init.signal.removeEventListener('abort', onAbort);
          reject(e);
        },
      );
    });
  }
}

/**
 * The economy members of a SolverContext with every mechanism off, for a context built by hand (a test
 * calling a solver's present/check directly): no credential kept, no cache, a batch of one.
 */
export function noEconomy(): Pick<SolverContext<unknown>, 'useCredential' | 'cachedZone' | 'coalesce' | 'economy'> {
  return {
    useCredential: () => {},
    cachedZone: (_name, lookup) => lookup(),
    coalesce: <I, R>(_key: string, item: I, flush: (entries: Array<CoalesceEntry<I, R>>) => Promise<void>) =>
      new Promise<R>((resolve, reject) => {
        flush([{ item, deadline: Infinity, settle: (r) => (r.ok ? resolve(r.value) : reject(r.error)) }]).catch(reject);
      }),
    economy: NO_FEATURES,
  };
}
