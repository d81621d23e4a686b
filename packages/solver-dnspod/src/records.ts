/**
 * The three record calls of the core's RecordApi on DNSPod: one TXT record per value, found again by
 * name and value (never by an id kept in memory). Names are compared in ASCII (punycode): DNSPod answers
 * with Unicode host names for IDN domains.
 */
import {
  RecordExistsError,
  RecordNotFoundError,
  SolverError,
  relativeName,
  toFqdn,
  type RecordApi,
  type RecordTarget,
  type TxtRecord,
} from '@dns01-webhook/core';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DnspodApi } from './client.js';
import { codeOf } from './errors.js';
import type { RecentRecords } from './recent.js';
import type { DnspodDomain } from './zone.js';

export interface RecordOptions {
  ttl: number;
  recordLine: string;
  /** DescribeRecordList page size (API maximum 3000). */
  pageSize: number;
  signal: AbortSignal;
  deadline: number;
}

/** DNSPod: "新添加的解析记录存在短暂的索引延迟，如果查询不到新增记录，请在 30 秒后重试" (DescribeRecordList docs). */
const LISTING_DELAY_MS = 30_000;
/** Kept free at the end of the deadline for the delete and the answer. */
const UNLISTED_RESERVE_MS = 2_000;

interface RecordListItem {
  RecordId?: number;
  Value?: string;
  Name?: string;
  Type?: string;
}

interface RecordListResponse {
  RecordCountInfo?: { TotalCount?: number };
  RecordList?: RecordListItem[];
}

/** The free plan's documented floor, used when the plan's own value cannot be read. */
const FREE_PLAN_MIN_TTL = 600;
/** Entry of DescribeDomainPurview that holds the plan's smallest TTL (Chinese site / international site). */
const MIN_TTL_PURVIEW = new Set(['记录 TTL 最低', 'Min TTL value']);

function unquote(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
}

interface RecordInfo {
  SubDomain?: string;
  RecordType?: string;
  Value?: string;
}

