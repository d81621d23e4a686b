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

  constructor(private readonly now: () => number = Date.now) {}

  remember(host: string, value: string, id: number): void {
    this.#prune();
    let values = this.#byHost.get(host);
    if (!values) this.#byHost.set(host, (values = new Map()));
    values.set(value, { id, at: this.now() });
  }

  forget(host: string, value: string): void {
    const values = this.#byHost.get(host);
    values?.delete(value);
    if (values?.size === 0) this.#byHost.delete(host);
  }

  /** Remembered [value, id] pairs at `host` that are still fresh. */
  at(host: string): Array<[string, number]> {
    this.#prune();
    return [...(this.#byHost.get(host) ?? [])].map(([value, { id }]) => [value, id]);
  }

  #prune(): void {
    const cutoff = this.now() - RECENT_TTL_MS;
    for (const [host, values] of this.#byHost) {
      for (const [value, entry] of values) if (entry.at < cutoff) values.delete(value);
      if (values.size === 0) this.#byHost.delete(host);
    }
  }
}
