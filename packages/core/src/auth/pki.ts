/**
 * Client-certificate checks for delegated authentication, the way Go's crypto/x509 `Verify` does them with
 * `ExtKeyUsageClientAuth`: the presented chain must lead, through intermediates the client sent, to one of
 * the trusted CAs; every certificate must be within its validity period and signed by the next; the leaf
 * (and any intermediate that restricts usages) must allow client authentication.
 * Everything uses node:crypto (OpenSSL): signatures, and the subject's CN/O values as OpenSSL decodes them
 * (no RFC 4514 string to unescape). No ASN.1 library is loaded on the serving path.
 */
import { X509Certificate } from 'node:crypto';
import type { DetailedPeerCertificate, TLSSocket } from 'node:tls';

const EKU_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const EKU_ANY = '2.5.29.37.0';
/** Longest chain we follow (leaf + intermediates); real front-proxy chains are 1-2 long. */
const MAX_DEPTH = 6;

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Every certificate in a PEM bundle; throws naming `source` when a block does not parse or none exist. */
export function parseCertificates(pem: string, source: string): X509Certificate[] {
  const blocks = pem.match(PEM_BLOCK) ?? [];
  if (blocks.length === 0) throw new Error(`${source}: no PEM certificate found`);
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (err) {
      throw new Error(`${source}: certificate #${i + 1} does not parse: ${(err as Error).message}`);
    }
  });
}

/** The client's certificates, leaf first, as sent in the TLS handshake ([] for plain HTTP or no cert). */
export function peerCertificates(socket: Partial<TLSSocket>): X509Certificate[] {
  if (typeof socket.getPeerCertificate !== 'function') return [];
  const out: X509Certificate[] = [];
  const seen = new Set<string>();
  let cert: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  while (cert?.raw && out.length < MAX_DEPTH + 1 && !seen.has(cert.fingerprint256)) {
    seen.add(cert.fingerprint256);
    out.push(new X509Certificate(cert.raw));
    cert = cert.issuerCertificate;
  }
  return out;
}

/**
 * The first instant after `now` at which any of `certs` enters or leaves its validity period, i.e. when a
 * verification over them could change its answer (Infinity when none will). Lets a result be reused until then.
 */
export function nextValidityChange(certs: Iterable<X509Certificate>, now: number): number {
  let next = Infinity;
  for (const cert of certs) {
    for (const t of [Date.parse(cert.validFrom), Date.parse(cert.validTo) + 1]) if (t > now && t < next) next = t;
  }
  return next;
}

function withinValidity(cert: X509Certificate, now: number): boolean {
  return now >= Date.parse(cert.validFrom) && now <= Date.parse(cert.validTo);
}

/** Go treats a certificate without the EKU extension as unrestricted; with it, clientAuth (or any) must be listed. */
function allowsClientAuth(cert: X509Certificate, required: boolean): boolean {
  const eku = cert.keyUsage;
  if (eku === undefined) return !required;
  return eku.includes(EKU_CLIENT_AUTH) || eku.includes(EKU_ANY);
}

function signedBy(child: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return child.checkIssued(issuer) && child.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

export type ChainResult = { ok: true; leaf: X509Certificate } | { ok: false; reason: string };

/**
 * Verifies `presented` (leaf first, then whatever intermediates the client sent, in any order) against
 * `roots`. The leaf must carry the clientAuth extended key usage explicitly.
 */
export function verifyClientChain(presented: X509Certificate[], roots: X509Certificate[], now = Date.now()): ChainResult {
  const leaf = presented[0];
  if (!leaf) return { ok: false, reason: 'no client certificate' };
  if (roots.length === 0) return { ok: false, reason: 'no trusted CA configured' };
  if (!withinValidity(leaf, now)) return { ok: false, reason: `client certificate expired or not yet valid (${leaf.validFrom} – ${leaf.validTo})` };
  if (!allowsClientAuth(leaf, true)) return { ok: false, reason: 'client certificate lacks the clientAuth extended key usage' };

  const intermediates = presented.slice(1);
  const used = new Set<X509Certificate>();
  let current = leaf;
  for (let depth = 0; depth <= MAX_DEPTH; depth++) {
    const root = roots.find((r) => withinValidity(r, now) && signedBy(current, r));
    if (root) return { ok: true, leaf };
    const next = intermediates.find(
      (c) => !used.has(c) && c.ca && withinValidity(c, now) && allowsClientAuth(c, false) && signedBy(current, c),
    );
    if (!next) break;
    used.add(next);
    current = next;
  }
  return { ok: false, reason: 'client certificate is not signed by a trusted CA' };
}

export interface SubjectNames {
  commonName: string;
  organizations: string[];
}

/** CN (the first, if several) and every O, in order. OpenSSL gives one value as a string, repeated ones as an array. */
export function subjectNames(cert: X509Certificate): SubjectNames {
  const subject = cert.toLegacyObject().subject as unknown as Record<string, string | string[] | undefined>;
  const values = (field: string) => {
    const v = subject[field];
    return v === undefined ? [] : Array.isArray(v) ? v : [v];
  };
  return { commonName: values('CN')[0] ?? '', organizations: values('O') };
}
