/** Which solvers a CLI command can use: the default solver packages, or the ones --solver-packages names. */
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DEFAULT_SOLVER_PACKAGES, loadSolverPackages, SolverRegistry } from '../solver/registry.js';

/**
 * `a,b` → module specifiers. A path (`./my-solver.mjs`, `/abs/x.mjs`) becomes a file URL resolved against
 * the working directory — `import()` would otherwise resolve it against the core's own install folder.
 */
export function solverPackageList(flag: string | undefined): string[] {
  if (flag === undefined) return [...DEFAULT_SOLVER_PACKAGES];
  return flag
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => (s.startsWith('.') || isAbsolute(s) ? pathToFileURL(resolve(s)).href : s));
}

/** Loads every package into a new registry; any package that fails to load fails the whole call. */
export async function loadRegistry(packages: string[]): Promise<SolverRegistry> {
  const registry = new SolverRegistry();
  await loadSolverPackages(registry, packages);
  return registry;
}
