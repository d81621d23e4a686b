/** `@dns01-webhook/core/server`: the aggregated API server, delegated auth, Kubernetes client and TLS helpers, for embedders. */
export { createCA, issueCertificate, selfSignedServing, type KeyPairPem, type IssueOptions } from './tls/certificates.js';
export {
  createWebhookServer,
  createWebhookApp,
  createMetricsServer,
  DEFAULT_MAX_BODY_BYTES,
  type WebhookServer,
  type WebhookServerOptions,
  type WebhookAppOptions,
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
