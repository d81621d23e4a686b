/**
 * Secrets readers that need no cluster: a fixed map (tests, conformance kit) and a directory laid out
 * like a mounted Secret (`<dir>/<name>/<key>`, the CLI's --secrets-dir).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SecretReader, SecretSelector } from '../solver/contract.js';
import { SolverError } from '../solver/errors.js';

/** Same rule as Kubernetes object names / data keys: no path tricks, no other namespace. */
const SECRET_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;

export function checkSelector(selector: SecretSelector): void {
  if (typeof selector?.name !== 'string' || !SECRET_NAME.test(selector.name) || selector.name.length > 253) {
    throw new SolverError(`invalid secret name ${JSON.stringify(selector?.name)} (must be a Kubernetes object name)`, { code: 'InvalidSecretRef' });
  }
  if (typeof selector.key !== 'string' || !SECRET_KEY.test(selector.key) || selector.key === '.' || selector.key === '..') {
    throw new SolverError(`invalid key ${JSON.stringify(selector.key)} in secret "${selector.name}"`, { code: 'InvalidSecretRef' });
  }
}

/** `{ "<namespace>": { "<secret>": { "<key>": "value" } } }` */
export type SecretMap = Record<string, Record<string, Record<string, string>>>;

export function mapSecrets(map: SecretMap): (namespace: string) => SecretReader {
  return (namespace) => ({
    namespace,
    async get(selector) {
      checkSelector(selector);
      const value = map[namespace]?.[selector.name]?.[selector.key];
      if (value === undefined) {
        throw new SolverError(`secret "${selector.name}" key "${selector.key}" not found in namespace "${namespace}"`, { code: 'SecretNotFound' });
      }
      return value;
    },
  });
}

/** `--secrets-dir`: `<dir>/<name>/<key>`, the layout of a Secret mounted as a volume. */
export function directorySecrets(dir: string): (namespace: string) => SecretReader {
  return (namespace) => ({
    namespace,
    async get(selector) {
      checkSelector(selector);
      const file = join(dir, selector.name, selector.key);
      try {
        return (await readFile(file, 'utf8')).replace(/\r?\n$/, '');
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw new SolverError(
          code === 'ENOENT' ? `secret file ${file} not found (expected <secrets-dir>/<name>/<key>)` : `cannot read secret file ${file}: ${code}`,
          { code: 'SecretNotFound' },
        );
      }
    },
  });
}
