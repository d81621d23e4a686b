/**
 * A Cloudflare API v4 emulator for the DNS calls a DNS-01 solver makes, strict like the documented API:
 *   GET    /client/v4/zones?name=&status=&page=&per_page=
 *   GET    /client/v4/zones/{zone_id}/dns_records?type=&name=|name.exact=&content=|content.exact=&page=&per_page=
 *   POST   /client/v4/zones/{zone_id}/dns_records        {type, name, content, ttl}
 *   DELETE /client/v4/zones/{zone_id}/dns_records/{id}
 * Every answer uses the v4 envelope `{success, errors, messages, result, result_info}`. Auth by scoped API
 * token or e-mail + global key (auth.ts). Records live in memory and are served over real DNS (UDP+TCP)
 * through the core's embedded DNS server; the shared control plane (`/_emulator/*`) injects faults and quotas.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { EmulatorControl, handleControlRequest, type RunningEmulator } from '../common/control.js';
import { serveEmulator } from '../common/serve.js';
import { authenticate, canAccess, claimedIdentity, type ApiError, type Credentials, type Principal } from './auth.js';
import { txtAnswer } from './txt.js';

export interface CloudflareEmulatorOptions {
  host?: string;
  port?: number;
  dnsPort?: number;
  /** Zones of the account; a string is an active zone. */
  zones?: Array<string | { name: string; status?: 'active' | 'pending' }>;
  /** API token → zone names it may read/edit, or `'*'` for every zone. Tokens must be 40 chars [A-Za-z0-9_-]. */
  tokens?: Record<string, string[] | '*'>;
  /** Global API key users (key: 37 lower-case hex chars); they see every zone. */
  users?: Array<{ email: string; key: string }>;
  /** Retry-After (seconds) sent with 429. The real API blocks for 5 minutes; tests use 1. Default 1. */
  retryAfterSeconds?: number;
  /**
   * Request quota per user or token. Default the documented 1200 per 5 minutes
   * (https://developers.cloudflare.com/fundamentals/api/reference/limits/), as a sliding window; `false` = none.
   */
  quota?: { requests: number; perSeconds: number } | false;
  /** Code for "identical record" on create: 81058 (current API, default) or 81057 (older answers). */
  duplicateCode?: 81057 | 81058;
}

export interface StoredRecord {
  id: string;
  zone_id: string;
  zone_name: string;
  type: string;
  name: string;
  content: string;
  ttl: number;
  created_on: string;
  modified_on: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface CloudflareEmulator extends RunningEmulator {
  zoneId(name: string): string;
  /** Deletes a zone and adds it again (a new zone id, its records gone), as a user re-adding a site would. Returns the new id. */
  recreateZone(name: string): string;
  /** Adds a record the way the dashboard would (no API call, no quota), e.g. quoted TXT content. Returns its id. */
  seedRecord(zone: string, record: { name: string; content: string; type?: string; ttl?: number }): string;
  /** Every stored record (copies). */
  records(): StoredRecord[];
  /** Every API request received (control routes excluded), oldest first. */
  readonly requests: RecordedRequest[];
}

interface Zone {
  id: string;
  name: string;
  status: 'active' | 'pending';
}

/** "Client API per user/account token: 1200/5 minutes". */
export const DOCUMENTED_QUOTA = { requests: 1200, perSeconds: 300 };

const ID_FORMAT = /^[0-9a-f]{32}$/;
const ZONES_PER_PAGE = { min: 5, max: 50, default: 20 };
const RECORDS_PER_PAGE = { min: 1, max: 5_000_000, default: 100 };
const AUTO_TTL_SERVED = 300;

const newId = () => randomBytes(16).toString('hex');
const normName = (name: string) => name.trim().toLowerCase().replace(/\.+$/, '');

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly errors: ApiError[],
    readonly headers: Record<string, string> = {},
  ) {
    super(errors.map((e) => `${e.code} ${e.message}`).join('; '));
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

const envelope = (result: unknown, resultInfo?: unknown) => ({
  success: true,
  errors: [],
  messages: [],
  result,
  ...(resultInfo === undefined ? {} : { result_info: resultInfo }),
});

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function intParam(query: URLSearchParams, name: string, bounds: { min: number; max: number; default: number }): number {
  const raw = query.get(name);
  if (raw === null || raw === '') return bounds.default;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < bounds.min || n > bounds.max) {
    throw new HttpError(400, [{ code: 1001, message: `${name} must be an integer between ${bounds.min} and ${bounds.max}` }]);
  }
  return n;
}

