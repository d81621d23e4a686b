/**
 * The client side of an ACME DNS-01 order, with acme-client against Pebble (pebble.test.ts: account, order,
 * one dns-01 challenge per authorization with its TXT value), and certificate checks shared with the
 * cert-manager issuance test (SANs, chain to Pebble's root).
 */
import { createHash, createPublicKey, X509Certificate } from 'node:crypto';
import { Agent } from 'node:https';
import acme from 'acme-client';

export interface DnsChallenge {
  /** The authorization's identifier (`example.test` for both the apex and the wildcard). */
  dnsName: string;
  wildcard: boolean;
  authz: acme.Authorization;
  challenge: acme.Authorization['challenges'][number];
  /** The TXT value: base64url(sha256(keyAuthorization)) (RFC 8555 §8.4). */
  key: string;
}

export interface AcmeOrder {
  client: acme.Client;
  order: acme.Order;
  challenges: DnsChallenge[];
}

/** Trust `caPem` for every acme-client request (its axios instance is module-global). */
export function trustAcmeServer(caPem: string): void {
  acme.axios.defaults.httpsAgent = new Agent({ ca: caPem, keepAlive: false });
}

/** RFC 8555 §8.1 and §8.4, computed here rather than trusted from the client library. */
function dnsTxtValue(token: string, accountKeyPem: Buffer): string {
  const jwk = createPublicKey(accountKeyPem).export({ format: 'jwk' });
  // The thumbprint input is the JWK's required members in lexicographic order (RFC 7638).
  const canonical = jwk.kty === 'EC'
    ? JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y })
    : JSON.stringify({ e: jwk.e, kty: jwk.kty, n: jwk.n });
  const thumbprint = createHash('sha256').update(canonical).digest('base64url');
  return createHash('sha256').update(`${token}.${thumbprint}`).digest('base64url');
}

export async function openOrder(directoryUrl: string, domains: string[]): Promise<AcmeOrder> {
  const accountKey = await acme.crypto.createPrivateEcdsaKey('P-256');
  const client = new acme.Client({ directoryUrl, accountKey, backoffMin: 200, backoffMax: 1000, backoffAttempts: 40 });
  await client.createAccount({ termsOfServiceAgreed: true, contact: ['mailto:e2e@example.test'] });
  const order = await client.createOrder({ identifiers: domains.map((value) => ({ type: 'dns', value })) });
  const authorizations = await client.getAuthorizations(order);
  const challenges: DnsChallenge[] = [];
  for (const authz of authorizations) {
    const challenge = authz.challenges.find((c) => c.type === 'dns-01');
    if (!challenge) throw new Error(`no dns-01 challenge offered for ${authz.identifier.value}`);
    const key = await client.getChallengeKeyAuthorization(challenge);
    const expected = dnsTxtValue(challenge.token, accountKey);
    if (key !== expected) throw new Error(`acme-client's dns-01 value ${key} differs from RFC 8555's ${expected}`);
    challenges.push({ dnsName: authz.identifier.value, wildcard: authz.wildcard === true, authz, challenge, key });
  }
  return { client, order, challenges };
}

/** `DNS:` names of a certificate's subjectAltName. */
export function dnsSans(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.startsWith('DNS:'))
    .map((s) => s.slice(4));
}

/**
 * Checks each certificate is issued and signed by the next, the last by `root`, and `root` is self-signed.
 * Returns the subjects walked; throws naming the broken link.
 */
export function verifyChain(chain: X509Certificate[], root: X509Certificate): string[] {
  const path = [...chain, root];
  for (let i = 0; i < path.length - 1; i++) {
    const [child, parent] = [path[i]!, path[i + 1]!];
    if (!child.checkIssued(parent) || !child.verify(parent.publicKey)) {
      throw new Error(`"${child.subject}" is not signed by "${parent.subject}"`);
    }
    const now = new Date();
    if (new Date(child.validFrom) > now || new Date(child.validTo) < now) throw new Error(`"${child.subject}" is not valid now`);
  }
  if (!root.checkIssued(root) || !root.verify(root.publicKey)) throw new Error(`root "${root.subject}" is not self-signed`);
  return path.map((c) => c.subject.replace(/\n/g, ', '));
}
