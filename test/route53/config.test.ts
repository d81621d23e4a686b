/** Every config shape the route53 solver accepts (cert-manager's built-in block and our additions), and bad ones. */
import { describe, expect, it } from 'vitest';
import { executeChallenge, mapSecrets, silentLogger } from '@dns01-webhook/core';
import route53Solver, { route53ConfigSchema } from '@dns01-webhook/solver-route53';
import { request } from './helpers.js';

const ref = (name: string, key: string) => ({ name, key });

describe('accepted configs', () => {
  const shapes: Array<[string, Record<string, unknown>]> = [
    ['access key id in plain text + secret key ref (cert-manager docs)', { region: 'eu-west-1', accessKeyID: 'AKIAIOSFODNN7EXAMPLE', secretAccessKeySecretRef: ref('aws', 'secret') }],
    ['access key id from a secret', { accessKeyIDSecretRef: ref('aws', 'id'), secretAccessKeySecretRef: ref('aws', 'secret') }],
    ['keys + role (AssumeRole)', { accessKeyID: 'AKIAIOSFODNN7EXAMPLE', secretAccessKeySecretRef: ref('aws', 'secret'), role: 'arn:aws:iam::123456789012:role/dns01' }],
    ['serviceAccountRef + role (web identity)', { role: 'arn:aws:iam::123456789012:role/dns01', auth: { kubernetes: { serviceAccountRef: { name: 'cert-manager-route53' } } } }],
    ['serviceAccountRef with audiences', { role: 'arn:aws:iam::123456789012:role/dns01', auth: { kubernetes: { serviceAccountRef: { name: 'sa', audiences: ['sts.amazonaws.com', 'x'] } } } }],
    ['nothing (ambient credentials, ClusterIssuer)', {}],
    ['role only (ambient credentials assume it)', { role: 'arn:aws:iam::123456789012:role/dns01' }],
    ['hostedZoneID with /hostedzone/ prefix', { hostedZoneID: '/hostedzone/Z1D633PJN98FT9' }],
    ['endpoint, stsEndpoint, ttl, proxyURL', { endpoint: 'http://127.0.0.1:4566', stsEndpoint: 'https://sts.example', ttl: 60, proxyURL: 'http://proxy:3128' }],
    ['GovCloud role ARN and region', { region: 'us-gov-west-1', role: 'arn:aws-us-gov:iam::123456789012:role/x' }],
  ];
  for (const [what, config] of shapes) {
    it(what, () => {
      const parsed = route53ConfigSchema.safeParse(config);
      expect(parsed.error?.issues).toBeUndefined();
    });
  }

  it('defaults ttl to 10 and strips the /hostedzone/ prefix', () => {
    expect(route53ConfigSchema.parse({ hostedZoneID: '/hostedzone/Z1D633PJN98FT9' })).toEqual({ hostedZoneID: 'Z1D633PJN98FT9', ttl: 10 });
  });
});

describe('rejected configs name the field', () => {
  const bad: Array<[string, unknown, string]> = [
    ['both key id forms', { accessKeyID: 'AKIAIOSFODNN7EXAMPLE', accessKeyIDSecretRef: ref('a', 'b'), secretAccessKeySecretRef: ref('a', 'c') }, 'config.accessKeyID: give either accessKeyID or accessKeyIDSecretRef, not both'],
    ['key id without secret', { accessKeyID: 'AKIAIOSFODNN7EXAMPLE' }, 'config.secretAccessKeySecretRef: secretAccessKeySecretRef is required'],
    ['secret without key id', { secretAccessKeySecretRef: ref('a', 'b') }, 'config.accessKeyID: accessKeyID or accessKeyIDSecretRef is required'],
    ['serviceAccountRef without role', { auth: { kubernetes: { serviceAccountRef: { name: 'sa' } } } }, 'config.role: role is required with auth.kubernetes.serviceAccountRef'],
    ['serviceAccountRef and keys', { role: 'arn:aws:iam::123456789012:role/x', accessKeyID: 'AKIAIOSFODNN7EXAMPLE', secretAccessKeySecretRef: ref('a', 'b'), auth: { kubernetes: { serviceAccountRef: { name: 'sa' } } } }, 'config.auth.kubernetes: give either access keys or auth.kubernetes.serviceAccountRef'],
    ['role not an ARN', { role: 'dns01' }, 'config.role: role must be an IAM role ARN'],
    ['region typo', { region: 'useast1' }, 'config.region: region must look like us-east-1'],
    ['unknown field', { acessKeyID: 'AKIAIOSFODNN7EXAMPLE' }, 'acessKeyID'],
    ['endpoint not a URL', { endpoint: 'route53.local' }, 'config.endpoint: endpoint must be an http:// or https:// URL'],
    ['secret ref with a namespace', { accessKeyID: 'AKIAIOSFODNN7EXAMPLE', secretAccessKeySecretRef: { name: 'a', key: 'b', namespace: 'kube-system' } }, 'namespace'],
    ['negative ttl', { ttl: -1 }, 'config.ttl'],
    ['hostedZoneID garbage', { hostedZoneID: 'example.com' }, 'config.hostedZoneID: hostedZoneID must look like'],
    ['audiences empty', { role: 'arn:aws:iam::123456789012:role/x', auth: { kubernetes: { serviceAccountRef: { name: 'sa', audiences: [] } } } }, 'config.auth.kubernetes.serviceAccountRef.audiences'],
  ];
  for (const [what, config, message] of bad) {
    it(what, async () => {
      const out = await executeChallenge(route53Solver, request('Present', '_acme-challenge.example.test.', 'example.test.', 'k', config), {
        secretsFor: mapSecrets({}),
        log: silentLogger(),
      });
      expect(out.success).toBe(false);
      expect((out as { message: string }).message).toContain('invalid config');
      expect((out as { message: string }).message).toContain(message);
    });
  }
});
