/**
 * Present/CleanUp on Route 53 record *sets*. Route 53 stores all TXT values of a name in one set, so
 * adding or removing a value rewrites the set. UPSERT would silently drop a value another challenge added
 * meanwhile; instead each write is one batch DELETE(the set exactly as read) + CREATE(the new set). The
 * batch is atomic and DELETE must match exactly, so it fails if anyone changed the set since we read it —
 * a compare-and-swap. A lost race is retried (read again, recompute) with backoff inside the deadline
 * (batch.ts, which also merges the changes of concurrent challenges into one request per hosted zone).
 *
 * Sets written by cert-manager's built-in route53 provider (one set per value: SetIdentifier = value,
 * MultiValueAnswer true, TTL 10) cannot coexist with a simple set of the same name, so when such sets are
 * at the name, Present adds its value the same way and CleanUp deletes the set carrying `key`.
 */
import type { Change, ResourceRecordSet } from '@aws-sdk/client-route-53';
import { SolverError } from '@dns01-webhook/core';

/** `abc` → `"abc"`; quotes and backslashes escaped; values over 255 characters split into several strings. */
export function quoteTxt(value: string): string {
  const chunks: string[] = [];
  for (let i = 0; i < value.length || i === 0; i += 255) chunks.push(value.slice(i, i + 255));
  return chunks.map((c) => `"${c.replace(/[\\"]/g, (m) => `\\${m}`)}"`).join(' ');
}

/** `"abc" "def"` → `abcdef` (what a resolver and cert-manager see); `\ddd` and `\x` escapes decoded. */
export function unquoteTxt(value: string): string {
  const strings = value.match(/"((?:[^"\\]|\\.)*)"/g);
  if (!strings) return value;
  return strings
    .map((s) => s.slice(1, -1).replace(/\\(\d{3}|.)/g, (_, e: string) => (/^\d{3}$/.test(e) ? String.fromCharCode(parseInt(e, 8)) : e)))
    .join('');
}

const valuesOf = (set: ResourceRecordSet) => (set.ResourceRecords ?? []).map((r) => r.Value ?? '');
const hasKey = (set: ResourceRecordSet, key: string) => valuesOf(set).some((v) => unquoteTxt(v) === key);
const isBuiltInStyle = (sets: ResourceRecordSet[]) => sets.some((s) => s.SetIdentifier !== undefined);

/** The set exactly as listed, for DELETE (Route 53 requires every attribute to match). */
export function exact(set: ResourceRecordSet): ResourceRecordSet {
  return {
    Name: set.Name,
    Type: set.Type,
    TTL: set.TTL,
    ResourceRecords: set.ResourceRecords,
    ...(set.SetIdentifier !== undefined ? { SetIdentifier: set.SetIdentifier } : {}),
    ...(set.Weight !== undefined ? { Weight: set.Weight } : {}),
    ...(set.MultiValueAnswer !== undefined ? { MultiValueAnswer: set.MultiValueAnswer } : {}),
  };
}

export interface Target {
  zoneId: string;
  fqdn: string;
  key: string;
  ttl: number;
}

/** What Present must send given the sets at the name now; [] = nothing to do. */
export function presentChanges(sets: ResourceRecordSet[], t: Target): Change[] {
  if (sets.some((s) => hasKey(s, t.key))) return [];
  const value = { Value: quoteTxt(t.key) };
  if (sets.length === 0) {
    return [{ Action: 'CREATE', ResourceRecordSet: { Name: t.fqdn, Type: 'TXT', TTL: t.ttl, ResourceRecords: [value] } }];
  }
  if (isBuiltInStyle(sets)) {
    if (sets.some((s) => s.MultiValueAnswer !== true)) {
      throw new SolverError(
        `route53: ${t.fqdn} holds TXT sets with a routing policy other than multivalue answer (e.g. weighted); refusing to change them`,
        { code: 'UnsupportedRecordSet' },
      );
    }
    // Same shape as cert-manager's built-in provider, so both can work on one name.
    return [
      {
        Action: 'CREATE',
        ResourceRecordSet: { Name: t.fqdn, Type: 'TXT', TTL: sets[0]!.TTL ?? t.ttl, SetIdentifier: t.key, MultiValueAnswer: true, ResourceRecords: [value] },
      },
    ];
  }
  const current = sets[0]!;
  return [
    { Action: 'DELETE', ResourceRecordSet: exact(current) },
    { Action: 'CREATE', ResourceRecordSet: { ...exact(current), ResourceRecords: [...(current.ResourceRecords ?? []), value] } },
  ];
}

/** What CleanUp must send; [] = the value is already gone. */
export function cleanUpChanges(sets: ResourceRecordSet[], t: Target): Change[] {
  const changes: Change[] = [];
  for (const set of sets) {
    if (!hasKey(set, t.key)) continue;
    const keep = (set.ResourceRecords ?? []).filter((r) => unquoteTxt(r.Value ?? '') !== t.key);
    changes.push({ Action: 'DELETE', ResourceRecordSet: exact(set) });
    if (keep.length > 0) changes.push({ Action: 'CREATE', ResourceRecordSet: { ...exact(set), ResourceRecords: keep } });
  }
  return changes;
}
