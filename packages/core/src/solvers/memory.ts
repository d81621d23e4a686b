/**
 * The in-memory solver: a record solver whose "provider" is a MemoryStore, which the embedded DNS server
 * serves. The store stands in for the DNS provider (it may hold state); the solver itself keeps nothing.
 * Used by dev mode and as the reference solver the conformance kit is tested against.
 */
import { z } from 'zod';
import { defineRecordSolver } from '../solver/define.js';
import { SolverError } from '../solver/errors.js';
import { toFqdn } from '../solver/names.js';
import type { ServableRecordSource } from '../dns/answer.js';

export interface MemoryStore extends ServableRecordSource {
  /** Every name that has at least one TXT value. */
  names(): string[];
  /** Adds one TXT record (duplicates are kept, as many provider APIs do). Throws outside the store's zones. */
  add(fqdn: string, value: string, ttl?: number): void;
  /** Removes every record at `fqdn` whose value equals `value`; returns how many were removed. */
  remove(fqdn: string, value: string): number;
  /** TXT values at `fqdn`, in insertion order, duplicates included. */
  list(fqdn: string): string[];
}

interface StoredName {
  values: string[];
  ttl?: number;
}

export function createMemoryStore(zones: string[]): MemoryStore {
  const served = zones.map(toFqdn);
  const names = new Map<string, StoredName>();
  const zoneOf = (fqdn: string) =>
    served.filter((z) => fqdn === z || fqdn.endsWith(`.${z}`)).sort((a, b) => b.length - a.length)[0];

  return {
    zones: () => [...served],
    txt: (fqdn) => [...(names.get(toFqdn(fqdn))?.values ?? [])],
    names: () => [...names.keys()],
    ttl: (fqdn) => names.get(toFqdn(fqdn))?.ttl,
    add(fqdn, value, ttl) {
      const name = toFqdn(fqdn);
      if (zoneOf(name) === undefined) {
        throw new SolverError(`memory: no zone for ${name}; this store serves [${served.join(', ')}]`, { code: 'ZoneNotFound' });
      }
      const entry = names.get(name) ?? { values: [] };
      entry.values.push(value);
      if (ttl !== undefined) entry.ttl = ttl;
      names.set(name, entry);
    },
    remove(fqdn, value) {
      const name = toFqdn(fqdn);
      const entry = names.get(name);
      if (!entry) return 0;
      const before = entry.values.length;
      entry.values = entry.values.filter((v) => v !== value);
      if (entry.values.length === 0) names.delete(name);
      return before - entry.values.length;
    },
    list: (fqdn) => [...(names.get(toFqdn(fqdn))?.values ?? [])],
  };
}

export const memorySolverConfig = z.strictObject({
  /** TTL of the TXT records this solver creates, in seconds (served by the embedded DNS server). */
  ttl: z.number().int().min(1).max(86_400).optional(),
});
export type MemorySolverConfig = z.infer<typeof memorySolverConfig>;

/** A solver named `memory` that writes to `store`. */
export function memorySolver(store: MemoryStore) {
  return defineRecordSolver<MemorySolverConfig>({
    name: 'memory',
    description: 'In-memory TXT records served by the embedded DNS server (dev mode and tests)',
    config: memorySolverConfig,
    async connect(_request, ctx) {
      return {
        list: async (target) => store.list(target.fqdn).map((value) => ({ value })),
        add: async (target, value) => store.add(target.fqdn, value, ctx.config.ttl),
        remove: async (target, record) => {
          store.remove(target.fqdn, record.value);
        },
      };
    },
  });
}
