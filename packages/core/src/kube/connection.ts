/**
 * Where kube-apiserver is and how to authenticate to it, and one HTTPS call to it.
 *
 * Why not @kubernetes/client-node here: importing it loads ≈830 modules (its whole generated API), ≈1.5 s and
 * ≈50 MiB RSS before the webhook can serve — more than the rest of the server together. The webhook needs
 * five REST calls and one watch, so they are plain HTTPS requests. The configurations the webhook meets in
 * practice are read here directly: in-cluster (ServiceAccount token file, re-read as the kubelet rotates it)
 * and kubeconfig files with certificates, tokens, token files or basic auth. Anything richer — exec credential
 * plugins, auth-provider, proxy-url, impersonation, several $KUBECONFIG files to merge — is handed to
 * client-node's KubeConfig, imported only then, so those keep working exactly as before.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { Agent, request, type AgentOptions, type RequestOptions } from 'node:https';
import { load as loadYaml } from 'js-yaml';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { KubeApiError, toKubeApiError } from './errors.js';

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** The kubelet rotates projected tokens well before they expire; re-reading once a minute is plenty. */
const TOKEN_FILE_REREAD_MS = 60_000;

type Tls = Pick<AgentOptions, 'ca' | 'cert' | 'key' | 'rejectUnauthorized' | 'servername'>;

/** TLS material and headers for one request. */
interface Credentials {
  tls: Tls;
  headers: Record<string, string>;
  /** An agent client-node chose (e.g. for proxy-url). */
  agent?: RequestOptions['agent'];
}

export interface KubeConnection {
  /** kube-apiserver URL. */
  readonly server: string;
  /** One JSON call. Throws KubeApiError (status 0 when no answer came within `timeoutMs`). */
  json<T>(operation: string, method: string, path: string, options: { body?: unknown; timeoutMs: number }): Promise<T>;
  /**
   * A streaming GET (a watch): each line of the body is parsed and handed to `onLine`; `onDone` fires once
   * when the stream ends (null) or fails. Returns the controller that ends it.
   */
  stream(operation: string, path: string, onLine: (value: any) => void, onDone: (err: KubeApiError | null) => void): Promise<AbortController>;
}

interface KubeconfigFile {
  'current-context'?: string;
  clusters?: Array<{ name: string; cluster?: Record<string, any> }>;
  users?: Array<{ name: string; user?: Record<string, any> }>;
  contexts?: Array<{ name: string; context?: { cluster?: string; user?: string } }>;
}

function parseKubeconfig(path: string): KubeconfigFile {
  const text = readFileSync(path, 'utf8');
  if (text.trimStart().startsWith('{')) return JSON.parse(text) as KubeconfigFile;
  return (loadYaml(text) ?? {}) as KubeconfigFile;
}

const fromBase64 = (data: string) => Buffer.from(data, 'base64');

/** A kubeconfig field that is `<name>-data` (base64) or `<name>` (a file path, relative to the kubeconfig). */
function material(entry: Record<string, any>, name: string, base: string): Buffer | undefined {
  if (typeof entry[`${name}-data`] === 'string' && entry[`${name}-data`] !== '') return fromBase64(entry[`${name}-data`]);
  if (typeof entry[name] === 'string' && entry[name] !== '') return readFileSync(isAbsolute(entry[name]) ? entry[name] : join(base, entry[name]));
  return undefined;
}

/** A bearer token read from a file, re-read when it may have been rotated. */
function tokenFile(path: string): () => string {
  let token = '';
  let readAt = -Infinity;
  return () => {
    if (Date.now() - readAt > TOKEN_FILE_REREAD_MS) {
      token = readFileSync(path, 'utf8').trim();
      readAt = Date.now();
    }
    return token;
  };
}

type Loaded = { server: string; credentials: () => Promise<Credentials> };

function inCluster(): Loaded {
  const host = process.env.KUBERNETES_SERVICE_HOST!;
  const port = process.env.KUBERNETES_SERVICE_PORT ?? '443';
  const caFile = join(SERVICE_ACCOUNT_DIR, 'ca.crt');
  const token = tokenFile(join(SERVICE_ACCOUNT_DIR, 'token'));
  const tls: Tls = { ...(existsSync(caFile) ? { ca: readFileSync(caFile) } : {}), rejectUnauthorized: true };
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    credentials: async () => ({ tls, headers: { Authorization: `Bearer ${token()}` } }),
  };
}

