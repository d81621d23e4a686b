/** The ChallengeRequest the solver tests run through executeChallenge, as cert-manager fills it in. */
import { randomUUID } from 'node:crypto';
import type { ChallengeRequest } from '@dns01-webhook/core';

export interface ChallengeFields {
  action: 'Present' | 'CleanUp';
  /** resolvedFQDN, e.g. `_acme-challenge.example.test.`; dnsName is derived from it as cert-manager does. */
  fqdn: string;
  zone: string;
  key: string;
  namespace: string;
  config: unknown;
}

/** A random uid and no ambient credentials unless `extra` says otherwise. */
export function challengeFor(f: ChallengeFields, extra: Partial<ChallengeRequest> = {}): ChallengeRequest {
  return {
    uid: randomUUID(), action: f.action, type: 'dns-01', dnsName: f.fqdn.replace(/^_acme-challenge\./, '').replace(/\.$/, ''), key: f.key,
    resourceNamespace: f.namespace, resolvedFQDN: f.fqdn, resolvedZone: f.zone, allowAmbientCredentials: false, config: f.config, ...extra,
  };
}
