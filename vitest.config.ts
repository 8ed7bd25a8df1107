import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Two projects: `sqlite` runs every test file on SQLite (the default store); `postgres` runs, on
 * a real PostgreSQL server started once for the run by test/helpers/postgres-setup.ts
 * (WEARHOOK_TEST_STORE=postgres), the files of test/postgres/ and again every file of
 * BOTH_ENGINES: those make their stores with test/helpers/engine.ts, so the same tests check
 * the same behaviour on both engines.
 */
const POSTGRES_ONLY = ['test/postgres/**/*.test.ts'];
export const BOTH_ENGINES = [
  'test/versions.test.ts',
  'test/export.test.ts',
  'test/export-errors.test.ts',
  'test/export-tables.test.ts',
  'test/export-share.test.ts',
  'test/export-time.test.ts',
  'test/report.test.ts',
  'test/participants.test.ts',
  'test/store-subscriptions.test.ts',
  'test/store-migrations.test.ts',
  'test/subs-cli.test.ts',
  'test/subs-delete-prompt.test.ts',
  'test/subs-contract.test.ts',
  'test/cli-listen.test.ts',
  'test/receiver-work.test.ts',
  'test/receiver-queue.test.ts',
  'test/receiver-bodies.test.ts',
  'test/store-claims.test.ts',
  'test/receiver-hostile.test.ts',
  'test/receiver-http.test.ts',
  'test/forwarding.test.ts',
  'test/hooks.test.ts',
  'test/events-replay.test.ts',
  'test/events-search.test.ts',
  'test/cli-listen-oura.test.ts',
  'test/subs-listen-e2e.test.ts',
  'test/listen-tunnel.test.ts',
  'test/ui-console.test.ts',
  'test/doctor-completion.test.ts',
  'test/cli.test.ts',
  'test/contract-audit.test.ts',
  'test/sync-concurrency.test.ts',
  'test/oura-sync.test.ts',
  'test/oura-refresh.test.ts',
  'test/coverage.test.ts',
  'test/oura-auth.test.ts',
  'test/enrolment.test.ts',
  'test/reconcile-study.test.ts',
];

export default defineConfig({
  test: {
    // Generous limits: on a loaded 2-core machine a test that spawns several CLI processes can take
    // well over 30 s without anything being wrong; a real hang still fails, only later.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Child-process and server tests share 2 cores; a test often waits on a child or a socket, so a
    // third file in flight keeps both busy (341 s -> 320 s for the suite), and the pool stays small.
    poolOptions: { forks: { maxForks: 3, minForks: 1 } },
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: {
          name: 'sqlite',
          include: ['test/**/*.test.ts'],
          // The reliability suite has its own config and script (npm run test:reliability).
          exclude: [...configDefaults.exclude, 'test/reliability/**', ...POSTGRES_ONLY],
        },
      },
      {
        extends: true,
        test: {
          name: 'postgres',
          include: [...POSTGRES_ONLY, ...BOTH_ENGINES],
          globalSetup: ['test/helpers/postgres-setup.ts'],
          env: { WEARHOOK_TEST_STORE: 'postgres' },
        },
      },
    ],
  },
});
