/**
 * The DNSPod API 3.0 actions the solver uses, with the documented parameter rules and error codes
 * (https://cloud.tencent.com/document/api/1427/56192, the SDK's errors.go). Parameters are checked the way
 * the API gateway checks them: unknown names, wrong types and missing required ones are errors, not ignored.
 */
import { DEFAULT_LINE, DEFAULT_LINE_ID, type DnspodStore, type DomainEntry, type RecordEntry, toAscii, toUnicode } from './store.js';

export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type ParamType = 'string' | 'integer' | 'string[]' | 'object[]';
type Params = Record<string, unknown>;

/** Gateway-level checks: every parameter known, of the declared type; required ones present. */
function checkParams(params: Params, spec: Record<string, ParamType>, required: string[] = []): void {
  for (const [key, value] of Object.entries(params)) {
    const type = spec[key];
    if (!type) throw new ApiError('UnknownParameter', `The parameter \`${key}\` is not recognized.`);
    const ok =
      type === 'string' ? typeof value === 'string'
      : type === 'integer' ? Number.isInteger(value)
      : type === 'string[]' ? Array.isArray(value) && value.every((v) => typeof v === 'string')
      : Array.isArray(value);
    if (!ok) throw new ApiError('InvalidParameter', `The value type of parameter \`${key}\` is not valid, expected ${type}.`);
  }
  for (const key of required) {
    if (params[key] === undefined) throw new ApiError('MissingParameter', `The request is missing a required parameter \`${key}\`.`);
  }
}

/** `DomainId` wins over `Domain` (documented); a name inside a registered domain is not a domain. */
function resolveDomain(store: DnspodStore, params: Params): DomainEntry {
  if (params.DomainId !== undefined) {
    const d = store.domainById(params.DomainId as number);
    if (!d) throw new ApiError('InvalidParameter.DomainIdInvalid', 'The domain number is incorrect.');
    return d;
  }
  const name = params.Domain as string | undefined;
  if (name === undefined || name === '') throw new ApiError('MissingParameter', 'The request is missing a required parameter `Domain`.');
  const d = store.domainByName(name);
  if (d) return d;
  if (store.isInsideRegistered(name)) {
    throw new ApiError('InvalidParameter.DomainInvalid', 'The domain is incorrect. Enter a top-level domain such as dnspod.cn.');
  }
  throw new ApiError('InvalidParameterValue.DomainNotExists', 'The current domain is incorrect. Return to the previous step and try again.');
}

