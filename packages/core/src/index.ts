/**
 * Public API of @dns01-webhook/core for solver authors: the contract, helpers, the in-process executor, the
 * embedded DNS server and the in-memory solver. Kept light on purpose (every solver plugin imports it);
 * the server, delegated auth and Kubernetes client live in `@dns01-webhook/core/server`.
 */
export { z } from 'zod';
export type {
  ChallengeRequest,
  InitContext,
  Logger,
  RecordApi,
  RecordSolverDefinition,
  RecordTarget,
  SecretReader,
  SecretSelector,
  ServiceAccountTokenSource,
  Solver,
  SolverContext,
  SolverCheck,
  SolverModule,
  TxtRecord,
  RateLimitRule,
  CoalesceEntry,
  EconomyFeatures,
} from './solver/contract.js';
export { defineSolver, defineRecordSolver, presentRecord, cleanUpRecord } from './solver/define.js';
export {
  SolverError,
  RecordExistsError,
  RecordNotFoundError,
  ConfigError,
  DeadlineError,
  isRetryable,
  isCredentialRejection,
  type SolverErrorOptions,
} from './solver/errors.js';
export { withRetry, logRetries, type RetryOptions } from './solver/retry.js';
export { toFqdn, unFqdn, relativeName, absoluteName, zoneCandidates } from './solver/names.js';
export { SolverRegistry, loadSolverPackages, DEFAULT_SOLVER_PACKAGES } from './solver/registry.js';
export { executeChallenge, defaultEconomy, DEFAULT_CHALLENGE_TIMEOUT_MS, type ChallengeOutcome, type ExecuteOptions } from './challenge/execute.js';
export {
  Economy,
  ALL_FEATURES,
  NO_FEATURES,
  noEconomy,
  RateLimitedError,
  CredentialsRejectedError,
  parseRate,
  credentialId,
  type EconomyOptions,
  type RateSetting,
} from './economy/index.js';
export { stabilizeMessage } from './challenge/message.js';
export { secretSelector } from './solver/schema.js';
export { mapSecrets, directorySecrets, type SecretMap } from './secrets/static.js';
export { createLogger, silentLogger, redactingLogger } from './observability/logger.js';
export { SecretRegistry, secretForms, MIN_SECRET_LENGTH, MIN_FRAGMENT_LENGTH } from './observability/redact.js';
export { Metrics } from './observability/metrics.js';
export { startDnsServer, queryTxt, querySoa, dnsQuery, dnsExchange, findZoneBySoa, parseServer, splitTxt, type ZoneWalkResult, type ExchangeOptions, type ExchangeResult, type DnsServer, type DnsServerOptions, type QueryOptions, type TxtResult, type SoaResult, type ServableRecordSource } from './dns/index.js';
export type { DnsRecordSource } from './dns/types.js';
export { createMemoryStore, memorySolver, type MemoryStore } from './solvers/memory.js';
export { environmentProxy } from './solver/proxy.js';
