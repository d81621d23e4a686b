/**
 * The core's conformance kit, strict (Basic, Extended, Concurrency), against real Knot DNS and BIND 9: every
 * Present and CleanUp is an RFC 2136 UPDATE signed with TSIG, every check a real DNS query to the server
 * that was updated. Then one Present/CleanUp round per TSIG algorithm, over UDP and over TCP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noEconomy, queryTxt, silentLogger } from '@dns01-webhook/core';
import { conformance, randomKey } from '@dns01-webhook/core/conformance';
import rfc2136Solver from '@dns01-webhook/solver-rfc2136';
import { ALGORITHMS, startBind, startKnot, ZONE, type AuthoritativeServer } from './servers.js';
import { configFor, NAMESPACE, request, run, secretsFor } from './fixtures.js';

for (const [kind, start] of [['Knot DNS', startKnot], ['BIND 9', startBind]] as const) {
  describe(`rfc2136 against ${kind}`, () => {
    let server: AuthoritativeServer;
    beforeAll(async () => {
      server = await start();
    }, 60_000);
    afterAll(async () => {
      await server?.stop();
    });

    const kit = (extra: Record<string, unknown> = {}) =>
      conformance({
        solver: rfc2136Solver,
        config: configFor(server, 'hmac-sha256', extra),
        zone: ZONE,
        nameserver: server.address,
        secretsFor: secretsFor(server),
        resourceNamespace: NAMESPACE,
        pollIntervalMs: 100,
        timeoutMs: 5_000,
        concurrency: 8,
      });

    it('basic: Present is visible in DNS, idempotent, CleanUp removes it, twice is fine', () => kit().basic(), 30_000);
    it('extended (strict): CleanUp of B keeps A at the same name', () => kit().extended(), 30_000);
    it('concurrency: 8 parallel Presents and CleanUps at one name', () => kit().concurrency(), 30_000);
    it('stable failures: wrong TSIG secret and missing Secret, each repeated, byte-identical', () => kit().stableFailures(), 30_000);
    it('basic over TCP only (protocol: TCP)', () => kit({ protocol: 'TCP' }).basic(), 30_000);

    it('every TSIG algorithm: Present adds the value, CleanUp deletes exactly it', async () => {
      const fqdn = `_acme-challenge.algorithms.${ZONE}`;
      const keep = randomKey();
      expect(await run(server, request('Present', keep, configFor(server, 'hmac-sha512'), fqdn))).toEqual({ success: true });
      for (const algorithm of ALGORITHMS) {
        const key = randomKey();
        const config = configFor(server, algorithm);
        expect([algorithm, await run(server, request('Present', key, config, fqdn))]).toEqual([algorithm, { success: true }]);
        expect((await queryTxt(fqdn, { server: server.address })).values.sort()).toEqual([keep, key].sort());
        expect([algorithm, await run(server, request('CleanUp', key, config, fqdn))]).toEqual([algorithm, { success: true }]);
        expect((await queryTxt(fqdn, { server: server.address })).values).toEqual([keep]);
      }
      expect(await run(server, request('CleanUp', keep, configFor(server, 'hmac-sha512'), fqdn))).toEqual({ success: true });
      expect((await queryTxt(fqdn, { server: server.address })).values).toEqual([]);
    }, 60_000);

    it('check (doctor, read-only): a TSIG-signed SOA query proves the key and names the zone; a wrong secret fails', async () => {
      const ctxFor = (config: Record<string, unknown>) => ({
        config: rfc2136Solver.config.parse(config),
        secrets: secretsFor(server)(NAMESPACE),
        allowAmbientCredentials: false,
        log: silentLogger(),
        signal: new AbortController().signal,
        deadline: Date.now() + 10_000,
        treatAsSecret: () => {},
        track: <T>(_c: string, fn: () => Promise<T>) => fn(),
        ...noEconomy(),
      });
      const fqdn = `_acme-challenge.check.${ZONE}`;
      const before = (await queryTxt(fqdn, { server: server.address })).values;
      expect(await rfc2136Solver.check!(request('Present', 'k', {}, fqdn), ctxFor(configFor(server, 'hmac-sha384')))).toEqual({
        zone: ZONE,
        detail: `${server.address} is authoritative for ${fqdn} in zone ${ZONE} (SOA query, signed with TSIG key "acme-hmac-sha384." (hmac-sha384) and verified)`,
      });
      await expect(
        rfc2136Solver.check!(request('Present', 'k', {}, fqdn), ctxFor(configFor(server, 'hmac-sha256', { tsigSecretSecretRef: { name: 'wrong', key: 'tsig-secret' } }))),
      ).rejects.toThrow('(NOTAUTH/BADSIG)');
      expect((await queryTxt(fqdn, { server: server.address })).values).toEqual(before);
    });

    it('the default algorithm is HMACMD5, as in cert-manager (a config without tsigAlgorithm)', async () => {
      const { tsigAlgorithm: _omitted, ...config } = configFor(server, 'hmac-md5');
      const key = randomKey();
      expect(await run(server, request('Present', key, config))).toEqual({ success: true });
      expect((await queryTxt(`_acme-challenge.${ZONE}`, { server: server.address })).values).toContain(key);
      expect(await run(server, request('CleanUp', key, config))).toEqual({ success: true });
      expect((await queryTxt(`_acme-challenge.${ZONE}`, { server: server.address })).values).not.toContain(key);
    }, 30_000);
  });
}
