/** Schema pieces solvers share, so every config names secrets the same way. */
import { z } from 'zod';

/** `{name, key}` of a Secret in the request's namespace. A `namespace` field is rejected, not ignored. */
export const secretSelector = z.strictObject({
  name: z.string().min(1, 'secret name is required'),
  key: z.string().min(1, 'secret key is required'),
});
