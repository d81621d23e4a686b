/**
 * Which AWS credentials a challenge uses, in cert-manager's order:
 *   1. access keys from the config / Secrets (request namespace only), optionally traded for `role` (AssumeRole);
 *   2. auth.kubernetes.serviceAccountRef: a TokenRequest token traded for `role` (AssumeRoleWithWebIdentity);
 *   3. the SDK's default chain (env, profile, IRSA, ECS, IMDS), optionally traded for `role` —
 *      only when the request allows ambient credentials; otherwise a clear error.
 */
import { SolverError, type ChallengeRequest, type SolverContext } from '@dns01-webhook/core';
import { createStsClient, type Credentials } from './client.js';
import { DEFAULT_AUDIENCE, DEFAULT_REGION, proxyFor, type Route53Config } from './config.js';
import { toSolverError } from './errors.js';

/** `serviceAccountRef` uses the core's TokenRequest source (`ctx.serviceAccountTokens`, bound to resourceNamespace). */
export type { ServiceAccountTokenSource } from '@dns01-webhook/core';

export interface ResolvedCredentials {
  credentials?: Credentials;
  /** Stable description for caches and logs (never a secret): the key id, role or "ambient". */
  identity: string;
  ambient: boolean;
}

type Ctx = SolverContext<Route53Config>;

/**
 * Fixed, like cert-manager's "cert-manager": AWS quotes the session in AccessDenied messages
 * (`assumed-role/<role>/<session> is not authorized…`), and a per-call name would make every retry's
 * message differ. CloudTrail tells calls apart by their request ids.
 */
const SESSION_NAME = 'dns01-webhook';
const sessionName = () => SESSION_NAME;

function stsOptions(config: Route53Config, ctx: Ctx, credentials: Credentials | undefined, ambient: boolean) {
  return {
    region: config.region ?? DEFAULT_REGION,
    ...(config.stsEndpoint ? { endpoint: config.stsEndpoint } : {}),
    ...(credentials ? { credentials } : {}),
    ...proxyFor(config, ctx.allowAmbientCredentials, config.stsEndpoint ?? 'https://sts.amazonaws.com'),
    ambient,
    requestTimeoutMs: Math.max(1_000, Math.min(15_000, ctx.deadline - Date.now())),
  };
}

/** Maps the SDK's error inside ctx.track(), so the core's breaker sees a rejected credential. */
async function mapped<T>(call: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toSolverError(err, call);
  }
}

async function assumeRole(config: Route53Config, ctx: Ctx, base: Credentials | undefined, ambient: boolean): Promise<Credentials> {
  const sts = await createStsClient(stsOptions(config, ctx, base, ambient));
  const { AssumeRoleCommand } = await import('@aws-sdk/client-sts');
  try {
    const out = await ctx.track('AssumeRole', () =>
      mapped('AssumeRole', () => sts.send(new AssumeRoleCommand({ RoleArn: config.role!, RoleSessionName: sessionName() }), { abortSignal: ctx.signal })),
    );
    return fromSts(out.Credentials, 'AssumeRole', ctx);
  } catch (err) {
    throw toSolverError(err, 'AssumeRole');
  } finally {
    sts.destroy();
  }
}

/** Temporary credentials are registered with the core, so they are scrubbed like the Secrets they came from. */
function fromSts(
  c: { AccessKeyId?: string; SecretAccessKey?: string; SessionToken?: string; Expiration?: Date } | undefined,
  call: string,
  ctx: Ctx,
): Credentials {
  if (!c?.AccessKeyId || !c.SecretAccessKey) throw new SolverError(`route53 ${call}: STS answered without credentials`, { code: 'InvalidResponse' });
  ctx.treatAsSecret(c.SecretAccessKey);
  if (c.SessionToken) ctx.treatAsSecret(c.SessionToken);
  return {
    accessKeyId: c.AccessKeyId,
    secretAccessKey: c.SecretAccessKey,
    ...(c.SessionToken ? { sessionToken: c.SessionToken } : {}),
    ...(c.Expiration ? { expiration: c.Expiration } : {}),
  };
}

