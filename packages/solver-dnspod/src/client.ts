/**
 * The Tencent Cloud SDK client, built from explicit options only. Two SDK behaviours are handled here:
 *  - its fetch falls back to `process.env.http_proxy` whenever no agent is given, so we always give one
 *    (a plain agent, or the proxy the caller resolved: config, or the environment when ambient is allowed);
 *  - its default timeout is 60 s, longer than a challenge: the timeout and an AbortSignal follow the deadline.
 * The SDK itself never retries; the core's withRetry does, inside the deadline.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { DEFAULT_ENDPOINT, parseEndpoint } from './config.js';
import { dnspodError } from './errors.js';

type SdkModule = typeof import('tencentcloud-sdk-nodejs-dnspod');
type ClientConfig = ConstructorParameters<SdkModule['dnspod']['v20210323']['Client']>[0];
type HttpProfile = NonNullable<NonNullable<ClientConfig['profile']>['httpProfile']>;

/** A single call never waits longer than this, so one hung connection still leaves time for a retry. */
const MAX_CALL_SECONDS = 20;

export interface DnspodClientOptions {
  secretId: string;
  secretKey: string;
  /** Config `endpoint`; default https://dnspod.tencentcloudapi.com. */
  endpoint?: string;
  /** Proxy URL for API calls; none = direct. */
  proxy?: string | undefined;
  signal: AbortSignal;
  deadline: number;
  track<T>(call: string, fn: () => Promise<T>): Promise<T>;
}

/** One DNSPod API call: action name and parameters in, the `Response` object out (errors → SolverError). */
export interface DnspodApi {
  readonly endpoint: string;
  call<T = Record<string, unknown>>(action: string, params: object, context?: { domain?: string }): Promise<T>;
}

export async function createDnspodApi(options: DnspodClientOptions): Promise<DnspodApi> {
  // Loaded lazily so the webhook's start-up does not pay for every provider SDK.
  const { dnspod } = await import('tencentcloud-sdk-nodejs-dnspod');
  const endpointUrl = options.endpoint ?? DEFAULT_ENDPOINT;
  const { protocol, host } = parseEndpoint(endpointUrl);
  const remaining = (options.deadline - Date.now()) / 1000;
  const reqTimeout = Math.max(1, Math.min(MAX_CALL_SECONDS, remaining));

  const httpProfile: HttpProfile = { endpoint: host, protocol, reqMethod: 'POST', reqTimeout };
  if (options.proxy) httpProfile.proxy = options.proxy;
  else httpProfile.agent = protocol === 'https://' ? new HttpsAgent() : new HttpAgent();

  const client = new dnspod.v20210323.Client({
    credential: { secretId: options.secretId, secretKey: options.secretKey },
    region: '',
    profile: { httpProfile, language: 'en-US' },
  });

  return {
    endpoint: endpointUrl,
    async call<T>(action: string, params: object, context: { domain?: string } = {}): Promise<T> {
      return options.track(action, async () => {
        try {
          return (await client.request(action, params, { signal: options.signal })) as T;
        } catch (err) {
          throw dnspodError(action, err, { endpoint: endpointUrl, domain: context.domain, aborted: options.signal.aborted });
        }
      });
    },
  };
}
