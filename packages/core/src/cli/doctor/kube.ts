/**
 * The few raw kube-apiserver calls `doctor` makes (GET an object or a discovery document, POST a review), with
 * the user's kubeconfig: plain JSON over HTTPS, so a 404 or 403 is an answer to report, not an exception shape.
 */
import { request } from 'node:https';
import type { RequestOptions } from 'node:https';
import { loadKubeConfig } from '../../kube/kubeconfig.js';

export interface KubeResponse {
  status: number;
  body: any;
}

export interface KubeRest {
  server: string;
  get(path: string): Promise<KubeResponse>;
  post(path: string, body: unknown): Promise<KubeResponse>;
}

export function kubeRest(kubeconfig: string | undefined, timeoutMs = 10_000): KubeRest {
  const kc = loadKubeConfig(kubeconfig);
  const server = kc.getCurrentCluster()!.server.replace(/\/+$/, '');
  const send = async (method: string, path: string, body?: unknown): Promise<KubeResponse> => {
    const url = new URL(server + path);
    const options: RequestOptions = {
      method,
      headers: { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      timeout: timeoutMs,
    };
    await kc.applyToHTTPSOptions(options);
    return new Promise((resolve, reject) => {
      const req = request(url, options, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            /* not JSON: keep the text */
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      });
      req.on('timeout', () => req.destroy(new Error(`no answer from ${server} within ${timeoutMs} ms`)));
      req.on('error', (err) => reject(new Error(`${method} ${path}: kube-apiserver ${server} unreachable: ${err.message}`)));
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  };
  return { server, get: (path) => send('GET', path), post: (path, body) => send('POST', path, body) };
}

/** `message` of a metav1.Status body, or the HTTP status. */
export function statusMessage(res: KubeResponse): string {
  const m = (res.body as { message?: unknown } | undefined)?.message;
  return typeof m === 'string' && m !== '' ? m : `HTTP ${res.status}`;
}
