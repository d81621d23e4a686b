/** Route 53 REST-XML and STS query-protocol bodies, built and parsed with fast-xml-parser. */
import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import type { Change, ChangeInfo, HostedZone, RecordSet } from './store.js';
import { Route53Error } from './store.js';

export const ROUTE53_NS = 'https://route53.amazonaws.com/doc/2013-04-01/';
export const STS_NS = 'https://sts.amazonaws.com/doc/2011-06-15/';

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', suppressEmptyNode: false });
const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: false,
  isArray: (name) => name === 'Change' || name === 'ResourceRecord',
});

export function xmlDocument(root: string, body: Record<string, unknown>, ns = ROUTE53_NS): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${builder.build({ [root]: { '@_xmlns': ns, ...body } })}`;
}

/** `<ErrorResponse>` — the shape Route 53 (and STS) use for every error today, InvalidChangeBatch included. */
export function errorDocument(code: string, message: string, requestId: string, status: number, ns = ROUTE53_NS): string {
  return xmlDocument('ErrorResponse', { Error: { Type: status >= 500 ? 'Receiver' : 'Sender', Code: code, Message: message }, RequestId: requestId }, ns);
}

export function zoneXml(zone: HostedZone) {
  return {
    Id: `/hostedzone/${zone.id}`,
    Name: zone.name,
    CallerReference: zone.callerReference,
    Config: { PrivateZone: String(zone.private) },
    ResourceRecordSetCount: zone.sets.length,
  };
}

export function setXml(set: RecordSet) {
  return {
    Name: set.name,
    Type: set.type,
    ...(set.setIdentifier === undefined ? {} : { SetIdentifier: set.setIdentifier }),
    ...(set.weight === undefined ? {} : { Weight: set.weight }),
    ...(set.multiValueAnswer === undefined ? {} : { MultiValueAnswer: String(set.multiValueAnswer) }),
    TTL: set.ttl,
    ResourceRecords: { ResourceRecord: set.values.map((Value) => ({ Value })) },
  };
}

export function changeInfoXml(info: ChangeInfo) {
  return {
    Id: `/change/${info.id}`,
    Status: info.status,
    SubmittedAt: info.submittedAt.toISOString(),
    ...(info.comment ? { Comment: info.comment } : {}),
  };
}

const text = (v: unknown): string | undefined => (v === undefined || v === null ? undefined : typeof v === 'object' ? '' : String(v));

/** Parses `ChangeResourceRecordSetsRequest`; malformed XML or shape → InvalidInput / MalformedInput as Route 53 answers. */
export function parseChangeBatch(body: string): { changes: Change[]; comment?: string } {
  let doc: any;
  try {
    doc = parser.parse(body, true);
  } catch (err) {
    throw new Route53Error('MalformedInput', `Invalid XML ; ${(err as Error).message}`);
  }
  const root = doc?.ChangeResourceRecordSetsRequest;
  if (!root || typeof root !== 'object') throw new Route53Error('MalformedInput', 'ChangeBatch is not valid, expected ChangeResourceRecordSetsRequest');
  const batch = root.ChangeBatch;
  const list: any[] = batch?.Changes?.Change ?? [];
  const changes = list.map((c): Change => {
    const rr = c?.ResourceRecordSet ?? {};
    const name = text(rr.Name);
    const type = text(rr.Type);
    if (!name || !type) throw new Route53Error('InvalidInput', 'Invalid XML ; ResourceRecordSet requires Name and Type');
    const set: RecordSet = {
      name: name.toLowerCase().endsWith('.') ? name.toLowerCase() : `${name.toLowerCase()}.`,
      type,
      values: ((rr.ResourceRecords?.ResourceRecord ?? []) as any[]).map((r) => text(r?.Value) ?? ''),
    };
    if (rr.TTL !== undefined) set.ttl = Number(text(rr.TTL));
    if (rr.SetIdentifier !== undefined) set.setIdentifier = text(rr.SetIdentifier)!;
    if (rr.Weight !== undefined) set.weight = Number(text(rr.Weight));
    if (rr.MultiValueAnswer !== undefined) set.multiValueAnswer = text(rr.MultiValueAnswer) === 'true';
    return { action: text(c?.Action) ?? '', set };
  });
  const comment = text(batch?.Comment);
  return { changes, ...(comment ? { comment } : {}) };
}
