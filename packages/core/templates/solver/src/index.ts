/**
 * `__SOLVER__` solver for dns01-webhook. A record solver: give the core three provider calls (list / add /
 * remove) and it derives Present and CleanUp with cert-manager's rules built in — Present idempotent, CleanUp
 * removes only the value equal to `key`, "already exists" / "already gone" are success, 429/5xx retried inside
 * the deadline, secret values redacted from messages. The rules: @dns01-webhook/core's solver/contract.ts.
 */
import { defineRecordSolver, secretSelector, z } from '@dns01-webhook/core';
import { createClient } from './client.js';

/** The Issuer's `webhook.config`. A strict object: an unknown field is an error that names it. */
export const configSchema = z.strictObject({
  /** TODO: your provider's API base URL (keep a default if it has one). */
  endpoint: z.url('endpoint must be a URL'),
  /** Secret key holding the API token, read from the Issuer's namespace only. TODO: your credentials. */
  tokenSecretRef: secretSelector,
});

export type Config = z.infer<typeof configSchema>;

export const solver = defineRecordSolver<Config>({
  name: '__SOLVER__',
  description: '__SOLVER__ DNS API (one record per TXT value)',
  config: configSchema,
  async connect(request, ctx) {
    const token = (await ctx.secrets.get(ctx.config.tokenSecretRef)).trim();
    // TODO: if your provider addresses records by zone id, look the zone up here (resolvedZone is what
    // cert-manager found by an SOA walk; the provider may host a parent zone).
    const api = createClient({ endpoint: ctx.config.endpoint, token, zone: request.resolvedZone, ctx });
    return {
      list: (target) => api.listTxt(target.fqdn),
      add: (target, value) => api.createTxt(target.fqdn, value),
      remove: (_target, record) => api.deleteTxt(record.id!),
    };
  },
});

export default solver;
