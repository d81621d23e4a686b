/**
 * The solver registry: solvers by `solverName` under one `groupName`, and loading solver plugins by npm
 * module name — the same path a third-party package takes.
 */
import type { Solver, SolverModule } from './contract.js';

export const DEFAULT_SOLVER_PACKAGES = [
  '@dns01-webhook/solver-dnspod',
  '@dns01-webhook/solver-route53',
  '@dns01-webhook/solver-cloudflare',
  '@dns01-webhook/solver-rfc2136',
];

export class SolverRegistry {
  readonly #solvers = new Map<string, Solver<any>>();
  /** Which module each solver came from, for the duplicate-name message. */
  readonly #origins = new Map<string, string>();

  register(solver: Solver<any>, origin = 'built-in'): void {
    const previous = this.#origins.get(solver.name);
    if (previous !== undefined) {
      throw new Error(`duplicate solver name "${solver.name}": registered by ${previous} and again by ${origin}`);
    }
    this.#solvers.set(solver.name, solver);
    this.#origins.set(solver.name, origin);
  }

  get(name: string): Solver<any> | undefined {
    return this.#solvers.get(name);
  }

  names(): string[] {
    return [...this.#solvers.keys()].sort();
  }

  list(): Solver<any>[] {
    return this.names().map((n) => this.#solvers.get(n)!);
  }
}

function isSolver(value: unknown): value is Solver<any> {
  const s = value as Solver<any>;
  return (
    typeof s === 'object' && s !== null && typeof s.name === 'string' &&
    typeof s.present === 'function' && typeof s.cleanUp === 'function' &&
    typeof s.config === 'object' && s.config !== null && typeof (s.config as { safeParse?: unknown }).safeParse === 'function'
  );
}

/** The solvers a plugin module exports (`default` or `solvers`, one or an array). */
export function solversOf(moduleName: string, mod: SolverModule): Solver<any>[] {
  const exported = mod.solvers ?? mod.default;
  const list = Array.isArray(exported) ? exported : exported === undefined ? [] : [exported];
  if (list.length === 0) {
    throw new Error(`solver package "${moduleName}" exports no solver (expected a default export or "solvers")`);
  }
  for (const s of list) {
    if (!isSolver(s)) {
      throw new Error(`solver package "${moduleName}" exports something that is not a solver (need name, config schema, present, cleanUp)`);
    }
  }
  return list;
}

/**
 * Import each package by module name (resolved like any `import`, from this installation) and register its
 * solvers. Fails start-up on a missing package or a duplicate name.
 */
export async function loadSolverPackages(registry: SolverRegistry, moduleNames: string[]): Promise<void> {
  for (const moduleName of moduleNames) {
    let mod: SolverModule;
    try {
      mod = (await import(moduleName)) as SolverModule;
    } catch (err) {
      throw new Error(`cannot load solver package "${moduleName}": ${(err as Error).message}`, { cause: err });
    }
    for (const solver of solversOf(moduleName, mod)) registry.register(solver, moduleName);
  }
}
