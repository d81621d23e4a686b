import { X509Certificate, createPrivateKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createCA, issueCertificate, selfSignedServing } from '../src/tls/certificates.js';

describe('certificates', () => {
  it('issues server and client certificates that chain to the CA', async () => {
    const ca = await createCA('test-ca');
    const caCert = new X509Certificate(ca.certPem);
    expect(caCert.ca).toBe(true);
    expect(caCert.subject).toBe('CN=test-ca');
    expect(createPrivateKey(ca.keyPem).asymmetricKeyType).toBe('ec');
    expect(ca.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);

    const server = await issueCertificate(ca, { commonName: 'webhook', dnsNames: ['webhook.ns.svc', 'localhost'], ipAddresses: ['127.0.0.1', '::1'], usage: 'server' });
    const serverCert = new X509Certificate(server.certPem);
    expect(serverCert.ca).toBe(false);
    expect(serverCert.checkIssued(caCert)).toBe(true);
    expect(serverCert.verify(caCert.publicKey)).toBe(true);
    expect(serverCert.checkHost('webhook.ns.svc')).toBe('webhook.ns.svc');
    expect(serverCert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(serverCert.checkIP('::1')).toBe('::1');
    expect(serverCert.checkHost('other.example')).toBeUndefined();
    expect(serverCert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    expect(serverCert.checkPrivateKey(createPrivateKey(server.keyPem))).toBe(true);

    const client = await issueCertificate(ca, { commonName: 'front-proxy-client', organizations: ['system:masters', 'team'], usage: 'client' });
    const clientCert = new X509Certificate(client.certPem);
    expect(clientCert.subject).toBe('CN=front-proxy-client\nO=system:masters\nO=team');
    expect(clientCert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    expect(clientCert.verify(caCert.publicKey)).toBe(true);

    const otherCa = new X509Certificate((await createCA('other')).certPem);
    expect(serverCert.checkIssued(otherCa)).toBe(false);
    expect(serverCert.verify(otherCa.publicKey)).toBe(false);
  });

  it('honours notBefore/validDays and rejects a non-IP in ipAddresses', async () => {
    const ca = await createCA('ca2', { validDays: 2 });
    const notBefore = new Date('2030-01-01T00:00:00Z');
    const leaf = new X509Certificate((await issueCertificate(ca, { commonName: 'x', usage: 'both', notBefore, validDays: 1 })).certPem);
    expect(new Date(leaf.validFrom).toISOString()).toBe('2030-01-01T00:00:00.000Z');
    expect(new Date(leaf.validTo).toISOString()).toBe('2030-01-02T00:00:00.000Z');
    expect(leaf.keyUsage?.sort()).toEqual(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    await expect(issueCertificate(ca, { commonName: 'x', usage: 'server', ipAddresses: ['localhost'] })).rejects.toThrow(/not an IP/);
  });

  it('makes a self-signed serving pair for the given hosts', async () => {
    const pair = await selfSignedServing(['localhost', '127.0.0.1']);
    const leaf = new X509Certificate(pair.certPem);
    expect(leaf.checkHost('localhost')).toBe('localhost');
    expect(leaf.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(leaf.checkPrivateKey(createPrivateKey(pair.keyPem))).toBe(true);
  });
});
