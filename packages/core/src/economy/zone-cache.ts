/**
 * Zone lookups cached per (solver, credential hash, name) for a few minutes. A zone's provider id almost
 * never changes, yet every challenge used to look it up again: in a storm of 400 challenges over 20 zones
 * that is 400 lookups instead of 20. Concurrent misses share one lookup (the entry holds the promise).
 * A failed lookup is not cached. Entries a failing challenge used are dropped (see execute.ts), so a zone
 * that moved is found again by the next try.
 */
export interface ZoneCacheOptions {
  ttlMs?: number;
  /** Entries kept at most (oldest dropped first). */
  maxEntries?: number;
  now?: () => number;
}

interface Entry {
  value: Promise<unknown>;
  expires: number;
}

export class ZoneCache {
  readonly #entries = new Map<string, Entry>();
  readonly #ttl: number;
  readonly #max: number;
  readonly #now: () => number;

  constructor(options: ZoneCacheOptions = {}) {
    this.#ttl = options.ttlMs ?? 5 * 60_000;
    this.#max = options.maxEntries ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  /** The cached value, or `lookup()`'s (stored while it runs, kept when it succeeds). `hit` tells which. */
  get<T>(key: string, lookup: () => Promise<T>): { value: Promise<T>; hit: boolean } {
    const now = this.#now();
    const entry = this.#entries.get(key);
    if (entry && entry.expires > now) return { value: entry.value as Promise<T>, hit: true };
    const value = lookup();
    const fresh: Entry = { value, expires: now + this.#ttl };
    this.#entries.set(key, fresh);
    value.catch(() => {
      if (this.#entries.get(key) === fresh) this.#entries.delete(key);
    });
    if (this.#entries.size > this.#max) this.#entries.delete(this.#entries.keys().next().value!);
    return { value, hit: false };
  }

  invalidate(key: string): void {
    this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }
}
