import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defineSolver, DEFAULT_SOLVER_PACKAGES, loadSolverPackages, SolverRegistry, z } from '@dns01-webhook/core';

const solver = (name: string) =>
  defineSolver({ name, config: z.object({}), async present() {}, async cleanUp() {} });

describe('SolverRegistry', () => {
  it('refuses duplicate solver names and says where both came from', () => {
    const r = new SolverRegistry();
    r.register(solver('a'), 'pkg-one');
    expect(() => r.register(solver('a'), 'pkg-two')).toThrow(/duplicate solver name "a": registered by pkg-one and again by pkg-two/);
  });

  it('rejects solver names that cannot be API resource names', () => {
    expect(() => solver('My_Solver')).toThrow(/lower-case DNS label/);
  });

  it('loads the bundled solver packages by npm module name', async () => {
    const r = new SolverRegistry();
    await loadSolverPackages(r, [...DEFAULT_SOLVER_PACKAGES]);
    expect(r.names()).toEqual(['cloudflare', 'dnspod', 'rfc2136', 'route53']);
  });

  it('loads a third-party package from a path, and fails clearly on a missing one or a non-solver export', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'solver-pkg-'));
    const good = join(dir, 'good.mjs');
    await writeFile(
      good,
      `export default { name: 'third', config: { safeParse: (v) => ({ success: true, data: v }) }, present: async () => {}, cleanUp: async () => {} };`,
    );
    const bad = join(dir, 'bad.mjs');
    await writeFile(bad, `export default { name: 'x' };`);
    const r = new SolverRegistry();
    await loadSolverPackages(r, [good]);
    expect(r.names()).toEqual(['third']);
    await expect(loadSolverPackages(r, [bad])).rejects.toThrow(/not a solver/);
    await expect(loadSolverPackages(r, ['@nobody/no-such-solver'])).rejects.toThrow(/cannot load solver package "@nobody\/no-such-solver"/);
  });
});
