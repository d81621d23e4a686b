/**
 * A Route 53 emulator strict like the documented API: REST-XML on /2013-04-01/, every request SigV4-verified
 * against known keys, atomic change batches, "start at" listings with pagination, PENDING → INSYNC changes,
 * Throttling / PriorRequestNotComplete / 5xx through the shared control plane, a tiny STS (AssumeRole,
 * AssumeRoleWithWebIdentity) on the same port, and the public zones served over real DNS.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomBytes, randomUUID } from 'node:crypto';
import type { ServableRecordSource } from '@dns01-webhook/core';
import { EmulatorControl, handleControlRequest, type RunningEmulator } from '../common/control.js';
import { serveEmulator } from '../common/serve.js';
import { Route53Error, Route53Store, type HostedZone, type RecordSet } from './store.js';
import { verifySigV4, type KnownKey } from './sigv4.js';
import { changeInfoXml, errorDocument, parseChangeBatch, setXml, STS_NS, xmlDocument, zoneXml } from './xml.js';
import { parseTxtValue } from './txt.js';

export interface ZoneSpec {
  name: string;
  private?: boolean;
  id?: string;
}

export interface StaticKey {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface Route53EmulatorOptions {
  host?: string;
  port?: number;
  dnsPort?: number;
  zones?: Array<string | ZoneSpec>;
  /** Long-term keys the emulator knows. Default: one key, `DEFAULT_KEY`. */
  credentials?: StaticKey[];
  /** How long a change stays PENDING (GetChange). Default 1000 ms. */
  insyncAfterMs?: number;
  /**
   * Request quota of the account over the Route 53 API calls (STS not included). Default: the documented
   * "five requests per second, per account" (https://repost.aws/knowledge-center/route-53-avoid-throttling-errors)
   * as a sliding window; `{burst, perSecond}` models the newer token buckets; `false` switches it off.
   */
  quota?: { burst: number; perSecond: number } | { requests: number; perSeconds: number } | false;
  /** STS: role ARNs that may be assumed. Default: any `arn:aws:iam::<12 digits>:role/...`. */
  roles?: string[];
  /** STS: decides whether a web identity token is accepted for a role. Default: reject every token. */
  acceptWebIdentity?: (token: string, roleArn: string) => boolean;
}

export interface AuthLogEntry {
  action: string;
  accessKeyId: string;
  /** For temporary credentials: the role they were issued for. */
  role?: string;
}

export interface RunningRoute53Emulator extends RunningEmulator {
  store: Route53Store;
  /** The first static key (use it in configs). */
  credentials: StaticKey;
  /** Zone id by name (`example.test.` or `example.test`); `private` picks among same-named zones. */
  zoneId(name: string, options?: { private?: boolean }): string;
  /** Which key signed each authenticated API call, in order. */
  authLog: AuthLogEntry[];
  /** STS calls that succeeded. */
  stsLog: Array<{ action: 'AssumeRole' | 'AssumeRoleWithWebIdentity'; roleArn: string; sessionName: string; callerKey?: string }>;
}

/** Route 53's documented request rate: five requests per second per account. */
export const DOCUMENTED_QUOTA = { requests: 5, perSeconds: 1 };
const ROUTE53_ACTIONS = ['ListHostedZonesByName', 'ListHostedZones', 'GetHostedZone', 'ListResourceRecordSets', 'ChangeResourceRecordSets', 'GetChange'];

