/**
 * `dns01-webhook init-solver`: the generated package, installed against this workspace's core, type-checks,
 * builds, and passes its own conformance test (Basic, strict Extended, Concurrency over real DNS) as generated;
 * its build is a solver plugin the core loads by path. Runs the built CLI, as a user would.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSolverPackages, SolverRegistry } from '@dns01-webhook/core';
import { TEMPLATE_DEV_VERSIONS } from '../../packages/core/src/cli/init-solver.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = join(ROOT, 'packages/core/dist/cli/main.js');
const scratch = mkdtempSync(join(tmpdir(), 'dns01-init-solver-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], cwd: string, timeoutMs: number): Promise<Run> {
  return new Promise((resolvePromise) => {
    execFile(command, args, { cwd, timeout: timeoutMs, maxBuffer: 32 << 20, env: { ...process.env, CI: 'true', NO_COLOR: '1' } }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolvePromise({ code, stdout, stderr });
    });
  });
}

const show = (r: Run) => `exit ${r.code}\n--- stdout ---\n${r.stdout.slice(-4000)}\n--- stderr ---\n${r.stderr.slice(-4000)}`;

describe('dns01-webhook init-solver', () => {
  it('generates a package that installs, type-checks, builds and passes its conformance test as is', async () => {
    const dir = join(scratch, 'acmedns');
    const init = await run(process.execPath, [CLI, 'init-solver', 'acmedns', '--dir', dir, '--core', `file:${join(ROOT, 'packages/core')}`], scratch, 60_000);
    expect(init.code, show(init)).toBe(0);
    expect(init.stdout).toContain(`wrote solver "acmedns" (package dns01-solver-acmedns) to ${dir}`);
    for (const file of ['package.json', '.gitignore', 'tsconfig.json', 'src/index.ts', 'src/client.ts', 'test/emulator.ts', 'test/conformance.test.ts', 'README.md', 'Dockerfile']) {
      expect(existsSync(join(dir, file)), file).toBe(true);
    }
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    expect(pkg.name).toBe('dns01-solver-acmedns');
    expect(pkg.peerDependencies['@dns01-webhook/core']).toMatch(/^\^\d+\.\d+\.\d+$/);
    // No placeholder survives in any generated file.
    const listed = init.stdout.split('\n\n')[0]!.split('\n').slice(1).map((l) => l.trim());
    expect(listed.length).toBeGreaterThanOrEqual(11);
    for (const file of listed) {
      expect(readFileSync(join(dir, file), 'utf8'), file).not.toMatch(/__[A-Z_]+__/);
    }
    expect(readFileSync(join(dir, 'README.md'), 'utf8')).toContain('solverName: acmedns');
    expect(readFileSync(join(dir, 'Dockerfile'), 'utf8')).toContain('/app/node_modules/dns01-solver-acmedns/dist');

    // npm's cache already holds the dev tools (the workspace installed the same versions).
    const install = await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], dir, 8 * 60_000);
    expect(install.code, show(install)).toBe(0);
    const typecheck = await run('npm', ['run', 'typecheck'], dir, 5 * 60_000);
    expect(typecheck.code, show(typecheck)).toBe(0);
    const build = await run('npm', ['run', 'build'], dir, 5 * 60_000);
    expect(build.code, show(build)).toBe(0);
    const test = await run('npm', ['test'], dir, 5 * 60_000);
    expect(test.code, show(test)).toBe(0);
    expect(test.stdout).toMatch(/Tests\s+4 passed \(4\)/);

    // The build is a plugin the core loads, under the generated solverName.
    const registry = new SolverRegistry();
    await loadSolverPackages(registry, [pathToFileURL(join(dir, 'dist/index.js')).href]);
    expect(registry.names()).toEqual(['acmedns']);
  }, 20 * 60_000);

  it('the generated test fails when the solver breaks a rule (the kit is really checking)', async () => {
    const dir = join(scratch, 'acmedns');
    const index = join(dir, 'src/index.ts');
    const original = readFileSync(index, 'utf8');
    const honest = '      remove: (_target, record) => api.deleteTxt(record.id!),';
    expect(original).toContain(honest);
    // CleanUp deletes every value at the name (the classic wildcard + apex bug): strict Extended must catch it.
    writeFileSync(index, original.replace(honest, '      remove: async (target) => { for (const r of await api.listTxt(target.fqdn)) await api.deleteTxt(r.id!); },'));
    try {
      const test = await run('npm', ['test'], dir, 5 * 60_000);
      expect(test.code, show(test)).not.toBe(0);
      expect(test.stdout + test.stderr).toMatch(/extended/);
    } finally {
      writeFileSync(index, original);
    }
  }, 10 * 60_000);

  it('usage errors: a name that is no DNS label, a non-empty directory, no name', async () => {
    const bad = await run(process.execPath, [CLI, 'init-solver', 'My_Provider'], scratch, 30_000);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('<name> "My_Provider" must be a lower-case DNS label');
    const taken = join(scratch, 'taken');
    await run('mkdir', ['-p', taken], scratch, 5000);
    writeFileSync(join(taken, 'keep.txt'), 'mine');
    const busy = await run(process.execPath, [CLI, 'init-solver', 'x', '--dir', taken], scratch, 30_000);
    expect(busy.code).toBe(2);
    expect(busy.stderr).toContain('is not empty; choose another directory or pass --force');
    expect(readFileSync(join(taken, 'keep.txt'), 'utf8')).toBe('mine');
    const none = await run(process.execPath, [CLI, 'init-solver'], scratch, 30_000);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('give exactly one <name>');
  });

  it("pins the generated dev tools to the versions this repository builds with", () => {
    const root = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
    for (const [name, version] of Object.entries(TEMPLATE_DEV_VERSIONS)) expect([name, version]).toEqual([name, root.devDependencies[name]]);
  });
});
