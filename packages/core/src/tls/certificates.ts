/**
 * Certificate generation for tests, `dev` mode and the "no cert files given" fallback: a CA, certificates it
 * issues (serving, client, front-proxy) and a self-signed serving pair. @peculiar/x509 on Node's WebCrypto;
 * ECDSA P-256 keys because they are fast to generate on a small machine.
 */
// @peculiar/x509 uses tsyringe, which needs the Reflect metadata API before it loads.
import 'reflect-metadata';
import { createPrivateKey, webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import * as x509 from '@peculiar/x509';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
const crypto = webcrypto;
const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;
/** Backdate so a peer with a slightly slow clock still accepts a fresh certificate. */
const CLOCK_SKEW_MS = 5 * 60_000;

export interface KeyPairPem {
  certPem: string;
  keyPem: string;
}

export interface IssueOptions {
  commonName: string;
  /** Subject O= values; Kubernetes reads them as the client's groups. */
  organizations?: string[];
  dnsNames?: string[];
  ipAddresses?: string[];
  usage: 'server' | 'client' | 'both';
  validDays?: number;
  notBefore?: Date;
}

async function newKeyPair(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey(EC_P256, true, ['sign', 'verify']);
}

/** PEM text ends with a newline so files and bundles concatenate cleanly. */
function withNewline(pem: string): string {
  return pem.endsWith('\n') ? pem : `${pem}\n`;
}

async function keyToPem(key: CryptoKey): Promise<string> {
  const der = await crypto.subtle.exportKey('pkcs8', key);
  return withNewline(x509.PemConverter.encode(der, 'PRIVATE KEY'));
}

/** Imports a CA's PKCS#8 PEM key for signing (only the EC P-256 keys this module makes). */
async function importSigningKey(keyPem: string): Promise<CryptoKey> {
  const key = createPrivateKey(keyPem);
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (key.asymmetricKeyType !== 'ec' || curve !== 'prime256v1') {
    throw new Error(`CA key must be ECDSA P-256 (got ${key.asymmetricKeyType}${curve ? ` ${curve}` : ''})`);
  }
  const der = key.export({ format: 'der', type: 'pkcs8' });
  return crypto.subtle.importKey('pkcs8', der, EC_P256, false, ['sign']);
}

function subjectName(commonName: string, organizations: string[] = []): x509.JsonName {
  return [{ CN: [commonName] }, ...organizations.map((o) => ({ O: [o] }))];
}

function validity(validDays: number, notBefore?: Date): { notBefore: Date; notAfter: Date } {
  const start = notBefore ?? new Date(Date.now() - CLOCK_SKEW_MS);
  return { notBefore: start, notAfter: new Date(start.getTime() + validDays * DAY_MS) };
}

function sanExtension(dnsNames: string[], ipAddresses: string[]): x509.SubjectAlternativeNameExtension | undefined {
  const names: x509.JsonGeneralName[] = [
    ...dnsNames.map((value) => ({ type: 'dns' as const, value })),
    ...ipAddresses.map((value) => {
      if (isIP(value) === 0) throw new Error(`not an IP address: ${JSON.stringify(value)}`);
      return { type: 'ip' as const, value };
    }),
  ];
  return names.length > 0 ? new x509.SubjectAlternativeNameExtension(names, false) : undefined;
}

export async function createCA(commonName: string, options: { validDays?: number } = {}): Promise<KeyPairPem> {
  const keys = await newKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      name: subjectName(commonName),
      keys,
      signingAlgorithm: SIGNING,
      ...validity(options.validDays ?? 3650),
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
        await x509.AuthorityKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  return { certPem: withNewline(cert.toString('pem')), keyPem: await keyToPem(keys.privateKey) };
}

export async function issueCertificate(ca: KeyPairPem, options: IssueOptions): Promise<KeyPairPem> {
  const caCert = new x509.X509Certificate(ca.certPem);
  const caKey = await importSigningKey(ca.keyPem);
  const keys = await newKeyPair();
  const usages: string[] = [];
  if (options.usage !== 'client') usages.push(x509.ExtendedKeyUsage.serverAuth);
  if (options.usage !== 'server') usages.push(x509.ExtendedKeyUsage.clientAuth);
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    new x509.ExtendedKeyUsageExtension(usages, false),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
    await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey, false, crypto),
  ];
  const san = sanExtension(options.dnsNames ?? [], options.ipAddresses ?? []);
  if (san) extensions.push(san);
  const cert = await x509.X509CertificateGenerator.create(
    {
      subject: subjectName(options.commonName, options.organizations),
      issuer: caCert.subjectName,
      publicKey: keys.publicKey,
      signingKey: caKey,
      signingAlgorithm: SIGNING,
      ...validity(options.validDays ?? 365, options.notBefore),
      extensions,
    },
    crypto,
  );
  return { certPem: withNewline(cert.toString('pem')), keyPem: await keyToPem(keys.privateKey) };
}

/**
 * A serving pair for when no cert files are given (like the Go framework's self-signed localhost cert):
 * a throw-away CA issues it, so the leaf itself is not a CA. Hosts may mix DNS names and IP addresses.
 */
export async function selfSignedServing(hosts: string[]): Promise<KeyPairPem> {
  const list = hosts.length > 0 ? hosts : ['localhost', '127.0.0.1', '::1'];
  const ca = await createCA(`dns01-webhook-self-signed-ca@${Math.floor(Date.now() / 1000)}`, { validDays: 365 });
  const leaf = await issueCertificate(ca, {
    commonName: list[0]!,
    dnsNames: list.filter((h) => isIP(h) === 0),
    ipAddresses: list.filter((h) => isIP(h) !== 0),
    usage: 'server',
    validDays: 365,
  });
  // Chain included so a client that trusts nothing can still inspect who issued it.
  return { certPem: leaf.certPem + ca.certPem, keyPem: leaf.keyPem };
}
