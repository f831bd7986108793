//! Numbered, append-only schema migrations. Never edit a shipped entry:
//! add a new one. `PRAGMA user_version` records how many have run, so a
//! database written by a newer binary is recognised and refused.

/// `application_id` stamped into every Weft database ('WEFT').
pub(crate) const APPLICATION_ID: i64 = 0x5745_4654;

/// Migration N (1-based) is `MIGRATIONS[N - 1]`.
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: the change log, the snapshot cache, and workspace metadata.
    r#"
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value BLOB NOT NULL
    ) STRICT;

    -- The append-only log of sealed changes. `id` is local arrival order;
    -- (author, seq) is the global identity of a change.
    CREATE TABLE changes (
        id         INTEGER PRIMARY KEY,
        doc        BLOB    NOT NULL,
        author     BLOB    NOT NULL,
        seq        INTEGER NOT NULL,
        kind       INTEGER NOT NULL,
        nonce      BLOB    NOT NULL,
        ciphertext BLOB    NOT NULL,
        signature  BLOB    NOT NULL,
        stored_at  INTEGER NOT NULL,
        UNIQUE (author, seq)
    ) STRICT;
    CREATE INDEX changes_by_doc ON changes (doc, id);

    -- One row per document: the latest sealed snapshot (a cache; the log is
    -- the truth) and what it covers.
    CREATE TABLE docs (
        doc             BLOB    PRIMARY KEY,
        kind            INTEGER NOT NULL,
        snapshot        BLOB,
        snapshot_vector BLOB,
        snapshot_upto   INTEGER NOT NULL DEFAULT 0,
        changes         INTEGER NOT NULL DEFAULT 0,
        updated_at      INTEGER NOT NULL
    ) STRICT;

    -- Refuse edits and deletes of the log at the database level, so no code
    -- path (or stray tool) can rewrite history.
    CREATE TRIGGER changes_append_only_update BEFORE UPDATE ON changes
    BEGIN SELECT RAISE(ABORT, 'the change log is append-only'); END;
    CREATE TRIGGER changes_append_only_delete BEFORE DELETE ON changes
    BEGIN SELECT RAISE(ABORT, 'the change log is append-only'); END;
    "#,
    // 2: per-author heads, the highest seq stored. Sync reads the version
    // vector on every acknowledgement; computing it from `changes` scans the
    // whole log (100k+ rows), this table makes it O(authors). `append` keeps
    // it in the same transaction and refuses gaps, so the head is also the
    // top of the contiguous run 1..=head. Backfilling with MAX(seq) is exact
    // because schema 1 only ever stored local commits numbered MAX+1, which
    // cannot leave a gap.
    r#"
    CREATE TABLE heads (
        author BLOB    PRIMARY KEY,
        seq    INTEGER NOT NULL
    ) STRICT;
    INSERT INTO heads (author, seq) SELECT author, MAX(seq) FROM changes GROUP BY author;
    "#,
    // 3: local bookkeeping of the other devices, for `weft peers` and
    // `weft status DOC`. Never synced and never document content: ids,
    // addresses, times and version vectors only, like the rest of the file.
    // `peers.vector` is `VersionVector::encode` (40 bytes per author), the
    // same encoding as `docs.snapshot_vector`. Addresses are newline
    // separated because a multiaddr cannot contain one, and a side table
    // per address would buy nothing: the row is always replaced whole.
    r#"
    CREATE TABLE peers (
        device       BLOB    PRIMARY KEY,
        name         TEXT    NOT NULL,
        addrs        TEXT    NOT NULL,
        connection   TEXT    NOT NULL,
        last_seen_ms INTEGER NOT NULL,
        last_sync_ms INTEGER,
        vector       BLOB    NOT NULL
    ) STRICT;
    -- Addresses the user added by hand (`weft peer add`), for the daemon
    -- to dial.
    CREATE TABLE peer_addrs (
        addr     TEXT    PRIMARY KEY,
        added_ms INTEGER NOT NULL
    ) STRICT;
    "#,
    // 4: the relays this device syncs through (`weft relay add`, or an
    // invite), with what the node last learned of each: when it registered
    // the workspace there, when it was last in sync, the relay's last
    // refusal (quota, rate limit) for `weft status`, and the usage the
    // relay reported. `forget` asks the node to delete the workspace from
    // the relay (`weft relay forget`); the row goes once that is done.
    r#"
    CREATE TABLE relays (
        addr          TEXT    PRIMARY KEY,
        added_ms      INTEGER NOT NULL,
        registered_ms INTEGER,
        last_sync_ms  INTEGER,
        status        TEXT    NOT NULL DEFAULT '',
        status_ms     INTEGER,
        used_bytes    INTEGER,
        quota_bytes   INTEGER,
        forget        INTEGER NOT NULL DEFAULT 0
    ) STRICT;
    "#,
    // 5: how each relay is doing as a code (`RelayState`), beside the text
    // in `status`, so no reader matches words of a message.
    r#"
    ALTER TABLE relays ADD COLUMN state INTEGER NOT NULL DEFAULT 0;
    UPDATE relays SET state = CASE
        WHEN status = '' THEN 0
        WHEN status LIKE 'unreachable%' THEN 1
        WHEN status LIKE 'quota full%' THEN 3
        WHEN status LIKE 'rate limited%' THEN 4
        ELSE 2 END;
    "#,
    // 6: changes that verified but cannot be read or applied here (an
    // envelope, encoding or body this version does not know, or damaged
    // bytes). They stay in `changes` (seqs stay contiguous and they are
    // still served to peers); every loader skips the rows listed here.
    // `reader` is the engine's reader version that set the row aside: a
    // newer version retries the row and removes it if it reads.
    r#"
    CREATE TABLE set_aside (
        change INTEGER PRIMARY KEY,
        doc    BLOB    NOT NULL,
        author BLOB    NOT NULL,
        reason TEXT    NOT NULL,
        reader INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX set_aside_doc ON set_aside (doc);
    "#,
    // 7: a sealed copy of a document's read model (the workspace index's:
    // titles, folders, document ids in a form lookups read without decoding
    // the index) as of the document's change row `upto`. A cache like a
    // snapshot: used only while no change row of the document is past
    // `upto`, dropped with the snapshots.
    r#"
    CREATE TABLE read_models (
        doc   BLOB    PRIMARY KEY,
        model BLOB    NOT NULL,
        upto  INTEGER NOT NULL
    ) STRICT;
    "#,
    // 8: snapshots in their own table. A document's `docs` row is updated on
    // every change it gets (its count and time), and SQLite rewrites a row's
    // overflow pages with it: with the snapshot in the row, every change of
    // the index of a 100,000-document workspace rewrote megabytes.
    r#"
    CREATE TABLE snapshots (
        doc    BLOB    PRIMARY KEY,
        sealed BLOB    NOT NULL,
        vector BLOB,
        upto   INTEGER NOT NULL
    ) STRICT;
    INSERT INTO snapshots (doc, sealed, vector, upto)
        SELECT doc, snapshot, snapshot_vector, snapshot_upto FROM docs
        WHERE snapshot IS NOT NULL;
    ALTER TABLE docs DROP COLUMN snapshot;
    ALTER TABLE docs DROP COLUMN snapshot_vector;
    ALTER TABLE docs DROP COLUMN snapshot_upto;
    "#,
];
