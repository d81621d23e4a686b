/**
 * Name helpers, so no solver slices strings by hand. All names are absolute with a trailing dot
 * unless the function says "relative".
 */
import { domainToASCII } from 'node:url';

/** `Example.COM` → `example.com.` (lower-case, one trailing dot, IDNA to ASCII/punycode). */
export function toFqdn(name: string): string {
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

/**
 * Candidate zones for a provider lookup, most specific first: `resolvedZone` and its parents, never a TLD
 * alone (a provider never hosts one for a customer). `_acme-challenge.a.b.example.com.` with zone
 * `b.example.com.` → [`b.example.com.`, `example.com.`].
 * When `resolvedZone` is not a suffix of `fqdn` (should not happen), walks from the fqdn's parent instead.
 */
export function zoneCandidates(fqdn: string, resolvedZone: string): string[] {
  const f = toFqdn(fqdn);
  let start = toFqdn(resolvedZone);
  if (!(f === start || f.endsWith(`.${start}`))) start = f.slice(f.indexOf('.') + 1) || '.';
  const labels = unFqdn(start).split('.');
  const out: string[] = [];
  for (let i = 0; i < labels.length - 1; i++) out.push(`${labels.slice(i).join('.')}.`);
  if (out.length === 0 && labels.length === 1 && labels[0] !== '') out.push(`${labels[0]}.`);
  return out;
}
