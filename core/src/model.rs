//! The domain model: groups, members, check-ins, homework and alerts.
//!
//! The outbox's types live in [`crate::outbox`].

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::ids::{AlertEventId, AlertId, CheckinId, GroupId, HomeworkId, MemberId, Platform};
use crate::text_enum;

/// Per-group settings that do not need their own column.
///
/// Stored as JSON so later issues can add settings without a migration;
/// unknown fields in stored JSON are ignored and missing ones take defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GroupSettings {
    /// Whether moderator alerts quote the member's message. Off by default:
    /// alerts carry a link to the message instead (privacy first).
    pub alert_excerpts: bool,
    /// Seconds an alert may stay unclaimed before it is escalated.
    pub escalate_after_secs: i64,
    /// Crisis lines the group's moderators added (config `crisis_lines`),
    /// shown after the region's national lines.
    pub crisis_lines: Vec<crate::crisis::resources::Line>,
    /// How late a check-in missed while the bot was down may still be
    /// sent, in seconds; older ones are skipped (and logged).
    pub checkin_catch_up_secs: i64,
}

impl Default for GroupSettings {
    fn default() -> Self {
        Self {
            alert_excerpts: false,
            escalate_after_secs: 600,
            crisis_lines: Vec::new(),
            checkin_catch_up_secs: 2 * 3600,
        }
    }
}

/// A group as the caller describes it (static config or `setup`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewGroup {
    /// The platform the group lives on.
    pub platform: Platform,
    /// The platform's id for the group.
    pub external_id: String,
    /// Where moderator alerts go: a Matrix room or Discord channel id.
    pub moderator_channel: Option<String>,
    /// ISO 3166-1 alpha-2 region for crisis resources, upper case.
    pub region: String,
    /// IANA time zone of the group's schedule.
    pub timezone: String,
    /// 6-field cron expression for the daily check-in, if any.
    pub checkin_cron: Option<String>,
    /// Everything else.
    pub settings: GroupSettings,
}

/// A stored group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Database id.
    pub id: GroupId,
    /// The platform the group lives on.
    pub platform: Platform,
    /// The platform's id for the group.
    pub external_id: String,
    /// Where moderator alerts go.
    pub moderator_channel: Option<String>,
    /// Region for crisis resources.
    pub region: String,
    /// IANA time zone.
    pub timezone: String,
    /// Check-in cron expression.
    pub checkin_cron: Option<String>,
    /// Everything else.
    pub settings: GroupSettings,
    /// When the group was first stored.
    pub created_at: Timestamp,
}

/// A member's consent choices. Everything defaults to the most private option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Consent {
    /// Receives the daily private check-in.
    pub checkins: bool,
    /// "Quiet": concern-level messages get resources without alerting
    /// moderators. Urgent and imminent messages always alert.
    pub quiet: bool,
    /// Low mood in check-ins may raise a concern-level alert.
    pub checkin_signals: bool,
}

/// A stored member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Member {
    /// Database id.
    pub id: MemberId,
    /// The platform the account lives on.
    pub platform: Platform,
    /// The platform's id for the account.
    pub external_id: String,
    /// The name we last saw.
    pub display_name: String,
    /// The member's own IANA zone, if they set one.
    pub timezone: Option<String>,
    /// Consent choices.
    pub consent: Consent,
    /// Scheduled messages are paused until this time.
    pub paused_until: Option<Timestamp>,
    /// When we first saw the member.
    pub created_at: Timestamp,
}

impl Member {
    /// Whether scheduled messages are paused at `now`.
    pub fn is_paused(&self, now: Timestamp) -> bool {
        self.paused_until.is_some_and(|until| until > now)
    }
}

/// A check-in answer as given. One per member per local day; saving again on
/// the same day edits it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCheckin {
    /// Who answered.
    pub member_id: MemberId,
    /// The group the prompt came from, if any.
    pub group_id: Option<GroupId>,
    /// The member's local date.
    pub local_date: NaiveDate,
    /// Mood, 0 (worst) to 10 (best).
    pub mood: i64,
    /// Sleep quality, 0 to 10, if given.
    pub sleep: Option<i64>,
    /// A moment of connection today, if given.
    pub connection: Option<String>,
    /// A free-text note, if given.
    pub note: Option<String>,
}

/// A stored check-in answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Checkin {
    /// Database id.
    pub id: CheckinId,
    /// Who answered.
    pub member_id: MemberId,
    /// The group the prompt came from.
    pub group_id: Option<GroupId>,
    /// The member's local date.
    pub local_date: NaiveDate,
    /// Mood 0–10.
    pub mood: i64,
    /// Sleep 0–10.
    pub sleep: Option<i64>,
    /// Moment of connection.
    pub connection: Option<String>,
    /// Free-text note.
    pub note: Option<String>,
    /// First answered.
    pub created_at: Timestamp,
    /// Last edited.
    pub updated_at: Timestamp,
}

