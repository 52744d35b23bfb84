-- The card attached to each group's daily prompt, so that no card repeats
-- within 30 days and every process agrees on the day's card.
CREATE TABLE daily_cards (
    group_id  BIGINT  NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    day       TEXT    NOT NULL,
    card_id   TEXT    NOT NULL,
    PRIMARY KEY (group_id, day)
);
