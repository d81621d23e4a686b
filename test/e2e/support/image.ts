/**
 * The project's image, built from the repository's Dockerfile with buildah on local stand-ins for its two base
 * images (image/base-images.sh: no registry is reachable here). Shared by image.test.ts (podman runs it like the
 * chart's pod) and pods.test.ts (containerd runs it as the chart's pods).
 *
 * `--layers` reuses unchanged steps, so the second build in a tier run takes seconds. The returned id is this
 * build's own image (`--iidfile`): the `localhost/dns01-webhook:e2e` tag lives in buildah's machine-wide
 * storage, and another worktree's run may re-tag it at any moment.
 */
import { execFile } from 'node:child_process';
import { expect } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../webhook.js';

const exec = promisify(execFile);
export const IMAGE_TAG = 'localhost/dns01-webhook:e2e';
/** The image's user and group (distroless nonroot), which the chart's securityContext also sets. */
export const NONROOT = 65532;
export const IMAGE_REPOSITORY = 'localhost/dns01-webhook';

export interface BuiltImage {
  /** Full image id (sha256 hex). */
  id: string;
  /** The stand-ins it was built on. */
  baseImages: { build: string; runtime: string };
  timings: { baseImagesMs: number; buildMs: number };
}

async function buildah(args: string[], timeoutMs = 20 * 60_000): Promise<string> {
  const { stdout } = await exec('buildah', args, { cwd: REPO_ROOT, timeout: timeoutMs, maxBuffer: 64 << 20 });
  return stdout;
}

export async function buildProjectImage(): Promise<BuiltImage> {
  let t0 = Date.now();
  const { stdout } = await exec('bash', [join(REPO_ROOT, 'test/e2e/image/base-images.sh')], { timeout: 20 * 60_000 });
  const [build, runtime] = stdout.trim().split(/\s+/);
  const baseImagesMs = Date.now() - t0;

  t0 = Date.now();
  const tmp = mkdtempSync(join(tmpdir(), 'dns01-image-'));
  try {
    const iidfile = join(tmp, 'iid');
    // chroot isolation: the RUN steps need no runtime, cgroups or network namespace of their own (npm ci reaches
    // the registry over the host's network); --layers reuses unchanged steps between runs.
    await buildah(['build', '--isolation=chroot', '--network=host', '--layers', '--quiet', '--iidfile', iidfile,
      '--build-arg', `BUILD_IMAGE=${build}`, '--build-arg', `RUNTIME_IMAGE=${runtime}`,
      '--tag', IMAGE_TAG, '--file', 'Dockerfile', '.'])
      .catch((err: { stderr?: string; message: string }) => { throw new Error(`buildah build failed: ${(err.stderr ?? err.message).slice(-3000)}`); });
    const id = readFileSync(iidfile, 'utf8').trim().replace(/^sha256:/, '');
    return { id, baseImages: { build: build!, runtime: runtime! }, timings: { baseImagesMs, buildMs: Date.now() - t0 } };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** The short tag an image is saved under for containerd: `localhost/dns01-webhook:<first 12 hex of its id>`. */
export function imageRef(id: string): { repository: string; tag: string; ref: string } {
  const tag = id.slice(0, 12);
  return { repository: IMAGE_REPOSITORY, tag, ref: `${IMAGE_REPOSITORY}:${tag}` };
}

/**
 * The image as a docker-archive (what `ctr images import` reads), cached per image id in $DNS01_CACHE/node/images;
 * archives nobody touched for a day are removed (each is the image's full size).
 */
export async function imageArchive(id: string): Promise<string> {
  const dir = join(process.env.DNS01_CACHE ?? '/var/cache/dns01-webhook', 'node', 'images');
  mkdirSync(dir, { recursive: true });
  const { tag, ref } = imageRef(id);
  const archive = join(dir, `dns01-webhook-${tag}.tar`);
  if (!existsSync(archive)) {
    const partial = `${archive}.${process.pid}.tmp`;
    await buildah(['push', '--quiet', id, `docker-archive:${partial}:${ref}`], 10 * 60_000);
    renameSync(partial, archive);
  } else {
    utimesSync(archive, new Date(), new Date());
  }
  const dayAgo = Date.now() - 24 * 3600_000;
  for (const f of readdirSync(dir)) {
    const path = join(dir, f);
    if (path !== archive && statSync(path).mtimeMs < dayAgo) rmSync(path, { force: true });
  }
  return archive;
}

/**
 * Asserts what the chart's securityContext promises, from the kernel's view of the running process: uid/gid 65532
 * with fsGroup, no capabilities, no new privileges, seccomp, a read-only root (with /tls read-only and /tmp
 * writable), and the image's entrypoint with `args`.
 */
export function expectChartSecurityContext(pid: number, args: string[]): void {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  expect(status).toMatch(new RegExp(`^Uid:\\s+${NONROOT}\\s+${NONROOT}\\s+${NONROOT}\\s+${NONROOT}$`, 'm'));
  expect(status).toMatch(new RegExp(`^Gid:\\s+${NONROOT}\\s`, 'm'));
  expect(status).toMatch(new RegExp(`^Groups:.*\\b${NONROOT}\\b`, 'm'));
  for (const set of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) expect(status).toMatch(new RegExp(`^${set}:\\s+0+$`, 'm'));
  expect(status).toMatch(/^NoNewPrivs:\s+1$/m);
  expect(status).toMatch(/^Seccomp:\s+2$/m);
  const mounts = readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n').map((l) => l.split(' '));
  const optionsAt = (path: string) => mounts.find((f) => f[4] === path)?.[5] ?? '';
  expect(optionsAt('/').split(',')).toContain('ro');
  expect(optionsAt('/tls').split(',')).toContain('ro');
  expect(optionsAt('/tmp').split(',')).toContain('rw');
  const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  expect(cmdline).toEqual(['/nodejs/bin/node', '--max-semi-space-size=8', 'packages/core/dist/cli/main.js', 'serve', ...args]);
}