export const DEFAULT_KEY: StaticKey = { accessKeyId: 'AKIAEMULATOR00000001', secretAccessKey: 'emulator/secret/key/0000000000000000000000' };
const ROLE_ARN = /^arn:aws:iam::\d{12}:role\/[\w+=,.@\/-]+$/;
/** Route 53 answers at most 8 healthy multivalue records per query (developer guide, "Multivalue answer routing"). */
const MULTIVALUE_ANSWER_LIMIT = 8;

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function routeOf(method: string, path: string): { action: string; params: Record<string, string> } | undefined {
  const p = path.replace(/\/+$/, '');
  let m: RegExpExecArray | null;
  if (method === 'GET' && p === '/2013-04-01/hostedzonesbyname') return { action: 'ListHostedZonesByName', params: {} };
  if (method === 'GET' && p === '/2013-04-01/hostedzone') return { action: 'ListHostedZones', params: {} };
  if (method === 'GET' && (m = /^\/2013-04-01\/hostedzone\/([^/]+)$/.exec(p))) return { action: 'GetHostedZone', params: { id: decodeURIComponent(m[1]!) } };
  if (method === 'GET' && (m = /^\/2013-04-01\/hostedzone\/([^/]+)\/rrset$/.exec(p))) return { action: 'ListResourceRecordSets', params: { id: decodeURIComponent(m[1]!) } };
  if (method === 'POST' && (m = /^\/2013-04-01\/hostedzone\/([^/]+)\/rrset$/.exec(p))) return { action: 'ChangeResourceRecordSets', params: { id: decodeURIComponent(m[1]!) } };
  if (method === 'GET' && (m = /^\/2013-04-01\/change\/([^/]+)$/.exec(p))) return { action: 'GetChange', params: { id: decodeURIComponent(m[1]!) } };
  return undefined;
}

function maxItems(query: URLSearchParams, fallback: number, limit: number): number {
  const raw = query.get('maxitems');
  if (raw === null) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Route53Error('InvalidInput', `1 validation error detected: Value '${raw}' at 'maxItems' failed to satisfy constraint: Member must be a positive integer`);
  return Math.min(n, limit);
}

/** The TXT strings of one value joined (how cert-manager compares them), or undefined when it is not valid TXT. */
function dnsText(value: string): string | undefined {
  const parsed = parseTxtValue(value);
  return parsed.ok ? parsed.strings.join('') : undefined;
}

function pickWeighted(sets: RecordSet[]): RecordSet | undefined {
  const total = sets.reduce((s, x) => s + (x.weight ?? 0), 0);
  if (total === 0) return sets[Math.floor(Math.random() * sets.length)];
  let r = Math.random() * total;
  for (const s of sets) {
    r -= s.weight ?? 0;
    if (r < 0) return s;
  }
  return sets[sets.length - 1];
}