/** Which kubeconfig fields this module handles itself; anything else goes to client-node. */
const SIMPLE_USER_FIELDS = new Set(['client-certificate', 'client-certificate-data', 'client-key', 'client-key-data', 'token', 'tokenFile', 'username', 'password']);
const SIMPLE_CLUSTER_FIELDS = new Set(['server', 'certificate-authority', 'certificate-authority-data', 'insecure-skip-tls-verify', 'tls-server-name', 'extensions']);

function fromKubeconfig(path: string, label: string): Loaded {
  const file = parseKubeconfig(path);
  const contextName = file['current-context'];
  const context = file.contexts?.find((c) => c.name === contextName)?.context;
  const cluster = file.clusters?.find((c) => c.name === context?.cluster)?.cluster;
  if (!context || !cluster || typeof cluster.server !== 'string') throw new Error(`kubeconfig ${label} has no current cluster`);
  const user = file.users?.find((u) => u.name === context.user)?.user ?? {};
  const simple = Object.keys(user).every((k) => SIMPLE_USER_FIELDS.has(k)) && Object.keys(cluster).every((k) => SIMPLE_CLUSTER_FIELDS.has(k));
  if (!simple) return viaClientNode(cluster.server, path);
  const base = dirname(path);
  const tls: Tls = {
    rejectUnauthorized: cluster['insecure-skip-tls-verify'] !== true,
    ...(typeof cluster['tls-server-name'] === 'string' ? { servername: cluster['tls-server-name'] } : {}),
  };
  const ca = material(cluster, 'certificate-authority', base);
  const cert = material(user, 'client-certificate', base);
  const key = material(user, 'client-key', base);
  if (ca) tls.ca = ca;
  if (cert) tls.cert = cert;
  if (key) tls.key = key;
  const fileToken = typeof user.tokenFile === 'string' && user.tokenFile !== '' ? tokenFile(isAbsolute(user.tokenFile) ? user.tokenFile : join(base, user.tokenFile)) : undefined;
  const authorization = (): string | undefined => {
    if (typeof user.token === 'string' && user.token !== '') return `Bearer ${user.token}`;
    if (fileToken) return `Bearer ${fileToken()}`;
    if (typeof user.username === 'string' && user.username !== '') {
      return `Basic ${Buffer.from(`${user.username}:${user.password ?? ''}`).toString('base64')}`;
    }
    return undefined;
  };
  return {
    server: cluster.server,
    credentials: async (): Promise<Credentials> => {
      const value = authorization();
      const headers: Record<string, string> = value ? { Authorization: value } : {};
      return { tls, headers };
    },
  };
}

/** client-node's KubeConfig, loaded on first use, for what this module does not read itself. */
function viaClientNode(server: string, path: string | undefined): Loaded {
  let kc: Promise<import('@kubernetes/client-node').KubeConfig> | undefined;
  const load = () =>
    (kc ??= import('@kubernetes/client-node').then(({ KubeConfig }) => {
      const config = new KubeConfig();
      if (path) config.loadFromFile(path);
      else config.loadFromDefault();
      return config;
    }));
  return {
    server,
    credentials: async () => {
      const options: RequestOptions & { headers: Record<string, string> } = { headers: {} };
      await (await load()).applyToHTTPSOptions(options);
      const tls: Tls = { rejectUnauthorized: options.rejectUnauthorized !== false };
      if (options.ca) tls.ca = options.ca;
      if (options.cert) tls.cert = options.cert;
      if (options.key) tls.key = options.key;
      if (options.servername) tls.servername = options.servername;
      return { tls, headers: options.headers, ...(options.agent ? { agent: options.agent } : {}) };
    },
  };
}

function locate(kubeconfig: string | undefined): Loaded {
  if (kubeconfig) {
    if (!existsSync(kubeconfig)) throw new Error(`kubeconfig file ${kubeconfig} does not exist`);
    return fromKubeconfig(kubeconfig, kubeconfig);
  }
  if (process.env.KUBERNETES_SERVICE_HOST) return inCluster();
  const fromEnv = (process.env.KUBECONFIG ?? '').split(delimiter).filter((p) => p !== '');
  if (fromEnv.length > 1) {
    // Several files are merged (kubectl's rules): client-node implements them.
    const first = fromEnv.find((p) => existsSync(p));
    if (!first) throw new Error(`none of the $KUBECONFIG files exist: ${fromEnv.join(', ')}`);
    const server = fromKubeconfig(first, first).server;
    return viaClientNode(server, undefined);
  }
  const single = fromEnv[0] ?? join(homedir(), '.kube', 'config');
  if (!existsSync(single)) {
    throw new Error('no Kubernetes configuration: not running in a cluster, no --kubeconfig, no $KUBECONFIG or ~/.kube/config');
  }
  return fromKubeconfig(single, single);
}