const RECORD_TYPES = new Set(['A', 'AAAA', 'CNAME', 'MX', 'TXT', 'NS', 'CAA', 'SRV', 'SPF']);
const HOST_LABEL = /^(\*|[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)$/;

/** `SubDomain` → stored ASCII host; `@`/'' → apex. Unicode labels are accepted (DNSPod converts them). */
function hostOf(sub: string | undefined): string {
  if (sub === undefined || sub === '' || sub === '@') return '@';
  const ascii = toAscii(sub);
  if (!ascii || !ascii.split('.').every((l) => HOST_LABEL.test(l))) {
    throw new ApiError('InvalidParameter.SubdomainInvalid', 'The subdomain is incorrect.');
  }
  return ascii;
}

function lineOf(params: Params): { line: string; lineId: string } {
  // RecordLineId wins over RecordLine (documented). Only the default line exists on a free plan here.
  if (params.RecordLineId !== undefined) {
    if (params.RecordLineId !== DEFAULT_LINE_ID) throw new ApiError('InvalidParameter.RecordLineInvalid', 'The record split zone is incorrect.');
    return { line: DEFAULT_LINE, lineId: DEFAULT_LINE_ID };
  }
  if (params.RecordLine !== DEFAULT_LINE) throw new ApiError('InvalidParameter.RecordLineInvalid', 'The record split zone is incorrect.');
  return { line: DEFAULT_LINE, lineId: DEFAULT_LINE_ID };
}

function createRecord(store: DnspodStore, params: Params) {
  checkParams(
    params,
    {
      Domain: 'string', DomainId: 'integer', SubDomain: 'string', RecordType: 'string', RecordLine: 'string', RecordLineId: 'string',
      Value: 'string', MX: 'integer', TTL: 'integer', Weight: 'integer', Status: 'string', Remark: 'string', DnssecConflictMode: 'string',
      GroupId: 'integer',
    },
    ['Domain', 'RecordType', 'Value'],
  );
  if (params.RecordLine === undefined && params.RecordLineId === undefined) {
    throw new ApiError('MissingParameter', 'The request is missing a required parameter `RecordLine`.');
  }
  const domain = resolveDomain(store, params);
  const type = params.RecordType as string;
  if (!RECORD_TYPES.has(type)) throw new ApiError('InvalidParameter.RecordTypeInvalid', 'The record type is incorrect.');
  const { line, lineId } = lineOf(params);
  const value = params.Value as string;
  if (value === '') throw new ApiError('InvalidParameter.RecordValueInvalid', 'The record value is incorrect.');
  if (type === 'TXT' && value.length > 512) throw new ApiError('InvalidParameter.RecordValueLengthInvalid', 'The DNS record value is too long.');
  const ttl = (params.TTL as number | undefined) ?? 600;
  if (ttl < 1 || ttl > 604800) throw new ApiError('InvalidParameter', 'TTL must be between 1 and 604800.');
  if (ttl < domain.minTtl) throw new ApiError('LimitExceeded.RecordTtlLimit', 'The TTL value of the record exceeds the limit.');
  const name = hostOf(params.SubDomain as string | undefined);
  const status = params.Status === 'DISABLE' ? 'DISABLE' : 'ENABLE';
  if (params.Status !== undefined && params.Status !== 'ENABLE' && params.Status !== 'DISABLE') {
    throw new ApiError('InvalidParameterValue', 'Status must be ENABLE or DISABLE.');
  }
  const duplicate = store
    .recordsOf(domain.id)
    .some((r) => r.name === name && r.type === type && r.value === value && r.line === line);
  if (duplicate) throw new ApiError('InvalidParameter.DomainRecordExist', 'The record already exists and does not need to be added again.');
  const record = store.addRecord({ domainId: domain.id, name, type, line, lineId, value, ttl, status });
  return { RecordId: record.id };
}

function listItem(r: RecordEntry) {
  return {
    RecordId: r.id,
    Value: r.value,
    Status: r.status,
    UpdatedOn: r.updatedOn,
    // DNSPod shows host names in their original (Unicode) form.
    Name: toUnicode(r.name),
    Line: r.line,
    LineId: r.lineId,
    Type: r.type,
    Weight: null,
    MonitorStatus: '',
    Remark: '',
    TTL: r.ttl,
    MX: 0,
    DefaultNS: r.defaultNs === true,
  };
}

/** Emulator-wide knobs that model documented behaviour. */
export interface ActionOptions {
  /** DescribeRecordList shows a new record only after this many ms (DNSPod documents up to ~30 s). */
  listingDelayMs: number;
}

function describeRecordList(store: DnspodStore, params: Params, options: ActionOptions) {
  checkParams(
    params,
    {
      Domain: 'string', DomainId: 'integer', Subdomain: 'string', SubDomain: 'string', RecordType: 'string', RecordLine: 'string',
      RecordLineId: 'string', GroupId: 'integer', Keyword: 'string', SortField: 'string', SortType: 'string', Offset: 'integer',
      Limit: 'integer', ErrorOnEmpty: 'string',
    },
    ['Domain'],
  );
  const domain = resolveDomain(store, params);
  const offset = (params.Offset as number | undefined) ?? 0;
  const limit = (params.Limit as number | undefined) ?? 100;
  if (limit < 1 || limit > 3000) throw new ApiError('InvalidParameterValue.LimitInvalid', 'Error in number of entries per page.');
  if (offset < 0) throw new ApiError('InvalidParameterValue', 'Offset must not be negative.');
  const sub = (params.Subdomain ?? params.SubDomain) as string | undefined;
  const host = sub === undefined || sub === '' ? undefined : hostOf(sub);
  const keyword = params.Keyword as string | undefined;
  const indexedBefore = Date.now() - options.listingDelayMs;
  const all = store.recordsOf(domain.id).filter(
    (r) =>
      r.createdAt <= indexedBefore &&
      (host === undefined || r.name === host) &&
      (params.RecordType === undefined || r.type === params.RecordType) &&
      (params.RecordLine === undefined || r.line === params.RecordLine) &&
      (keyword === undefined || r.name.includes(keyword) || r.value.includes(keyword)),
  );
  const page = all.slice(offset, offset + limit);
  if (page.length === 0 && params.ErrorOnEmpty !== 'no') {
    throw new ApiError('ResourceNotFound.NoDataOfRecord', 'Empty record list.');
  }
  return {
    RecordCountInfo: { SubdomainCount: new Set(all.map((r) => r.name)).size, ListCount: page.length, TotalCount: all.length },
    RecordList: page.map(listItem),
  };
}

/** One record by id: read from the database, so a new record is visible at once (unlike the list). */
function describeRecord(store: DnspodStore, params: Params) {
  checkParams(params, { Domain: 'string', DomainId: 'integer', RecordId: 'integer' }, ['Domain', 'RecordId']);
  const domain = resolveDomain(store, params);
  const r = store.recordsOf(domain.id).find((x) => x.id === params.RecordId);
  if (!r) throw new ApiError('InvalidParameter.RecordIdInvalid', 'The record number is incorrect.');
  return {
    RecordInfo: {
      Id: r.id, SubDomain: toUnicode(r.name), RecordType: r.type, RecordLine: r.line, RecordLineId: r.lineId, Value: r.value,
      Weight: null, MX: 0, TTL: r.ttl, Enabled: r.status === 'ENABLE' ? 1 : 0, MonitorStatus: '', Remark: '', UpdatedOn: r.updatedOn,
      DomainId: domain.id,
    },
  };
}

function deleteRecord(store: DnspodStore, params: Params) {
  checkParams(params, { Domain: 'string', DomainId: 'integer', RecordId: 'integer' }, ['Domain', 'RecordId']);
  const domain = resolveDomain(store, params);
  if (!store.deleteRecord(domain.id, params.RecordId as number)) {
    throw new ApiError('InvalidParameter.RecordIdInvalid', 'The record number is incorrect.');
  }
  return {};
}

function domainInfo(d: DomainEntry, store: DnspodStore) {
  return {
    DomainId: d.id, Status: 'ENABLE', Grade: d.grade, GroupId: 1, IsMark: 'no', TTL: 600, CnameSpeedup: 'DISABLE', Remark: '',
    Punycode: d.punycode, DnsStatus: '', DnspodNsList: ['f1g1ns1.dnspod.net', 'f1g1ns2.dnspod.net'], Domain: d.name,
    GradeLevel: d.grade === 'DP_FREE' ? 2 : 5, UserId: 1, IsVip: d.grade === 'DP_FREE' ? 'NO' : 'YES', Owner: 'emulator@dnspod',
    GradeTitle: d.grade === 'DP_FREE' ? '免费版' : '专业版', CreatedOn: d.createdOn, UpdatedOn: d.createdOn, Uin: '100000000001',
    ActualNsList: ['f1g1ns1.dnspod.net', 'f1g1ns2.dnspod.net'], RecordCount: store.recordsOf(d.id).length, OwnerNick: '',
    IsGracePeriod: 'no', VipBuffered: 'no', VipStartAt: null, VipEndAt: null, VipAutoRenew: null, VipResourceId: null,
    IsSubDomain: store.domains.some((p) => d.punycode.endsWith(`.${p.punycode}`)), TagList: [], SearchEnginePush: 'NO', SlaveDNS: 'NO',
  };
}

function describeDomain(store: DnspodStore, params: Params) {
  checkParams(params, { Domain: 'string', DomainId: 'integer' }, ['Domain']);
  return { DomainInfo: domainInfo(resolveDomain(store, params), store) };
}

function describeDomainList(store: DnspodStore, params: Params) {
  checkParams(params, { Type: 'string', Offset: 'integer', Limit: 'integer', GroupId: 'integer', Keyword: 'string', Tags: 'object[]' });
  const offset = (params.Offset as number | undefined) ?? 0;
  const limit = (params.Limit as number | undefined) ?? 3000;
  if (limit < 1 || limit > 3000) throw new ApiError('InvalidParameterValue.LimitInvalid', 'Error in number of entries per page.');
  const keyword = params.Keyword as string | undefined;
  const all = store.domains.filter((d) => keyword === undefined || d.name.includes(keyword) || d.punycode.includes(keyword));
  const page = all.slice(offset, offset + limit);
  const total = store.domains.length;
  const vip = store.domains.filter((d) => d.grade !== 'DP_FREE').length;
  return {
    DomainCountInfo: {
      DomainTotal: all.length, AllTotal: total, MineTotal: total, ShareTotal: 0, VipTotal: vip, PauseTotal: 0, ErrorTotal: 0,
      LockTotal: 0, SpamTotal: 0, VipExpire: 0, ShareOutTotal: 0, GroupTotal: all.length,
    },
    DomainList: page.map((d) => ({
      DomainId: d.id, Name: d.name, Status: 'ENABLE', TTL: 600, CNAMESpeedup: 'DISABLE', DNSStatus: '', Grade: d.grade, GroupId: 1,
      SearchEnginePush: 'NO', Remark: '', Punycode: d.punycode, EffectiveDNS: ['f1g1ns1.dnspod.net', 'f1g1ns2.dnspod.net'],
      GradeLevel: d.grade === 'DP_FREE' ? 2 : 5, GradeTitle: d.grade === 'DP_FREE' ? '免费版' : '专业版',
      IsVip: d.grade === 'DP_FREE' ? 'NO' : 'YES', VipStartAt: '0000-00-00 00:00:00', VipEndAt: '0000-00-00 00:00:00',
      VipAutoRenew: 'DEFAULT', RecordCount: store.recordsOf(d.id).length, CreatedOn: d.createdOn, UpdatedOn: d.createdOn,
      Owner: 'emulator@dnspod', TagList: [],
    })),
  };
}

/** Plan permissions; the TTL floor is the entry named "记录 TTL 最低" (as DNSPod's console and API name it). */
function describeDomainPurview(store: DnspodStore, params: Params) {
  checkParams(params, { Domain: 'string', DomainId: 'integer' }, ['Domain']);
  const d = resolveDomain(store, params);
  return {
    PurviewList: [
      { Name: '记录 TTL 最低', Value: String(d.minTtl) },
      { Name: '记录 TTL 最高', Value: '604800' },
      { Name: '负载均衡数量', Value: d.grade === 'DP_FREE' ? '2' : '10' },
      { Name: '记录总数', Value: d.grade === 'DP_FREE' ? '1000' : '5000' },
    ],
  };
}

export const ACTIONS: Record<string, (store: DnspodStore, params: Params, options: ActionOptions) => object> = {
  CreateRecord: createRecord,
  DescribeRecordList: describeRecordList,
  DescribeRecord: describeRecord,
  DeleteRecord: deleteRecord,
  DescribeDomain: describeDomain,
  DescribeDomainList: describeDomainList,
  DescribeDomainPurview: describeDomainPurview,
};

/**
 * Documented default per-action quotas, requests per second per account ("默认接口请求频率限制"):
 * https://cloud.tencent.com/document/api/1427/56194 and each action's page (DescribeRecordList …/56166,
 * DescribeRecord …/56168, DescribeDomain …/56173, DescribeDomainPurview …/56170); CreateRecord/DeleteRecord:
 * https://www.tencentcloud.com/document/api/1157/49025.
 */
export const DOCUMENTED_QUOTAS: Record<string, number> = {
  DescribeRecordList: 100,
  DescribeRecord: 200,
  CreateRecord: 500,
  DeleteRecord: 500,
  DescribeDomain: 20,
  DescribeDomainList: 20,
  DescribeDomainPurview: 20,
};
