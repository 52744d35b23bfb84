-- ipt-bot schema, Postgres flavour. Times are Unix milliseconds (UTC) in
-- BIGINT columns on both backends so that one SQL text serves both.

CREATE TABLE groups (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    platform          TEXT    NOT NULL,
    external_id       TEXT    NOT NULL,
    moderator_channel TEXT,
    region            TEXT    NOT NULL,
    timezone          TEXT    NOT NULL,
    checkin_cron      TEXT,
    settings          TEXT    NOT NULL DEFAULT '{}',
    created_at        BIGINT  NOT NULL,
    UNIQUE (platform, external_id)
);

CREATE TABLE members (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    platform          TEXT    NOT NULL,
    external_id       TEXT    NOT NULL,
    display_name      TEXT    NOT NULL,
    timezone          TEXT,
    consent_checkins  BOOLEAN NOT NULL DEFAULT FALSE,
    consent_quiet     BOOLEAN NOT NULL DEFAULT FALSE,
    consent_signals   BOOLEAN NOT NULL DEFAULT FALSE,
    paused_until      BIGINT ,
    created_at        BIGINT  NOT NULL,
    UNIQUE (platform, external_id)
);

CREATE TABLE checkins (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    member_id   BIGINT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    group_id    BIGINT REFERENCES groups (id) ON DELETE SET NULL,
    local_date  TEXT    NOT NULL,
    mood        BIGINT  NOT NULL CHECK (mood BETWEEN 0 AND 10),
    sleep       BIGINT  CHECK (sleep BETWEEN 0 AND 10),
    connection  TEXT,
    note        TEXT,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    UNIQUE (member_id, local_date)
);

CREATE TABLE homework (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    member_id     BIGINT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    group_id      BIGINT REFERENCES groups (id) ON DELETE SET NULL,
    template      TEXT,
    title         TEXT    NOT NULL,
    details       TEXT,
    status        TEXT    NOT NULL DEFAULT 'open',
    due_at        BIGINT ,
    assigned_by   TEXT,
    reflection    TEXT,
    created_at    BIGINT  NOT NULL,
    completed_at  BIGINT 
);
CREATE INDEX homework_member ON homework (member_id, status);

CREATE TABLE alerts (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    group_id         BIGINT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    member_id        BIGINT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    level            TEXT    NOT NULL,
    status           TEXT    NOT NULL DEFAULT 'open',
    message_link     TEXT,
    excerpt          TEXT,
    claimed_by       TEXT,
    claimed_at       BIGINT ,
    resolved_by      TEXT,
    resolved_at      BIGINT ,
    resolution_note  TEXT,
    escalations      BIGINT  NOT NULL DEFAULT 0,
    escalate_at      BIGINT ,
    created_at       BIGINT  NOT NULL,
    updated_at       BIGINT  NOT NULL
);
CREATE INDEX alerts_group_status ON alerts (group_id, status);
CREATE INDEX alerts_escalate ON alerts (escalate_at) WHERE escalate_at IS NOT NULL;

CREATE TABLE alert_events (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_id  BIGINT NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    at        BIGINT  NOT NULL,
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
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind             TEXT    NOT NULL,
    lane             TEXT    NOT NULL,
    platform         TEXT    NOT NULL,
    target_kind      TEXT    NOT NULL,
    target_id        TEXT    NOT NULL,
    payload          TEXT    NOT NULL,
    idempotency_key  TEXT    NOT NULL UNIQUE CHECK (length(idempotency_key) > 0),
    state            TEXT    NOT NULL DEFAULT 'queued',
    attempts         BIGINT  NOT NULL DEFAULT 0,
    available_at     BIGINT ,
    lease            BIGINT ,
    delivered_at     BIGINT ,
    last_error       TEXT,
    created_at       BIGINT  NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (platform, lane, available_at, id) WHERE available_at IS NOT NULL;
CREATE INDEX deliveries_trouble ON deliveries (state) WHERE state IN ('failing', 'dead');
