import type { z } from 'zod';

/** `config.secretKeyRef.name: expected string, received undefined; config: unknown key "foo"` — fields a person can fix. */
export function formatConfigIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${['config', ...issue.path.map(String)].join('.')}: ${issue.message}`)
    .join('; ');
}
