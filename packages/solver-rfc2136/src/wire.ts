/**
 * The few DNS wire-format pieces an RFC 2136 UPDATE with TSIG needs and dns-packet does not offer: class
 * NONE (254, "delete this RR"), records with raw RDATA, and the byte offsets of the last additional record,
 * which TSIG verification needs to rebuild the signed bytes. Names are written uncompressed.
 */
import { splitTxt } from '@dns01-webhook/core';

export const TYPE = { SOA: 6, TXT: 16, TSIG: 250 } as const;
export const CLASS = { IN: 1, NONE: 254, ANY: 255 } as const;
export const OPCODE_UPDATE = 5;
const HEADER = 12;

/** `_acme-challenge.example.com.` → length-prefixed labels. Lower-cased when `canonical` (TSIG digests). */
export function encodeName(name: string, canonical = false): Buffer {
  const trimmed = name.replace(/\.$/, '');
  if (trimmed === '') return Buffer.from([0]);
  const parts: Buffer[] = [];
  for (const label of trimmed.split('.')) {
    const bytes = Buffer.from(canonical ? label.toLowerCase() : label, 'utf8');
    if (bytes.length === 0 || bytes.length > 63) throw new Error(`invalid DNS name "${name}": every label must be 1-63 bytes`);
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  parts.push(Buffer.from([0]));
  const wire = Buffer.concat(parts);
  if (wire.length > 255) throw new Error(`invalid DNS name "${name}": longer than 255 bytes`);
  return wire;
}

/** TXT RDATA for one value: character-strings of at most 255 bytes (the same split the core's DNS server uses). */
export function txtRdata(value: string): Buffer {
  return Buffer.concat(splitTxt(value).flatMap((chunk) => [Buffer.from([chunk.length]), chunk]));
}

export interface ResourceRecord {
  name: string;
  type: number;
  class: number;
  ttl: number;
  rdata: Buffer;
}

export function encodeRecord(rr: ResourceRecord): Buffer {
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(rr.type, 0);
  fixed.writeUInt16BE(rr.class, 2);
  fixed.writeUInt32BE(rr.ttl, 4);
  fixed.writeUInt16BE(rr.rdata.length, 8);
  return Buffer.concat([encodeName(rr.name), fixed, rr.rdata]);
}

/**
 * An UPDATE message (RFC 2136 §2): the zone section names `zone` (type SOA), no prerequisites, `updates` in the
 * update section, no additional records (a TSIG record is appended by tsig.ts).
 */
export function encodeUpdate(id: number, zone: string, updates: ResourceRecord[]): Buffer {
  const header = Buffer.alloc(HEADER);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(OPCODE_UPDATE << 11, 2);
  header.writeUInt16BE(1, 4); // ZOCOUNT
  header.writeUInt16BE(0, 6); // PRCOUNT
  header.writeUInt16BE(updates.length, 8); // UPCOUNT
  header.writeUInt16BE(0, 10); // ADCOUNT
  const zoneType = Buffer.alloc(4);
  zoneType.writeUInt16BE(TYPE.SOA, 0);
  zoneType.writeUInt16BE(CLASS.IN, 2);
  return Buffer.concat([header, encodeName(zone), zoneType, ...updates.map(encodeRecord)]);
}

/** A standard query (opcode QUERY, no recursion wanted) for `name`/`type`, class IN. */
export function encodeQuery(id: number, name: string, type: number): Buffer {
  const header = Buffer.alloc(HEADER);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(1, 4); // QDCOUNT
  const question = Buffer.alloc(4);
  question.writeUInt16BE(type, 0);
  question.writeUInt16BE(CLASS.IN, 2);
  return Buffer.concat([header, encodeName(name), question]);
}

export class MalformedMessageError extends Error {
  constructor(message: string) {
    super(`malformed DNS message: ${message}`);
    this.name = 'MalformedMessageError';
  }
}

/** Reads a (possibly compressed) name at `offset`: the name (absolute, as sent) and where the field ends. */
export function readName(buf: Buffer, offset: number): { name: string; end: number } {
  const labels: string[] = [];
  let pos = offset;
  let end = -1;
  for (let jumps = 0; ; ) {
    if (pos >= buf.length) throw new MalformedMessageError('name runs past the end');
    const len = buf[pos]!;
    if (len === 0) {
      if (end < 0) end = pos + 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= buf.length) throw new MalformedMessageError('truncated compression pointer');
      if (++jumps > 64) throw new MalformedMessageError('compression pointer loop');
      if (end < 0) end = pos + 2;
      pos = ((len & 0x3f) << 8) | buf[pos + 1]!;
      continue;
    }
    if ((len & 0xc0) !== 0) throw new MalformedMessageError('unknown label type');
    if (pos + 1 + len > buf.length) throw new MalformedMessageError('label runs past the end');
    labels.push(buf.toString('latin1', pos + 1, pos + 1 + len));
    pos += 1 + len;
  }
  return { name: labels.length ? `${labels.join('.')}.` : '.', end };
}

export interface ParsedRecord extends ResourceRecord {
  /** Offset of the record's first byte (its owner name). */
  offset: number;
  /** Offset of its RDATA. */
  rdataOffset: number;
}

export interface ParsedMessage {
  id: number;
  response: boolean;
  opcode: number;
  /** The header's 4-bit RCODE (extended RCODEs of TSIG live in the TSIG record's error field). */
  rcode: number;
  truncated: boolean;
  counts: { zone: number; prerequisite: number; update: number; additional: number };
  /** The last record of the additional section (where a TSIG record must be), if any. */
  lastAdditional?: ParsedRecord;
}

function readRecord(buf: Buffer, offset: number): ParsedRecord {
  const { name, end } = readName(buf, offset);
  if (end + 10 > buf.length) throw new MalformedMessageError('record header runs past the end');
  const rdlength = buf.readUInt16BE(end + 8);
  const rdataOffset = end + 10;
  if (rdataOffset + rdlength > buf.length) throw new MalformedMessageError('RDATA runs past the end');
  return {
    name,
    type: buf.readUInt16BE(end),
    class: buf.readUInt16BE(end + 2),
    ttl: buf.readUInt32BE(end + 4),
    rdata: buf.subarray(rdataOffset, rdataOffset + rdlength),
    offset,
    rdataOffset,
  };
}

/** Header, section counts and the last additional record; every record is walked, so truncation is caught. */
export function parseMessage(buf: Buffer): ParsedMessage {
  if (buf.length < HEADER) throw new MalformedMessageError(`${buf.length} bytes is shorter than a header`);
  const flags = buf.readUInt16BE(2);
  const counts = { zone: buf.readUInt16BE(4), prerequisite: buf.readUInt16BE(6), update: buf.readUInt16BE(8), additional: buf.readUInt16BE(10) };
  let pos = HEADER;
  for (let i = 0; i < counts.zone; i++) {
    pos = readName(buf, pos).end + 4;
    if (pos > buf.length) throw new MalformedMessageError('zone section runs past the end');
  }
  let last: ParsedRecord | undefined;
  const records = counts.prerequisite + counts.update + counts.additional;
  for (let i = 0; i < records; i++) {
    const rr = readRecord(buf, pos);
    pos = rr.rdataOffset + rr.rdata.length;
    if (i >= counts.prerequisite + counts.update) last = rr;
  }
  return {
    id: buf.readUInt16BE(0),
    response: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    rcode: flags & 0xf,
    truncated: (flags & 0x0200) !== 0,
    counts,
    ...(last ? { lastAdditional: last } : {}),
  };
}
