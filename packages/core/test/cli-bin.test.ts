/**
 * The `dns01-webhook` bin (issue 7 §6): npm links it on `npm ci` because its target is a committed file, and in
 * a source checkout without dist/ it builds the CLI on first use instead of failing.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const PACKAGE = fileURLToPath(new URL('..', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const SHIM = join(PACKAGE, 'bin', 'dns01-webhook.js');

it('npm links node_modules/.bin/dns01-webhook to the committed bin, and `npx dns01-webhook --help` works', () => {
  const linked = join(REPO_ROOT, 'node_modules', '.bin', 'dns01-webhook');
  expect(existsSync(linked), 'run npm ci: the bin is linked at install time').toBe(true);
  expect(realpathSync(linked)).toBe(realpathSync(SHIM));
  const help = spawnSync('npx', ['--no-install', 'dns01-webhook', '--help'], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
  expect(help.status, help.stderr).toBe(0);
  expect(help.stdout).toContain('dns01-webhook');
});

it('builds dist/ on first use in a checkout that has none, then runs it', () => {
  // A stand-in package with the real bin: its "CLI" is one TypeScript line, compiled by the repo's tsc.
  const dir = mkdtempSync(join(tmpdir(), 'cli-bin-'));
  try {
    mkdirSync(join(dir, 'bin'));
    mkdirSync(join(dir, 'src', 'cli'), { recursive: true });
    cpSync(SHIM, join(dir, 'bin', 'dns01-webhook.js'));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'stand-in', type: 'module' }));
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', target: 'ES2022', rootDir: 'src', outDir: 'dist', types: [] }, include: ['src'] }));
    writeFileSync(join(dir, 'src', 'cli', 'main.ts'), "declare const console: any, process: any;\nconsole.log(`built and ran with ${process.argv.slice(2).join(' ')}`);\nexport {};\n");
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'));
    const first = spawnSync(process.execPath, [join(dir, 'bin', 'dns01-webhook.js'), 'check', '--help'], { encoding: 'utf8', timeout: 120_000 });
    expect(first.status, first.stderr).toBe(0);
    expect(first.stderr).toContain('building the CLI');
    expect(first.stdout).toBe('built and ran with check --help\n');
    const second = spawnSync(process.execPath, [join(dir, 'bin', 'dns01-webhook.js'), 'x'], { encoding: 'utf8', timeout: 60_000 });
    expect(second.stderr).toBe('');
    expect(second.stdout).toBe('built and ran with x\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