#[cfg(test)]
impl Checkin {
    /// A check-in with only a mood, for unit tests.
    pub(crate) fn answered(local_date: NaiveDate, mood: i64) -> Self {
        let t = crate::clock::from_millis(0);
        Self {
            id: CheckinId(0),
            member_id: MemberId(1),
            group_id: None,
            local_date,
            mood,
            sleep: None,
            connection: None,
            note: None,
            created_at: t,
            updated_at: t,
        }
    }
}

text_enum! {
    /// Where a between-session exercise stands.
    pub enum HomeworkStatus {
        /// Not done yet.
        Open = "open",
        /// Done, perhaps with a reflection.
        Done = "done",
        /// Skipped; never counted against anyone.
        Skipped = "skipped",
    }
}

/// A between-session exercise as added or assigned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewHomework {
    /// Whose exercise it is.
    pub member_id: MemberId,
    /// The group it was assigned in, if any.
    pub group_id: Option<GroupId>,
    /// The template it came from, if any.
    pub template: Option<String>,
    /// Short title.
    pub title: String,
    /// Longer description.
    pub details: Option<String>,
    /// Due date, if any.
    pub due_at: Option<Timestamp>,
    /// The moderator who assigned it, if it was assigned.
    pub assigned_by: Option<String>,
}

/// A stored between-session exercise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Homework {
    /// Database id.
    pub id: HomeworkId,
    /// Whose exercise it is.
    pub member_id: MemberId,
    /// Group it was assigned in.
    pub group_id: Option<GroupId>,
    /// Template id.
    pub template: Option<String>,
    /// Short title.
    pub title: String,
    /// Longer description.
    pub details: Option<String>,
    /// Where it stands.
    pub status: HomeworkStatus,
    /// Due date.
    pub due_at: Option<Timestamp>,
    /// Assigning moderator.
    pub assigned_by: Option<String>,
    /// The member's reflection when done; private unless shared.
    pub reflection: Option<String>,
    /// When it was added.
    pub created_at: Timestamp,
    /// When it was done or skipped.
    pub completed_at: Option<Timestamp>,
}

text_enum! {
    /// How serious a crisis alert is. Ordered: concern < urgent < imminent.
    pub enum AlertLevel {
        /// Passive ideation, hopelessness, feeling a burden.
        Concern = "concern",
        /// Active ideation or self-harm.
        Urgent = "urgent",
        /// Intent with a plan, means or time; goodbyes; an act in progress.
        Imminent = "imminent",
    }
}

text_enum! {
    /// An alert's lifecycle: open → claimed → resolved.
    pub enum AlertStatus {
        /// Nobody has taken it yet.
        Open = "open",
        /// A moderator is on it.
        Claimed = "claimed",
        /// Done, with a note.
        Resolved = "resolved",
    }
}

text_enum! {
    /// What happened to an alert, for the audit trail.
    pub enum AlertAction {
        /// The alert was created.
        Opened = "opened",
        /// A later message from the same member raised or refreshed it.
        Updated = "updated",
        /// Re-sent to moderators because nobody claimed it in time.
        Escalated = "escalated",
        /// A moderator claimed it.
        Claimed = "claimed",
        /// A moderator resolved it.
        Resolved = "resolved",
    }
}

/// A crisis alert as the crisis pipeline raises it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAlert {
    /// The group the message was posted in.
    pub group_id: GroupId,
    /// Who posted it.
    pub member_id: MemberId,
    /// How serious.
    pub level: AlertLevel,
    /// A platform link to the message (never the text unless the group opted in).
    pub message_link: Option<String>,
    /// The message text, only where the group opted in to excerpts.
    pub excerpt: Option<String>,
    /// When to escalate if still unclaimed.
    pub escalate_at: Option<Timestamp>,
}

/// A stored crisis alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alert {
    /// Database id.
    pub id: AlertId,
    /// Group.
    pub group_id: GroupId,
    /// Member.
    pub member_id: MemberId,
    /// Highest level seen.
    pub level: AlertLevel,
    /// Lifecycle state.
    pub status: AlertStatus,
    /// Link to the message.
    pub message_link: Option<String>,
    /// Excerpt, where allowed.
    pub excerpt: Option<String>,
    /// Who claimed it.
    pub claimed_by: Option<String>,
    /// When it was claimed.
    pub claimed_at: Option<Timestamp>,
    /// Who resolved it.
    pub resolved_by: Option<String>,
    /// When it was resolved.
    pub resolved_at: Option<Timestamp>,
    /// The resolution note.
    pub resolution_note: Option<String>,
    /// How many times it was escalated.
    pub escalations: i64,
    /// When it escalates next, while unclaimed.
    pub escalate_at: Option<Timestamp>,
    /// Created.
    pub created_at: Timestamp,
    /// Last changed.
    pub updated_at: Timestamp,
    /// The member asked for their data to be deleted while this alert was
    /// open: it is anonymised once a moderator resolves it.
    pub forget_member: bool,
    /// When it was anonymised (its link, excerpt and note removed because
    /// the member deleted their data); `None` while it is whole.
    pub anonymised_at: Option<Timestamp>,
}

