/**
 * The solver contract — the one file a solver author needs to read.
 *
 * cert-manager asks a webhook to Present or CleanUp one TXT value (`key`) at one name (`resolvedFQDN`).
 * The core does everything else (HTTP, auth, TLS, config validation, deadlines, retries of the whole call,
 * metrics, logs). A solver is a plain value exported from an npm module:
 *
 *   - `defineSolver(...)`        full control: you implement present/cleanUp against the provider.
 *   - `defineRecordSolver(...)`  for APIs that store one record per value (DNSPod, Cloudflare, ...): you give
 *                                three provider calls (list / add / remove) and the core derives present/cleanUp
 *                                with the domain rules built in.
 *
 * Rules every solver obeys (the record-solver derivation enforces them for you):
 *   1. Present is idempotent: presenting the same (fqdn, key) twice leaves one value.
 *   2. CleanUp removes only the value equal to `key`; every other value at that name stays
 *      (a wildcard and its apex share one name with different keys).
 *   3. CleanUp of a value that is already gone is success (an error blocks cert-manager's finalizer).
 *   4. Nothing lives only in memory: CleanUp may run on another replica or after a restart, so it finds
 *      the record again at the provider (by name and value), never by an id remembered from Present.
 *   5. Secrets come only through `ctx.secrets` (bound to the request's namespace); ambient credentials
 *      (environment, instance roles) only when `ctx.allowAmbientCredentials` is true.
 *   6. Honour `ctx.signal`: it aborts before kube-apiserver's 60 s timeout, leaving time to answer.
 *   7. Throw `SolverError` with a message a person can act on; never put a secret in it (the core scrubs
 *      every value read through `ctx.secrets` from messages and logs anyway, see `treatAsSecret`).
 *   8. The same failure gives the same message, byte for byte, on every retry: cert-manager re-queues a
 *      Challenge at once whenever its status message changes, so a request id, timestamp, attempt count or
 *      duration in it turns one failure into a storm of provider calls. Put those in `SolverError.details`
 *      (logged with the failure, never returned). The core words deadline/retry endings itself and strips
 *      volatile shapes it knows (`stabilizeMessage`); the conformance kit's `stable failures` case checks it.
 *
 * Implementations must be safe for concurrent use: several challenges for one name may run at once.
 *
 * Provider economy (the core does it; a solver opts in with three calls — see docs/provider-economy.md):
 *   - `ctx.useCredential(keyId, secret, ...)` once credentials are known: the core keeps a hash of them, never
 *     the values, and from then on every `ctx.track()` call waits for the credential's rate limit (your
 *     `rateLimits`, the provider's documented quota) and goes through its breaker: an error you mark
 *     `credentialsRejected` (unknown key, bad signature, permission denied) stops all calls with that
 *     credential for a cool-down, with a message that stays the same for the whole cool-down.
 *   - `ctx.cachedZone(name, lookup)` around the zone lookup: cached per credential for minutes, concurrent
 *     misses share one lookup, and a challenge that fails after a cached lookup is run once more with a fresh one.
 *   - `addReportsExisting: true` on a record solver whose `add` throws RecordExistsError reliably: Present
 *     then costs one write, no list.
 * Identical concurrent challenges (same action, name, key and config) share one run; `ctx.coalesce` batches
 * writes across challenges (Route 53). The Issuer config key `rateLimit: {requests, perSeconds}` is reserved
 * by the core for every solver (it replaces the overall quota for that Issuer's credential).
 */
import type { z } from 'zod';

/** The `request` of cert-manager's ChallengePayload (webhook.acme.cert-manager.io/v1alpha1), validated. */
export interface ChallengeRequest {
  uid: string;
  action: 'Present' | 'CleanUp';
  type: string;
  /** The name being validated, without `*.`; a wildcard and its apex share one `resolvedFQDN`. */
  dnsName: string;
  /** The TXT value to present or remove. */
  key: string;
  /** Namespace of the Issuer (or cert-manager's cluster resource namespace): the only place secrets are read. */
  resourceNamespace: string;
  /** Fully-qualified name of the TXT record, with a trailing dot. Use as given (CNAMEs already followed). */
  resolvedFQDN: string;
  /** Zone cert-manager found by an SOA walk, with a trailing dot. The provider may host it as a parent zone. */
  resolvedZone: string;
  allowAmbientCredentials: boolean;
  /** The Issuer's `webhook.config`, verbatim (before validation). */
  config?: unknown;
}

/** Names a key inside a Kubernetes Secret in the request's namespace. No namespace field, on purpose. */
export interface SecretSelector {
  name: string;
  key: string;
}

