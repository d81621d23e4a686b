/**
 * A DNSPod (Tencent Cloud API 3.0) emulator, strict like the real API: `POST /` with a JSON body, the
 * X-TC-* headers, TC3-HMAC-SHA256 signatures verified against known SecretId/SecretKey pairs, the 5-minute
 * timestamp window, business errors as HTTP 200 `{"Response":{"Error":{Code,Message},RequestId}}`, the
 * documented per-action quotas (`RequestLimitExceeded`), and the records served over real DNS.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { EmulatorControl, handleControlRequest, type RunningEmulator } from '../common/control.js';
import { serveEmulator } from '../common/serve.js';
import { ACTIONS, ApiError, DOCUMENTED_QUOTAS } from './actions.js';
import { DnspodStore, type DomainSpec } from './store.js';
import { verifyTc3 } from './tc3.js';

export const API_VERSION = '2021-03-23';
export const DEFAULT_SECRET_ID = 'AKIDEMULATOR0000000000000000000000000';
export const DEFAULT_SECRET_KEY = 'emulator-secret-key-0000000000000';

export interface DnspodEmulatorOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** API port, default 0 (any free port). */
  port?: number;
  /** DNS port (UDP+TCP), default 0. */
  dnsPort?: number;
  /** SecretId → SecretKey pairs the "account" has. Default one pair (DEFAULT_SECRET_ID/DEFAULT_SECRET_KEY). */
  credentials?: Record<string, string>;
  /** Registered domains; a sub-zone may be registered as a domain of its own. */
  domains?: Array<DomainSpec | string>;
  /** Apply the documented per-action quotas (DescribeDomain 20/s, DescribeRecordList 100/s, Create/Delete 500/s, …). Default true. */
  documentedQuotas?: boolean;
  /** DescribeRecordList shows new records only after this delay (DNSPod documents up to ~30 s). Default 0. */
  listingDelayMs?: number;
  /** Shifts the server clock (seconds), for timestamp-window tests. */
  clockOffsetSeconds?: number;
}

export interface RunningDnspodEmulator extends RunningEmulator {
  store: DnspodStore;
  /** User-created records (the default NS records left out). */
  records(): ReturnType<DnspodStore['dump']>;
}

function sendJson(res: ServerResponse, status: number, body: unknown, requestId: string): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'x-tc-requestid': requestId, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res: ServerResponse, code: string, message: string, requestId: string): void {
  // Tencent Cloud answers business and auth errors with HTTP 200.
  sendJson(res, 200, { Response: { Error: { Code: code, Message: message }, RequestId: requestId } }, requestId);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** "N requests per second" read as: at most N calls in any second, per account. */
function applyDocumentedQuotas(control: EmulatorControl): void {
  control.setDefaultQuotas(Object.entries(DOCUMENTED_QUOTAS).map(([action, perSecond]) => ({ action, requests: perSecond, perSeconds: 1 })));
}

/** The SecretId a request claims (from its Authorization header), to count requests per credential — rejected ones too. */
function claimedSecretId(authorization: string | string[] | undefined): string {
  const m = /Credential=([^/,\s]+)/.exec(String(authorization ?? ''));
  return m ? `secretId:${m[1]}` : 'anonymous';
}

export async function startDnspodEmulator(options: DnspodEmulatorOptions = {}): Promise<RunningDnspodEmulator> {
  const host = options.host ?? '127.0.0.1';
  const keys = new Map(Object.entries(options.credentials ?? { [DEFAULT_SECRET_ID]: DEFAULT_SECRET_KEY }));
  const store = new DnspodStore();
  for (const d of options.domains ?? []) store.addDomain(d);
  const control = new EmulatorControl();
  if (options.documentedQuotas !== false) applyDocumentedQuotas(control);

  async function handleApi(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    const body = await readBody(req);
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'POST' || path !== '/') {
      return sendError(res, 'UnsupportedOperation', 'Only POST / with a JSON body is supported by this emulator.', requestId);
    }
    control.countRequest(claimedSecretId(req.headers.authorization));
    const action = req.headers['x-tc-action'];
    const version = req.headers['x-tc-version'];
    if (typeof action !== 'string' || action === '') return sendError(res, 'MissingParameter', 'The request is missing a required parameter `Action`.', requestId);
    if (typeof version !== 'string' || version === '') return sendError(res, 'MissingParameter', 'The request is missing a required parameter `Version`.', requestId);
    if (!ACTIONS[action]) return sendError(res, 'InvalidAction', `The action \`${action}\` is not found.`, requestId);
    if (version !== API_VERSION) return sendError(res, 'NoSuchVersion', `The version \`${version}\` of the action \`${action}\` is not found.`, requestId);
    const contentType = String(req.headers['content-type'] ?? '').toLowerCase();
    if (!contentType.startsWith('application/json')) {
      return sendError(res, 'InvalidParameter', `Content-Type ${contentType || '(none)'} is not supported; use application/json.`, requestId);
    }

    const auth = verifyTc3({
      method: req.method,
      url: req.url ?? '/',
      headers: req.headers,
      body,
      keys,
      nowSeconds: Math.floor(Date.now() / 1000) + (options.clockOffsetSeconds ?? 0),
      maxSkewSeconds: 300,
    });
    if (!auth.ok) return sendError(res, auth.code, auth.message, requestId);

    const gate = await control.gate(action);
    if (gate === 'throttle') {
      return sendError(res, 'RequestLimitExceeded', 'Your current request times equals to `101` in a second, which exceeds the frequency limit `100` for a second. Please reduce the frequency of calls.', requestId);
    }
    if (gate === 'server-error') {
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<html><body><h1>502 Bad Gateway</h1></body></html>');
      return;
    }

    let params: unknown;
    try {
      params = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
    } catch {
      return sendError(res, 'InvalidParameter', 'The request body is not valid JSON.', requestId);
    }
    if (typeof params !== 'object' || params === null || Array.isArray(params)) {
      return sendError(res, 'InvalidParameter', 'The request body must be a JSON object.', requestId);
    }
    try {
      const result = ACTIONS[action]!(store, params as Record<string, unknown>, { listingDelayMs: options.listingDelayMs ?? 0 });
      sendJson(res, 200, { Response: { ...result, RequestId: requestId } }, requestId);
    } catch (err) {
      if (err instanceof ApiError) return sendError(res, err.code, err.message, requestId);
      return sendError(res, 'InternalError', (err as Error).message, requestId);
    }
  }

  const server = createServer((req, res) => {
    void (async () => {
      const handled = await handleControlRequest(req, res, control, {
        dumpRecords: () => store.dump(),
        resetRecords: () => store.clearRecords(),
      });
      if (!handled) await handleApi(req, res);
    })().catch((err) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(err));
    });
  });
  const running = await serveEmulator(server, {
    host,
    port: options.port,
    dnsPort: options.dnsPort,
    source: {
      zones: () => store.domains.map((d) => `${d.punycode}.`),
      txt: (fqdn) => store.txtAt(fqdn).map((r) => r.value),
      names: () => store.records.filter((r) => r.type === 'TXT').map((r) => {
        const d = store.domainById(r.domainId)!;
        return r.name === '@' ? `${d.punycode}.` : `${r.name}.${d.punycode}.`;
      }),
      ttl: (fqdn) => {
        const ttls = store.txtAt(fqdn).map((r) => r.ttl);
        return ttls.length ? Math.min(...ttls) : undefined;
      },
    },
  });

  return { ...running, control, store, records: () => store.dump() };
}
