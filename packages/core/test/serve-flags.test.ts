/** `serve` flag parsing: Go-framework names, defaults, and a UsageError naming the flag for each mistake. */
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { parseServeFlags } from '../src/cli/serve.js';
import { UsageError } from '../src/cli/usage.js';
import { DEFAULT_SOLVER_PACKAGES } from '../src/solver/registry.js';

describe('parseServeFlags', () => {
  it('applies the defaults', () => {
    expect(parseServeFlags(['--group-name', 'acme.example.com'], {})).toEqual({
      groupName: 'acme.example.com',
      securePort: 8443,
      bindAddress: '0.0.0.0',
      tls: { selfSigned: ['localhost', '127.0.0.1', '::1', hostname()] },
      kubeconfig: undefined,
      solverPackages: DEFAULT_SOLVER_PACKAGES,
      metricsPort: 8080,
      logLevel: 'info',
      clientCaFile: undefined,
      requestheaderClientCaFile: undefined,
      requestheaderAllowedNames: undefined,
      challengeTimeoutMs: undefined,
      shutdownGraceMs: 20_000,
      rateLimitOverrides: {},
      rateLimitShare: 1,
      http2: true,
    });
  });

  it('reads every flag, in --flag=value form too, and GROUP_NAME from the environment', () => {
    const config = parseServeFlags([
      '--secure-port=9443', '--bind-address=::', '--tls-cert-file=/tls/tls.crt', '--tls-private-key-file=/tls/tls.key',
      '--kubeconfig=/k/config', '--solver-packages=a-solver,/abs/b.mjs', '--metrics-port=0', '--log-level=debug',
      '--client-ca-file=/ca/client.crt', '--requestheader-client-ca-file=/ca/fp.crt', '--requestheader-allowed-names=front-proxy-client, aggregator',
      '--challenge-timeout=30', '--shutdown-grace=5', '--rate-limit=route53=10/1s,cloudflare=1200/5m,dnspod=off', '--rate-limit-share=0.5',
      '--disable-http2-serving',
    ], { GROUP_NAME: 'acme.example.org' });
    expect(config).toEqual({
      groupName: 'acme.example.org',
      securePort: 9443,
      bindAddress: '::',
      tls: { certFile: '/tls/tls.crt', keyFile: '/tls/tls.key' },
      kubeconfig: '/k/config',
      solverPackages: ['a-solver', 'file:///abs/b.mjs'],
      metricsPort: 0,
      logLevel: 'debug',
      clientCaFile: '/ca/client.crt',
      requestheaderClientCaFile: '/ca/fp.crt',
      requestheaderAllowedNames: ['front-proxy-client', 'aggregator'],
      challengeTimeoutMs: 30_000,
      shutdownGraceMs: 5_000,
      rateLimitOverrides: { route53: { requests: 10, perSeconds: 1 }, cloudflare: { requests: 1200, perSeconds: 300 }, dnspod: 'off' },
      rateLimitShare: 0.5,
      http2: false,
    });
  });

  it('treats an empty --requestheader-allowed-names as unset, not as "any CN"', () => {
    const config = parseServeFlags(['--group-name=a.b', '--requestheader-allowed-names='], {});
    expect(config !== 'help' && config.requestheaderAllowedNames).toBeUndefined();
  });

  it('rejects a malformed --rate-limit or --rate-limit-share, naming the flag', () => {
    expect(() => parseServeFlags(['--group-name=a.b', '--rate-limit=route53'], {})).toThrow(/--rate-limit takes solver=N\/Ts items/);
    expect(() => parseServeFlags(['--group-name=a.b', '--rate-limit=route53=fast'], {})).toThrow(/--rate-limit route53: rate "fast" must look like 5\/1s/);
    expect(() => parseServeFlags(['--group-name=a.b', '--rate-limit-share=2'], {})).toThrow(/--rate-limit-share must be a number in \(0, 1\]/);
  });

  it('returns help for --help and -h', () => {
    expect(parseServeFlags(['--help'], {})).toBe('help');
    expect(parseServeFlags(['-h'], {})).toBe('help');
  });

  it.each([
    [[], /--group-name \(or env GROUP_NAME\) is required/],
    [['--group-name', 'nodots'], /--group-name "nodots" is not a DNS subdomain/],
    [['--group-name', 'Acme.Example.com'], /not a DNS subdomain/],
    [['--group-name', 'a.b', '--secure-port', '70000'], /--secure-port must be a port number 0-65535, got "70000"/],
    [['--group-name', 'a.b', '--metrics-port', 'x'], /--metrics-port must be a port number/],
    [['--group-name', 'a.b', '--bind-address', 'localhost'], /--bind-address must be an IP address/],
    [['--group-name', 'a.b', '--tls-private-key-file', 'k'], /must be given together/],
    [['--group-name', 'a.b', '--log-level', 'loud'], /--log-level must be one of/],
    [['--group-name', 'a.b', '--challenge-timeout', '0'], /--challenge-timeout must be a positive number of seconds/],
    [['--group-name', 'a.b', '--port', '1'], /Unknown option '--port'/],
  ])('rejects %j', (argv, message) => {
    let error: unknown;
    try {
      parseServeFlags(argv as string[], {});
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toMatch(message);
    expect((error as UsageError).command).toBe('serve');
  });
});
