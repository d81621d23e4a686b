import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The e2e tier: real kube-apiserver/etcd/webhook processes, and the chart checks (helm + server-side apply).
// Run with `npm run test:e2e` (builds, installs the binaries, then runs this config and cert-manager's Go
// conformance suite). Files run one at a time: each starts its own control plane, and the machine has 2 cores.
export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    include: ['test/e2e/**/*.test.ts', 'test/chart/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 120_000,
    hookTimeout: 900_000,
    pool: 'forks',
    fileParallelism: false,
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
