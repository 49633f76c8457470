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
   * 3: what Navixy's tracker object shows beyond the first schema (docs/api.md#the-tracker-object):
   * tracker groups, a tracker's group, the device's SIM phone and when the device was created
   * ("yyyy-MM-dd HH:mm:ss", UTC; devices that existed before get the time of this migration).
   */ `
  CREATE TABLE groups (
    id       INTEGER PRIMARY KEY,
    owner_id INTEGER NOT NULL REFERENCES users(id),
    title    TEXT NOT NULL,
    color    TEXT NOT NULL
  );
  CREATE INDEX groups_owner ON groups(owner_id);
  ALTER TABLE trackers ADD COLUMN group_id INTEGER REFERENCES groups(id);
  CREATE INDEX trackers_group ON trackers(group_id);
  ALTER TABLE devices ADD COLUMN phone TEXT;
  ALTER TABLE devices ADD COLUMN created_at TEXT NOT NULL DEFAULT '1970-01-01 00:00:00';
  UPDATE devices SET created_at = strftime('%Y-%m-%d %H:%M:%S', 'now');
  `,
  /*
   * 4: fleet operations (docs/api.md#fleet-operations). Each version records how it was made
   * (`source`) and the outcome of the version it replaced (`prior_*`): that outcome is final from
   * the moment of replacement, and writing it into the new row keeps the table append-only (no
   * update of an older row on the hot path). The latest version's outcome stays in device_sync.
   * Versions made before this migration get the tracker's last current-version ack, else superseded.
   * request_answers remembers the answer of each call with a request_id, written in the same
   * transaction as its versions.
   */ `
  ALTER TABLE settings_versions ADD COLUMN source TEXT NOT NULL DEFAULT 'update'
    CHECK (source IN ('update', 'revert', 'bulk'));
  ALTER TABLE settings_versions ADD COLUMN prior_state TEXT
    CHECK (prior_state IN ('superseded', 'applied', 'rejected'));
  ALTER TABLE settings_versions ADD COLUMN prior_delivered_at TEXT;
  ALTER TABLE settings_versions ADD COLUMN prior_applied_at TEXT;
  ALTER TABLE settings_versions ADD COLUMN prior_reason TEXT;
  UPDATE settings_versions SET prior_state = coalesce(
    (SELECT a.status FROM device_acks a
     WHERE a.device = settings_versions.device AND a.version = settings_versions.version - 1 AND a.stale = 0
       AND a.status IN ('applied', 'rejected')
     ORDER BY a.id DESC LIMIT 1),
    'superseded')
  WHERE version > 1;
  CREATE TABLE request_answers (
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    request_id TEXT NOT NULL,
    params     BLOB NOT NULL,
    answer     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, request_id)
  ) WITHOUT ROWID;
  CREATE INDEX request_answers_created ON request_answers (created_at);
  `,
  /*
   * 5: a tracker's stored acks are pruned to its newest ones as each new one comes
   * (docs/mqtt.md#limits-on-what-a-tracker-sends): this index finds them without a scan.
   */ `
  CREATE INDEX device_acks_device_id ON device_acks (device, id);
  `,
];