export function dnspodRecords(api: DnspodApi, domain: DnspodDomain, options: RecordOptions, recent: RecentRecords): RecordApi {
  const zone = `${domain.ascii}.`;
  const hostKey = (sub: string) => `${domain.id}/${sub}`;
  // DomainId wins over Domain on every action (documented); Domain is still a required parameter.
  const base = { Domain: domain.ascii, DomainId: domain.id };
  const ctx = { domain: domain.name };

  async function minimumTtl(): Promise<number | undefined> {
    try {
      const res = await api.call<{ PurviewList?: Array<{ Name?: string; Value?: string }> }>('DescribeDomainPurview', base, ctx);
      const entry = res.PurviewList?.find((p) => MIN_TTL_PURVIEW.has((p.Name ?? '').trim()));
      const n = Number(entry?.Value);
      return Number.isFinite(n) && n > 0 ? n : undefined;
    } catch {
      return undefined;
    }
  }

  /** Records this process created that the listing does not show yet, confirmed one by one with DescribeRecord. */
  async function recentNotListed(sub: string, listed: TxtRecord[]): Promise<TxtRecord[]> {
    const out: TxtRecord[] = [];
    for (const [value, id] of recent.at(hostKey(sub))) {
      if (listed.some((r) => r.id === String(id))) continue;
      try {
        const { RecordInfo: info } = await api.call<{ RecordInfo?: RecordInfo }>('DescribeRecord', { ...base, RecordId: id }, ctx);
        if (info?.RecordType === 'TXT' && toFqdn(info.SubDomain ?? '') === toFqdn(sub) && unquote(info.Value ?? '') === value) {
          out.push({ value, id: String(id) });
        } else recent.forget(hostKey(sub), value);
      } catch (err) {
        if (codeOf(err) !== 'InvalidParameter.RecordIdInvalid') throw err;
        recent.forget(hostKey(sub), value);
      }
    }
    return out;
  }

  async function listed(target: RecordTarget): Promise<TxtRecord[]> {
      const sub = relativeName(target.fqdn, zone);
      const wanted = toFqdn(sub);
      const out: TxtRecord[] = [];
      for (let offset = 0; ; ) {
        let page: RecordListResponse;
        try {
          page = await api.call<RecordListResponse>(
            'DescribeRecordList',
            { ...base, Subdomain: sub, RecordType: 'TXT', Offset: offset, Limit: options.pageSize },
            ctx,
          );
        } catch (err) {
          // DNSPod reports an empty list (or a page past the end) as an error.
          if (codeOf(err) === 'ResourceNotFound.NoDataOfRecord') break;
          throw err;
        }
        const items = page.RecordList ?? [];
        for (const r of items) {
          if (r.Type !== 'TXT' || typeof r.RecordId !== 'number' || toFqdn(r.Name ?? '') !== wanted) continue;
          out.push({ value: unquote(r.Value ?? ''), id: String(r.RecordId) });
        }
        offset += items.length;
        const total = page.RecordCountInfo?.TotalCount ?? 0;
        if (items.length === 0 || items.length < options.pageSize || offset >= total) break;
      }
      return out;
  }

  return {
    async list(target: RecordTarget): Promise<TxtRecord[]> {
      const out = await listed(target);
      return [...out, ...(await recentNotListed(relativeName(target.fqdn, zone), out))];
    },

    /**
     * CleanUp found no record with `value`. Another replica may have created it moments ago, inside
     * DNSPod's listing delay (the chart runs 2 replicas; issue 7 §5: 33–40 of 40 values leaked). The
     * write path sees what the listing does not: CreateRecord of the same value, DISABLED (never served),
     * answers DomainRecordExist when the record is there — then the listing is polled (backoff, inside the
     * deadline) until it shows the record's id. When the probe creates a record instead, the value was not
     * there: the probe record is deleted again at once. Two calls for a CleanUp of a value that is already
     * gone, skipped when this replica deleted it itself.
     */
    async findUnlisted(target: RecordTarget, value: string): Promise<TxtRecord[]> {
      const sub = relativeName(target.fqdn, zone);
      if (recent.wasRemoved(hostKey(sub), value)) return [];
      let probeId: number | undefined;
      try {
        const created = await api.call<{ RecordId?: number }>(
          'CreateRecord',
          { ...base, SubDomain: sub, RecordType: 'TXT', RecordLine: options.recordLine, Value: value, TTL: options.ttl, Status: 'DISABLE' },
          ctx,
        );
        probeId = created.RecordId;
      } catch (err) {
        if (codeOf(err) !== 'InvalidParameter.DomainRecordExist') throw err;
      }
      if (probeId !== undefined) {
        try {
          await api.call('DeleteRecord', { ...base, RecordId: probeId }, ctx);
        } catch (err) {
          if (codeOf(err) !== 'InvalidParameter.RecordIdInvalid') throw err;
        }
        return [];
      }
      // It exists but is not listed yet: wait for DNSPod's index.
      for (let waitMs = 1_000; ; waitMs = Math.min(waitMs * 2, 8_000)) {
        if (Date.now() + waitMs + UNLISTED_RESERVE_MS > options.deadline) {
          throw new SolverError(
            `DNSPod holds TXT ${target.fqdn} with this value, but DescribeRecordList does not show it yet (DNSPod indexes new records ` +
              `within about ${LISTING_DELAY_MS / 1000} s), so its RecordId is unknown; nothing was deleted. cert-manager retries the CleanUp`,
            { code: 'RecordNotListedYet', retryable: false },
          );
        }
        await sleep(waitMs, undefined, { signal: options.signal });
        const found = (await listed(target)).filter((r) => r.value === value);
        if (found.length > 0) return found;
      }
    },

    async add(target: RecordTarget, value: string): Promise<void> {
      const sub = relativeName(target.fqdn, zone);
      try {
        const created = await api.call<{ RecordId?: number }>(
          'CreateRecord',
          { ...base, SubDomain: sub, RecordType: 'TXT', RecordLine: options.recordLine, Value: value, TTL: options.ttl },
          ctx,
        );
        if (typeof created.RecordId === 'number') recent.remember(hostKey(sub), value, created.RecordId);
      } catch (err) {
        const code = codeOf(err);
        if (code === 'InvalidParameter.DomainRecordExist') throw new RecordExistsError(`TXT ${target.fqdn} already has this value`);
        if (code === 'LimitExceeded.RecordTtlLimit') {
          const min = await minimumTtl();
          const plan = domain.grade ? ` (${domain.grade})` : '';
          throw new SolverError(
            `DNSPod refused TTL ${options.ttl} for ${target.fqdn} (LimitExceeded.RecordTtlLimit): the plan of ${domain.name}${plan} ` +
              `allows at least ${min ?? FREE_PLAN_MIN_TTL}${min === undefined ? ' (the free plan minimum; the plan could not be read)' : ''}; ` +
              `set config.ttl ≥ ${min ?? FREE_PLAN_MIN_TTL}`,
            { code: 'LimitExceeded.RecordTtlLimit', cause: err },
          );
        }
        if (code === 'InvalidParameter.RecordLineInvalid') {
          throw new SolverError(
            `DNSPod rejected recordLine ${JSON.stringify(options.recordLine)} for ${domain.name} (InvalidParameter.RecordLineInvalid); ` +
              `leave config.recordLine empty for the default line "默认"`,
            { code, cause: err },
          );
        }
        throw err;
      }
    },

    async remove(target: RecordTarget, record: TxtRecord): Promise<void> {
      const key = hostKey(relativeName(target.fqdn, zone));
      try {
        await api.call('DeleteRecord', { ...base, RecordId: Number(record.id) }, ctx);
        recent.removed(key, record.value);
      } catch (err) {
        if (codeOf(err) === 'InvalidParameter.RecordIdInvalid') {
          recent.removed(key, record.value);
          throw new RecordNotFoundError(`record ${record.id} is already gone`);
        }
        throw err;
      }
    },
  };
}
