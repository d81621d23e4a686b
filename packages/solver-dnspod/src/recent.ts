/**
 * Records this process created in the last few minutes, by (domain, host) and value → RecordId.
 *
 * Why: DNSPod documents that a new record can take up to ~30 s to show in DescribeRecordList, so a CleanUp
 * soon after Present would not find it and the TXT would be left behind. This is only a hint: a remembered
 * id is used after DescribeRecord confirms it still holds that name and value, and the listing stays the
 * source of truth (CleanUp on another replica, or after a restart, relies on the listing alone).
 */
export const RECENT_TTL_MS = 5 * 60_000;

export class RecentRecords {
  readonly #byHost = new Map<string, Map<string, { id: number; at: number }>>();
  /** Values this process deleted lately, by host: a repeated CleanUp need not probe for them (records.ts). */
  readonly #removed = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  remember(host: string, value: string, id: number): void {
    this.#prune();
    this.#removed.delete(`${host}\0${value}`);
    let values = this.#byHost.get(host);
    if (!values) this.#byHost.set(host, (values = new Map()));
    values.set(value, { id, at: this.now() });
  }

  forget(host: string, value: string): void {
    const values = this.#byHost.get(host);
    values?.delete(value);
    if (values?.size === 0) this.#byHost.delete(host);
  }

  /** `value` at `host` was deleted by this process. */
  removed(host: string, value: string): void {
    this.forget(host, value);
    this.#prune();
    this.#removed.set(`${host}\0${value}`, this.now());
  }

  /** Deleted by this process within the last few minutes (and not created again since). */
  wasRemoved(host: string, value: string): boolean {
    this.#prune();
    return this.#removed.has(`${host}\0${value}`);
  }

  /** Remembered [value, id] pairs at `host` that are still fresh. */
  at(host: string): Array<[string, number]> {
    this.#prune();
    return [...(this.#byHost.get(host) ?? [])].map(([value, { id }]) => [value, id]);
  }

  #prune(): void {
    const cutoff = this.now() - RECENT_TTL_MS;
    for (const [key, at] of this.#removed) if (at < cutoff) this.#removed.delete(key);
    for (const [host, values] of this.#byHost) {
      for (const [value, entry] of values) if (entry.at < cutoff) values.delete(value);
      if (values.size === 0) this.#byHost.delete(host);
    }
  }
}
