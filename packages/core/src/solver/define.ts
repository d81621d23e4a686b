/**
 * `defineSolver` and `defineRecordSolver`: typed constructors for plugins. A record solver gets
 * present/cleanUp derived here, with the domain rules of contract.ts built in.
 */
import type {
  ChallengeRequest,
  RecordApi,
  RecordSolverDefinition,
  RecordTarget,
  Solver,
  SolverContext,
} from './contract.js';
import { isNamed } from './errors.js';
import { logRetries, withRetry } from './retry.js';

const SOLVER_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function defineSolver<Config>(solver: Solver<Config>): Solver<Config> {
  if (!SOLVER_NAME.test(solver.name)) {
    throw new Error(`solver name "${solver.name}" must be a lower-case DNS label (it becomes an API resource name)`);
  }
  return Object.freeze({ ...solver });
}

function targetOf(request: ChallengeRequest): RecordTarget {
  return { fqdn: request.resolvedFQDN, zone: request.resolvedZone };
}

/** Each provider call is retried on transient errors (throttling/5xx) within the challenge deadline. */
function retrying<Config>(ctx: SolverContext<Config>, call: string) {
  return <T>(fn: () => Promise<T>) =>
    withRetry(fn, { signal: ctx.signal, deadline: ctx.deadline, onRetry: logRetries(ctx.log, call) });
}

/**
 * Idempotent Present: add `key` unless it is already there; "already exists" is success. When the
 * provider reports "already exists" itself (`addReportsExisting`), the list is skipped: one write.
 */
export async function presentRecord(
  api: RecordApi,
  target: RecordTarget,
  key: string,
  ctx: SolverContext<any>,
  options: { addReportsExisting?: boolean } = {},
) {
  if (!(options.addReportsExisting && ctx.economy.callFloor)) {
    const existing = await retrying(ctx, 'list')(() => api.list(target));
    if (existing.some((r) => r.value === key)) {
      ctx.log.debug({ fqdn: target.fqdn }, 'value already present');
      return;
    }
  }
  try {
    await retrying(ctx, 'add')(() => api.add(target, key));
  } catch (err) {
    if (!isNamed(err, 'RecordExistsError')) throw err;
  }
}

/** CleanUp: remove every record whose value equals `key`, nothing else; "not found" is success. */
export async function cleanUpRecord(api: RecordApi, target: RecordTarget, key: string, ctx: SolverContext<any>) {
  const existing = await retrying(ctx, 'list')(() => api.list(target));
  let matching = existing.filter((r) => r.value === key);
  // A listing that lags behind writes may not show a value another replica created moments ago.
  if (matching.length === 0 && api.findUnlisted) matching = await api.findUnlisted(target, key);
  for (const record of matching) {
    try {
      await retrying(ctx, 'remove')(() => api.remove(target, record));
    } catch (err) {
      if (!isNamed(err, 'RecordNotFoundError')) throw err;
    }
  }
}

export function defineRecordSolver<Config>(definition: RecordSolverDefinition<Config>): Solver<Config> {
  const { connect, addReportsExisting, ...rest } = definition;
  return defineSolver<Config>({
    ...rest,
    async present(request, ctx) {
      const api = await connect(request, ctx);
      await presentRecord(api, targetOf(request), request.key, ctx, { addReportsExisting: addReportsExisting === true });
    },
    async cleanUp(request, ctx) {
      const api = await connect(request, ctx);
      await cleanUpRecord(api, targetOf(request), request.key, ctx);
    },
    // Read-only: connect (credentials, zone lookup) and one list.
    async check(request, ctx) {
      const api = await connect(request, ctx);
      const values = await retrying(ctx, 'list')(() => api.list(targetOf(request)));
      const where = api.zone ? ` in zone ${api.zone}` : '';
      return { ...(api.zone ? { zone: api.zone } : {}), detail: `listed ${values.length} TXT value(s) at ${request.resolvedFQDN}${where}` };
    },
  });
}
