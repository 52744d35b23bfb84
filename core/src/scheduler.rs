//! The check-in scheduler. Each group with a `checkin` schedule gets, at
//! each fire time, a short group post (the day's reflective prompt) and a
//! private check-in prompt for every member who opted in and is not
//! paused.
//!
//! A run is claimed by inserting `(group, "checkin", fire_at)` under a
//! unique key, in the same transaction as its deliveries, so a restart or a
//! second process never sends it twice. A run missed while the bot was
//! down is still sent if it is no older than the catch-up window (default
//! 2 hours); older ones are recorded as skipped and logged once.
//!
//! Only the latest due run is sent late: after a restart a member gets one
//! check-in, not one for each time that passed. And a group never gets
//! more than one run an hour, even from a schedule stored before check-in
//! schedules were limited to that (see [`due_between`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::TimeZone;

use crate::clock::{Clock, Timestamp};
use crate::engine::moderator_prefix;
use crate::ids::GroupId;
use crate::model::{Group, Member};
use crate::outbox::{DeliveryKind, NewDelivery, Payload, Target};
use crate::schedule::{Schedule, parse_zone};
use crate::store::{RunKey, Store};

/// The run kind for daily check-ins.
pub const CHECKIN: &str = "checkin";

/// How far back the scheduler looks. (How late a run may still be sent is
/// each group's `checkin_catch_up_secs`, 2 hours unless configured.)
#[derive(Debug, Clone, Copy)]
pub struct SchedulerConfig {
    /// How far back the first tick after a start looks for missed runs
    /// (to send them, or to log them as skipped).
    pub look_back: chrono::Duration,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            look_back: chrono::Duration::hours(24),
        }
    }
}

/// What one tick did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tick {
    /// Runs claimed and sent.
    pub sent: usize,
    /// Runs claimed as skipped (missed beyond the catch-up window).
    pub skipped: usize,
    /// Deliveries enqueued.
    pub deliveries: usize,
}

/// Fires due check-ins. One per process; any number of processes may share
/// a database.
#[derive(Debug)]
pub struct Scheduler {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    config: SchedulerConfig,
    /// Per group, the time up to which fire times have been handled.
    seen: Mutex<HashMap<GroupId, Timestamp>>,
    /// Up to when homework reminders have been sent.
    reminders_until: Mutex<Option<Timestamp>>,
    /// Parsed schedules by group, with the text they were parsed from:
    /// parsing every group's cron on every tick would dominate a tick.
    parsed: Mutex<HashMap<GroupId, Parsed>>,
}

/// A parsed schedule and the cron text and zone it came from.
type Parsed = (String, String, Arc<Schedule>);

