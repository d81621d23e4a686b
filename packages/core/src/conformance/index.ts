/** `@dns01-webhook/core/conformance`: check a solver (or a running webhook) through real DNS. */
export { conformance, randomKey, type ConformanceOptions, type ConformanceKit, type ConformanceCase } from './kit.js';
export { challengeRequest, type WebhookTarget, type InProcessOptions } from './target.js';
export { wrongLike, type FailureScenario } from './stable-failures.js';
export { waitForTxt, type WatchOptions } from './watch.js';
export { startDnsServer, queryTxt, querySoa, type DnsServer, type DnsServerOptions, type TxtResult } from '../dns/index.js';
export type { DnsRecordSource } from '../dns/types.js';
export { createMemoryStore, memorySolver, type MemoryStore } from '../solvers/memory.js';
export type { SecretMap } from '../secrets/static.js';
