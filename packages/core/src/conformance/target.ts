/**
 * How the kit runs one challenge: in-process through executeChallenge (exactly as the server does), or
 * over HTTPS against a running webhook (the path cert-manager takes through kube-apiserver).
 */
import { request as httpsRequest } from 'node:https';
import { randomUUID } from 'node:crypto';
import type { ChallengeRequest, Logger, SecretReader, Solver } from '../solver/contract.js';
import { executeChallenge } from '../challenge/execute.js';
import type { Economy } from '../economy/economy.js';
import { mapSecrets, type SecretMap } from '../secrets/static.js';
import { silentLogger } from '../observability/logger.js';
import { unFqdn } from '../solver/names.js';

/** Where the webhook under test listens and how to reach it. */
export interface WebhookTarget {
  /** Base URL, e.g. `https://127.0.0.1:8443`. */
  url: string;
  groupName: string;
  solverName: string;
  /** PEM CA that signed the serving certificate. */
  ca?: string | Buffer;
  /** Skip server certificate verification (self-signed dev servers only). */
  insecure?: boolean;
  /** PEM client certificate and key (front-proxy or client-CA identity). */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Extra request headers, e.g. `authorization: Bearer ...`. */
  headers?: Record<string, string>;
}

export interface ChallengeFields {
  fqdn: string;
  zone: string;
  key: string;
  config: unknown;
  resourceNamespace: string;
  allowAmbientCredentials: boolean;
}

export type Action = 'Present' | 'CleanUp';
/** Runs one challenge; throws an Error with the solver's message when it fails. */
export type ChallengeRunner = (action: Action, fields: ChallengeFields) => Promise<void>;

export function challengeRequest(action: Action, f: ChallengeFields): ChallengeRequest {
  return {
    uid: randomUUID(),
    action,
    type: 'dns-01',
    dnsName: unFqdn(f.fqdn).replace(/^_acme-challenge\./, ''),
    key: f.key,
    resourceNamespace: f.resourceNamespace,
    resolvedFQDN: f.fqdn,
    resolvedZone: f.zone,
    allowAmbientCredentials: f.allowAmbientCredentials,
    ...(f.config === undefined ? {} : { config: f.config }),
  };
}

export interface InProcessOptions {
  secrets?: SecretMap;
  secretsFor?: (namespace: string) => SecretReader;
  log?: Logger;
  /** Per-challenge deadline (executeChallenge's timeoutMs). */
  challengeTimeoutMs?: number;
  /** The provider economy challenges share (executeChallenge's `economy`); default the process's. */
  economy?: Economy;
}

export function inProcessRunner(solver: Solver<any>, options: InProcessOptions): ChallengeRunner {
  const log = options.log ?? silentLogger();
  const secretsFor = options.secretsFor ?? mapSecrets(options.secrets ?? {});
  let initialized: Promise<void> | undefined;
  return async (action, fields) => {
    // The server initializes each solver once at start-up; so does the kit, before the first challenge.
    initialized ??= Promise.resolve(solver.initialize?.({ log }));
    await initialized;
    const outcome = await executeChallenge(solver, challengeRequest(action, fields), {
      secretsFor,
      log,
      ...(options.challengeTimeoutMs === undefined ? {} : { timeoutMs: options.challengeTimeoutMs }),
      ...(options.economy ? { economy: options.economy } : {}),
    });
    if (!outcome.success) throw new Error(`${action} failed: ${outcome.message}`);
  };
}

function post(url: URL, body: string, target: WebhookTarget): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', ...target.headers },
        ...(target.ca === undefined ? {} : { ca: target.ca }),
        ...(target.cert === undefined ? {} : { cert: target.cert }),
        ...(target.key === undefined ? {} : { key: target.key }),
        rejectUnauthorized: target.insecure !== true,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      },
    );
    req.on('error', (err) => reject(new Error(`POST ${url.href} failed: ${err.message}`)));
    req.end(body);
  });
}

/** POSTs a ChallengePayload as cert-manager does and reads `response.success` / `response.status.message`. */
export function webhookRunner(target: WebhookTarget): ChallengeRunner {
  const base = target.url.replace(/\/+$/, '');
  const url = new URL(`${base}/apis/${encodeURIComponent(target.groupName)}/v1alpha1/${encodeURIComponent(target.solverName)}`);
  return async (action, fields) => {
    const request = challengeRequest(action, fields);
    // cert-manager sends no apiVersion/kind (webhook-protocol.md §2).
    const { status, text } = await post(url, JSON.stringify({ request }), target);
    let body: { message?: string; response?: { uid?: string; success?: boolean; status?: { message?: string } } } = {};
    try {
      body = JSON.parse(text);
    } catch {
      throw new Error(`${action}: POST ${url.pathname} answered HTTP ${status} with a non-JSON body: ${text.slice(0, 200)}`);
    }
    if (status < 200 || status > 299) {
      throw new Error(`${action}: POST ${url.pathname} answered HTTP ${status}: ${body.message ?? text.slice(0, 200)}`);
    }
    if (!body.response) throw new Error(`${action}: HTTP ${status} without "response" (cert-manager would crash on it)`);
    if (body.response.uid !== request.uid) {
      throw new Error(`${action}: response.uid ${JSON.stringify(body.response.uid)} does not echo request uid ${request.uid}`);
    }
    if (body.response.success !== true) {
      throw new Error(`${action} failed: ${body.response.status?.message ?? '(no status.message)'}`);
    }
  };
}
