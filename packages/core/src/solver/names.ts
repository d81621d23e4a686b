/**
 * Name helpers, so no solver slices strings by hand. All names are absolute with a trailing dot
 * unless the function says "relative".
 */
import { domainToASCII } from 'node:url';
import type { ChallengeRequest } from './contract.js';

/** Lower-case ASCII labels, each ending in one dot: toFqdn would return such a name unchanged. */
const CANONICAL_FQDN = /^(?:[a-z0-9_*-]+\.)+$/;

/** `Example.COM` → `example.com.` (lower-case, one trailing dot, IDNA to ASCII/punycode). */
export function toFqdn(name: string): string {
  // Already one (what every challenge carries): checked on each request, several times, so skip the rebuild.
  if (CANONICAL_FQDN.test(name)) return name;
  const trimmed = name.trim().replace(/\.+$/, '');
  if (trimmed === '') return '.';
  const ascii = trimmed
    .split('.')
    .map((label) => (/^[\x00-\x7f]*$/.test(label) ? label.toLowerCase() : domainToASCII(label) || label.toLowerCase()))
    .join('.');
  return `${ascii}.`;
}

/** `example.com.` → `example.com` */
export function unFqdn(name: string): string {
  return name.replace(/\.+$/, '');
}

/**
 * Name relative to a zone: `relativeName('_acme-challenge.a.example.com.', 'example.com.')` → `_acme-challenge.a`;
 * the apex itself → `@`. Throws when `fqdn` is not inside `zone`.
 */
export function relativeName(fqdn: string, zone: string): string {
  const f = toFqdn(fqdn);
  const z = toFqdn(zone);
  if (f === z) return '@';
  if (!f.endsWith(`.${z}`) && z !== '.') throw new Error(`${f} is not inside zone ${z}`);
  return z === '.' ? unFqdn(f) : f.slice(0, f.length - z.length - 1);
}

/** Inverse of `relativeName`: (`_acme-challenge`, `example.com.`) → `_acme-challenge.example.com.`; `@` → the zone. */
export function absoluteName(relative: string, zone: string): string {
  const z = toFqdn(zone);
  if (relative === '@' || relative === '') return z;
  return toFqdn(`${unFqdn(relative)}.${unFqdn(z)}`);
}

/** DNS limits (RFC 1035 §2.3.4): a name is at most 255 octets on the wire, i.e. 253 in text without the root dot. */
export const MAX_NAME_OCTETS = 253;
export const MAX_LABEL_OCTETS = 63;
/**
 * At most this many zones are tried per lookup (`resolvedZone` and 7 parents). cert-manager's SOA walk already
 * found the zone cut; parents only matter where a provider hosts a parent zone, a level or two up.
 */
export const MAX_ZONE_CANDIDATES = 8;

/** Names dnsNameProblem accepts without further ado: lower-case labels of 1–63 allowed characters, one optional trailing dot. */
const VALID_NAME = /^(?:[a-z0-9_-]{1,63}\.)*[a-z0-9_-]{1,63}\.?$/;
const VALID_WILDCARD_NAME = /^(?:\*\.)?(?:[a-z0-9_-]{1,63}\.)*[a-z0-9_-]{1,63}\.?$/;

/** Shown in error messages instead of an arbitrarily long name. */
function shorten(name: string): string {
  return name.length > 80 ? `${name.slice(0, 40)}…${name.slice(-30)} (${name.length} characters)` : name;
}

/**
 * Why `name` is not a usable DNS name, or undefined when it is: at most 253 octets, every label 1–63 octets of
 * letters, digits, `-` and `_` (after IDNA conversion). `wildcard` allows `*` as the first label (a
 * certificate's dnsName). Checked on every challenge before any provider call.
 */