impl Scheduler {
    /// A scheduler over `store`, telling time by `clock`.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, config: SchedulerConfig) -> Self {
        Self {
            store,
            clock,
            config,
            seen: Mutex::new(HashMap::new()),
            parsed: Mutex::new(HashMap::new()),
            reminders_until: Mutex::new(None),
        }
    }

    /// Handles every fire time that has come since the last tick (or, on
    /// the first tick, within the look-back).
    pub async fn tick(&self) -> crate::Result<Tick> {
        let now = self.clock.now();
        let mut tick = Tick::default();
        for group in self.store.groups().await? {
            let Some(cron) = group.checkin_cron.as_deref() else {
                continue;
            };
            let Some(schedule) = self.schedule(&group, cron) else {
                continue;
            };
            let from = self
                .seen_until(group.id)
                .unwrap_or(now - self.config.look_back);
            let due = due_between(&schedule, from, now);
            self.handle_due(&group, &due, now, &mut tick).await?;
            self.seen
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(group.id, now);
        }
        tick.deliveries += self.homework_reminders(now).await?;
        Ok(tick)
    }

    /// One gentle reminder for each open exercise whose suggested time
    /// has come (keyed per exercise, so never twice), at most a day late.
    async fn homework_reminders(&self, now: Timestamp) -> crate::Result<usize> {
        let after = self
            .reminders_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .unwrap_or(now - self.config.look_back);
        let due = self.store.homework_due(after, now).await?;
        let reminders: Vec<NewDelivery> = due
            .iter()
            .map(|(h, member)| {
                let p = moderator_prefix(member.platform);
                NewDelivery {
                    kind: DeliveryKind::Reminder,
                    target: Target::member(member.platform, member.external_id.clone()),
                    payload: Payload {
                        text: format!(
                            "A gentle reminder: \"{}\" was planned for about now. When you're \
                             ready, {p}homework done {} (a line on how it went is welcome), or \
                             {p}homework skip {}; both are fine.",
                            h.title, h.id, h.id
                        ),
                        ..Payload::default()
                    },
                    idempotency_key: format!("homework-{}-due", h.id),
                    not_before: None,
                    group: h.group_id,
                    about: Some(member.id),
                }
            })
            .collect();
        let sent = if reminders.is_empty() {
            0
        } else {
            self.store.enqueue(&reminders, now).await?
        };
        *self
            .reminders_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(now);
        Ok(sent)
    }

    /// The group's parsed schedule, from the cache while its text is the
    /// same.
    fn schedule(&self, group: &Group, cron: &str) -> Option<Arc<Schedule>> {
        let mut parsed = self
            .parsed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((c, z, s)) = parsed.get(&group.id)
            && c == cron
            && *z == group.timezone
        {
            return Some(s.clone());
        }
        match Schedule::new(cron, &group.timezone) {
            Ok(s) => {
                // Stored before check-in schedules were checked: it still
                // runs (never more than once an hour, see `due_between`),
                // and this is said once, here, not on every tick.
                if let Some(problem) = s.checkin_problem() {
                    tracing::warn!(
                        group = %group.external_id, %problem,
                        "stored check-in schedule would be refused today; a moderator can \
                         change it with setup checkin"
                    );
                }
                let s = Arc::new(s);
                parsed.insert(
                    group.id,
                    (cron.to_owned(), group.timezone.clone(), s.clone()),
                );
                Some(s)
            }
            Err(error) => {
                tracing::warn!(group = %group.external_id, %error, "check-in schedule unusable");
                None
            }
        }
    }

    fn seen_until(&self, group: GroupId) -> Option<Timestamp> {
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&group)
            .copied()
    }

    /// Sends the latest due run if it is within the catch-up window, and
    /// records every other one as skipped, with one log line for them all.
    async fn handle_due(
        &self,
        group: &Group,
        due: &[Timestamp],
        now: Timestamp,
        tick: &mut Tick,
    ) -> crate::Result<()> {
        let window = now - chrono::Duration::seconds(group.settings.checkin_catch_up_secs);
        let (send, skip) = match due.split_last() {
            Some((last, earlier)) if *last >= window => (Some(*last), earlier),
            _ => (None, due),
        };
        if let Some(&latest) = skip.last() {
            // Asked before this tick records anything: a group that has
            // never had a run is starting for the first time, and times
            // before that are not missed check-ins.
            let first_start = self.store.last_run(group.id, CHECKIN).await?.is_none();
            let mut skipped = 0;
            for &fire_at in skip {
                if self
                    .store
                    .claim_run(&run_key(group, fire_at), true, &[], now)
                    .await?
                {
                    skipped += 1;
                }
            }
            tick.skipped += skipped;
            if skipped > 0 && first_start {
                tracing::info!(
                    group = %group.external_id, skipped, %latest,
                    "first start for this group: check-in times before now are not sent; \
                     the next one goes out as scheduled"
                );
            } else if skipped > 0 {
                tracing::warn!(
                    group = %group.external_id, skipped, %latest,
                    "check-in times passed while the bot was not running; skipped (only the \
                     latest run within the catch-up window is sent late)"
                );
            }
        }
        if let Some(fire_at) = send {
            self.run(group, fire_at, now, tick).await?;
        }
        Ok(())
    }

    /// Claims and sends one run.
    async fn run(
        &self,
        group: &Group,
        fire_at: Timestamp,
        now: Timestamp,
        tick: &mut Tick,
    ) -> crate::Result<()> {
        let key = run_key(group, fire_at);
        let deliveries = self.deliveries(group, fire_at).await?;
        if self.store.claim_run(&key, false, &deliveries, now).await? {
            tick.sent += 1;
            tick.deliveries += deliveries.len();
            if fire_at < now - chrono::Duration::minutes(1) {
                tracing::info!(group = %group.external_id, %fire_at, "late check-in sent (catch-up)");
            }
        }
        Ok(())
    }

    /// The group post and each opted-in member's private prompt.
    async fn deliveries(
        &self,
        group: &Group,
        fire_at: Timestamp,
    ) -> crate::Result<Vec<NewDelivery>> {
        let zone = parse_zone(&group.timezone).unwrap_or(chrono_tz::UTC);
        let local = fire_at.with_timezone(&zone);
        let prompt = crate::prompts::prompt_for(&*self.store, group.id, local.date_naive()).await?;
        let p = moderator_prefix(group.platform);
        let run = format!("checkin-{}-{}", group.id, fire_at.timestamp_millis());
        let mut out = vec![NewDelivery {
            kind: DeliveryKind::GroupPrompt,
            target: Target::channel(group.platform, group.external_id.clone()),
            payload: Payload {
                text: format!(
                    "Today's reflection: {}\n\nCheck in privately with {p}checkin; only you see \
                     your answers, and skipping a day is fine.",
                    prompt.text.replace("/learn ", &format!("{p}learn "))
                ),
                ..Payload::default()
            },
            idempotency_key: format!("{run}-group"),
            not_before: None,
            group: Some(group.id),
            about: None,
        }];
        for member in self.store.checkin_recipients(group.id, fire_at).await? {
            out.push(NewDelivery {
                kind: DeliveryKind::CheckinPrompt,
                target: Target::member(member.platform, member.external_id.clone()),
                payload: Payload {
                    text: format!(
                        "Time for today's check-in, if you'd like: how is your mood from 0 to 10? \
                         Reply here with the number, or use {p}checkin. Skipping is always fine, \
                         and {p}pause takes a break from these."
                    ),
                    ..Payload::default()
                },
                idempotency_key: format!("{run}-member-{}", member.id),
                not_before: member_time(&member, local),
                group: Some(group.id),
                about: Some(member.id),
            });
        }
        Ok(out)
    }
}

