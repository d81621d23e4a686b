/**
 * The builds of dns01-webhook a benchmark compares ("ours"): the working tree it runs from, another checkout
 * on disk, or a git commit/branch/tag, which gets its own detached worktree under $DNS01_CACHE/bench/checkouts
 * (npm ci + build once per commit, reused afterwards). Comparing two commits in one run is how a change's
 * cost is measured ("before vs after" under the same machine load).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export interface Checkout {
  /** Short label for tables: `ours`, or `ours@<ref>`. */
  label: string;
  dir: string;
  /** git describe of what runs, for the report. */
  commit: string;
  /** `node <cli> serve ...` */
  cli: string;
}

async function git(cwd: string, args: string[]): Promise<string> {
  const { stdout } = await exec('git', ['-C', cwd, ...args], { maxBuffer: 16 << 20 });
  return stdout.trim();
}

async function run(cwd: string, command: string, args: string[], what: string): Promise<void> {
  try {
    await exec(command, args, { cwd, maxBuffer: 64 << 20, env: { ...process.env, npm_config_fund: 'false', npm_config_audit: 'false' } });
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${what} in ${cwd} failed: ${(e.stderr || e.stdout || e.message).slice(-3000)}`);
  }
}

async function describe(dir: string): Promise<string> {
  const sha = await git(dir, ['rev-parse', '--short=10', 'HEAD']).catch(() => 'unknown');
  const dirty = await git(dir, ['status', '--porcelain', '--untracked-files=no']).catch(() => '');
  return dirty ? `${sha}+dirty` : sha;
}

/** Builds the packages (tsc -b is incremental: cheap when nothing changed). */
async function build(dir: string): Promise<void> {
  await run(dir, 'npm', ['run', '--silent', 'build'], 'npm run build');
}

/**
 * `spec`: a directory (a checkout with node_modules), or a git ref resolved in `repoRoot`.
 * `cacheDir`: where worktrees for refs live.
 */
export async function prepareCheckout(spec: string, repoRoot: string, cacheDir: string, log: (m: string) => void): Promise<Checkout> {
  const asDir = resolve(spec);
  if (existsSync(asDir) && statSync(asDir).isDirectory()) {
    if (!existsSync(join(asDir, 'node_modules'))) throw new Error(`${asDir}: no node_modules (run npm ci there first)`);
    log(`building ${asDir}`);
    await build(asDir);
    const label = asDir === resolve(repoRoot) ? 'ours' : `ours@${asDir.split('/').pop()}`;
    return { label, dir: asDir, commit: await describe(asDir), cli: join(asDir, 'packages/core/dist/cli/main.js') };
  }
  let sha: string;
  try {
    sha = await git(repoRoot, ['rev-parse', '--verify', `${spec}^{commit}`]);
  } catch {
    throw new Error(`--ours ${spec}: neither a directory nor a git ref in ${repoRoot}`);
  }
  const dir = join(cacheDir, 'checkouts', sha.slice(0, 12));
  const ready = join(dir, '.bench-ready');
  if (!existsSync(ready)) {
    mkdirSync(join(cacheDir, 'checkouts'), { recursive: true });
    if (!existsSync(join(dir, '.git'))) {
      log(`git worktree for ${spec} (${sha.slice(0, 10)}) in ${dir}`);
      await git(repoRoot, ['worktree', 'prune']);
      await git(repoRoot, ['worktree', 'add', '--detach', dir, sha]);
    }
    log(`npm ci + build of ${spec} (once per commit)`);
    await run(dir, 'npm', ['ci', '--no-audit', '--no-fund'], 'npm ci');
    await build(dir);
    writeFileSync(ready, `${new Date().toISOString()}\n`);
  }
  return { label: `ours@${spec}`, dir, commit: sha.slice(0, 10), cli: join(dir, 'packages/core/dist/cli/main.js') };
}
