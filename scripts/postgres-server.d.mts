export interface PostgresServer {
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** A URL of database `db` on this server. */
  url(db: string): string;
  /** A new empty database; returns its URL. */
  createDatabase(name?: string, template?: string): Promise<string>;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** fsync on commit (default off: tests need no durability from the server, only from wearhook's protocol). */
  fsync?: boolean;
  /** Extra server settings (`-c name=value`). */
  settings?: Record<string, string | number>;
}

export function findPostgresBin(): string;
export function startPostgresServer(options?: StartOptions): Promise<PostgresServer>;
