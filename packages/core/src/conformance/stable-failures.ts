/**
 * The kit's `stable failures` case: every failure scenario is repeated, each repeat must fail, and the
 * messages must be byte-identical. cert-manager writes the message to `Challenge.status.reason` and
 * re-queues a Challenge at once whenever that changes, so a message that embeds a request id, a timestamp
 * or an attempt count turns one failure into a storm of calls at the provider (cert-manager's own
 * providers are protected by `stabilizeSolverErrorMessage`; webhooks are not). The core already strips
 * the volatile patterns it knows (challenge/message.ts); this case catches whatever else a solver adds.
 */
import { randomBytes } from 'node:crypto';
import type { SecretReader, SecretSelector } from '../solver/contract.js';
import { toFqdn } from '../solver/names.js';
import { mapSecrets, type SecretMap } from '../secrets/static.js';
import { inProcessRunner, type Action, type ChallengeFields, type ChallengeRunner, type InProcessOptions } from './target.js';
import type { Solver } from '../solver/contract.js';
import { Economy } from '../economy/economy.js';

export interface FailureScenario {
  /** Names the failure in the case and in errors, e.g. `bad credential`, `zone not hosted`. */
  name: string;
  /** The Issuer config for this failure; default: the kit's `config`. */
  config?: unknown;
  /** In-process only: the Secrets for this failure (instead of the kit's). */
  secrets?: SecretMap;
  secretsFor?: (namespace: string) => SecretReader;
  /** Default: the kit's zone, and a fresh name in it per repeat. */
  zone?: string;
  fqdn?: string;
  /** Default Present. */
  action?: Action;
  /** Runs before each repeat, e.g. to make an emulator answer 5xx. */
  before?: () => void | Promise<void>;
}

interface Prepared {
  name: string;
  action: Action;
  run: ChallengeRunner;
  fields: () => ChallengeFields;
  before?: () => void | Promise<void>;
  /** Derived by the kit: counts Secret reads, to tell "the solver reads no Secret" from a real failure. */
  reads?: () => number;
}

export interface ScenarioContext {
  solver?: Solver<any>;
  inProcess: InProcessOptions;
  failures?: FailureScenario[];
  /** Derive "wrong credentials" and "missing Secret" from the solver's Secrets (in-process only). */
  derive: boolean;
  /** The kit's runner (in-process or webhook) and how it fills in a challenge. */
  runner: ChallengeRunner;
  defaults: () => ChallengeFields;
}

/** Same length and character classes, every letter and digit changed: a credential of the right shape that is wrong. */
export function wrongLike(value: string): string {
  return value.replace(/[a-z]/g, (c) => String.fromCharCode(((c.charCodeAt(0) - 97 + 1) % 26) + 97))
    .replace(/[A-Z]/g, (c) => String.fromCharCode(((c.charCodeAt(0) - 65 + 1) % 26) + 65))
    .replace(/[0-9]/g, (c) => String((Number(c) + 1) % 10));
}

function counting(inner: SecretReader, transform: (v: string) => string, count: { n: number }): SecretReader {
  return {
    namespace: inner.namespace,
    async get(selector: SecretSelector) {
      count.n++;
      return transform(await inner.get(selector));
    },
  };
}

