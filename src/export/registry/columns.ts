/**
 * The one typed column registry of the export: every column of every table is defined here
 * once (name, type, unit, description, the provider fields behind it, allowed values). The
 * CSV, JSON, NDJSON and Parquet writers and the codebook (`datapackage.json`) are all written
 * from these definitions, and each provider's mapping returns rows typed by them, so a
 * column cannot exist without its definition (the compiler refuses an unknown key).
 */

/**
 * - `date`: a calendar day, `YYYY-MM-DD` (Parquet DATE).
 * - `local_datetime`: ISO 8601 with the offset in force at that instant (Parquet: the text; its
 *   instant is the `<t>_utc` twin, which every local datetime column has).
 * - `utc_datetime`: `YYYY-MM-DDTHH:MM:SSZ` (Parquet TIMESTAMP, adjusted to UTC, milliseconds).
 */
export type ColumnType = 'string' | 'integer' | 'number' | 'boolean' | 'date' | 'local_datetime' | 'utc_datetime';

export type ProviderName = 'oura' | 'vital' | 'open-wearables' | 'corsano';

/**
 * What `--pseudonymize` does with a column: `user` and `label` become keyed pseudonyms,
 * `id` (a provider's document id, which may embed a user id) a keyed hash, `free_text` is
 * dropped. Dates and times are shifted by `--shift-dates` whatever their privacy.
 */
export type Privacy = 'user' | 'label' | 'id' | 'free_text';

export interface ColumnSpec<N extends string = string> {
  readonly name: N;
  readonly type: ColumnType;
  readonly description: string;
  /** The unit of a measure (`s`, `bpm`, `ms`, `%`, ...); absent for counts, scores and text. */
  readonly unit?: string;
  /** The provider fields behind the column, per provider (e.g. `sleep.total_sleep_duration`). */
  readonly sources?: Partial<Record<ProviderName, string>>;
  /** The values a text (or code) column may take, and nothing else (null aside). */
  readonly values?: readonly string[];
  readonly privacy?: Privacy;
}

/** A column of a table as the writers and the codebook see it. */
export interface ColumnDef extends ColumnSpec {
  /** For a `<t>_utc` column: the local datetime column it is the twin of. */
  readonly utcOf?: string;
}

export interface TableDef<N extends string = string> {
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly columns: readonly ColumnDef[];
  /** What a row is: the columns that identify it (documentation; the export never drops rows). */
  readonly rowIs: string;
  /** A table whose rows have no day (a ring's configuration): `--from`/`--to` do not apply. */
  readonly undated?: boolean;
  /** Phantom: the column names, for typing the rows a provider's mapping returns. */
  readonly __names?: N;
}

type UtcTwins<C extends readonly ColumnSpec[]> = {
  [K in keyof C]: C[K] extends { readonly type: 'local_datetime'; readonly name: infer N extends string } ? `${N}_utc` : never;
}[number];

type Names<C extends readonly ColumnSpec[]> = C[number]['name'];

/** The columns every row of every table has after its own leading ones (CONTRACT, second edition). */
export const PROVENANCE = [
  {
    name: 'utc_offset_min',
    type: 'integer',
    unit: 'min',
    description:
      "Offset of the row's local time from UTC in minutes east (for a span: at its start), as in force at that instant; null for a day without any timestamp.",
  },
  {
    name: 'source',
    type: 'string',
    values: ['webhook', 'sync'],
    description: 'How wearhook obtained this version: a webhook delivery or a sync (empty: stored before wearhook recorded it).',
  },
  { name: 'retrieved_at', type: 'utc_datetime', description: 'When wearhook stored this version (UTC).' },
  {
    name: 'version',
    type: 'integer',
    description: "Position of this version among the stored versions of the document, in the provider's order (1 = the oldest); empty for timeseries samples, which have no versions.",
  },
  { name: 'label', type: 'string', privacy: 'label', description: "The participant's label (empty when the account belongs to no participant)." },
] as const satisfies readonly ColumnSpec[];

/** The columns every table starts with. */
export const WHO = [
  { name: 'provider', type: 'string', values: ['oura', 'vital', 'open-wearables', 'corsano'], description: 'The provider the row comes from.' },
  { name: 'user_id', type: 'string', privacy: 'user', description: "The provider's user id of the account." },
] as const satisfies readonly ColumnSpec[];

export const DAY = {
  name: 'day',
  type: 'date',
  description: "The provider's local day the row belongs to (what --from and --to filter on).",
} as const satisfies ColumnSpec;

export const TIME_UNCERTAIN = {
  name: 'time_uncertain',
  type: 'boolean',
  description:
    "True when the row's local times are a best guess: no offset was given, or the offset changed during the span and the zones that have both offsets do not agree on when (a participant's --tz removes the doubt).",
} as const satisfies ColumnSpec;

/**
 * A table: its leading columns (for the first four tables, the first edition's, in order),
 * then a `<t>_utc` twin for each local datetime column among them, then the provenance
 * columns, then the table's own additions (CONTRACT, "Export, second edition").
 */
export function defineTable<const L extends readonly ColumnSpec[], const A extends readonly ColumnSpec[]>(spec: {
  name: string;
  title: string;
  description: string;
  rowIs: string;
  undated?: boolean;
  leading: L;
  additions: A;
}): TableDef<Names<L> | UtcTwins<L> | Names<typeof PROVENANCE> | Names<A>> {
  const twins: ColumnDef[] = spec.leading
    .filter((c) => c.type === 'local_datetime')
    .map((c) => ({
      name: `${c.name}_utc`,
      type: 'utc_datetime',
      description: `The instant of ${c.name} in UTC.`,
      utcOf: c.name,
      ...(c.sources ? { sources: c.sources } : {}),
    }));
  const columns: ColumnDef[] = [...spec.leading, ...twins, ...PROVENANCE, ...spec.additions];
  const seen = new Set<string>();
  for (const column of columns) {
    if (seen.has(column.name)) throw new Error(`export table ${spec.name}: column ${column.name} defined twice`);
    seen.add(column.name);
  }
  return { name: spec.name, title: spec.title, description: spec.description, rowIs: spec.rowIs, undated: spec.undated, columns };
}

/** The names of a table's columns. */
export type ColumnName<T> = T extends TableDef<infer N> ? N : never;

/** One row of a table as a provider's mapping returns it: only the table's columns, any left out is null. */
export type RowOf<T> = { [K in ColumnName<T>]?: string | number | boolean | null };
