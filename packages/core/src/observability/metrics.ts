/**
 * Prometheus metrics (prom-client: the standard Node client, with default process metrics).
 * One registry per server instance, so tests can run several servers in one process.
 */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

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

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry });
  }
}
