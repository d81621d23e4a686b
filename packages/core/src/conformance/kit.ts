/**
 * The conformance kit: cert-manager's DNS-01 conformance checks (test/acme Basic and Extended) plus
 * idempotency and concurrency, run against a solver in-process or a running webhook, and checked through
 * real DNS queries to the nameserver that serves the zone. Plus the webhook's own rule that cert-manager
 * cannot check: a failure reads byte for byte the same on every retry (stable-failures.ts).
 */
import { randomBytes } from 'node:crypto';
import type { Solver } from '../solver/contract.js';
import { toFqdn } from '../solver/names.js';
import { parseServer, queryTxt } from '../dns/client.js';
import { inProcessRunner, webhookRunner, type Action, type ChallengeRunner, type InProcessOptions, type WebhookTarget } from './target.js';
import { describeAnswer, waitForTxt, type WatchOptions } from './watch.js';
import { checkStableFailures, prepareScenarios, type FailureScenario } from './stable-failures.js';

export interface ConformanceOptions extends InProcessOptions {
  /** The solver under test, run in-process through executeChallenge (give this or `webhook`). */
  solver?: Solver<any>;
  /** A running webhook to POST ChallengePayloads to (give this or `solver`). */
  webhook?: WebhookTarget;
  /** The Issuer's `webhook.config` for the solver. */
  config?: unknown;
  /** The zone cert-manager would resolve (`resolvedZone`), e.g. `example.test.`. */
  zone: string;
  /** Name to use (`resolvedFQDN`). Default: a fresh `_acme-challenge.conformance-<random>.<zone>` per case. */
  fqdn?: string;
  /** Authoritative nameserver to check, `host:port`. */
  nameserver: string;
  /** Default `default`. Secrets are read from this namespace only. */
  resourceNamespace?: string;
  /** Default false (a namespaced Issuer). */
  allowAmbientCredentials?: boolean;
  /** Default 1000 ms (cert-manager polls every 3 s). */
  pollIntervalMs?: number;
  /** How long a value may take to appear or vanish in DNS; default 120 000 ms (cert-manager's 2 min). */
  timeoutMs?: number;
  /** Parallel challenges in the concurrency case; default 5. */
  concurrency?: number;
  /**
   * Failures the `stable failures` case repeats, comparing the messages byte for byte (a zone the provider
   * does not host, a provider fault injected in `before`, ...). In-process, the kit also derives two from the
   * solver's own Secrets (see `deriveFailures`).
   */
  failures?: FailureScenario[];
  /**
   * In-process with `secrets`/`secretsFor`: also run "wrong credentials" (every Secret value the solver reads
   * replaced by a wrong one of the same shape) and "missing Secret". Default true.
   */
  deriveFailures?: boolean;
  /** How often each failure is repeated; default 3. */
  failureRepeats?: number;
}

export interface ConformanceCase {
  name: string;
  run(): Promise<void>;
}

export interface ConformanceKit {
  /** Every case, for `for (const c of kit.cases) it(c.name, c.run, 120_000)`. */
  cases: ConformanceCase[];
  /** Present → visible → Present again (one copy) → CleanUp → gone → CleanUp again succeeds. */
  basic(): Promise<void>;
  /** Keys A and B at one name; CleanUp B removes B only (cert-manager's strict mode). */
  extended(): Promise<void>;
  /** N parallel Presents with distinct keys at one name all visible; N parallel CleanUps leave none. */
  concurrency(): Promise<void>;
  /** Each failure scenario, repeated: every repeat fails, with a byte-identical message. */
  stableFailures(): Promise<void>;
}

/** A value shaped like an ACME DNS-01 key (base64url of a SHA-256). */
export function randomKey(): string {
  return randomBytes(32).toString('base64url');
}

