#!/usr/bin/env node
/**
 * The `dns01-webhook` command: `serve` (the webhook server), `present` / `cleanup` (one challenge, in-process),
 * `check` (is a TXT value visible in DNS?) and `dev` (local playground). Each subcommand parses its own flags.
 */
import { readFileSync } from 'node:fs';
import { EXIT, UsageError } from './usage.js';

const HELP = `Usage: dns01-webhook <command> [flags]

Commands:
  serve     run the cert-manager webhook (aggregated API server)      dns01-webhook serve --help
  present   present one TXT record with a solver, in this process      dns01-webhook present --help
  cleanup   clean up one TXT record with a solver, in this process     dns01-webhook cleanup --help
  check     check whether a TXT value is visible in DNS                dns01-webhook check --help
  dev       local playground: DNS + webhook, memory solver, auth OFF   dns01-webhook dev --help
  doctor    diagnose an installation from a kubeconfig, with fixes    dns01-webhook doctor --help
  init-solver  generate a new solver package (passes the kit as is)   dns01-webhook init-solver --help

Flags:
  -h, --help     show this help
  -v, --version  print the version`;

function version(): string {
  // dist/cli/cli.js, dist/bundle/cli.js and src/cli/cli.ts all sit two levels below the package root.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

type Runner = (argv: string[]) => Promise<number | void>;

/** Loaded on demand so one command does not pay for (or break on) another's dependencies. */
const COMMANDS: Record<string, () => Promise<Runner>> = {
  serve: async () => (await import('./serve.js')).runServe,
  present: async () => (argv) => import('./challenge.js').then((m) => m.runChallenge('present', argv)),
  cleanup: async () => (argv) => import('./challenge.js').then((m) => m.runChallenge('cleanup', argv)),
  check: async () => (argv) => import('./check.js').then((m) => m.runCheck(argv)),
  dev: async () => (argv) => import('./dev.js').then((m) => m.runDev(argv)),
  doctor: async () => (argv) => import('./doctor.js').then((m) => m.runDoctor(argv)),
  'init-solver': async () => (argv) => import('./init-solver.js').then((m) => m.runInitSolver(argv)),
};

export async function main(argv: string[]): Promise<number | undefined> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(`${HELP}\n`);
    return command === undefined ? EXIT.usage : EXIT.ok;
  }
  if (command === '-v' || command === '--version') {
    process.stdout.write(`${version()}\n`);
    return EXIT.ok;
  }
  const load = COMMANDS[command];
  if (!load) throw new UsageError(`unknown command "${command}"; expected one of: ${Object.keys(COMMANDS).join(', ')}`);
  const result = await (await load())(rest);
  // `serve` resolves with nothing and keeps running until a signal: leave the exit code to it.
  return typeof result === 'number' ? result : undefined;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      const helpFor = err.command ? `dns01-webhook ${err.command} --help` : 'dns01-webhook --help';
      process.stderr.write(`error: ${err.message}\nRun "${helpFor}" for usage.\n`);
      process.exitCode = EXIT.usage;
    } else {
      process.stderr.write(`error: ${(err as Error)?.message ?? String(err)}\n`);
      process.exitCode = EXIT.failure;
    }
  },
);
