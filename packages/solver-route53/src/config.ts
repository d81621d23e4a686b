/**
 * Issuer config, compatible with cert-manager's built-in `route53` block, so users move their
 * `dns01.route53` settings under `dns01.webhook.config` unchanged:
 *   region, accessKeyID | accessKeyIDSecretRef, secretAccessKeySecretRef, role, hostedZoneID,
 *   auth.kubernetes.serviceAccountRef {name, audiences}
 * plus `endpoint`, `stsEndpoint`, `ttl` and `proxyURL`. Unknown keys are rejected, naming them.
 * Which credentials are used is decided in credentials.ts; the schema only rejects contradictions.
 */
import { environmentProxy, secretSelector, z } from '@dns01-webhook/core';

/** cert-manager's built-in provider writes TXT sets with TTL 10; so do we unless told otherwise. */
export const DEFAULT_TTL = 10;
/** Route 53 is a global service signed in us-east-1; cert-manager uses it when no region is given. */
export const DEFAULT_REGION = 'us-east-1';
/** Audience cert-manager requests for the ServiceAccount token it trades at STS. */
export const DEFAULT_AUDIENCE = 'sts.amazonaws.com';

const httpUrl = (what: string) =>
  z.string().refine((s) => URL.canParse(s) && /^https?:$/.test(new URL(s).protocol), `${what} must be an http:// or https:// URL`);

const roleArn = z
  .string()
  .regex(/^arn:aws[\w-]*:iam::\d{12}:role\/[\w+=,.@\/-]{1,512}$/, 'role must be an IAM role ARN like arn:aws:iam::123456789012:role/dns01');

const serviceAccountRef = z.strictObject({
  /** ServiceAccount in the request's namespace whose token is traded for `role` (AssumeRoleWithWebIdentity). */
  name: z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'serviceAccountRef.name must be a Kubernetes object name'),
  /** Token audiences; default ["sts.amazonaws.com"]. */
  audiences: z.array(z.string().min(1)).min(1).optional(),
});

export const route53ConfigSchema = z
  .strictObject({
    /** Region used for signing and for STS. Default us-east-1 (Route 53 itself is global). */
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'region must look like us-east-1').optional(),
    /** Access key id in plain text (it is not secret; the secret key is). */
    accessKeyID: z.string().regex(/^\w{16,128}$/, 'accessKeyID must be an AWS access key id (16-128 letters and digits)').optional(),
    /** Access key id read from a Secret in the request's namespace. */
    accessKeyIDSecretRef: secretSelector.optional(),
    /** Secret access key read from a Secret in the request's namespace. */
    secretAccessKeySecretRef: secretSelector.optional(),
    /** IAM role to assume (sts:AssumeRole with the other credentials, or AssumeRoleWithWebIdentity with serviceAccountRef). */
    role: roleArn.optional(),
    /** Skip the zone lookup and use this hosted zone (`Z123...` or `/hostedzone/Z123...`). */
    hostedZoneID: z
      .string()
      .regex(/^(\/hostedzone\/)?[A-Z0-9]{1,32}$/, 'hostedZoneID must look like Z1D633PJN98FT9')
      .transform((s) => s.replace(/^\/hostedzone\//, ''))
      .optional(),
    auth: z
      .strictObject({
        kubernetes: z.strictObject({ serviceAccountRef }),
      })
      .optional(),
    /** Route 53 API URL (tests, emulators, VPC endpoints). Default: the SDK's endpoint for the partition. */
    endpoint: httpUrl('endpoint').optional(),
    /** STS API URL for `role` / `serviceAccountRef`. Default: the SDK's regional STS endpoint. */
    stsEndpoint: httpUrl('stsEndpoint').optional(),
    /** TTL of TXT sets this solver creates. Default 10 (as cert-manager's built-in provider). */
    ttl: z.number().int('ttl must be a whole number of seconds').min(0).max(2147483647).default(DEFAULT_TTL),
    /** HTTP(S) proxy for AWS calls. Only this setting is used, never http_proxy/HTTPS_PROXY. */
    proxyURL: httpUrl('proxyURL').optional(),
  })
  .superRefine((c, ctx) => {
    if (c.accessKeyID !== undefined && c.accessKeyIDSecretRef !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['accessKeyID'], message: 'give either accessKeyID or accessKeyIDSecretRef, not both' });
    }
    const hasKeyId = c.accessKeyID !== undefined || c.accessKeyIDSecretRef !== undefined;
    if (hasKeyId && !c.secretAccessKeySecretRef) {
      ctx.addIssue({ code: 'custom', path: ['secretAccessKeySecretRef'], message: 'secretAccessKeySecretRef is required with accessKeyID / accessKeyIDSecretRef' });
    }
    if (!hasKeyId && c.secretAccessKeySecretRef) {
      ctx.addIssue({ code: 'custom', path: ['accessKeyID'], message: 'accessKeyID or accessKeyIDSecretRef is required with secretAccessKeySecretRef' });
    }
    if (c.auth?.kubernetes) {
      if (!c.role) ctx.addIssue({ code: 'custom', path: ['role'], message: 'role is required with auth.kubernetes.serviceAccountRef (the role the token is traded for)' });
      if (hasKeyId || c.secretAccessKeySecretRef) {
        ctx.addIssue({ code: 'custom', path: ['auth', 'kubernetes'], message: 'give either access keys or auth.kubernetes.serviceAccountRef, not both' });
      }
    }
  });

export type Route53Config = z.infer<typeof route53ConfigSchema>;

/**
 * Proxy for calls to `endpoint`: `proxyURL` from the config, else — only when the challenge allows ambient
 * settings — HTTPS_PROXY/HTTP_PROXY/NO_PROXY of the webhook's environment (the chart's `extraEnv`).
 */
export function proxyFor(config: Route53Config, allowAmbient: boolean, endpoint: string): { proxyURL?: string } {
  const proxyURL = config.proxyURL ?? (allowAmbient ? environmentProxy(endpoint) : undefined);
  return proxyURL ? { proxyURL } : {};
}