async function webIdentity(config: Route53Config, request: ChallengeRequest, ctx: Ctx): Promise<Credentials> {
  const ref = config.auth!.kubernetes.serviceAccountRef;
  if (!ctx.serviceAccountTokens) {
    throw new SolverError(
      `route53: auth.kubernetes.serviceAccountRef needs ServiceAccount tokens, which this webhook cannot request (run it in a cluster with RBAC "create serviceaccounts/token" on ${ref.name} in ${request.resourceNamespace})`,
      { code: 'ServiceAccountTokensUnavailable' },
    );
  }
  let token: string;
  try {
    ({ token } = await ctx.serviceAccountTokens.createToken(ref.name, { audiences: ref.audiences ?? [DEFAULT_AUDIENCE], expirationSeconds: 600 }));
  } catch (err) {
    throw new SolverError(
      `route53: cannot get a token for ServiceAccount ${request.resourceNamespace}/${ref.name}: ${(err as Error).message} (the webhook needs RBAC "create serviceaccounts/token" on it)`,
      { code: 'ServiceAccountTokenFailed', cause: err },
    );
  }
  // AssumeRoleWithWebIdentity is unsigned: the token is the credential.
  const sts = await createStsClient(stsOptions(config, ctx, undefined, false));
  const { AssumeRoleWithWebIdentityCommand } = await import('@aws-sdk/client-sts');
  try {
    const out = await ctx.track('AssumeRoleWithWebIdentity', () =>
      mapped('AssumeRoleWithWebIdentity', () =>
        sts.send(new AssumeRoleWithWebIdentityCommand({ RoleArn: config.role!, RoleSessionName: sessionName(), WebIdentityToken: token }), {
          abortSignal: ctx.signal,
        }),
      ),
    );
    return fromSts(out.Credentials, 'AssumeRoleWithWebIdentity', ctx);
  } catch (err) {
    throw toSolverError(err, 'AssumeRoleWithWebIdentity');
  } finally {
    sts.destroy();
  }
}

export async function resolveCredentials(config: Route53Config, request: ChallengeRequest, ctx: Ctx): Promise<ResolvedCredentials> {
  const keyId = config.accessKeyID ?? (config.accessKeyIDSecretRef ? (await ctx.secrets.get(config.accessKeyIDSecretRef)).trim() : undefined);
  if (keyId !== undefined) {
    const secretAccessKey = (await ctx.secrets.get(config.secretAccessKeySecretRef!)).trim();
    // Before any call (STS included): the core's rate limit and breaker key on a hash of these.
    ctx.useCredential(config.endpoint ?? 'aws', 'key', keyId, secretAccessKey, config.role ?? '');
    const base: Credentials = { accessKeyId: keyId, secretAccessKey };
    if (!config.role) return { credentials: base, identity: keyId, ambient: false };
    return { credentials: await assumeRole(config, ctx, base, false), identity: `${keyId}>${config.role}`, ambient: false };
  }
  if (config.auth?.kubernetes) {
    ctx.useCredential(config.endpoint ?? 'aws', 'serviceAccount', request.resourceNamespace, config.auth.kubernetes.serviceAccountRef.name, config.role ?? '');
    return { credentials: await webIdentity(config, request, ctx), identity: `sa:${request.resourceNamespace}/${config.auth.kubernetes.serviceAccountRef.name}>${config.role}`, ambient: false };
  }
  if (!ctx.allowAmbientCredentials) {
    throw new SolverError(
      'route53: no credentials configured and ambient credentials are not allowed for this issuer: set accessKeyID (or accessKeyIDSecretRef) + secretAccessKeySecretRef, or auth.kubernetes.serviceAccountRef + role; ambient credentials (pod role, environment) are only used for ClusterIssuers or with --issuer-ambient-credentials',
      { code: 'NoCredentials' },
    );
  }
  ctx.useCredential(config.endpoint ?? 'aws', 'ambient', config.role ?? '');
  const { fromNodeProviderChain } = await import('@aws-sdk/credential-providers');
  const chain = fromNodeProviderChain();
  if (!config.role) return { credentials: chain, identity: 'ambient', ambient: true };
  return { credentials: await assumeRole(config, ctx, chain, true), identity: `ambient>${config.role}`, ambient: true };
}