export async function startRoute53Emulator(options: Route53EmulatorOptions = {}): Promise<RunningRoute53Emulator> {
  const host = options.host ?? '127.0.0.1';
  const store = new Route53Store(options.insyncAfterMs === undefined ? {} : { insyncAfterMs: options.insyncAfterMs });
  for (const z of options.zones ?? []) {
    const spec = typeof z === 'string' ? { name: z } : z;
    store.createZone(spec.name, spec);
  }
  const staticKeys = options.credentials ?? [DEFAULT_KEY];
  const keys = new Map<string, KnownKey & { role?: string }>(staticKeys.map((k) => [k.accessKeyId, { secretAccessKey: k.secretAccessKey }]));
  const control = new EmulatorControl();
  const quota = options.quota === undefined ? DOCUMENTED_QUOTA : options.quota;
  if (quota) control.setDefaultQuotas([{ action: ROUTE53_ACTIONS, ...quota }]);
  const authLog: AuthLogEntry[] = [];
  const stsLog: RunningRoute53Emulator['stsLog'] = [];
  const roleAllowed = (arn: string) => (options.roles ? options.roles.includes(arn) : ROLE_ARN.test(arn));

  /** The public zone that answers for `fqdn` over DNS: the longest public suffix (first created among equals). */
  function servingZone(fqdn: string): HostedZone | undefined {
    let best: HostedZone | undefined;
    for (const z of store.zones) {
      if (z.private) continue;
      if (!(fqdn === z.name || fqdn.endsWith(`.${z.name}`))) continue;
      if (!best || z.name.length > best.name.length) best = z;
    }
    return best;
  }

  function txtSetsAt(fqdn: string): RecordSet[] {
    const zone = servingZone(fqdn);
    return zone ? zone.sets.filter((s) => s.type === 'TXT' && s.name === fqdn) : [];
  }

  const dnsSource: ServableRecordSource = {
    zones: () => [...new Set(store.zones.filter((z) => !z.private).map((z) => z.name))],
    txt(fqdn) {
      const sets = txtSetsAt(fqdn);
      if (sets.length === 0) return [];
      let chosen: RecordSet[] = sets;
      if (sets[0]!.multiValueAnswer !== undefined) {
        chosen = [...sets].sort(() => Math.random() - 0.5).slice(0, MULTIVALUE_ANSWER_LIMIT);
      } else if (sets[0]!.weight !== undefined) {
        const one = pickWeighted(sets);
        chosen = one ? [one] : [];
      }
      return chosen.flatMap((s) => s.values.map(dnsText).filter((v): v is string => v !== undefined));
    },
    names() {
      const names = new Set<string>();
      for (const z of store.zones) if (!z.private) for (const s of z.sets) if (s.type === 'TXT') names.add(s.name);
      return names;
    },
    ttl(fqdn) {
      const ttls = txtSetsAt(fqdn).map((s) => s.ttl ?? 300);
      return ttls.length ? Math.min(...ttls) : undefined;
    },
  };

  /** Count, faults, quota — answering with Route 53's own throttling errors. */
  async function gate(action: string): Promise<Route53Error | undefined> {
    control.countCall(action);
    let fault = control.takeFault(action);
    while (fault?.kind === 'delay') {
      await new Promise((r) => setTimeout(r, fault!.delayMs ?? 1000));
      fault = control.takeFault(action);
    }
    if (fault?.kind === 'server-error') return new Route53Error('InternalFailure', 'An internal error occurred. Try again.', 500);
    if (fault?.kind === 'throttle') {
      return fault.code === 'PriorRequestNotComplete'
        ? new Route53Error('PriorRequestNotComplete', 'The request was rejected because Route 53 was still processing a prior request.')
        : new Route53Error(fault.code ?? 'Throttling', 'Rate exceeded');
    }
    if (!control.takeQuota(action)) return new Route53Error('Throttling', 'Rate exceeded');
    return undefined;
  }

  function sendXml(res: ServerResponse, status: number, xml: string, requestId: string) {
    res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId, 'content-length': Buffer.byteLength(xml) });
    res.end(xml);
  }

  async function handleRoute53(req: IncomingMessage, res: ServerResponse, body: Buffer, requestId: string) {
    const url = new URL(req.url ?? '/', 'http://emulator');
    control.countRequest(`accessKey:${/Credential=([^/,\s]+)/.exec(String(req.headers.authorization ?? ''))?.[1] ?? 'anonymous'}`);
    const route = routeOf(req.method ?? 'GET', url.pathname);
    if (!route) throw new Route53Error('UnknownOperationException', `Unknown operation ${req.method} ${url.pathname}`, 404);
    const auth = verifySigV4({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body, keys: (k) => keys.get(k), service: 'route53' });
    if (!auth.ok) throw new Route53Error(auth.code, auth.message, auth.status);
    const known = keys.get(auth.accessKeyId);
    authLog.push({ action: route.action, accessKeyId: auth.accessKeyId, ...(known?.role ? { role: known.role } : {}) });
    const refused = await gate(route.action);
    if (refused) throw refused;
    // A client that gave up during an injected delay never reached the backend: handle nothing for it.
    if (req.socket.destroyed) return;
    const q = url.searchParams;
    let xml: string;
    switch (route.action) {
      case 'ListHostedZonesByName': {
        const dnsName = q.get('dnsname') ?? undefined;
        const zoneId = q.get('hostedzoneid') ?? undefined;
        const max = maxItems(q, 100, 100);
        const page = store.listZonesByName(dnsName, zoneId, max);
        xml = xmlDocument('ListHostedZonesByNameResponse', {
          HostedZones: { HostedZone: page.zones.map(zoneXml) },
          ...(dnsName === undefined ? {} : { DNSName: dnsName }),
          ...(zoneId === undefined ? {} : { HostedZoneId: zoneId }),
          IsTruncated: String(page.truncated),
          ...(page.truncated ? { NextDNSName: page.nextDnsName, NextHostedZoneId: page.nextZoneId } : {}),
          MaxItems: String(max),
        });
        break;
      }
      case 'ListHostedZones': {
        const marker = q.get('marker');
        const max = maxItems(q, 100, 100);
        const all = store.zones;
        const from = marker ? all.findIndex((z) => z.id === marker) : 0;
        if (from < 0) throw new Route53Error('InvalidInput', `Invalid marker: ${marker}`);
        const page = all.slice(from, from + max);
        const next = all[from + max];
        xml = xmlDocument('ListHostedZonesResponse', {
          HostedZones: { HostedZone: page.map(zoneXml) },
          ...(marker ? { Marker: marker } : { Marker: '' }),
          IsTruncated: String(next !== undefined),
          ...(next ? { NextMarker: next.id } : {}),
          MaxItems: String(max),
        });
        break;
      }
      case 'GetHostedZone': {
        const zone = store.zone(route.params.id!);
        xml = xmlDocument('GetHostedZoneResponse', {
          HostedZone: zoneXml(zone),
          ...(zone.private
            ? { VPCs: { VPC: { VPCRegion: 'us-east-1', VPCId: 'vpc-emulator' } } }
            : { DelegationSet: { NameServers: { NameServer: ['ns-1.awsdns-01.org', 'ns-2.awsdns-02.co.uk'] } } }),
        });
        break;
      }
      case 'ListResourceRecordSets': {
        const max = maxItems(q, 300, 300);
        const start = {
          ...(q.get('name') === null ? {} : { name: q.get('name')! }),
          ...(q.get('type') === null ? {} : { type: q.get('type')! }),
          ...(q.get('identifier') === null ? {} : { identifier: q.get('identifier')! }),
        };
        const page = store.listSets(route.params.id!, start, max);
        xml = xmlDocument('ListResourceRecordSetsResponse', {
          ResourceRecordSets: { ResourceRecordSet: page.sets.map(setXml) },
          IsTruncated: String(page.truncated),
          ...(page.next
            ? {
                NextRecordName: page.next.name,
                NextRecordType: page.next.type,
                ...(page.next.setIdentifier === undefined ? {} : { NextRecordIdentifier: page.next.setIdentifier }),
              }
            : {}),
          MaxItems: String(max),
        });
        break;
      }
      case 'ChangeResourceRecordSets': {
        store.zone(route.params.id!);
        const { changes, comment } = parseChangeBatch(body.toString('utf8'));
        for (const c of changes) Route53Store.checkChange(c);
        const info = store.applyBatch(route.params.id!, changes, comment);
        xml = xmlDocument('ChangeResourceRecordSetsResponse', { ChangeInfo: changeInfoXml(info) });
        break;
      }
      case 'GetChange': {
        xml = xmlDocument('GetChangeResponse', { ChangeInfo: changeInfoXml(store.change(route.params.id!)) });
        break;
      }
      default:
        throw new Route53Error('UnknownOperationException', route.action, 404);
    }
    sendXml(res, 200, xml, requestId);
  }

  function issueCredentials(roleArn: string, durationSeconds: number) {
    const accessKeyId = `ASIA${randomBytes(8).toString('hex').toUpperCase()}`;
    const secretAccessKey = randomBytes(30).toString('base64');
    const sessionToken = randomBytes(48).toString('base64');
    keys.set(accessKeyId, { secretAccessKey, sessionToken, role: roleArn });
    return { AccessKeyId: accessKeyId, SecretAccessKey: secretAccessKey, SessionToken: sessionToken, Expiration: new Date(Date.now() + durationSeconds * 1000).toISOString() };
  }

  async function handleSts(req: IncomingMessage, res: ServerResponse, body: Buffer, requestId: string) {
    const form = new URLSearchParams(body.toString('utf8'));
    const action = form.get('Action') ?? '';
    const roleArn = form.get('RoleArn') ?? '';
    const sessionName = form.get('RoleSessionName') ?? '';
    const duration = Number(form.get('DurationSeconds') ?? 3600);
    const fail = (code: string, message: string, status = 400) => {
      sendXml(res, status, errorDocument(code, message, requestId, status, STS_NS), requestId);
    };
    if (action !== 'AssumeRole' && action !== 'AssumeRoleWithWebIdentity') return fail('InvalidAction', `Could not find operation ${action} for version ${form.get('Version')}`);
    let callerKey: string | undefined;
    if (action === 'AssumeRole') {
      const auth = verifySigV4({ method: req.method ?? 'POST', url: req.url ?? '/', headers: req.headers, body, keys: (k) => keys.get(k), service: 'sts' });
      if (!auth.ok) return fail(auth.code, auth.message, auth.status);
      callerKey = auth.accessKeyId;
    }
    const refused = await gate(action);
    if (refused) return fail(refused.code, refused.message, refused.status);
    if (!/^[\w+=,.@-]{2,64}$/.test(sessionName)) return fail('ValidationError', `1 validation error detected: Value '${sessionName}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*`);
    if (!roleAllowed(roleArn)) {
      return fail('AccessDenied', `User: ${callerKey ?? 'web identity'} is not authorized to perform: sts:${action} on resource: ${roleArn}`, 403);
    }
    if (action === 'AssumeRoleWithWebIdentity') {
      const token = form.get('WebIdentityToken') ?? '';
      if (!(options.acceptWebIdentity?.(token, roleArn) ?? false)) return fail('InvalidIdentityToken', 'Incorrect token audience or the token could not be validated');
    }
    const credentials = issueCredentials(roleArn, duration);
    stsLog.push({ action, roleArn, sessionName, ...(callerKey ? { callerKey } : {}) });
    const result = {
      Credentials: credentials,
      AssumedRoleUser: { Arn: `${roleArn.replace(':role/', ':assumed-role/')}/${sessionName}`, AssumedRoleId: `AROAEMULATOR:${sessionName}` },
    };
    sendXml(res, 200, xmlDocument(`${action}Response`, { [`${action}Result`]: result, ResponseMetadata: { RequestId: requestId } }, STS_NS), requestId);
  }

  const server = createServer((req, res) => {
    void (async () => {
      const requestId = randomUUID();
      try {
        if (await handleControlRequest(req, res, control, { dumpRecords: () => store.dump(), resetRecords: () => store.resetRecords() })) return;
        const body = await readBody(req);
        const path = (req.url ?? '/').split('?')[0];
        if (req.method === 'POST' && path === '/') await handleSts(req, res, body, requestId);
        else await handleRoute53(req, res, body, requestId);
      } catch (err) {
        const e = err instanceof Route53Error ? err : new Route53Error('InternalFailure', (err as Error).message, 500);
        if (!res.headersSent) sendXml(res, e.status, errorDocument(e.code, e.message, requestId, e.status), requestId);
        else res.destroy();
      }
    })();
  });
  const running = await serveEmulator(server, { host, port: options.port, dnsPort: options.dnsPort, source: dnsSource });

  return {
    ...running,
    control,
    store,
    credentials: staticKeys[0]!,
    authLog,
    stsLog,
    zoneId(name, opts = {}) {
      const n = name.toLowerCase().endsWith('.') ? name.toLowerCase() : `${name.toLowerCase()}.`;
      const zone = store.zones.find((z) => z.name === n && (opts.private === undefined || z.private === opts.private));
      if (!zone) throw new Error(`emulator has no zone ${n}`);
      return zone.id;
    },
  };
}
