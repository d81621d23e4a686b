/**
 * A small Dockerfile reader for the image checks: there is no Docker engine on the build machine, so the test
 * replays the Dockerfile's own npm command and COPY lines on the file system instead.
 */
import { cpSync, mkdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export interface Instruction {
  keyword: string;
  args: string;
}

export interface Stage {
  from: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** Splits a Dockerfile into stages of instructions (continuation lines joined, comments dropped). */
export function parseDockerfile(text: string): Stage[] {
  const logical: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (pending !== '' && line.startsWith('#')) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1).trim()} `;
      continue;
    }
    logical.push((pending + line).trim());
    pending = '';
  }
  const stages: Stage[] = [];
  for (const line of logical) {
    const [keyword = '', ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    if (keyword.toUpperCase() === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!m) throw new Error(`cannot read FROM line: ${line}`);
      stages.push({ from: m[1]!, name: m[2], instructions: [] });
    } else if (keyword.toUpperCase() !== 'ARG' || stages.length > 0) {
      stages.at(-1)?.instructions.push({ keyword: keyword.toUpperCase(), args });
    }
  }
  return stages;
}

export function stage(stages: Stage[], name: string): Stage {
  const found = stages.find((s) => s.name === name);
  if (!found) throw new Error(`Dockerfile has no stage "${name}" (stages: ${stages.map((s) => s.name).join(', ')})`);
  return found;
}

export interface CopyStep {
  from: string | undefined;
  sources: string[];
  dest: string;
}

export function copySteps(s: Stage): CopyStep[] {
  return s.instructions
    .filter((i) => i.keyword === 'COPY')
    .map((i) => {
      const words = i.args.split(/\s+/);
      const fromFlag = words.find((w) => w.startsWith('--from='));
      const paths = words.filter((w) => !w.startsWith('--'));
      return { from: fromFlag?.slice('--from='.length), sources: paths.slice(0, -1), dest: paths.at(-1)! };
    });
}

/** The shell command of each RUN, without BuildKit flags such as --mount. */
export function runCommands(s: Stage): string[] {
  return s.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args.replace(/^(--\S+\s+)+/, ''));
}

/**
 * Applies one COPY the way Docker does for the cases this Dockerfile uses: a directory's contents go into dest;
 * a file goes to dest, or into it when dest ends with "/". Symlinks are kept as links.
 */
export function applyCopy(srcRoot: string, srcPath: string, destRoot: string, dest: string, workdir: string): void {
  const from = join(srcRoot, srcPath);
  const target = dest.startsWith('/') ? join(destRoot, dest) : join(destRoot, workdir, dest);
  if (statSync(from).isDirectory()) {
    mkdirSync(target, { recursive: true });
    cpSync(from, target, { recursive: true, verbatimSymlinks: true });
    return;
  }
  const file = dest.endsWith('/') || dest === '.' || dest === './' ? join(target, basename(from)) : target;
  mkdirSync(dirname(file), { recursive: true });
  cpSync(from, file);
}
