/**
 * `dnspod`: cert-manager DNS-01 on Tencent Cloud DNSPod (API 3.0, official tencentcloud-sdk-nodejs-dnspod).
 * A drop-in for imroc/cert-manager-webhook-dnspod configs; CleanUp removes only the value it is asked to.
 */
import { defineRecordSolver, environmentProxy, logRetries, toFqdn, withRetry, type ChallengeRequest, type SolverContext } from '@dns01-webhook/core';
import { createDnspodApi } from './client.js';
import { DEFAULT_ENDPOINT, dnspodConfig, type DnspodConfig } from './config.js';
import { RecentRecords } from './recent.js';
import { dnspodRecords } from './records.js';
import { findDomain } from './zone.js';

export { dnspodConfig, parseEndpoint, DEFAULT_RECORD_LINE, DEFAULT_ENDPOINT, INTERNATIONAL_ENDPOINT, type DnspodConfig } from './config.js';
export { dnspodError, REQUIRED_ACTIONS } from './errors.js';

/**
 * DNSPod API 3.0 per-action request limits ("默认接口请求频率限制", per second, per account):
 * https://cloud.tencent.com/document/api/1427/56194 (all actions), and each action's page —
 * DescribeRecordList 100/s (…/56166), DescribeRecord 200/s (…/56168), CreateRecord / DeleteRecord 500/s
 * (https://www.tencentcloud.com/document/api/1157/49025), DescribeDomain 20/s (…/1427/56173),
 * DescribeDomainPurview 20/s (…/1427/56170), DescribeDomainList 20/s.
 */
export const DNSPOD_RATE_LIMITS = [
  { calls: ['DescribeRecordList'], requests: 100, perSeconds: 1, source: 'https://cloud.tencent.com/document/api/1427/56166' },
  { calls: ['DescribeRecord'], requests: 200, perSeconds: 1, source: 'https://cloud.tencent.com/document/api/1427/56168' },
  { calls: ['CreateRecord'], requests: 500, perSeconds: 1, source: 'https://www.tencentcloud.com/document/api/1157/49025' },
  { calls: ['DeleteRecord'], requests: 500, perSeconds: 1, source: 'https://www.tencentcloud.com/document/api/1157/49025' },
  { calls: ['DescribeDomain'], requests: 20, perSeconds: 1, source: 'https://cloud.tencent.com/document/api/1427/56173' },
  { calls: ['DescribeDomainPurview'], requests: 20, perSeconds: 1, source: 'https://cloud.tencent.com/document/api/1427/56170' },
  { calls: ['DescribeDomainList'], requests: 20, perSeconds: 1, source: 'https://cloud.tencent.com/document/api/1427/56194' },
] as const;

export interface DnspodSolverOptions {
  /** DescribeRecordList page size, default 1000 (API maximum 3000). Small values are for tests. */
  pageSize?: number;
}

/** Kubernetes Secrets often end in a newline; DNSPod rejects keys with surrounding whitespace. */
async function readCredentials(ctx: SolverContext<DnspodConfig>): Promise<{ secretId: string; secretKey: string }> {
  const { config } = ctx;
  const secretId = config.secretId ?? (await ctx.secrets.get(config.secretIdRef!));
  const secretKey = await ctx.secrets.get(config.secretKeyRef);
  return { secretId: secretId.trim(), secretKey: secretKey.trim() };
}

export function createDnspodSolver(options: DnspodSolverOptions = {}) {
  const pageSize = options.pageSize ?? 1000;
  // Per solver instance (one per webhook process): a hint across Present → CleanUp, see recent.ts.
  const recent = new RecentRecords();
  return defineRecordSolver<DnspodConfig>({
    name: 'dnspod',
    description: 'Tencent Cloud DNSPod (API 3.0); accepts imroc/cert-manager-webhook-dnspod configs unchanged',
    config: dnspodConfig,
    rateLimits: DNSPOD_RATE_LIMITS,
    // CreateRecord answers InvalidParameter.DomainRecordExist for a value that is there: Present = 1 write.
    addReportsExisting: true,
    async connect(request: ChallengeRequest, ctx: SolverContext<DnspodConfig>) {
      const { secretId, secretKey } = await readCredentials(ctx);
      ctx.useCredential(ctx.config.endpoint ?? DEFAULT_ENDPOINT, secretId, secretKey);
      const api = await createDnspodApi({
        secretId,
        secretKey,
        endpoint: ctx.config.endpoint,
        // Config wins; the webhook's HTTPS_PROXY/NO_PROXY only when the challenge allows ambient settings.
        proxy: ctx.config.proxy ?? (ctx.allowAmbientCredentials ? environmentProxy(ctx.config.endpoint ?? DEFAULT_ENDPOINT) : undefined),
        signal: ctx.signal,
        deadline: ctx.deadline,
        track: ctx.track,
      });
      // Which domain hosts the name depends only on resolvedZone: one lookup per zone and credential.
      const domain = await ctx.cachedZone(request.resolvedZone, () =>
        withRetry(() => findDomain(api, request.resolvedFQDN, request.resolvedZone), {
          signal: ctx.signal,
          deadline: ctx.deadline,
          onRetry: logRetries(ctx.log, 'DescribeDomain'),
        }),
      );
      ctx.log.debug({ domain: domain.name, domainId: domain.id }, 'DNSPod domain found');
      const records = dnspodRecords(api, domain, { ttl: ctx.config.ttl, recordLine: ctx.config.recordLine, pageSize, signal: ctx.signal, deadline: ctx.deadline }, recent);
      return Object.assign(records, { zone: toFqdn(domain.name) });
    },
  });
}

const dnspodSolver = createDnspodSolver();
export default dnspodSolver;
