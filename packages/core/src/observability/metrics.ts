/**
 * Prometheus metrics (prom-client: the standard Node client, with default process metrics).
 * One registry per server instance, so tests can run several servers in one process.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();
  readonly challenges = new Counter({
    name: 'dns01_webhook_challenges_total',
    help: 'Challenge requests by solver, action and outcome (success, failure, invalid)',
    labelNames: ['solver', 'action', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly challengeDuration = new Histogram({
    name: 'dns01_webhook_challenge_duration_seconds',
    help: 'Time to answer a challenge request',
    labelNames: ['solver', 'action'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 45],
    registers: [this.registry],
  });
  readonly providerCalls = new Counter({
    name: 'dns01_webhook_provider_calls_total',
    help: 'Provider API calls by solver, call and outcome',
    labelNames: ['solver', 'call', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly providerErrors = new Counter({
    name: 'dns01_webhook_provider_errors_total',
    help: 'Provider API errors by solver, call and error code',
    labelNames: ['solver', 'call', 'code'] as const,
    registers: [this.registry],
  });
  readonly httpRequests = new Counter({
    name: 'dns01_webhook_http_requests_total',
    help: 'HTTP requests by path class and status code',
    labelNames: ['path', 'code'] as const,
    registers: [this.registry],
  });
  readonly tlsConnections = new Counter({
    name: 'dns01_webhook_tls_connections_total',
    help: 'TLS connections accepted on the webhook port, by the protocol ALPN chose (h2, http/1.1; none when the client offered no ALPN)',
    labelNames: ['protocol'] as const,
    registers: [this.registry],
  });

  // Provider economy (packages/core/src/economy): what the webhook saved, waited and refused.
  readonly zoneCache = new Counter({
    name: 'dns01_webhook_zone_cache_total',
    help: 'Zone lookups by solver and result (hit: answered from the cache, miss: asked the provider)',
    labelNames: ['solver', 'result'] as const,
    registers: [this.registry],
  });
  readonly sharedChallenges = new Counter({
    name: 'dns01_webhook_challenges_shared_total',
    help: 'Challenges answered by joining an identical one already in flight (singleflight)',
    labelNames: ['solver', 'action'] as const,
    registers: [this.registry],
  });
  readonly rateLimitWait = new Histogram({
    name: 'dns01_webhook_rate_limit_wait_seconds',
    help: 'Time provider calls waited for a slot of the per-credential rate limit',
    labelNames: ['solver'] as const,
    buckets: [0.001, 0.01, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 45],
    registers: [this.registry],
  });
  readonly rateLimited = new Counter({
    name: 'dns01_webhook_rate_limited_total',
    help: 'Challenges failed fast because no rate-limit slot would free up before their deadline',
    labelNames: ['solver'] as const,
    registers: [this.registry],
  });
  readonly breakerOpen = new Gauge({
    name: 'dns01_webhook_breaker_open',
    help: 'Credentials whose breaker is open (rejected by the provider, cooling down), by solver',
    labelNames: ['solver'] as const,
    registers: [this.registry],
  });
  readonly breakerRejections = new Counter({
    name: 'dns01_webhook_breaker_rejections_total',
    help: 'Provider calls not made because the credential breaker was open',
    labelNames: ['solver'] as const,
    registers: [this.registry],
  });
  readonly batchSize = new Histogram({
    name: 'dns01_webhook_batch_size',
    help: 'Challenges coalesced into one provider batch (e.g. one Route 53 ChangeResourceRecordSets)',
    labelNames: ['solver'] as const,
    buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
    registers: [this.registry],
  });

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry });
  }
}
