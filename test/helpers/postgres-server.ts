/** The tests' PostgreSQL server: scripts/postgres-server.mjs (plain JavaScript, shared with the benchmarks). */
export { findPostgresBin, startPostgresServer, type PostgresServer, type StartOptions } from '../../scripts/postgres-server.mjs';
