/**
 * `dns01-webhook init-solver <name>`: writes a new solver package — a record solver with TODOs where the
 * provider calls go, a tiny emulator of a made-up provider, and a conformance test that passes out of the box —
 * from the templates in `templates/solver/` (shipped with the core).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { EXIT, UsageError } from './usage.js';

export const INIT_SOLVER_HELP = `Usage: dns01-webhook init-solver <name> [--dir <path>] [--package-name <npm-name>] [--core <spec>] [--force]

Writes a solver package for a new DNS provider: src/index.ts (defineRecordSolver, a config schema, TODOs
where the provider calls go), a tiny emulator of a made-up provider API, a conformance test (Basic, strict
Extended, Concurrency over real DNS) that passes before you change a line, a README with the ClusterIssuer
snippet, and a Dockerfile fragment that bakes the package into the webhook image.

  <name>                 the solverName, a lower-case DNS label (e.g. gandi)
  --dir <path>           where to write (default ./dns01-solver-<name>); must be empty unless --force
  --package-name <name>  the npm package name (default dns01-solver-<name>)
  --core <spec>          npm spec of @dns01-webhook/core for development, e.g. file:../dns01-webhook/packages/core
                         (default ^<this core's version>)
  --force                write into a non-empty directory (existing files are overwritten)

Then: cd <dir> && npm install && npm run typecheck && npm run build && npm test

Exit codes: 0 written, 1 the directory could not be written, 2 usage error.`;

const SOLVER_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const PACKAGE_NAME = /^(@[a-z0-9][-a-z0-9._~]*\/)?[a-z0-9][-a-z0-9._~]*$/;
/** Dev tools of the generated package: the versions this repository builds and tests with. */
export const TEMPLATE_DEV_VERSIONS = { typescript: '~5.9.3', vitest: '^4.1.12', '@types/node': '^20.19.43' };
/** Template files whose names npm or git would treat specially are stored with `.tmpl`. */
const RENAMES: Record<string, string> = { 'package.json.tmpl': 'package.json', 'gitignore.tmpl': '.gitignore' };

/** `templates/solver/` next to `dist/` (or `src/`): both sit two levels below the package root. */
export function templateDir(): string {
  return fileURLToPath(new URL('../../templates/solver/', import.meta.url));
}

function coreVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

async function templateFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await templateFiles(path)));
    else out.push(path);
  }
  return out.sort();
}

export interface InitSolverOptions {
  name: string;
  dir: string;
  packageName?: string;
  coreSpec?: string;
  force?: boolean;
}

/** Writes the package; returns the files written, relative to `dir`. */
export async function initSolver(options: InitSolverOptions): Promise<string[]> {
  const version = coreVersion();
  const values: Record<string, string> = {
    __SOLVER__: options.name,
    __PACKAGE__: options.packageName ?? `dns01-solver-${options.name}`,
    __CORE_SPEC__: options.coreSpec ?? `^${version}`,
    __CORE_RANGE__: `^${version}`,
    __TYPESCRIPT__: TEMPLATE_DEV_VERSIONS.typescript,
    __VITEST__: TEMPLATE_DEV_VERSIONS.vitest,
    __TYPES_NODE__: TEMPLATE_DEV_VERSIONS['@types/node'],
  };
  const source = templateDir();
  const written: string[] = [];
  for (const file of await templateFiles(source)) {
    const rel = relative(source, file);
    const target = join(options.dir, dirname(rel), RENAMES[rel.split('/').pop()!] ?? rel.split('/').pop()!);
    const text = (await readFile(file, 'utf8')).replace(/__[A-Z_]+__/g, (m) => values[m] ?? m);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, text);
    written.push(relative(options.dir, target));
  }
  return written;
}

export async function runInitSolver(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        dir: { type: 'string' },
        'package-name': { type: 'string' },
        core: { type: 'string' },
        force: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message, 'init-solver');
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${INIT_SOLVER_HELP}\n`);
    return EXIT.ok;
  }
  if (positionals.length !== 1) throw new UsageError('give exactly one <name>, the solverName (e.g. gandi)', 'init-solver');
  const name = positionals[0]!;
  if (!SOLVER_NAME.test(name) || name.length > 63) {
    throw new UsageError(`<name> "${name}" must be a lower-case DNS label (a-z, 0-9, "-"): it becomes the solverName and an API resource name`, 'init-solver');
  }
  const packageName = values['package-name'] ?? `dns01-solver-${name}`;
  if (!PACKAGE_NAME.test(packageName)) throw new UsageError(`--package-name "${packageName}" is not a valid npm package name`, 'init-solver');
  const dir = resolve(values.dir ?? `dns01-solver-${name}`);
  if (existsSync(dir) && readdirSync(dir).length > 0 && !values.force) {
    throw new UsageError(`--dir ${dir} is not empty; choose another directory or pass --force to overwrite`, 'init-solver');
  }
  const written = await initSolver({ name, dir, packageName, ...(values.core ? { coreSpec: values.core } : {}), force: values.force === true });
  process.stdout.write(
    [
      `wrote solver "${name}" (package ${packageName}) to ${dir}:`,
      ...written.map((f) => `  ${f}`),
      '',
      'next:',
      `  cd ${relative(process.cwd(), dir) || '.'}`,
      '  npm install && npm run typecheck && npm run build && npm test',
      '  then replace the made-up API in src/client.ts (and test/emulator.ts) with your provider\'s',
      '',
    ].join('\n'),
  );
  return EXIT.ok;
}
