import type { DB } from './db.js';
import { keepEveryDocumentVersion } from './migrate-versions.js';
import { rekeyOuraDeliveries } from './migrate-dedupe-keys.js';

/**
 * One step of the schema: SQL, or a function for a step that must compute (hashes, days).
 * It runs inside the step's transaction.
 */
export type Migration = string | ((db: DB) => void);

/**
 * Versioned schema. Each entry upgrades the file from version i to i+1 inside one
 * transaction; `PRAGMA user_version` records where a file stands. Never edit a shipped
 * migration: add a new one, so that old files upgrade in place.
 */
export const MIGRATIONS: readonly Migration[] = [
  // 1: deliveries, provider documents and users.
  `
  CREATE TABLE deliveries (
    id            INTEGER PRIMARY KEY,
    provider      TEXT    NOT NULL,
    received_at   TEXT    NOT NULL,
    method        TEXT    NOT NULL,
    path          TEXT    NOT NULL,
    headers       TEXT    NOT NULL,          -- JSON array of [name, value] pairs, as received
    body          BLOB    NOT NULL,          -- the exact bytes
    verified      INTEGER NOT NULL,          -- 1 = signature checked and good
    dedupe_key    TEXT    NOT NULL UNIQUE,
    event_type    TEXT,
    user_id       TEXT,
    status        TEXT    NOT NULL DEFAULT 'received',
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    error         TEXT,
    processed_at  TEXT
  );
  CREATE INDEX deliveries_by_status ON deliveries(status, next_attempt_at);
  CREATE INDEX deliveries_by_time ON deliveries(received_at);

  CREATE TABLE documents (
    provider   TEXT NOT NULL,
    type       TEXT NOT NULL,
    id         TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    day        TEXT,
    data       TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (provider, type, id)
  );
  CREATE INDEX documents_by_user_day ON documents(type, user_id, day);

  CREATE TABLE users (
    provider   TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    label      TEXT,
    scopes     TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (provider, user_id)
  );
  `,
  // 2: subscriptions, timeseries samples, document start times and deletion marks,
  //    user token state; export queries by (type, day) across users.
  `
  ALTER TABLE documents ADD COLUMN start_time TEXT;
  ALTER TABLE documents ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE documents ADD COLUMN source TEXT;
  CREATE INDEX documents_by_day ON documents(type, day);

  ALTER TABLE users ADD COLUMN updated_at TEXT;
  ALTER TABLE users ADD COLUMN token_expires_at TEXT;
  ALTER TABLE users ADD COLUMN needs_reauth INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE users ADD COLUMN last_error TEXT;
  CREATE UNIQUE INDEX users_by_label ON users(provider, label) WHERE label IS NOT NULL;

  CREATE TABLE subscriptions (
    id                 TEXT PRIMARY KEY,
    provider           TEXT NOT NULL DEFAULT 'oura',
    callback_url       TEXT NOT NULL,
    event_type         TEXT NOT NULL,
    data_type          TEXT NOT NULL,
    expiration_time    TEXT,
    verification_token_sha256 TEXT,          -- a hash: the token itself never enters the database
    created_by_wearhook INTEGER NOT NULL DEFAULT 0,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL
  );

  CREATE TABLE samples (
    provider    TEXT    NOT NULL,
    user_id     TEXT    NOT NULL,
    series_type TEXT    NOT NULL,
    epoch_ms    INTEGER NOT NULL,
    timestamp   TEXT    NOT NULL,             -- ISO 8601 with the provider's offset
    day         TEXT    NOT NULL,
    value       REAL,
    unit        TEXT,
    source_id   TEXT,
    PRIMARY KEY (provider, user_id, series_type, epoch_ms)
  ) WITHOUT ROWID;
  CREATE INDEX samples_by_day ON samples(series_type, day);
  `,
  // 3: the end of the period a document covers, so that HRV samples can be given the day of
  //    the sleep they fall in (CONTRACT: hrv's day is the day of the sleep the sample belongs to).
  `
  ALTER TABLE documents ADD COLUMN end_time TEXT;
  `,
  // 4: verification tokens of subscriptions being created. Oura checks the callback while
  //    `subs create` waits for its answer, so a separately running `listen` must already know
  //    the token (as a hash) before the subscription, and its id, exist.
  `
  CREATE TABLE pending_verification_tokens (
    id           INTEGER PRIMARY KEY,
    token_sha256 TEXT NOT NULL,
    callback_url TEXT NOT NULL,
    event_type   TEXT NOT NULL,
    data_type    TEXT NOT NULL,
    created_at   TEXT NOT NULL
  );
  `,
  // 5: work claims on deliveries (owner and lease, see claims.ts), so that several `listen`
  //    processes on one database never do the same delivery's work twice.
  //    Written out, not generated: a shipped migration must never change.
  `
  ALTER TABLE deliveries ADD COLUMN claim_owner TEXT;
  ALTER TABLE deliveries ADD COLUMN claim_until INTEGER;
  CREATE INDEX deliveries_by_claim_owner ON deliveries(claim_owner) WHERE claim_owner IS NOT NULL;
  `,
  // 6: every version of every document (issue #10), sync runs, the provenance of samples;
  //    existing documents become their first version, days recomputed (see migrate-versions.ts).
  keepEveryDocumentVersion,
  // 7: participants. A participant is a label with an optional time zone and enrolment window,
  //    and any number of provider accounts (an Oura ring and a Vital-linked watch are one person).
  //    The label moves from the users row (Oura only, one per provider) to the account link; the
  //    labels users already had become participants. Deliveries get an index by user, for the
  //    report's "last delivery" and for waking the deliveries that wait for a user to enrol.
  `
  CREATE TABLE participants (
    label      TEXT PRIMARY KEY,
    tz         TEXT,                            -- IANA zone, or NULL: the providers' own offsets
    start_day  TEXT,                            -- enrolment window, YYYY-MM-DD, inclusive
    end_day    TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE TABLE participant_accounts (
    provider  TEXT NOT NULL,
    user_id   TEXT NOT NULL,
    label     TEXT NOT NULL REFERENCES participants(label) ON UPDATE CASCADE ON DELETE CASCADE,
    linked_at TEXT NOT NULL,
    PRIMARY KEY (provider, user_id)
  );
  CREATE INDEX participant_accounts_by_label ON participant_accounts(label);

  INSERT INTO participants (label, created_at, updated_at)
    SELECT label, MIN(created_at), MIN(created_at) FROM users WHERE label IS NOT NULL GROUP BY label;
  INSERT INTO participant_accounts (provider, user_id, label, linked_at)
    SELECT provider, user_id, label, created_at FROM users WHERE label IS NOT NULL;
  DROP INDEX users_by_label;
  ALTER TABLE users DROP COLUMN label;

  CREATE INDEX deliveries_by_user ON deliveries(provider, user_id, received_at);
  `,
  // 8: Oura dedupe keys that cannot collide: a hash of the fields as a JSON array instead of the
  //    fields joined with ':' (see migrate-dedupe-keys.ts), so that retries of stored
  //    notifications are still recognised after the upgrade.
  rekeyOuraDeliveries,
  // 9: the outbox (outbox.ts): per (delivery, target) of a listen run's --forward-to and --exec,
  //    a status, attempts, last answer and next attempt, every attempt kept; targets keep a
  //    cursor (the last delivery looked at), so a restart resumes. Claimed like deliveries.
  `
  CREATE TABLE outbox_targets (
    id         INTEGER PRIMARY KEY,
    kind       TEXT    NOT NULL,             -- forward | hook
    target     TEXT    NOT NULL,             -- the URL, or the hook's command line
    filter     TEXT,                         -- the event filter as given; NULL = every event
    cursor     INTEGER NOT NULL,             -- the highest delivery id looked at
    created_at TEXT    NOT NULL,
    UNIQUE (kind, target)
  );
  CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    target_id       INTEGER NOT NULL REFERENCES outbox_targets(id),
    delivery_id     INTEGER NOT NULL REFERENCES deliveries(id),
    status          TEXT    NOT NULL,        -- pending | done | failed
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_code       INTEGER,                 -- HTTP status, or a hook's exit code
    last_error      TEXT,
    next_attempt_at INTEGER NOT NULL,        -- epoch ms
    give_up_at      INTEGER,                 -- epoch ms; a hook's from its first run
    created_at      TEXT    NOT NULL,
    done_at         TEXT,
    claim_owner     TEXT,
    claim_until     INTEGER,
    UNIQUE (target_id, delivery_id)
  );
  CREATE INDEX outbox_by_target ON outbox(target_id, status, delivery_id);
  CREATE INDEX outbox_by_delivery ON outbox(delivery_id);
  CREATE INDEX outbox_by_claim_owner ON outbox(claim_owner) WHERE claim_owner IS NOT NULL;
  CREATE TABLE outbox_attempts (
    outbox_id   INTEGER NOT NULL REFERENCES outbox(id),
    attempt     INTEGER NOT NULL,
    at          TEXT    NOT NULL,
    duration_ms INTEGER NOT NULL,
    code        INTEGER,
    error       TEXT,
    output      TEXT,                        -- the end of a hook's output
    PRIMARY KEY (outbox_id, attempt)
  ) WITHOUT ROWID;
  `,
  // 10: remote enrolment. Invites are one-use links: only the SHA-256 of their token is kept,
  //    with the SHA-256 of the OAuth state of the consent under way. The public URL of each
  //    running `listen` is recorded, so that `participants invite` can put its link on it.
  `
  CREATE TABLE enrolment_invites (
    token_sha256     TEXT PRIMARY KEY,
    label            TEXT NOT NULL REFERENCES participants(label) ON UPDATE CASCADE ON DELETE CASCADE,
    provider         TEXT NOT NULL DEFAULT 'oura',
    created_at       TEXT NOT NULL,
    expires_at       TEXT NOT NULL,
    state_sha256     TEXT,
    state_expires_at TEXT,
    redirect_uri     TEXT,
    used_at          TEXT,
    enrolled_user_id TEXT
  );
  CREATE UNIQUE INDEX enrolment_invites_by_state ON enrolment_invites(state_sha256) WHERE state_sha256 IS NOT NULL;
  CREATE INDEX enrolment_invites_by_label ON enrolment_invites(label);

  CREATE TABLE listen_public_urls (
    id         INTEGER PRIMARY KEY,
    public_url TEXT NOT NULL,
    pid        INTEGER NOT NULL,
    host       TEXT NOT NULL,
    started_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  `,
  // 11: reconciliation while listening (issue #17): named leases, so that of several `listen`
  //    processes on one database only one runs a reconciliation pass at a time; the passes
  //    themselves; and on each sync run the user's last document day when it started (the
  //    next pass looks back at least that far: a ring that synced after days offline).
  `
  CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    owner       TEXT    NOT NULL,
    until       INTEGER NOT NULL,          -- epoch ms: free for anyone after this unless renewed
    acquired_at INTEGER NOT NULL           -- epoch ms
  );

  CREATE TABLE reconcile_passes (
    id          INTEGER PRIMARY KEY,
    provider    TEXT NOT NULL,
    reason      TEXT NOT NULL,             -- start | interval | outage
    owner       TEXT NOT NULL,             -- the listen process (claims.ts owner)
    types       TEXT NOT NULL,             -- JSON array of data types
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    status      TEXT NOT NULL,             -- running | done | stopped
    users       INTEGER NOT NULL DEFAULT 0,
    failed      INTEGER NOT NULL DEFAULT 0,
    listed      INTEGER NOT NULL DEFAULT 0,
    new         INTEGER NOT NULL DEFAULT 0,
    updated     INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX reconcile_passes_by_time ON reconcile_passes(provider, started_at);

  ALTER TABLE sync_runs ADD COLUMN frontier_day TEXT;
  `,
  // 12: what the provider says the wearer was doing when a sample was taken (Oura heart rate's
  //    `source`: awake, rest, sleep, session, live, workout), exported as heart_rate.context.
  //    Oura's enhanced tags and rest mode periods have no `day` but a `start_day` (and a
  //    start_time): stored without a day they could never be exported.
  `
  ALTER TABLE samples ADD COLUMN context TEXT;
  UPDATE documents SET day = json_extract(data, '$.start_day'), start_time = COALESCE(start_time, json_extract(data, '$.start_time')),
         end_time = COALESCE(end_time, json_extract(data, '$.end_time'))
   WHERE provider = 'oura' AND type IN ('enhanced_tag', 'rest_mode_period') AND day IS NULL AND json_valid(data);
  UPDATE document_versions SET day = json_extract(data, '$.start_day'), start_time = COALESCE(start_time, json_extract(data, '$.start_time')),
         end_time = COALESCE(end_time, json_extract(data, '$.end_time'))
   WHERE provider = 'oura' AND type IN ('enhanced_tag', 'rest_mode_period') AND day IS NULL AND json_valid(data);
  `,
  // 13: paces shared by every process on one database (store/paces.ts): the receivers' Oura
  //    document fetches keep to one rate together, however many `listen` processes there are.
  `
  CREATE TABLE paces (
    name    TEXT PRIMARY KEY,
    next_at INTEGER NOT NULL               -- epoch ms on the database's clock: when the next request is due at the steady rate
  );
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;
