/**
 * The certificates a test needs to run `dns01-webhook serve` (or `createWebhookServer`) behind front-proxy
 * authentication, as kube-apiserver would call it: a serving certificate for `localhost`/127.0.0.1, the
 * front-proxy CA and its `front-proxy-client` certificate, and a separate client CA for the
 * extension-apiserver-authentication ConfigMap. The files `serve` reads are written into `dir`.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createCA, issueCertificate, type KeyPairPem } from '../tls/certificates.js';

export interface ServingPki {
  /** Trust this to call the webhook (servername `localhost`). */
  servingCa: KeyPairPem;
  frontProxyCa: KeyPairPem;
  /** Client certificate with CN `front-proxy-client`, signed by `frontProxyCa`. */
  frontProxy: KeyPairPem;
  /** A CA of its own, for `authenticationConfigData({ clientCaPem })`. */
  clientCa: KeyPairPem;
  /** Paths in `dir`: `--tls-cert-file`, `--tls-private-key-file`, `--requestheader-client-ca-file`. */
  files: { cert: string; key: string; frontProxyCa: string };
}

export async function writeServingPki(dir: string): Promise<ServingPki> {
  const [servingCa, frontProxyCa, clientCa] = await Promise.all([createCA('serving-ca'), createCA('front-proxy-ca'), createCA('client-ca')]);
  const [serving, frontProxy] = await Promise.all([
    issueCertificate(servingCa, { commonName: 'webhook', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], usage: 'server' }),
    issueCertificate(frontProxyCa, { commonName: 'front-proxy-client', usage: 'client' }),
  ]);
  const files = { cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key'), frontProxyCa: join(dir, 'front-proxy-ca.crt') };
  await Promise.all([writeFile(files.cert, serving.certPem), writeFile(files.key, serving.keyPem), writeFile(files.frontProxyCa, frontProxyCa.certPem)]);
  return { servingCa, frontProxyCa, frontProxy, clientCa, files };
}
