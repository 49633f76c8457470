/**
 * Versioned schema migrations, applied in order at start inside one transaction each.
 * Never edit a released migration: add the next one.
 */
export const MIGRATIONS: readonly string[] = [
  /* 1: the first schema */ `
  CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    login         TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT NOT NULL,
    master_id     INTEGER REFERENCES users(id) ON DELETE CASCADE,
    rights        TEXT NOT NULL DEFAULT '[]',
    created_at    TEXT NOT NULL
  );
  CREATE TABLE sessions (
    digest       BLOB PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX sessions_user ON sessions(user_id);
  CREATE TABLE api_keys (
    digest     BLOB PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX api_keys_user ON api_keys(user_id);
  CREATE TABLE models (
    code             TEXT PRIMARY KEY,
    tracking_profile TEXT,
    source           TEXT NOT NULL CHECK (source IN ('config', 'import'))
  ) WITHOUT ROWID;
  CREATE TABLE devices (
    id            INTEGER PRIMARY KEY,
    device_id     TEXT NOT NULL UNIQUE,
    model         TEXT NOT NULL REFERENCES models(code),
    blocked       INTEGER NOT NULL DEFAULT 0,
    secret_digest BLOB NOT NULL
  );
  CREATE TABLE trackers (
    id       INTEGER PRIMARY KEY,
    owner_id INTEGER NOT NULL REFERENCES users(id),
    label    TEXT NOT NULL,
    device   INTEGER NOT NULL REFERENCES devices(id),
    clone_of INTEGER REFERENCES trackers(id)
  );
  CREATE INDEX trackers_owner ON trackers(owner_id);
  CREATE INDEX trackers_device ON trackers(device);
  CREATE TABLE subuser_trackers (
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    tracker_id INTEGER NOT NULL REFERENCES trackers(id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, tracker_id)
  ) WITHOUT ROWID;
  -- every accepted settings version, append-only
  CREATE TABLE settings_versions (
    device     INTEGER NOT NULL REFERENCES devices(id),
    version    INTEGER NOT NULL,
    settings   TEXT NOT NULL,
    changed_by INTEGER REFERENCES users(id),
    changed_at TEXT NOT NULL,
    PRIMARY KEY (device, version)
  ) WITHOUT ROWID;
  -- the latest version of each device (a copy of its settings) and how far the tracker got with it
  CREATE TABLE device_sync (
    device       INTEGER PRIMARY KEY REFERENCES devices(id),
    version      INTEGER NOT NULL DEFAULT 0,
    settings     TEXT,
    state        TEXT NOT NULL DEFAULT 'none'
                 CHECK (state IN ('none', 'pending', 'delivered', 'applied', 'rejected')),
    changed_at   TEXT,
    delivered_at TEXT,
    applied_at   TEXT,
    reason       TEXT,
    reported     TEXT,
    reported_at  TEXT
  );
  -- every answer a tracker sent, stale ones included
  CREATE TABLE device_acks (
    id          INTEGER PRIMARY KEY,
    device      INTEGER NOT NULL REFERENCES devices(id),
    version     INTEGER NOT NULL,
    status      TEXT NOT NULL,
    reason      TEXT,
    stale       INTEGER NOT NULL,
    received_at TEXT NOT NULL
  );
  CREATE INDEX device_acks_device ON device_acks(device, version);
  `,
  /*
   * 2: settings_versions becomes an append-only log (rowid order = commit order) with a unique index
   * on (device, version). Keyed by (device, version) WITHOUT ROWID, each new version went into a random
   * page of a table of full rows; appended, it fills the last page and only the small index entry lands
   * at random: SQLite's CPU per update fell by about a quarter (bench/sqlite-layout.ts: 10,000 devices,
   * groups of 40, 34–37 → 26–27 µs; docs/benchmarks.md).
   */ `
  CREATE TABLE settings_log (
    id         INTEGER PRIMARY KEY,
    device     INTEGER NOT NULL REFERENCES devices(id),
    version    INTEGER NOT NULL,
    settings   TEXT NOT NULL,
    changed_by INTEGER REFERENCES users(id),
    changed_at TEXT NOT NULL
  );
  INSERT INTO settings_log (device, version, settings, changed_by, changed_at)
    SELECT device, version, settings, changed_by, changed_at FROM settings_versions ORDER BY changed_at, device, version;
  DROP TABLE settings_versions;
  ALTER TABLE settings_log RENAME TO settings_versions;
  CREATE UNIQUE INDEX settings_versions_device_version ON settings_versions (device, version);
  `,
  /*
   * 3: a tracker's stored acks are pruned to its newest ones as each new one comes
   * (docs/mqtt.md#limits-on-what-a-tracker-sends): this index finds them without a scan.
   */ `
  CREATE INDEX device_acks_device_id ON device_acks (device, id);
  `,
];