export function dnsNameProblem(name: string, options: { wildcard?: boolean } = {}): string | undefined {
  // The common case, a valid lower-case name, in one test (this runs several times per challenge).
  if (name.length <= MAX_NAME_OCTETS + 1 && (options.wildcard ? VALID_WILDCARD_NAME : VALID_NAME).test(name) && unFqdn(name).length <= MAX_NAME_OCTETS) {
    return undefined;
  }
  if (name.length > 4 * MAX_NAME_OCTETS) return `${shorten(name)} is longer than ${MAX_NAME_OCTETS} octets`;
  const ascii = unFqdn(toFqdn(name));
  if (ascii === '') return 'it is empty (the root zone is never a challenge name)';
  if (ascii.length > MAX_NAME_OCTETS) return `${shorten(name)} is ${ascii.length} octets long (at most ${MAX_NAME_OCTETS})`;
  const labels = ascii.split('.');
  for (const [i, label] of labels.entries()) {
    const which = `label ${i + 1} of ${shorten(name)}`;
    if (label === '') return `${which} is empty`;
    if (label.length > MAX_LABEL_OCTETS) return `${which} is ${label.length} octets long (at most ${MAX_LABEL_OCTETS})`;
    if (i === 0 && options.wildcard && label === '*') continue;
    if (!/^[a-z0-9_-]+$/.test(label)) return `${which} (${JSON.stringify(shorten(label))}) has characters other than letters, digits, '-' and '_'`;
  }
  return undefined;
}

/** True when `fqdn` is `zone` itself or a name below it (both normalised with toFqdn). */
export function isInsideZone(fqdn: string, zone: string): boolean {
  const f = toFqdn(fqdn);
  const z = toFqdn(zone);
  return f === z || z === '.' || f.endsWith(`.${z}`);
}

/**
 * Candidate zones for a provider lookup, most specific first: `resolvedZone` and its parents, never a TLD
 * alone (a provider never hosts one for a customer), at most MAX_ZONE_CANDIDATES. `_acme-challenge.a.b.example.com.`
 * with zone `b.example.com.` → [`b.example.com.`, `example.com.`].
 * When `resolvedZone` is not a suffix of `fqdn` (the server refuses such a request), walks from the fqdn's parent instead.
 */
export function zoneCandidates(fqdn: string, resolvedZone: string): string[] {
  const f = toFqdn(fqdn);
  let start = toFqdn(resolvedZone);
  if (!(f === start || f.endsWith(`.${start}`))) start = f.slice(f.indexOf('.') + 1) || '.';
  const labels = unFqdn(start).split('.');
  const out: string[] = [];
  for (let i = 0; i < labels.length - 1 && out.length < MAX_ZONE_CANDIDATES; i++) out.push(`${labels.slice(i).join('.')}.`);
  if (out.length === 0 && labels.length === 1 && labels[0] !== '') out.push(`${labels[0]}.`);
  return out;
}

/** A Kubernetes namespace name (DNS-1123 label): where the request's secrets are read. */
const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * Why a challenge's names cannot be used, or undefined: `resolvedFQDN` and `resolvedZone` must be DNS names
 * within DNS limits with the FQDN inside the zone, a non-empty `dnsName` likewise (wildcard allowed), and
 * `resourceNamespace` a namespace name. The message starts with the field's name.
 */
export function challengeRequestProblem(request: Pick<ChallengeRequest, 'resolvedFQDN' | 'resolvedZone' | 'dnsName' | 'resourceNamespace'>): string | undefined {
  for (const field of ['resolvedFQDN', 'resolvedZone'] as const) {
    const problem = dnsNameProblem(request[field]);
    if (problem) return `${field} is not a valid DNS name: ${problem}`;
  }
  const dnsName = request.dnsName ? dnsNameProblem(request.dnsName, { wildcard: true }) : undefined;
  if (dnsName) return `dnsName is not a valid DNS name: ${dnsName}`;
  if (!isInsideZone(request.resolvedFQDN, request.resolvedZone)) {
    return `resolvedFQDN ${toFqdn(request.resolvedFQDN)} is not inside resolvedZone ${toFqdn(request.resolvedZone)}`;
  }
  if (!NAMESPACE.test(request.resourceNamespace)) {
    return `resourceNamespace ${JSON.stringify(shorten(request.resourceNamespace))} is not a namespace name (lower-case letters, digits and '-', at most 63)`;
  }
  return undefined;
}
