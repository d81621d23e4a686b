/**
 * What goes wrong with RFC 2136 in real life, against real Knot DNS and BIND 9: a wrong key name, a wrong
 * secret, a key the zone's ACL does not allow, a zone the server does not serve (or serves under another
 * name), a skewed clock (BADTIME), and replies a middlebox broke. Each gives a message naming the cause and
 * the fix, byte-identical across retries of the same failure, with no secret in it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryTxt } from '@dns01-webhook/core';
import { randomKey } from '@dns01-webhook/core/conformance';
import { sendUpdate, type UpdateError } from '@dns01-webhook/solver-rfc2136';
import { CLASS, TYPE, txtRdata } from '../../packages/solver-rfc2136/src/wire.js';
import { ALGORITHMS, LOCKED_ZONE, startBind, startKnot, ZONE, type AuthoritativeServer } from './servers.js';
import { configFor, request, run } from './fixtures.js';
import { startDnsProxy } from './proxy.js';

const FQDN = `_acme-challenge.failures.${ZONE}`;

function expectNoSecret(server: AuthoritativeServer, message: string) {
  for (const k of [...Object.values(server.keys), server.readonlyKey]) expect(message).not.toContain(k.secret);
}

for (const [kind, start] of [['Knot DNS', startKnot], ['BIND 9', startBind]] as const) {
  describe(`rfc2136 failures against ${kind}`, () => {
    let server: AuthoritativeServer;
    beforeAll(async () => {
      server = await start();
    }, 60_000);
    afterAll(async () => {
      await server?.stop();
    });

    /** Present fails twice with the same message; nothing was written. */
    async function failure(config: Record<string, unknown>, fqdn = FQDN, zone = ZONE): Promise<string> {
      const key = randomKey();
      const first = await run(server, request('Present', key, config, fqdn, zone));
      const second = await run(server, request('Present', key, config, fqdn, zone));
      expect(first.success).toBe(false);
      const message = (first as { message: string }).message;
      expect(second).toEqual(first);
      expectNoSecret(server, message);
      if (fqdn.endsWith(ZONE)) expect((await queryTxt(fqdn, { server: server.address })).values).not.toContain(key);
      return message;
    }

    it('wrong key name: BADKEY, names the key and what must match', async () => {
      const message = await failure(configFor(server, 'hmac-sha256', { tsigKeyName: 'no-such-key.' }));
      expect(message).toContain('(NOTAUTH/BADKEY)');
      expect(message).toContain('TSIG key "no-such-key." (hmac-sha256)');
      expect(message).toContain('tsigKeyName and tsigAlgorithm must match a key configured on the server');
    });

    it('wrong algorithm for the key: BADKEY', async () => {
      const message = await failure(configFor(server, 'hmac-sha256', { tsigAlgorithm: 'HMACSHA512' }));
      expect(message).toContain('(NOTAUTH/BADKEY)');
      expect(message).toContain('(hmac-sha512)');
    });

    it('wrong secret: BADSIG, points at tsigSecretSecretRef', async () => {
      const message = await failure(configFor(server, 'hmac-sha256', { tsigSecretSecretRef: { name: 'wrong', key: 'tsig-secret' } }));
      expect(message).toContain('(NOTAUTH/BADSIG)');
      expect(message).toContain('the secret in tsigSecretSecretRef does not match the server\'s key');
    });

    it('a known key the zone does not allow to update: REFUSED (BIND) or NOTAUTH/BADKEY (Knot), naming the ACL', async () => {
      const message = await failure({ ...configFor(server), tsigKeyName: server.readonlyKey.name, tsigSecretSecretRef: { name: 'readonly', key: 'tsig-secret' } });
      if (server.kind === 'bind') {
        expect(message).toContain('refused the update (REFUSED): allow updates of this zone for TSIG key "readonly."');
      } else {
        expect(message).toContain('(NOTAUTH/BADKEY)');
        expect(message).toContain('an update ACL of the zone must list the key');
      }
    });

    it('a zone the server serves but does not let anyone update', async () => {
      const message = await failure(configFor(server), `_acme-challenge.${LOCKED_ZONE}`, LOCKED_ZONE);
      expect(message).toMatch(server.kind === 'bind' ? /\(REFUSED\)/ : /\(NOTAUTH\/BADKEY\)/);
      expect(message).toContain(`zone ${LOCKED_ZONE}`);
    });

    it('a zone the server does not serve: NOTAUTH, and the server has no zone for the name', async () => {
      const message = await failure(configFor(server), '_acme-challenge.other.test.', 'other.test.');
      expect(message).toContain('answered NOTAUTH');
      expect(message).toContain(`${server.address} serves no zone containing _acme-challenge.other.test.: point nameserver at the zone's primary server`);
    });

    it('the wrong zone for the name (resolvedZone test. while the server serves example.test.): names the zone it does serve', async () => {
      const message = await failure(configFor(server), FQDN, 'test.');
      expect(message).toContain('answered NOTAUTH');
      expect(message).toContain(`${server.address} serves ${FQDN} in zone ${ZONE}, not test.`);
    });

    it('a skewed clock: BADTIME with the difference, and nothing changes', async () => {
      const key = server.keys['hmac-sha256'];
      const rr = { name: FQDN, type: TYPE.TXT, class: CLASS.IN, ttl: 60, rdata: txtRdata('skewed') };
      const options = {
        nameserver: server.address,
        zone: ZONE,
        key: { name: key.name, algorithm: key.algorithm, secret: Buffer.from(key.secret, 'base64') },
        protocol: 'UDP' as const,
        timeoutMs: 5000,
        now: () => Math.floor(Date.now() / 1000) - 3600,
      };
      const err = (await sendUpdate([rr], options).catch((e: unknown) => e)) as UpdateError;
      expect(err.rcode).toBe('NOTAUTH/BADTIME');
      expect(err.message).toContain("this host's clock and the server's differ by more than the 300 s fudge allows; fix the clock (NTP)");
      // The server reports its time in the signed reply: we are an hour behind.
      expect(err.skewSeconds).toBeGreaterThanOrEqual(3599);
      expect(err.skewSeconds).toBeLessThanOrEqual(3602);
      expect((await queryTxt(FQDN, { server: server.address })).values).not.toContain('skewed');
    });

    it('unsigned updates (no TSIG in the config) are refused by a zone that requires a key', async () => {
      const message = await failure({ nameserver: server.address });
      expect(message).toMatch(server.kind === 'bind' ? /\(REFUSED\): allow updates of this zone for unsigned updates/ : /answered NOTAUTH.*does serve zone example\.test\., so it denied the update/);
    });

    it('a truncated UDP reply: the same update is sent again over TCP and applied', async () => {
      const proxy = await startDnsProxy(server.address, 'truncate-udp');
      try {
        const key = randomKey();
        const config = configFor(server, 'hmac-sha256', { nameserver: proxy.address });
        expect(await run(server, request('Present', key, config, FQDN))).toEqual({ success: true });
        expect(proxy.seen).toEqual({ udp: 1, tcp: 1 });
        expect((await queryTxt(FQDN, { server: server.address })).values).toContain(key);
        expect(await run(server, request('CleanUp', key, config, FQDN))).toEqual({ success: true });
        expect((await queryTxt(FQDN, { server: server.address })).values).not.toContain(key);
      } finally {
        await proxy.close();
      }
    });

    it('a reply whose signature does not verify is not trusted', async () => {
      const proxy = await startDnsProxy(server.address, 'tamper');
      try {
        const key = randomKey();
        const config = configFor(server, 'hmac-sha256', { nameserver: proxy.address });
        const outcome = await run(server, request('Present', key, config));
        expect(outcome.success).toBe(false);
        const message = (outcome as { message: string }).message;
        expectNoSecret(server, message);
        // The server applied it (only the reply was altered on the way back): clean up for the next test.
        expect(await run(server, request('CleanUp', key, configFor(server)))).toEqual({ success: true });
        expect(message).toContain('failed TSIG verification with TSIG key "acme-hmac-sha256." (hmac-sha256): the MAC does not match (wrong secret or tampered reply); the result of the update is unknown');
      } finally {
        await proxy.close();
      }
    });

    it('an unsigned NOERROR reply to a signed update is not trusted', async () => {
      const proxy = await startDnsProxy(server.address, 'strip-tsig');
      try {
        const key = randomKey();
        const outcome = await run(server, request('Present', key, configFor(server, 'hmac-sha256', { nameserver: proxy.address })));
        expect(outcome).toEqual({ success: false, message: expect.stringContaining('answered NOERROR without a TSIG signature') });
        // The server did apply it (the reply was only stripped on the way back): clean up for the next test.
        expect(await run(server, request('CleanUp', key, configFor(server)))).toEqual({ success: true });
      } finally {
        await proxy.close();
      }
    });

    it('a secret that is not base64: says so, naming the Secret and key', async () => {
      const message = await failure(configFor(server, 'hmac-sha256', { tsigSecretSecretRef: { name: 'not-base64', key: 'tsig-secret' } }));
      expect(message).toContain('Secret cert-manager/not-base64 key "tsig-secret" is not a base64 TSIG secret');
    });
  });
}

describe('rfc2136 with no server', () => {
  it('a nameserver that never answers: retried within the deadline, then a message naming it', async () => {
    const { createSocket } = await import('node:dgram');
    const silent = createSocket('udp4');
    await new Promise<void>((r) => silent.bind(0, '127.0.0.1', () => r()));
    const address = `127.0.0.1:${silent.address().port}`;
    try {
      const config = { nameserver: address, tsigKeyName: 'k.', tsigAlgorithm: 'HMACSHA256', tsigSecretSecretRef: { name: 'tsig-hmac-sha256', key: 'tsig-secret' } };
      const secret = { name: 'k.', algorithm: 'hmac-sha256', secret: 'c2VjcmV0' };
      const fake = { keys: Object.fromEntries(ALGORITHMS.map((a) => [a, secret])), readonlyKey: secret } as unknown as AuthoritativeServer;
      const started = Date.now();
      const outcome = await run(fake, request('Present', randomKey(), config), 3000);
      expect(Date.now() - started).toBeLessThan(4000);
      expect(outcome.success).toBe(false);
      expect((outcome as { message: string }).message).toContain(`got no answer from ${address}`);
    } finally {
      silent.close();
    }
  });
});