const count = (values: string[], key: string) => values.filter((v) => v === key).length;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function conformance(options: ConformanceOptions): ConformanceKit {
  if ((options.solver === undefined) === (options.webhook === undefined)) {
    throw new Error('conformance: give exactly one of `solver` (in-process) or `webhook` (a running server)');
  }
  parseServer(options.nameserver);
  const zone = toFqdn(options.zone);
  if (options.fqdn !== undefined) {
    const f = toFqdn(options.fqdn);
    if (f !== zone && !f.endsWith(`.${zone}`)) throw new Error(`conformance: fqdn ${f} is not inside zone ${zone}`);
  }
  const concurrencyN = options.concurrency ?? 5;
  if (!Number.isInteger(concurrencyN) || concurrencyN < 2) throw new Error('conformance: concurrency must be an integer >= 2');
  const watch: WatchOptions = {
    nameserver: options.nameserver,
    pollIntervalMs: options.pollIntervalMs ?? 1000,
    timeoutMs: options.timeoutMs ?? 120_000,
  };
  const runner: ChallengeRunner = options.solver ? inProcessRunner(options.solver, options) : webhookRunner(options.webhook!);

  const fqdnForCase = () => (options.fqdn ? toFqdn(options.fqdn) : `_acme-challenge.conformance-${randomBytes(4).toString('hex')}.${zone}`);
  const challenge = (fqdn: string) => (action: Action, key: string) =>
    runner(action, {
      fqdn,
      zone,
      key,
      config: options.config,
      resourceNamespace: options.resourceNamespace ?? 'default',
      allowAmbientCredentials: options.allowAmbientCredentials ?? false,
    });

  const visible = (fqdn: string, key: string, why = '') =>
    waitForTxt(fqdn, `TXT "${key}" to be visible${why}`, (v) => v.includes(key), watch);
  const gone = (fqdn: string, key: string, why = '') =>
    waitForTxt(fqdn, `TXT "${key}" to be gone${why}`, (v) => !v.includes(key), watch);

  /** Runs `body`; on failure removes what it presented (best effort) so a shared zone stays clean. */
  async function tidy(fqdn: string, keys: string[], body: () => Promise<void>) {
    try {
      await body();
    } catch (err) {
      await Promise.allSettled(keys.map((k) => challenge(fqdn)('CleanUp', k)));
      throw err;
    }
  }

  /** Exactly one copy, now and one poll interval later (a duplicate may land a little late). */
  async function exactlyOnce(fqdn: string, key: string) {
    for (const wait of [0, watch.pollIntervalMs]) {
      await sleep(wait);
      const res = await queryTxt(fqdn, { server: watch.nameserver });
      const n = count(res.values, key);
      if (n !== 1) {
        throw new Error(
          `expected exactly one TXT "${key}" at ${fqdn} after presenting it twice (Present must be idempotent), but DNS shows ${n} ${n === 1 ? 'copy' : 'copies'}: ${describeAnswer(res)}`,
        );
      }
    }
  }

  async function basic() {
    const fqdn = fqdnForCase();
    const run = challenge(fqdn);
    const key = randomKey();
    await tidy(fqdn, [key], async () => {
      await run('Present', key);
      await visible(fqdn, key, ' after Present');
      await run('Present', key);
      await exactlyOnce(fqdn, key);
      await run('CleanUp', key);
      await gone(fqdn, key, ' after CleanUp');
      try {
        await run('CleanUp', key);
      } catch (err) {
        throw new Error(`expected a second CleanUp of an already removed value to succeed ("already gone" is success), but ${(err as Error).message}`);
      }
    });
  }

  async function extended() {
    const fqdn = fqdnForCase();
    const run = challenge(fqdn);
    const a = randomKey();
    const b = randomKey();
    await tidy(fqdn, [a, b], async () => {
      await run('Present', a);
      await run('Present', b);
      await waitForTxt(fqdn, `both TXT "${a}" and "${b}"`, (v) => v.includes(a) && v.includes(b), watch);
      await run('CleanUp', b);
      await gone(fqdn, b, ' after CleanUp of it');
      // Check A twice: once right away and once after the change had time to spread.
      for (const wait of [0, watch.pollIntervalMs]) {
        await sleep(wait);
        const res = await queryTxt(fqdn, { server: watch.nameserver });
        if (!res.values.includes(a)) {
          throw new Error(
            `expected TXT "${a}" to stay at ${fqdn} after CleanUp of the other value "${b}" (CleanUp must remove only the value equal to key), but DNS shows ${describeAnswer(res)}`,
          );
        }
      }
      await run('CleanUp', a);
      await gone(fqdn, a, ' after CleanUp of it');
    });
  }

  async function concurrency() {
    const fqdn = fqdnForCase();
    const run = challenge(fqdn);
    const keys = Array.from({ length: concurrencyN }, randomKey);
    await tidy(fqdn, keys, async () => {
      const presents = await Promise.allSettled(keys.map((k) => run('Present', k)));
      const failed = presents.filter((p): p is PromiseRejectedResult => p.status === 'rejected');
      if (failed.length) throw new Error(`expected ${concurrencyN} parallel Presents to succeed, but ${failed.length} failed: ${(failed[0]!.reason as Error).message}`);
      await waitForTxt(fqdn, `all ${concurrencyN} values from parallel Presents, once each`, (v) => keys.every((k) => count(v, k) === 1), watch);
      const cleanups = await Promise.allSettled(keys.map((k) => run('CleanUp', k)));
      const failedCleanups = cleanups.filter((p): p is PromiseRejectedResult => p.status === 'rejected');
      if (failedCleanups.length) throw new Error(`expected ${concurrencyN} parallel CleanUps to succeed, but ${failedCleanups.length} failed: ${(failedCleanups[0]!.reason as Error).message}`);
      await waitForTxt(fqdn, `none of the ${concurrencyN} values left after parallel CleanUps`, (v) => keys.every((k) => !v.includes(k)), watch);
    });
  }

  const scenarios = prepareScenarios({
    ...(options.solver ? { solver: options.solver } : {}),
    inProcess: options,
    ...(options.failures ? { failures: options.failures } : {}),
    derive: options.deriveFailures ?? true,
    runner,
    defaults: () => ({
      fqdn: fqdnForCase(),
      zone,
      key: randomKey(),
      config: options.config,
      resourceNamespace: options.resourceNamespace ?? 'default',
      allowAmbientCredentials: options.allowAmbientCredentials ?? false,
    }),
  });
  const repeats = options.failureRepeats ?? 3;
  if (!Number.isInteger(repeats) || repeats < 2) throw new Error('conformance: failureRepeats must be an integer >= 2');
  const stableFailures = () => checkStableFailures(scenarios, repeats);

  return {
    basic,
    extended,
    concurrency,
    stableFailures,
    cases: [
      { name: 'basic: Present is visible in DNS, idempotent, and CleanUp removes it (twice is fine)', run: basic },
      { name: 'extended: CleanUp removes only its own value when two share a name', run: extended },
      { name: `concurrency: ${concurrencyN} parallel Presents and CleanUps at one name`, run: concurrency },
      ...(scenarios.length
        ? [{ name: `stable failures: ${scenarios.map((f) => f.name).join(', ')} — ${repeats} repeats each read the same`, run: stableFailures }]
        : []),
    ],
  };
}
