/**
 * The provider's API, as this solver uses it. Generated for "__SOLVER__", a made-up provider whose REST API
 * keeps one record per TXT value (test/emulator.ts implements it):
 *
 *   GET    {endpoint}/zones/{zone}/txt?name={fqdn}   → 200 [{ "id": "…", "value": "…" }]
 *   POST   {endpoint}/zones/{zone}/txt  {name,value}  → 201 { "id": "…" }   (409 when it already exists)
 *   DELETE {endpoint}/zones/{zone}/txt/{id}           → 204                  (404 when already gone)
 *
 * TODO: replace the three calls with your provider's (or its official SDK's) — keep the error mapping:
 * "already exists" → RecordExistsError, "already gone" → RecordNotFoundError, 429/5xx → retryable.
 */
import { RecordExistsError, RecordNotFoundError, SolverError, unFqdn, type SolverContext, type TxtRecord } from '@dns01-webhook/core';

export interface ClientOptions {
  endpoint: string;
  token: string;
  zone: string;
  ctx: SolverContext<unknown>;
}

export function createClient({ endpoint, token, zone, ctx }: ClientOptions) {
  const zonePath = `${endpoint.replace(/\/+$/, '')}/zones/${encodeURIComponent(unFqdn(zone))}/txt`;
  const call = (name: string, method: string, url: string, body?: unknown) =>
    ctx.track(name, async () => {
      const res = await fetch(url, {
        method,
        signal: ctx.signal, // aborts before kube-apiserver's timeout
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      if (res.status === 409 && method === 'POST') throw new RecordExistsError();
      if (res.status === 404 && method === 'DELETE') throw new RecordNotFoundError();
      if (!res.ok) {
        // A message a person can act on; the core redacts secret values from it anyway.
        const retryable = res.status === 429 || res.status >= 500;
        throw new SolverError(`__SOLVER__: ${name} answered HTTP ${res.status}: ${(await res.text()).slice(0, 300)}`, {
          retryable,
          code: String(res.status),
        });
      }
      return res.status === 204 ? undefined : ((await res.json()) as unknown);
    });

  return {
    async listTxt(fqdn: string): Promise<TxtRecord[]> {
      const records = (await call('ListTxt', 'GET', `${zonePath}?name=${encodeURIComponent(fqdn)}`)) as Array<{ id: string; value: string }>;
      return records.map((r) => ({ id: r.id, value: r.value }));
    },
    async createTxt(fqdn: string, value: string): Promise<void> {
      await call('CreateTxt', 'POST', zonePath, { name: fqdn, value });
    },
    async deleteTxt(id: string): Promise<void> {
      await call('DeleteTxt', 'DELETE', `${zonePath}/${encodeURIComponent(id)}`);
    },
  };
}
