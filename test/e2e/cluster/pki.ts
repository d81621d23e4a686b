/**
 * The PKI a kube-apiserver with aggregation needs, written as PEM files into one directory:
 * cluster CA (serving + client certs), front-proxy CA (the aggregator's client identity towards extension
 * API servers), a service-account signing key pair and an admin client certificate (O=system:masters).
 */
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCA, issueCertificate, type KeyPairPem } from '@dns01-webhook/core/testing';

export interface ClusterPki {
  dir: string;
  clusterCa: KeyPairPem;
  frontProxyCa: KeyPairPem;
  files: {
    caCert: string;
    caKey: string;
    servingCert: string;
    servingKey: string;
    frontProxyCaCert: string;
    frontProxyClientCert: string;
    frontProxyClientKey: string;
    saPublicKey: string;
    saSigningKey: string;
    adminCert: string;
    adminKey: string;
  };
}

/** Name kube-apiserver's front-proxy client certificate carries; the webhook allows only this CN. */
export const FRONT_PROXY_CLIENT_CN = 'front-proxy-client';

function write(dir: string, name: string, pem: string): string {
  const path = join(dir, name);
  writeFileSync(path, pem, { mode: 0o600 });
  return path;
}

export async function generateClusterPki(dir: string, serverIps: string[]): Promise<ClusterPki> {
  const clusterCa = await createCA('dns01-e2e-cluster-ca', { validDays: 2 });
  const frontProxyCa = await createCA('dns01-e2e-front-proxy-ca', { validDays: 2 });
  const [serving, proxyClient, admin] = await Promise.all([
    issueCertificate(clusterCa, {
      commonName: 'kube-apiserver',
      dnsNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'],
      ipAddresses: [...new Set(['127.0.0.1', ...serverIps])],
      usage: 'server',
      validDays: 2,
    }),
    issueCertificate(frontProxyCa, { commonName: FRONT_PROXY_CLIENT_CN, usage: 'client', validDays: 2 }),
    issueCertificate(clusterCa, { commonName: 'e2e-admin', organizations: ['system:masters'], usage: 'client', validDays: 2 }),
  ]);
  // RS256: the algorithm every Kubernetes version accepts for service-account tokens.
  const sa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    dir,
    clusterCa,
    frontProxyCa,
    files: {
      caCert: write(dir, 'ca.crt', clusterCa.certPem),
      caKey: write(dir, 'ca.key', clusterCa.keyPem),
      servingCert: write(dir, 'apiserver.crt', serving.certPem),
      servingKey: write(dir, 'apiserver.key', serving.keyPem),
      frontProxyCaCert: write(dir, 'front-proxy-ca.crt', frontProxyCa.certPem),
      frontProxyClientCert: write(dir, 'front-proxy-client.crt', proxyClient.certPem),
      frontProxyClientKey: write(dir, 'front-proxy-client.key', proxyClient.keyPem),
      saPublicKey: write(dir, 'sa.pub', sa.publicKey.export({ type: 'spki', format: 'pem' }).toString()),
      saSigningKey: write(dir, 'sa.key', sa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()),
      adminCert: write(dir, 'admin.crt', admin.certPem),
      adminKey: write(dir, 'admin.key', admin.keyPem),
    },
  };
}
