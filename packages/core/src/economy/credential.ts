/**
 * Credential identity: which provider account/token a challenge uses, as a short hash. The economy keys its
 * rate limits, breakers and caches by it, so two Issuers with the same Secret share one quota and one
 * breaker, and a changed Secret is a new identity at once. Never the secret itself: a SHA-256 over the
 * solver name and the material, cut to 16 hex characters (enough to tell credentials apart, useless to
 * recover a secret from, and safe to log).
 */
import { createHash } from 'node:crypto';

export function credentialId(solver: string, material: readonly string[]): string {
  const h = createHash('sha256');
  h.update(solver);
  // Length-prefixed, so ("ab","c") and ("a","bc") differ.
  for (const part of material) h.update(`\0${part.length}:${part}`);
  return h.digest('hex').slice(0, 16);
}