export function prepareScenarios(ctx: ScenarioContext): Prepared[] {
  // In-process, every repeat reaches the provider: the credential breaker would answer repeats 2..n with
  // the first one's message for a whole cool-down and hide a solver's own volatile message, which comes
  // back at every real try. (Against a webhook the server's economy applies, as cert-manager would see it.)
  const inProcess = (secretsFor?: (namespace: string) => SecretReader) =>
    inProcessRunner(ctx.solver!, { ...ctx.inProcess, ...(secretsFor ? { secretsFor } : {}), economy: Economy.disabled() });
  const withFields = (s: FailureScenario) => (): ChallengeFields => {
    const d = ctx.defaults();
    const zone = s.zone ? toFqdn(s.zone) : d.zone;
    const fqdn = s.fqdn ? toFqdn(s.fqdn) : s.zone ? `_acme-challenge.conformance-${randomBytes(4).toString('hex')}.${zone}` : d.fqdn;
    return { ...d, zone, fqdn, ...('config' in s ? { config: s.config } : {}) };
  };
  const explicit = (ctx.failures ?? []).map((s): Prepared => {
      const ownSecrets = s.secrets !== undefined || s.secretsFor !== undefined;
      if (ownSecrets && !ctx.solver) throw new Error(`conformance: failure "${s.name}" gives secrets, which only an in-process run can use`);
      const run = ownSecrets ? inProcess(s.secretsFor ?? mapSecrets(s.secrets ?? {})) : ctx.solver ? inProcess() : ctx.runner;
      return { name: s.name, action: s.action ?? 'Present', run, fields: withFields(s), ...(s.before ? { before: s.before } : {}) };
  });
  // Derived from the solver's own Secrets (in-process only: the kit cannot change a cluster's Secrets).
  const base = ctx.inProcess.secretsFor ?? (ctx.inProcess.secrets ? mapSecrets(ctx.inProcess.secrets) : undefined);
  if (!ctx.derive || !ctx.solver || !base) return explicit;
  const derive = (name: string, readerFor: (ns: string, count: { n: number }) => SecretReader): Prepared => {
    const count = { n: 0 };
    return {
      name,
      action: 'Present',
      run: inProcess((ns) => readerFor(ns, count)),
      fields: withFields({ name }),
      reads: () => count.n,
    };
  };
  return [
    ...explicit,
    derive('wrong credentials (every Secret value the solver reads replaced by a wrong one of the same shape)', (ns, count) => counting(base(ns), wrongLike, count)),
    derive('missing Secret', (ns, count) => counting(mapSecrets({})(ns), (v) => v, count)),
  ];
}

function firstDifference(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

const around = (text: string, at: number) => JSON.stringify(`${at > 40 ? '…' : ''}${text.slice(Math.max(0, at - 40), at + 60)}${at + 60 < text.length ? '…' : ''}`);

export async function checkStableFailures(scenarios: Prepared[], repeats: number): Promise<void> {
  for (const s of scenarios) {
    const messages: string[] = [];
    let succeeded = 0;
    // cert-manager retries one Challenge: the same name, key and config every time.
    const fields = s.fields();
    for (let i = 0; i < repeats; i++) {
      await s.before?.();
      try {
        await s.run(s.action, fields);
        succeeded++;
      } catch (err) {
        messages.push((err as Error).message);
      }
    }
    // A derived scenario does not apply to a solver that read no Secret (ambient credentials, no auth).
    if (s.reads && s.reads() === 0 && succeeded === repeats) continue;
    if (succeeded > 0) {
      throw new Error(`stable failures: expected "${s.name}" to fail on every one of ${repeats} repeats, but ${succeeded} succeeded${messages[0] ? ` (and one failed: ${messages[0]})` : ''}`);
    }
    for (let i = 1; i < messages.length; i++) {
      if (messages[i] === messages[0]) continue;
      const at = firstDifference(messages[0]!, messages[i]!);
      throw new Error(
        `stable failures: "${s.name}" gave different messages on repeats 1 and ${i + 1}; cert-manager re-queues a Challenge at once ` +
          `whenever its status message changes, so this turns one failure into a retry storm at the provider. They differ at ` +
          `character ${at}:\n  repeat 1:      ${around(messages[0]!, at)}\n  repeat ${i + 1}: ${' '.repeat(Math.max(0, 6 - String(i + 1).length))}${around(messages[i]!, at)}\n` +
          'Keep request ids, timestamps, attempt counts and durations out of the message: put them in SolverError `details` (logged, never returned).',
      );
    }
  }
}
