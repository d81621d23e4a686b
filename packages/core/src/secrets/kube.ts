/**
 * Secrets read from the Kubernetes API, bound to one namespace (the request's `resourceNamespace`).
 * Selectors carry no namespace, and `checkSelector` refuses names that could point elsewhere. Every
 * message names the secret, key and namespace, never a value.
 */
import type { KubeClientFacade } from '../kube/client.js';
import { KubeApiError } from '../kube/errors.js';
import type { SecretReader, SecretSelector } from '../solver/contract.js';
import { SolverError } from '../solver/errors.js';
import { checkSelector } from './static.js';

function readError(err: unknown, name: string, namespace: string): SolverError {
  const status = err instanceof KubeApiError ? err.status : 0;
  const ref = `secret "${name}" in namespace "${namespace}"`;
  switch (status) {
    case 403:
      return new SolverError(
        `the webhook's ServiceAccount may not read secret "${name}" in namespace "${namespace}" ` +
          `(grant get on secrets in ${namespace}; see the chart's secret RBAC values)`,
        { code: 'SecretForbidden', cause: err },
      );
    case 404:
      return new SolverError(`${ref} not found`, { code: 'SecretNotFound', cause: err });
    case 401:
      return new SolverError(`cannot read ${ref}: kube-apiserver rejected the webhook's own credentials (401)`, {
        code: 'Unauthorized',
        retryable: true,
        cause: err,
      });
    default:
      return new SolverError(`cannot read ${ref}: ${(err as Error)?.message ?? String(err)}`, {
        code: 'SecretReadFailed',
        retryable: err instanceof KubeApiError ? err.retryable : false,
        cause: err,
      });
  }
}

/** `client` only needs `getSecret`, so tests and embedders can pass a minimal object. */
export function kubeSecrets(client: Pick<KubeClientFacade, 'getSecret'>): (namespace: string) => SecretReader {
  return (namespace) => ({
    namespace,
    async get(selector: SecretSelector) {
      checkSelector(selector);
      const { name, key } = selector;
      let data: Record<string, string>;
      try {
        data = (await client.getSecret(namespace, name)).data;
      } catch (err) {
        throw readError(err, name, namespace);
      }
      const encoded = Object.hasOwn(data, key) ? data[key] : undefined;
      if (encoded === undefined) {
        const keys = Object.keys(data).sort();
        throw new SolverError(
          `secret "${name}" in namespace "${namespace}" has no key "${key}" ` +
            (keys.length > 0 ? `(it has: ${keys.join(', ')})` : '(it has no data)'),
          { code: 'SecretKeyNotFound' },
        );
      }
      return Buffer.from(encoded, 'base64').toString('utf8');
    },
  });
}