/** Reads secrets from the request's `resourceNamespace` only. */
export interface SecretReader {
  readonly namespace: string;
  /**
   * Resolves to the value (UTF-8); throws SolverError naming the secret/key when missing or forbidden.
   * The core registers every value read here (raw, trimmed, each line) for redaction.
   */
  get(selector: SecretSelector): Promise<string>;
}

/**
 * Short-lived ServiceAccount tokens (TokenRequest) for a ServiceAccount in the request's namespace, e.g. for
 * AssumeRoleWithWebIdentity. Bound to `resourceNamespace` like `secrets`; absent where no cluster is reachable.
 */
export interface ServiceAccountTokenSource {
  createToken(serviceAccount: string, options: { audiences: string[]; expirationSeconds?: number }): Promise<{ token: string }>;
}

/**
 * Minimal structured logger (pino-compatible subset). `ctx.log` scrubs every secret the challenge handed
 * out — from the message, every field, error objects and their `cause` chains — so logging a raw SDK
 * error is safe. Still, log codes and names rather than request headers.
 */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

/** Everything a solver gets for one challenge. */
export interface SolverContext<Config> {
  /** The request's `config`, parsed by the solver's `config` schema. */
  config: Config;
  secrets: SecretReader;
  /** Present when the webhook runs with Kubernetes access (the server, the CLI with --kubeconfig). */
  serviceAccountTokens?: ServiceAccountTokenSource;
  allowAmbientCredentials: boolean;
  log: Logger;
  /** Aborts when the challenge's deadline passes (well inside kube-apiserver's 60 s). */
  signal: AbortSignal;
  /** Epoch milliseconds at which `signal` aborts. */
  deadline: number;
  /**
   * Registers credential material the solver derived itself (temporary STS keys, session tokens, a signed
   * header) so the core scrubs it from logs and messages like the values read through `secrets` (which,
   * like ServiceAccount tokens, are registered automatically).
   */
  treatAsSecret(value: string): void;
  /**
   * Wraps one provider API call for metrics (`dns01_webhook_provider_calls_total{solver,call,outcome}`)
   * and debug logs. Use it around every SDK call, and map the SDK's error to a SolverError inside `fn`: the
   * core remembers the last failed call and names it when the deadline ends the challenge (a timeout or an
   * abort says when, not why). After `useCredential`, it also waits for the credential's
   * rate limit (failing fast with a stable message when no slot frees up before the deadline) and goes
   * through its breaker. `call` is the provider's action name: per-action `rateLimits` match on it.
   */
  track<T>(call: string, fn: () => Promise<T>): Promise<T>;
  /**
   * Declares the credential this challenge uses — pass everything that identifies it (key id, secret,
   * role, endpoint); only a hash is kept. Call it before the first provider call. Throws the breaker's
   * error at once when this credential was rejected recently.
   */
  useCredential(...material: string[]): void;
  /**
   * A zone lookup, cached per (solver, credential, `name`) for a few minutes; concurrent misses share one
   * lookup. Not cached before `useCredential` (the cache never mixes accounts).
   */
  cachedZone<T>(name: string, lookup: () => Promise<T>): Promise<T>;
  /**
   * Coalesces work of concurrent challenges with the same `key` (scoped to the solver and credential):
   * `flush` gets every entry that arrived within a short window or while the previous flush ran, and must
   * settle each one. Resolves with this entry's result. With batching off, `flush` gets this entry alone.
   */
  coalesce<I, R>(key: string, item: I, flush: (entries: Array<CoalesceEntry<I, R>>) => Promise<void>): Promise<R>;
  /** Which economy mechanisms are on (all, unless the process switched some off, e.g. to compare). */
  readonly economy: Readonly<EconomyFeatures>;
}

/** One challenge's item in a `ctx.coalesce` batch. */
export interface CoalesceEntry<I, R> {
  item: I;
  /** Epoch ms after which this entry's challenge stops waiting. */
  deadline: number;
  settle(result: { ok: true; value: R } | { ok: false; error: unknown }): void;
}

/** See `SolverContext.economy`. */
export interface EconomyFeatures {
  zoneCache: boolean;
  singleflight: boolean;
  rateLimits: boolean;
  breaker: boolean;
  batching: boolean;
  callFloor: boolean;
}

/**
 * A provider quota: at most `requests` calls per `perSeconds` per credential, for the `track()` call names
 * in `calls` (omitted: every call — the overall quota). Put the documentation URL in `source`.
 */
