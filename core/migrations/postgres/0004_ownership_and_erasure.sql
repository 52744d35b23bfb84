-- Deliveries say which group and member they concern, and which alert they
-- belong to. Before this, `alerts` listed failed deliveries of every group to
-- any group's moderators, and a member's deliveries (their id, their name,
-- with excerpts their crisis message) outlived `mydata delete`.
ALTER TABLE deliveries ADD COLUMN group_id BIGINT REFERENCES groups (id) ON DELETE CASCADE;
ALTER TABLE deliveries ADD COLUMN member_id BIGINT REFERENCES members (id) ON DELETE CASCADE;
ALTER TABLE deliveries ADD COLUMN alert_id BIGINT;

-- Rows written before this migration: recover their owners.
-- (Read with a pattern, not ::jsonb: jsonb refuses a \u0000 escape, and one
-- old payload holding one must not stop the upgrade.)
UPDATE deliveries SET alert_id = substring(payload from '"alert":([0-9]+)')::bigint
    WHERE payload ~ '"alert":[0-9]+';
UPDATE deliveries SET group_id = (SELECT a.group_id FROM alerts a WHERE a.id = deliveries.alert_id)
    WHERE alert_id IS NOT NULL;
UPDATE deliveries SET member_id = (SELECT a.member_id FROM alerts a WHERE a.id = deliveries.alert_id)
    WHERE alert_id IS NOT NULL AND kind IN ('crisis_alert', 'crisis_support', 'escalation');
UPDATE deliveries SET member_id = (SELECT m.id FROM members m
        WHERE m.platform = deliveries.platform AND m.external_id = deliveries.target_id)
    WHERE target_kind = 'member' AND member_id IS NULL;
UPDATE deliveries SET group_id = (SELECT g.id FROM groups g
        WHERE g.platform = deliveries.platform
          AND (g.external_id = deliveries.target_id OR g.moderator_channel = deliveries.target_id)
        ORDER BY g.id LIMIT 1)
    WHERE target_kind = 'channel' AND group_id IS NULL;

CREATE INDEX deliveries_group_trouble ON deliveries (group_id, id) WHERE state IN ('failing', 'dead');
CREATE INDEX deliveries_member ON deliveries (member_id) WHERE member_id IS NOT NULL;
CREATE INDEX deliveries_alert ON deliveries (alert_id) WHERE alert_id IS NOT NULL;
CREATE INDEX deliveries_delivered ON deliveries (delivered_at) WHERE state = 'delivered';

-- A member who deleted their data while an alert about them was still open:
-- the member row keeps only what that alert needs (their platform id and
-- name) until a moderator resolves it; then it is erased too.
ALTER TABLE members ADD COLUMN erase_requested_at BIGINT;
-- Alerts to anonymise when resolved (their member asked to be forgotten),
-- and when an alert was anonymised.
ALTER TABLE alerts ADD COLUMN forget_member BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE alerts ADD COLUMN anonymised_at BIGINT;
