-- ipt-bot schema, SQLite flavour. Times are Unix milliseconds (UTC) in
-- INTEGER columns on both backends so that one SQL text serves both.

CREATE TABLE groups (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    platform          TEXT    NOT NULL,
    external_id       TEXT    NOT NULL,
    moderator_channel TEXT,
    region            TEXT    NOT NULL,
    timezone          TEXT    NOT NULL,
    checkin_cron      TEXT,
    settings          TEXT    NOT NULL DEFAULT '{}',
    created_at        INTEGER NOT NULL,
    UNIQUE (platform, external_id)
);

CREATE TABLE members (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    platform          TEXT    NOT NULL,
    external_id       TEXT    NOT NULL,
    display_name      TEXT    NOT NULL,
    timezone          TEXT,
    consent_checkins  INTEGER NOT NULL DEFAULT 0,
    consent_quiet     INTEGER NOT NULL DEFAULT 0,
    consent_signals   INTEGER NOT NULL DEFAULT 0,
    paused_until      INTEGER,
    created_at        INTEGER NOT NULL,
    UNIQUE (platform, external_id)
);

CREATE TABLE checkins (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    member_id   INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    group_id    INTEGER REFERENCES groups (id) ON DELETE SET NULL,
    local_date  TEXT    NOT NULL,
    mood        INTEGER NOT NULL CHECK (mood BETWEEN 0 AND 10),
    sleep       INTEGER CHECK (sleep BETWEEN 0 AND 10),
    connection  TEXT,
    note        TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (member_id, local_date)
);

CREATE TABLE homework (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    member_id     INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    group_id      INTEGER REFERENCES groups (id) ON DELETE SET NULL,
    template      TEXT,
    title         TEXT    NOT NULL,
    details       TEXT,
    status        TEXT    NOT NULL DEFAULT 'open',
    due_at        INTEGER,
    assigned_by   TEXT,
    reflection    TEXT,
    created_at    INTEGER NOT NULL,
    completed_at  INTEGER
);
CREATE INDEX homework_member ON homework (member_id, status);

CREATE TABLE alerts (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    group_id         INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    member_id        INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    level            TEXT    NOT NULL,
    status           TEXT    NOT NULL DEFAULT 'open',
    message_link     TEXT,
    excerpt          TEXT,
    claimed_by       TEXT,
    claimed_at       INTEGER,
    resolved_by      TEXT,
    resolved_at      INTEGER,
    resolution_note  TEXT,
    escalations      INTEGER NOT NULL DEFAULT 0,
    escalate_at      INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX alerts_group_status ON alerts (group_id, status);
CREATE INDEX alerts_escalate ON alerts (escalate_at) WHERE escalate_at IS NOT NULL;

CREATE TABLE alert_events (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id  INTEGER NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    at        INTEGER NOT NULL,
    actor     TEXT,
    action    TEXT    NOT NULL,
    detail    TEXT
);
CREATE INDEX alert_events_alert ON alert_events (alert_id, id);

-- The outbox. `available_at` is when the row may next be claimed (while it
-- is leased: when the lease runs out); NULL once settled (delivered or
-- dead), which keeps settled rows out of the claim index entirely. `lane`
-- (critical | normal) lets crisis messages be claimed apart from the rest.
CREATE TABLE deliveries (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    kind             TEXT    NOT NULL,
    lane             TEXT    NOT NULL,
    platform         TEXT    NOT NULL,
    target_kind      TEXT    NOT NULL,
    target_id        TEXT    NOT NULL,
    payload          TEXT    NOT NULL,
    idempotency_key  TEXT    NOT NULL UNIQUE CHECK (length(idempotency_key) > 0),
    state            TEXT    NOT NULL DEFAULT 'queued',
    attempts         INTEGER NOT NULL DEFAULT 0,
    available_at     INTEGER,
    lease            INTEGER,
    delivered_at     INTEGER,
    last_error       TEXT,
    created_at       INTEGER NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (platform, lane, available_at, id) WHERE available_at IS NOT NULL;
CREATE INDEX deliveries_trouble ON deliveries (state) WHERE state IN ('failing', 'dead');