export interface RateLimitRule {
  requests: number;
  perSeconds: number;
  calls?: readonly string[];
  source?: string;
}

/** What `initialize` gets once at start-up (no request, no secrets). */
export interface InitContext {
  log: Logger;
}

/** A solver in full control of present/cleanUp. */
export interface Solver<Config = unknown> {
  /** The `solverName` issuers use; lower-case, DNS-label-like. Unique within one groupName. */
  readonly name: string;
  /** Schema for `request.config`. A bad config fails with a message naming the field. */
  readonly config: z.ZodType<Config>;
  /** One line for `--help`, discovery docs and logs. */
  readonly description?: string;
  /** The provider's documented quotas per credential (applied to `ctx.track()` calls after `useCredential`). */
  readonly rateLimits?: readonly RateLimitRule[];
  initialize?(ctx: InitContext): Promise<void> | void;
  present(request: ChallengeRequest, ctx: SolverContext<Config>): Promise<void>;
  cleanUp(request: ChallengeRequest, ctx: SolverContext<Config>): Promise<void>;
  /**
   * Optional and read-only (`dns01-webhook doctor --domain`): prove the credentials work and find the provider
   * zone that holds `request.resolvedFQDN`, without writing anything. Record solvers get one derived
   * (connect + list). Throw SolverError like present does.
   */
  check?(request: ChallengeRequest, ctx: SolverContext<Config>): Promise<SolverCheck>;
}

/** What a read-only `check` found. */
export interface SolverCheck {
  /** The provider's zone holding the name (absolute), when the solver knows it; doctor compares it with the SOA walk. */
  zone?: string;
  /** One line on what was checked, e.g. `listed 0 TXT values at _acme-challenge.example.com. in zone example.com.`. */
  detail: string;
}

/** One TXT value at a name, as the provider stores it. */
export interface TxtRecord {
  /** The value with provider quoting removed (compare it with `key` as is). */
  value: string;
  /** Provider record id, when the provider needs one to delete. Never cached across calls. */
  id?: string;
  /** Anything else the provider's `remove` needs (zone id, ...). */
  meta?: Record<string, unknown>;
}

/** Where a record lives: the FQDN (trailing dot) and the zone cert-manager resolved (trailing dot). */
export interface RecordTarget {
  fqdn: string;
  zone: string;
}

/**
 * The three provider calls of a record-per-value API, opened once per challenge (credentials resolved).
 * - `list` returns every TXT value at exactly `target.fqdn` (all pages), or [] when none exist.
 * - `add` creates one TXT value. If the provider says "already exists", throw `RecordExistsError`
 *   (or just return): the core treats it as success.
 * - `remove` deletes one record returned by `list`. "Not found" → throw `RecordNotFoundError` (or return).
 */
export interface RecordApi {
  /** The provider zone `connect` found for the name (absolute), if it looked one up; reported by `doctor`. */
  zone?: string;
  list(target: RecordTarget): Promise<TxtRecord[]>;
  add(target: RecordTarget, value: string): Promise<void>;
  remove(target: RecordTarget, record: TxtRecord): Promise<void>;
  /**
   * Optional, for providers whose listing lags behind writes (DNSPod indexes new records within ~30 s):
   * CleanUp calls it when `list` shows no record with `value`, and removes what it returns. Return []
   * when the value really is absent; throw a SolverError when it exists but cannot be found in time.
   */
  findUnlisted?(target: RecordTarget, value: string): Promise<TxtRecord[]>;
}

/** A solver for record-per-value APIs: the core derives present/cleanUp (see `record-solver.ts`). */
export interface RecordSolverDefinition<Config = unknown> {
  readonly name: string;
  readonly config: z.ZodType<Config>;
  readonly description?: string;
  readonly rateLimits?: readonly RateLimitRule[];
  /**
   * True when `add` reliably throws RecordExistsError for a value that is already there (Cloudflare
   * 81057/81058, DNSPod DomainRecordExist): Present then skips the list — one write per Present.
   */
  readonly addReportsExisting?: boolean;
  initialize?(ctx: InitContext): Promise<void> | void;
  /** Build an API client for this challenge (read secrets, pick the zone, load the SDK lazily). */
  connect(request: ChallengeRequest, ctx: SolverContext<Config>): Promise<RecordApi>;
}

/**
 * An npm module is a solver plugin when it exports (as `default` or as `solvers`) a Solver or an array of them.
 * `dns01-webhook serve --solver-packages my-solver-package` loads it by module name.
 */
export type SolverModule = { default?: Solver<any> | Solver<any>[]; solvers?: Solver<any>[] };
