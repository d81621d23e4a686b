/** A GET over HTTPS for the e2e helpers' readiness probes and API reads (kube-apiserver, kubelet, Pebble). */
import { request } from 'node:https';

export interface HttpsGetTls {
  /** The CA that signed the server's certificate (PEM). */
  ca: string;
  /** A client certificate and key, for servers that authenticate the caller. */
  cert?: string | Buffer;
  key?: string | Buffer;
}

/** The status and text body of `url`; rejects on a connection error or no answer in `timeoutMs`. */
export function httpsGet(url: string, tls: HttpsGetTls, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca: tls.ca, cert: tls.cert, key: tls.key, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`timeout: ${url}`)));
    req.on('error', reject);
    req.end();
  });
}