/** Page past the end → an empty page (not an error): the SDK's auto-pagination relies on that to stop. */
function paginate<T>(items: T[], query: URLSearchParams, bounds: { min: number; max: number; default: number }) {
  const page = intParam(query, 'page', { min: 1, max: Number.MAX_SAFE_INTEGER, default: 1 });
  const perPage = intParam(query, 'per_page', bounds);
  const slice = items.slice((page - 1) * perPage, page * perPage);
  return {
    result: slice,
    result_info: { page, per_page: perPage, count: slice.length, total_count: items.length, total_pages: Math.ceil(items.length / perPage) },
  };
}

/** `name` / `name.exact` / `name.contains` / ... as the list endpoint documents them. */
function stringFilter(query: URLSearchParams, field: string, normalise: (s: string) => string): ((value: string) => boolean) | undefined {
  const tests: Array<(v: string) => boolean> = [];
  const exact = query.get(`${field}.exact`) ?? query.get(field);
  if (exact !== null) tests.push((v) => v === normalise(exact));
  const contains = query.get(`${field}.contains`);
  if (contains !== null) tests.push((v) => v.includes(normalise(contains)));
  const starts = query.get(`${field}.startswith`);
  if (starts !== null) tests.push((v) => v.startsWith(normalise(starts)));
  const ends = query.get(`${field}.endswith`);
  if (ends !== null) tests.push((v) => v.endsWith(normalise(ends)));
  return tests.length ? (v) => tests.every((t) => t(normalise(v))) : undefined;
}

