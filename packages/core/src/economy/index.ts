export { Economy, ChallengeEconomy, ALL_FEATURES, NO_FEATURES, noEconomy, effectiveRules, type EconomyFeatures, type EconomyOptions, type RateSetting } from './economy.js';
export { CredentialLimiter, RateLimitedError, parseRate, describeRule, RATE_LIMIT_RESERVE_MS, type RateLimitRule } from './rate-limit.js';
export { CredentialBreaker, CredentialsRejectedError, type BreakerOptions } from './breaker.js';
export { ZoneCache } from './zone-cache.js';
export { Coalescer, type CoalesceEntry } from './coalesce.js';
export { credentialId } from './credential.js';
