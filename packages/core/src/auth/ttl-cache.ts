/**
 * A small TTL cache of promises for TokenReview / SubjectAccessReview answers (both outcomes cached, like
 * k8s.io/apiserver's delegating caches). Concurrent lookups of one key share one call; a failed call
 * (network, 5xx) is not cached, so the next request asks again.
 */
interface Entry<V> {
  value: Promise<V>;
  /** Infinity while the call is in flight; the TTL starts when the answer arrives. */
  expires: number;
}

export class TtlCache<V> {
  private readonly entries = new Map<string, Entry<V>>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 4096,
  ) {}

  getOrLoad(key: string, load: () => Promise<V>): Promise<V> {
    const now = Date.now();
    const hit = this.entries.get(key);
    if (hit && hit.expires > now) return hit.value;
    if (this.ttlMs <= 0) return load();
    const entry: Entry<V> = { value: load(), expires: Infinity };
    this.entries.set(key, entry);
    entry.value.then(
      () => {
        entry.expires = Date.now() + this.ttlMs;
      },
      () => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
    this.prune(now);
    return entry.value;
  }

  clear(): void {
    this.entries.clear();
  }

  private prune(now: number): void {
    if (this.entries.size <= this.maxEntries) return;
    for (const [key, entry] of this.entries) if (entry.expires <= now) this.entries.delete(key);
    // Still too many: drop the oldest insertions (Map iterates in insertion order).
    for (const key of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries) break;
      this.entries.delete(key);
    }
  }
}
