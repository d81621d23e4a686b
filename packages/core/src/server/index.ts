/** The aggregated API server cert-manager talks to (through kube-apiserver). */
export { createWebhookServer, DEFAULT_MAX_BODY_BYTES, DEFAULT_GRACE_MS, type WebhookServer, type WebhookServerOptions, type TlsSource } from './webhook-server.js';
export { createWebhookApp, type WebhookAppOptions } from './app.js';
export { createMetricsServer, type MetricsServer } from './metrics-server.js';
export { failureStatus, type KubeStatus, type StatusReason } from './status.js';
export { parseChallengePayload, challengeResponse, PAYLOAD_API_VERSION, PAYLOAD_KIND, type ParsedPayload } from './payload.js';
export { apiGroup, apiGroupList, apiResourceList, API_VERSION } from './discovery.js';
