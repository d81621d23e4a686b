/** Public API of @dns01-webhook/core for solver authors and embedders. */
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
  Solver,
  SolverContext,
  SolverModule,
  TxtRecord,
} from './solver/contract.js';
export { defineSolver, defineRecordSolver, presentRecord, cleanUpRecord } from './solver/define.js';
export {
  SolverError,
  RecordExistsError,
  RecordNotFoundError,
  ConfigError,
  DeadlineError,
  isRetryable,
  type SolverErrorOptions,
} from './solver/errors.js';
export { withRetry, type RetryOptions } from './solver/retry.js';
export { toFqdn, unFqdn, relativeName, absoluteName, zoneCandidates } from './solver/names.js';
export { SolverRegistry, loadSolverPackages, DEFAULT_SOLVER_PACKAGES } from './solver/registry.js';
export { executeChallenge, DEFAULT_CHALLENGE_TIMEOUT_MS, type ChallengeOutcome, type ExecuteOptions } from './challenge/execute.js';
export { secretSelector } from './solver/schema.js';
export { mapSecrets, directorySecrets, type SecretMap } from './secrets/static.js';
export { createLogger, silentLogger } from './observability/logger.js';
export { Metrics } from './observability/metrics.js';
export { createCA, issueCertificate, selfSignedServing, type KeyPairPem, type IssueOptions } from './tls/certificates.js';
export { startDnsServer, queryTxt, querySoa, dnsQuery, type DnsServer, type DnsServerOptions, type QueryOptions, type TxtResult, type SoaResult, type ServableRecordSource } from './dns/index.js';
export type { DnsRecordSource } from './dns/types.js';
export { createMemoryStore, memorySolver, type MemoryStore } from './solvers/memory.js';
export {
  createWebhookServer,
  createMetricsServer,
  DEFAULT_MAX_BODY_BYTES,
  type WebhookServer,
  type WebhookServerOptions,
  type TlsSource,
  type MetricsServer,
} from './server/index.js';
export { watchServingCertificate, staticServingCertificate, type ServingCertificate } from './tls/serving-certificate.js';
export type { Authenticator, Authorizer, AuthorizationAttributes, ClientCaSource, Decision, UserInfo } from './auth/types.js';
export { createDelegatingAuth, type DelegatingAuth, type DelegatingAuthOptions, type DelegatingAuthOverrides } from './auth/delegating.js';
export {
  createKubeClient,
  KubeApiError,
  type KubeClientFacade,
  type KubeClientOptions,
  type KubeConfigMap,
  type KubeSecret,
  type ServiceAccountToken,
  type TokenReviewResult,
  type WatchHandle,
} from './kube/client.js';
export { kubeSecrets } from './secrets/kube.js';
