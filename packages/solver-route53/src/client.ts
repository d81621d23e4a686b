/**
 * SDK clients built from explicit options only. Left to itself the AWS SDK reads AWS_REGION, AWS_PROFILE,
 * AWS_MAX_ATTEMPTS, AWS_RETRY_MODE, AWS_DEFAULTS_MODE, AWS_ENDPOINT_URL(_ROUTE_53|_STS), AWS_USE_FIPS_ENDPOINT,
 * AWS_USE_DUALSTACK_ENDPOINT, AWS_AUTH_SCHEME_PREFERENCE, AWS_SDK_UA_APP_ID and ~/.aws/config; every one of
 * those is set here so nothing from the process environment steers a challenge unless ambient credentials are
 * allowed (then configured endpoint URLs are honoured, as the user's environment intends).
 * SDK retries are off (maxAttempts 1): the solver retries with jitter inside the challenge deadline instead,
 * so one slow call never multiplies into three. Proxies: only `proxyURL` (Node's http ignores http_proxy).
 */
import type { Agent as HttpAgent } from 'node:http';
import type { Route53Client, Route53ClientConfig } from '@aws-sdk/client-route-53';
import type { STSClient } from '@aws-sdk/client-sts';

/** Static keys or a provider function, as the SDK takes them. */
export type Credentials = NonNullable<Route53ClientConfig['credentials']>;

export interface ClientOptions {
  region: string;
  endpoint?: string;
  credentials?: Credentials;
  proxyURL?: string;
  /** Honour AWS_ENDPOINT_URL* and config-file endpoints (only with ambient credentials). */
  ambient: boolean;
  /** Per-request ceiling; the deadline signal still aborts earlier. */
  requestTimeoutMs: number;
}

async function requestHandler(options: ClientOptions) {
  const { NodeHttpHandler } = await import('@smithy/node-http-handler');
  let agents: { httpAgent?: HttpAgent; httpsAgent?: HttpAgent } = {};
  if (options.proxyURL) {
    const { HttpProxyAgent, HttpsProxyAgent } = await import('hpagent');
    const common = { proxy: options.proxyURL, keepAlive: true };
    agents = { httpAgent: new HttpProxyAgent(common), httpsAgent: new HttpsProxyAgent(common) };
  }
  return new NodeHttpHandler({ connectionTimeout: 5_000, requestTimeout: options.requestTimeoutMs, ...agents });
}

function explicitConfig(options: ClientOptions) {
  return {
    region: options.region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    maxAttempts: 1,
    retryMode: 'standard',
    defaultsMode: 'standard' as const,
    useFipsEndpoint: false,
    useDualstackEndpoint: false,
    ignoreConfiguredEndpointUrls: !options.ambient,
    authSchemePreference: [] as string[],
    userAgentAppId: 'dns01-webhook',
  };
}

export async function createRoute53Client(options: ClientOptions): Promise<Route53Client> {
  const { Route53Client } = await import('@aws-sdk/client-route-53');
  return new Route53Client({ ...explicitConfig(options), requestHandler: await requestHandler(options) });
}

export async function createStsClient(options: ClientOptions): Promise<STSClient> {
  const { STSClient } = await import('@aws-sdk/client-sts');
  return new STSClient({ ...explicitConfig(options), requestHandler: await requestHandler(options) });
}