/// One step in an alert's audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlertEvent {
    /// Database id.
    pub id: AlertEventId,
    /// The alert.
    pub alert_id: AlertId,
    /// When.
    pub at: Timestamp,
    /// Who (a moderator's platform id), or `None` for the bot itself.
    pub actor: Option<String>,
    /// What.
    pub action: AlertAction,
    /// Free text: a level change, a note.
    pub detail: Option<String>,
}

/// What came of asking to move an alert along its lifecycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertTransition {
    /// The change was made; here is the alert as it now stands.
    Done(Alert),
    /// The alert was not in a state that allows the change (already claimed,
    /// already resolved); here it is as it stands.
    NotAllowed(Alert),
    /// No alert has that id.
    NotFound,
}

/// Everything stored about one member, for `mydata export`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberData {
    /// The member row.
    pub member: Member,
    /// The groups whose check-ins they receive (`platform:id`).
    pub groups: Vec<String>,
    /// Every check-in.
    pub checkins: Vec<Checkin>,
    /// Every exercise.
    pub homework: Vec<Homework>,
    /// Crisis alerts raised about them, with their audit trail (who among
    /// the moderators acted is left out: that is the moderators' data).
    pub alerts: Vec<AlertRecord>,
    /// Messages the bot sent to them or about them that are still kept
    /// (delivered ones are deleted after a short time).
    pub deliveries: Vec<DeliveryRecord>,
}

/// An alert about a member, as their export shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlertRecord {
    /// The alert's number.
    pub id: AlertId,
    /// The group it was raised in (`platform:id`).
    pub group: String,
    /// How serious it was read to be.
    pub level: AlertLevel,
    /// Where it stands.
    pub status: AlertStatus,
    /// The link to the message, if kept.
    pub message_link: Option<String>,
    /// The excerpt, if the group keeps excerpts.
    pub excerpt: Option<String>,
    /// The moderators' closing note, if any.
    pub resolution_note: Option<String>,
    /// When it was raised.
    pub created_at: Timestamp,
    /// When it was resolved.
    pub resolved_at: Option<Timestamp>,
    /// Its audit trail: what happened when.
    pub events: Vec<AlertRecordEvent>,
}

/// One step of an alert in a member's export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlertRecordEvent {
    /// When.
    pub at: Timestamp,
    /// What.
    pub action: AlertAction,
    /// A level change or a note.
    pub detail: Option<String>,
}

/// A message to or about a member, as their export shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeliveryRecord {
    /// What it was for.
    pub kind: crate::outbox::DeliveryKind,
    /// To them privately, or to a channel (the moderators').
    pub to: crate::outbox::TargetKind,
    /// Where it stands.
    pub state: crate::outbox::DeliveryState,
    /// What it said.
    pub text: String,
    /// When it was written.
    pub created_at: Timestamp,
    /// When the platform took it.
    pub delivered_at: Option<Timestamp>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alert_levels_are_ordered_by_severity() {
        assert!(AlertLevel::Concern < AlertLevel::Urgent);
        assert!(AlertLevel::Urgent < AlertLevel::Imminent);
    }

    #[test]
    fn group_settings_fill_missing_fields_with_defaults() {
        let s: GroupSettings = serde_json::from_str(r#"{"alert_excerpts": true}"#).unwrap();
        assert!(s.alert_excerpts);
        assert_eq!(s.escalate_after_secs, 600);
        let s: GroupSettings = serde_json::from_str(r#"{"future_setting": 1}"#).unwrap();
        assert_eq!(s, GroupSettings::default());
    }

    #[test]
    fn status_enums_round_trip_through_text() {
        for s in HomeworkStatus::ALL {
            assert_eq!(s.as_str().parse::<HomeworkStatus>().unwrap(), *s);
        }
        for s in AlertStatus::ALL {
            assert_eq!(s.as_str().parse::<AlertStatus>().unwrap(), *s);
        }
        for s in AlertLevel::ALL {
            assert_eq!(s.as_str().parse::<AlertLevel>().unwrap(), *s);
        }
        for s in AlertAction::ALL {
            assert_eq!(s.as_str().parse::<AlertAction>().unwrap(), *s);
        }
    }
}
