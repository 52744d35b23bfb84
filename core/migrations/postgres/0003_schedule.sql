-- Scheduled check-ins (issue 5).

-- Who belongs to which group, as far as the bot knows: recorded when a
-- member uses a command in the group (ordinary messages write nothing).
-- Check-in prompts go to the group's members who opted in.
CREATE TABLE group_members (
    group_id   BIGINT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    member_id  BIGINT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    joined_at  BIGINT NOT NULL,
    PRIMARY KEY (group_id, member_id)
);
CREATE INDEX group_members_member ON group_members (member_id);

-- A scheduled run is claimed by inserting its key: a restart or a second
-- process finds the row and sends nothing. Runs missed for longer than the
-- catch-up window are recorded as skipped, so they are logged once.
CREATE TABLE schedule_runs (
    group_id    BIGINT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    kind        TEXT    NOT NULL,
    fire_at     BIGINT NOT NULL,
    skipped     BOOLEAN NOT NULL DEFAULT FALSE,
    claimed_at  BIGINT NOT NULL,
    PRIMARY KEY (group_id, kind, fire_at)
);

-- The reflective prompt each group's daily post carried, so that none
-- repeats within 30 days and every process agrees on the day's prompt.
CREATE TABLE daily_prompts (
    group_id   BIGINT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    day        TEXT    NOT NULL,
    prompt_id  TEXT    NOT NULL,
    PRIMARY KEY (group_id, day)
);