/// A member with their own time zone gets the prompt at the same clock time
/// in their zone, on the group's date; if that moment has already passed
/// (they are ahead of the group), at once.
fn member_time(member: &Member, group_local: chrono::DateTime<chrono_tz::Tz>) -> Option<Timestamp> {
    let zone = parse_zone(member.timezone.as_deref()?).ok()?;
    let wall = group_local.date_naive().and_time(group_local.time());
    let theirs = zone.from_local_datetime(&wall).earliest()?;
    let theirs = theirs.with_timezone(&chrono::Utc);
    (theirs > group_local.with_timezone(&chrono::Utc)).then_some(theirs)
}

fn run_key(group: &Group, fire_at: Timestamp) -> RunKey {
    RunKey {
        group: group.id,
        kind: CHECKIN.to_owned(),
        fire_at,
    }
}

/// Fire times in `(from, until]`, at most one in each hour: the first of
/// each UTC hour. New check-in schedules fire at most once an hour anyway
/// (so for them this changes nothing), but one stored before that rule
/// may fire every second, and must not flood the group or the database.
/// The choice depends only on the schedule, never on `from`, so every
/// process and every restart picks the same runs. Work is one step per
/// hour of the span, however often the cron fires.
pub fn due_between(schedule: &Schedule, from: Timestamp, until: Timestamp) -> Vec<Timestamp> {
    use chrono::DurationRound;
    let hour = chrono::Duration::hours(1);
    let second = chrono::Duration::seconds(1);
    let mut due = Vec::new();
    let mut after = from;
    while let Some(fire_at) = schedule.fires_between(after, until).next() {
        let Ok(start) = fire_at.duration_trunc(hour) else {
            break;
        };
        // Fire times are whole seconds: `(start - 1s, ..]` begins at `start`.
        if schedule.fires_between(start - second, fire_at).next() == Some(fire_at) {
            due.push(fire_at);
        }
        after = start + hour - second;
    }
    due
}
