import type { z } from 'zod';

/** `secretKeyRef.name: expected string, received undefined; ttl: too small` — field paths a person can fix. */
export function formatConfigIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.length ? issue.path.map(String).join('.') : '(config)';
      return `config.${path === '(config)' ? '' : path}${path === '(config)' ? '' : ': '}${issue.message}`.replace(/^config\.$/, 'config');
    })
    .join('; ');
}