export async function startCloudflareEmulator(options: CloudflareEmulatorOptions = {}): Promise<CloudflareEmulator> {
  const host = options.host ?? '127.0.0.1';
  const retryAfter = options.retryAfterSeconds ?? 1;
  const duplicateCode = options.duplicateCode ?? 81058;
  const control = new EmulatorControl();
  const quota = options.quota === undefined ? DOCUMENTED_QUOTA : options.quota;
  if (quota) control.setDefaultQuotas([{ action: '*', ...quota }]);
  const zones = new Map<string, Zone>();
  for (const z of options.zones ?? []) {
    const spec = typeof z === 'string' ? { name: z } : z;
    const zone: Zone = { id: newId(), name: normName(spec.name), status: spec.status ?? 'active' };
    zones.set(zone.id, zone);
  }
  const creds: Credentials = { tokens: new Map(), users: new Map() };
  for (const [token, scope] of Object.entries(options.tokens ?? {})) {
    creds.tokens.set(token, scope === '*' ? 'all' : new Set(scope.map(normName)));
  }
  for (const u of options.users ?? []) creds.users.set(u.email.toLowerCase(), u.key);
  const records = new Map<string, StoredRecord>();
  const requests: RecordedRequest[] = [];

  const zoneByName = (name: string) => [...zones.values()].find((z) => z.name === normName(name));

  function zoneFor(principal: Principal, zoneId: string): Zone {
    if (!ID_FORMAT.test(zoneId)) {
      throw new HttpError(404, [
        { code: 7003, message: `Could not route to /zones/${zoneId}/dns_records, perhaps your object identifier is invalid?` },
        { code: 7000, message: 'No route for that URI' },
      ]);
    }
    const zone = zones.get(zoneId);
    // A token cannot tell "no such zone" from "not yours": both are an authentication error.
    if (!zone || !canAccess(principal, zone.name)) throw new HttpError(403, [{ code: 10000, message: 'Authentication error' }]);
    return zone;
  }

  function zoneJson(z: Zone) {
    return {
      id: z.id,
      name: z.name,
      status: z.status,
      paused: false,
      type: 'full',
      development_mode: 0,
      name_servers: ['ada.ns.cloudflare.com', 'bob.ns.cloudflare.com'],
      account: { id: 'emulated-account', name: 'Emulated account' },
      permissions: ['#dns_records:edit', '#dns_records:read', '#zone:read'],
      created_on: '2024-01-01T00:00:00Z',
      modified_on: '2024-01-01T00:00:00Z',
    };
  }

  const recordJson = (r: StoredRecord) => ({
    ...r,
    proxiable: false,
    proxied: false,
    settings: {},
    meta: {},
    comment: null,
    tags: [],
  });

  function listZones(principal: Principal, query: URLSearchParams) {
    const name = query.get('name');
    const status = query.get('status');
    const visible = [...zones.values()]
      .filter((z) => canAccess(principal, z.name))
      .filter((z) => name === null || z.name === normName(name))
      .filter((z) => status === null || z.status === status)
      .sort((a, b) => a.name.localeCompare(b.name));
    const { result, result_info } = paginate(visible, query, ZONES_PER_PAGE);
    return envelope(result.map(zoneJson), result_info);
  }

  function listRecords(zone: Zone, query: URLSearchParams) {
    const type = query.get('type');
    const byName = stringFilter(query, 'name', normName);
    const byContent = stringFilter(query, 'content', (s) => s);
    const tests = [type === null ? undefined : (r: StoredRecord) => r.type === type.toUpperCase(), byName && ((r: StoredRecord) => byName(r.name)), byContent && ((r: StoredRecord) => byContent(r.content))].filter(
      (t): t is (r: StoredRecord) => boolean => t !== undefined,
    );
    const any = query.get('match') === 'any';
    const matching = [...records.values()]
      .filter((r) => r.zone_id === zone.id)
      .filter((r) => tests.length === 0 || (any ? tests.some((t) => t(r)) : tests.every((t) => t(r))))
      .sort((a, b) => a.created_on.localeCompare(b.created_on) || a.id.localeCompare(b.id));
    const { result, result_info } = paginate(matching, query, RECORDS_PER_PAGE);
    return envelope(result.map(recordJson), result_info);
  }

  const validation = (message: string, chainCode: number) =>
    new HttpError(400, [{ code: 1004, message: 'DNS Validation Error', error_chain: [{ code: chainCode, message }] }]);

  /** `@` → apex; a name outside the zone gets the zone appended, like the API does. */
  function absoluteInZone(name: string, zone: Zone): string {
    const n = normName(name);
    if (n === '@' || n === '') return zone.name;
    return n === zone.name || n.endsWith(`.${zone.name}`) ? n : `${n}.${zone.name}`;
  }

  function insert(zone: Zone, spec: { type: string; name: string; content: string; ttl: number }): StoredRecord {
    const name = absoluteInZone(spec.name, zone);
    const identical = [...records.values()].find(
      (r) => r.zone_id === zone.id && r.type === spec.type && r.name === name && txtAnswer(r.content) === txtAnswer(spec.content),
    );
    if (identical) {
      const message = duplicateCode === 81058 ? 'An identical record already exists.' : 'Record already exists.';
      throw new HttpError(400, [{ code: duplicateCode, message }]);
    }
    const now = new Date().toISOString();
    const record: StoredRecord = { id: newId(), zone_id: zone.id, zone_name: zone.name, type: spec.type, name, content: spec.content, ttl: spec.ttl, created_on: now, modified_on: now };
    records.set(record.id, record);
    return record;
  }

  function createRecord(zone: Zone, text: string) {
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(text) as Record<string, unknown>;
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error('not an object');
    } catch {
      throw new HttpError(400, [{ code: 9207, message: 'Request body is invalid.' }]);
    }
    const { type, name, content } = body;
    const ttl = body.ttl ?? 1;
    if (typeof type !== 'string' || type === '') throw validation('DNS record type is required.', 9101);
    if (type.toUpperCase() !== 'TXT') throw validation(`This emulator only handles TXT records, not ${type}.`, 9020);
    if (typeof name !== 'string' || name === '') throw validation('DNS record name is required.', 9005);
    if (typeof content !== 'string' || content === '') throw validation('Content for TXT record is invalid.', 9008);
    if (content.length > 2048) throw validation('Content for TXT record is too long (2048 characters at most).', 9008);
    if (typeof ttl !== 'number' || !Number.isInteger(ttl) || (ttl !== 1 && (ttl < 60 || ttl > 86400))) {
      throw validation('TTL must be between 60 and 86400 seconds, or 1 for Automatic.', 9021);
    }
    return envelope(recordJson(insert(zone, { type: 'TXT', name, content, ttl })));
  }

  function deleteRecord(zone: Zone, recordId: string) {
    if (!ID_FORMAT.test(recordId)) {
      throw new HttpError(404, [
        { code: 7003, message: `Could not route to /zones/${zone.id}/dns_records/${recordId}, perhaps your object identifier is invalid?` },
        { code: 7000, message: 'No route for that URI' },
      ]);
    }
    const record = records.get(recordId);
    if (!record || record.zone_id !== zone.id) throw new HttpError(404, [{ code: 81044, message: 'Record does not exist.' }]);
    records.delete(recordId);
    return envelope({ id: recordId });
  }

  async function handleApi(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://emulator');
    const method = req.method ?? 'GET';
    requests.push({ method, path: url.pathname, query: url.search, headers: { ...req.headers } });
    const body = method === 'POST' || method === 'PUT' || method === 'PATCH' ? await readBody(req) : '';

    const zonesRoute = url.pathname === '/client/v4/zones';
    const recordsRoute = /^\/client\/v4\/zones\/([^/]+)\/dns_records$/.exec(url.pathname);
    const recordRoute = /^\/client\/v4\/zones\/([^/]+)\/dns_records\/([^/]+)$/.exec(url.pathname);
    const action =
      zonesRoute && method === 'GET' ? 'GET zones'
      : recordsRoute && method === 'GET' ? 'GET dns_records'
      : recordsRoute && method === 'POST' ? 'POST dns_records'
      : recordRoute && method === 'DELETE' ? 'DELETE dns_records'
      : undefined;
    if (!action) {
      throw new HttpError(404, [
        { code: 7003, message: `Could not route to ${url.pathname}, perhaps your object identifier is invalid?` },
        { code: 7000, message: 'No route for that URI' },
      ]);
    }

    // The quota is per user or token: authenticate first, gate by who it is, then refuse a bad credential.
    const auth = authenticate(req.headers, creds);
    const scope = auth.ok ? auth.principal.id : claimedIdentity(req.headers);
    control.countRequest(scope);
    const verdict = await control.gate(action, scope);
    if (verdict === 'throttle') {
      throw new HttpError(429, [{ code: 971, message: 'Please wait and consider throttling your request speed' }], { 'retry-after': String(retryAfter) });
    }
    if (verdict === 'server-error') {
      // Cloudflare's edge answers origin trouble with an HTML page, not the JSON envelope.
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>cloudflare</center></body></html>');
      return;
    }

    if (!auth.ok) throw new HttpError(auth.status, [auth.error]);
    const principal = auth.principal;

    if (action === 'GET zones') return sendJson(res, 200, listZones(principal, url.searchParams));
    const zone = zoneFor(principal, (recordsRoute ?? recordRoute)![1]!);
    if (action === 'GET dns_records') return sendJson(res, 200, listRecords(zone, url.searchParams));
    if (action === 'POST dns_records') return sendJson(res, 200, createRecord(zone, body));
    return sendJson(res, 200, deleteRecord(zone, recordRoute![2]!));
  }

  const server: Server = createServer((req, res) => {
    void (async () => {
      try {
        const handled = await handleControlRequest(req, res, control, {
          dumpRecords: () => [...records.values()],
          resetRecords: () => records.clear(),
        });
        if (handled) return;
        await handleApi(req, res);
      } catch (err) {
        if (err instanceof HttpError) {
          sendJson(res, err.status, { success: false, errors: err.errors, messages: [], result: null }, err.headers);
        } else if (!res.headersSent) {
          sendJson(res, 500, { success: false, errors: [{ code: 10001, message: `emulator bug: ${(err as Error).message}` }], messages: [], result: null });
        }
      }
    })();
  });

  const txtAt = (fqdn: string) => [...records.values()].filter((r) => r.type === 'TXT' && `${r.name}.` === fqdn.toLowerCase());
  const running = await serveEmulator(server, {
    host,
    port: options.port,
    dnsPort: options.dnsPort,
    basePath: '/client/v4',
    source: {
      // Only active zones are delegated to Cloudflare's nameservers.
      zones: () => [...zones.values()].filter((z) => z.status === 'active').map((z) => `${z.name}.`),
      txt: (fqdn) => txtAt(fqdn).map((r) => txtAnswer(r.content)),
      names: () => [...records.values()].filter((r) => r.type === 'TXT').map((r) => `${r.name}.`),
      ttl: (fqdn) => {
        const ttls = txtAt(fqdn).map((r) => (r.ttl === 1 ? AUTO_TTL_SERVED : r.ttl));
        return ttls.length ? Math.min(...ttls) : undefined;
      },
    },
  });

  return {
    ...running,
    control,
    requests,
    zoneId(name) {
      const zone = zoneByName(name);
      if (!zone) throw new Error(`emulator has no zone ${name}`);
      return zone.id;
    },
    recreateZone(name) {
      const old = zoneByName(name);
      if (!old) throw new Error(`emulator has no zone ${name}`);
      zones.delete(old.id);
      for (const [id, r] of records) if (r.zone_id === old.id) records.delete(id);
      const zone: Zone = { id: newId(), name: old.name, status: old.status };
      zones.set(zone.id, zone);
      return zone.id;
    },
    seedRecord(zoneName, record) {
      const zone = zoneByName(zoneName);
      if (!zone) throw new Error(`emulator has no zone ${zoneName}`);
      return insert(zone, { type: (record.type ?? 'TXT').toUpperCase(), name: record.name, content: record.content, ttl: record.ttl ?? 1 }).id;
    },
    records: () => [...records.values()].map((r) => ({ ...r })),
  };
}