/** Reads the configuration now (throws on a missing or unusable one); credentials are resolved per request. */
export function loadKubeConnection(kubeconfig?: string): KubeConnection {
  const { server, credentials } = locate(kubeconfig);
  const base = new URL(server);
  const prefix = base.pathname.replace(/\/$/, '');
  const agents = new Map<string, Agent>();
  /** One keep-alive agent per set of TLS material (it only changes with exec credentials). */
  const agentFor = (tls: Tls): Agent => {
    const key = JSON.stringify([tls.ca?.toString(), tls.cert?.toString(), tls.key?.toString(), tls.rejectUnauthorized, tls.servername]);
    let agent = agents.get(key);
    if (!agent) {
      agent = new Agent({ keepAlive: true, ...tls });
      if (agents.size > 8) agents.clear();
      agents.set(key, agent);
    }
    return agent;
  };

  /** Not part of a call's timeout: the first use of an exec plugin also imports client-node. */
  async function credentialsFor(operation: string): Promise<Credentials> {
    try {
      return await credentials();
    } catch (err) {
      throw new KubeApiError(`${operation}: cannot load the Kubernetes credentials: ${(err as Error).message}`, 0, undefined, { cause: err });
    }
  }

  function open(creds: Credentials, method: string, path: string, body: string | undefined, signal: AbortSignal, retried = false): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const req = request(
        {
          protocol: base.protocol,
          hostname: base.hostname.replace(/^\[(.*)\]$/, '$1'),
          port: base.port || 443,
          path: prefix + path,
          method,
          agent: creds.agent ?? agentFor(creds.tls),
          headers: {
            Accept: 'application/json',
            ...(body !== undefined ? { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) } : {}),
            ...creds.headers,
          },
          signal,
        },
        resolve,
      );
      req.on('error', (err: NodeJS.ErrnoException) => {
        // A keep-alive socket the server closed (idle timeout) just as it was reused: the request never reached
        // it. Once more on a new socket, as Node's documentation recommends; otherwise a challenge fails for nothing.
        if (!retried && req.reusedSocket && err.code === 'ECONNRESET' && !signal.aborted) resolve(open(creds, method, path, body, signal, true));
        else reject(err);
      });
      req.end(body);
    });
  }

  return {
    server,

    async json<T>(operation: string, method: string, path: string, options: { body?: unknown; timeoutMs: number }): Promise<T> {
      const creds = await credentialsFor(operation);
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), options.timeoutMs);
      timer.unref();
      try {
        const res = await open(creds, method, path, options.body === undefined ? undefined : JSON.stringify(options.body), controller.signal);
        const chunks: Buffer[] = [];
        for await (const chunk of res) chunks.push(chunk as Buffer);
        const text = Buffer.concat(chunks).toString('utf8');
        const status = res.statusCode ?? 0;
        if (status < 200 || status > 299) throw toKubeApiError({ code: status, body: text }, operation);
        return JSON.parse(text) as T;
      } catch (err) {
        if (controller.signal.aborted) throw new KubeApiError(`${operation}: no answer from kube-apiserver within ${options.timeoutMs} ms`, 0);
        throw toKubeApiError(err, operation);
      } finally {
        clearTimeout(timer);
      }
    },

    async stream(operation, path, onLine, onDone) {
      const controller = new AbortController();
      let done = false;
      const finish = (err: KubeApiError | null) => {
        if (done) return;
        done = true;
        onDone(err);
      };
      const creds = await credentialsFor(operation);
      let res: IncomingMessage;
      try {
        res = await open(creds, 'GET', path, undefined, controller.signal);
      } catch (err) {
        throw toKubeApiError(err, operation);
      }
      const status = res.statusCode ?? 0;
      if (status < 200 || status > 299) {
        const chunks: Buffer[] = [];
        for await (const chunk of res) chunks.push(chunk as Buffer);
        throw toKubeApiError({ code: status, body: Buffer.concat(chunks).toString('utf8') }, operation);
      }
      let buffered = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffered += chunk;
        let newline: number;
        while ((newline = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, newline).trim();
          buffered = buffered.slice(newline + 1);
          if (line === '') continue;
          try {
            onLine(JSON.parse(line));
          } catch (err) {
            controller.abort();
            finish(toKubeApiError(err, operation));
            return;
          }
        }
      });
      res.on('end', () => finish(null));
      res.on('error', (err) => finish(controller.signal.aborted ? null : toKubeApiError(err, operation)));
      res.on('close', () => finish(null));
      return controller;
    },
  };
}
