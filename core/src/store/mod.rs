//! Storage: the [`Store`] trait and its two implementations on sqlx,
//! [`SqliteStore`] (the embedded default) and [`PostgresStore`] (for several
//! bot processes sharing one database).
//!
//! Both backends run the *same* SQL text for everything but the outbox claim
//! (Postgres adds `FOR UPDATE SKIP LOCKED`): `$n` placeholders work on both,
//! times are Unix milliseconds in 64-bit integer columns, enums are text and
//! settings are JSON text. The shared statements live once, in the
//! `shared_store_impl!` macro below, which each backend instantiates with its
//! own pool type; only connecting, migrating and claiming differ.
//!
//! Every write that must be followed by a message (an alert and its
//! deliveries) happens in one transaction, so a crash leaves both or neither.

mod postgres;
mod sqlite;

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;

pub use self::postgres::PostgresStore;
pub use self::sqlite::SqliteStore;
use crate::clock::{Timestamp, from_millis};
use crate::ids::{
    AlertEventId, AlertId, CheckinId, DeliveryId, GroupId, HomeworkId, MemberId, MemberRef,
    Platform,
};
use crate::model::{
    Alert, AlertAction, AlertEvent, AlertLevel, AlertStatus, AlertTransition, Checkin, Consent,
    Group, GroupSettings, Homework, HomeworkStatus, Member, MemberData, NewAlert, NewCheckin,
    NewGroup, NewHomework,
};
use crate::outbox::{
    Claimed, Delivery, DeliveryKind, DeliveryState, FailureAction, Lane, NewDelivery, Payload,
    Target, TargetKind,
};
use crate::{Error, Result};

/// Builds the deliveries for an alert once its id is known.
pub type DeliveriesFor<'a> = &'a (dyn Fn(&Alert) -> Vec<NewDelivery> + Send + Sync);

/// How long a pruned delivery's idempotency key outlives its content.
pub const KEEP_KEYS: chrono::Duration = chrono::Duration::hours(48);

/// What [`Store::delete_member`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Erasure {
    /// There was no such member.
    NotFound,
    /// Everything about them is gone (resolved alerts anonymised).
    Erased,
    /// Everything is gone but what this many still-open alerts need; they
    /// are anonymised, and the member row erased, once resolved.
    HeldForOpenAlerts(u64),
}

/// Which database a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite, embedded.
    Sqlite,
    /// Postgres, shared.
    Postgres,
}

/// What a group's daily post carries, chosen once a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    /// The learn card.
    Card,
    /// The reflective prompt.
    Prompt,
}

/// A scheduled run's key: one group, one kind of run, one fire time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunKey {
    /// The group.
    pub group: GroupId,
    /// What runs ("checkin").
    pub kind: String,
    /// When it was due.
    pub fire_at: Timestamp,
}

/// Connection settings beyond the URL.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Largest pool size.
    pub max_connections: u32,
    /// How long SQLite waits on a locked database before failing.
    pub busy_timeout: Duration,
    /// How long to keep trying to get a connection (including the first
    /// connect) before giving up with an error.
    pub acquire_timeout: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            max_connections: 8,
            busy_timeout: Duration::from_secs(10),
            acquire_timeout: Duration::from_secs(10),
        }
    }
}

/// Opens the store a URL names: `sqlite://path` (created if missing) or
/// `postgres://…`. Does not migrate; call [`Store::migrate`].
pub async fn connect(url: &str, options: &ConnectOptions) -> Result<Arc<dyn Store>> {
    match backend_of(url) {
        Some(Backend::Sqlite) => Ok(Arc::new(SqliteStore::connect(url, options).await?)),
        Some(Backend::Postgres) => Ok(Arc::new(PostgresStore::connect(url, options).await?)),
        None => Err(Error::UnsupportedUrl),
    }
}

/// Which backend a database URL names, if any.
pub fn backend_of(url: &str) -> Option<Backend> {
    if url.starts_with("sqlite:") {
        Some(Backend::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Some(Backend::Postgres)
    } else {
        None
    }
}

/// Everything ipt-bot keeps. One implementation per backend; the same test
/// suite (in `ipt-tests`) runs against each.
#[async_trait::async_trait]
pub trait Store: Send + Sync + Debug {
    /// Which backend this is.
    fn backend(&self) -> Backend;

    /// Applies any migrations not yet applied.
    async fn migrate(&self) -> Result<()>;

    /// Closes the pool, waiting for connections to be returned.
    async fn close(&self);

    // ---- groups ----

    /// Creates the group, or updates it if `(platform, external_id)` exists.
    async fn upsert_group(&self, group: &NewGroup, now: Timestamp) -> Result<Group>;
    /// Looks a group up by its platform id.
    async fn group(&self, platform: Platform, external_id: &str) -> Result<Option<Group>>;
    /// Every group.
    async fn groups(&self) -> Result<Vec<Group>>;

    // ---- members ----

    /// Creates the member on first sight, or refreshes their display name.
    async fn upsert_member(
        &self,
        member: &MemberRef,
        display_name: &str,
        now: Timestamp,
    ) -> Result<Member>;
    /// Like [`Store::upsert_member`], for the crisis path: a member whose
    /// erasure waits on an open alert stays waiting (a crisis message is
    /// not a choice to come back; any other use of the bot is).
    async fn member_for_alert(
        &self,
        member: &MemberRef,
        display_name: &str,
        now: Timestamp,
    ) -> Result<Member>;
    /// Looks a member up by platform id.
    async fn member(&self, member: &MemberRef) -> Result<Option<Member>>;
    /// Sets or clears the member's own time zone.
    async fn set_member_timezone(&self, id: MemberId, timezone: Option<&str>) -> Result<()>;
    /// Pauses scheduled messages until a time, or resumes them (`None`).
    async fn set_member_paused_until(&self, id: MemberId, until: Option<Timestamp>) -> Result<()>;
    /// Stores the member's consent choices.
    async fn set_member_consent(&self, id: MemberId, consent: Consent) -> Result<()>;
    /// Everything stored about a member.
    async fn member_data(&self, id: MemberId) -> Result<Option<MemberData>>;
    /// Deletes everything stored about the member, in one transaction:
    /// check-ins, exercises, memberships, choices, and every message to or
    /// about them. Resolved alerts about them are anonymised (no link,
    /// excerpt or note). An alert still open is never ended by this: it
    /// keeps the member's reference, level and link, its pending messages
    /// and its escalation, and is anonymised when a moderator resolves it
    /// (then the member row goes too).
    async fn delete_member(&self, id: MemberId, now: Timestamp) -> Result<Erasure>;

    // ---- check-ins ----

    /// Saves a check-in; a second one on the same local day replaces the first.
    async fn save_checkin(&self, checkin: &NewCheckin, now: Timestamp) -> Result<Checkin>;
    /// A member's check-ins on or after `since`, oldest first.
    async fn checkins(&self, member: MemberId, since: NaiveDate) -> Result<Vec<Checkin>>;
    /// Every check-in answered from a group on or after `since`, as
    /// `(member, mood, sleep)`: for anonymous totals only.
    async fn group_checkins(
        &self,
        group: GroupId,
        since: NaiveDate,
    ) -> Result<Vec<(MemberId, i64, Option<i64>)>>;

    // ---- homework ----

    /// Adds an exercise.
    async fn add_homework(&self, homework: &NewHomework, now: Timestamp) -> Result<Homework>;
    /// A member's exercises, newest first.
    async fn homework(&self, member: MemberId) -> Result<Vec<Homework>>;
    /// Open exercises whose due time is in `(after, until]`, of members
    /// not paused at `until`, with their owners.
    async fn homework_due(
        &self,
        after: Timestamp,
        until: Timestamp,
    ) -> Result<Vec<(Homework, Member)>>;
    /// How many of a group's exercises are open, done and skipped.
    async fn group_homework_counts(&self, group: GroupId) -> Result<(i64, i64, i64)>;
    /// How many different members have exercises from the group (the
    /// five-member rule for anonymous totals needs it).
    async fn group_homework_members(&self, group: GroupId) -> Result<i64>;
    /// Marks a member's own exercise done or skipped (or open again).
    /// `None` if the member has no exercise with that id.
    async fn settle_homework(
        &self,
        id: HomeworkId,
        member: MemberId,
        status: HomeworkStatus,
        reflection: Option<&str>,
        now: Timestamp,
    ) -> Result<Option<Homework>>;

    // ---- alerts ----

    /// Opens an alert, writes its audit entry and enqueues the deliveries
    /// `deliveries` builds for it (it knows the new alert's id), in one
    /// transaction.
    async fn open_alert(
        &self,
        alert: &NewAlert,
        deliveries: DeliveriesFor<'_>,
        now: Timestamp,
    ) -> Result<Alert>;
    /// The member's newest unresolved alert in a group opened since `since`.
    async fn recent_alert(
        &self,
        group: GroupId,
        member: MemberId,
        since: Timestamp,
    ) -> Result<Option<Alert>>;
    /// Records another message on an unresolved alert, in one
    /// transaction: raises its level if `level` is higher (one guarded
    /// statement, so concurrent messages can never lower it), writes an
    /// "updated" audit entry, and, only when it was raised, enqueues the
    /// deliveries `deliveries` builds. Returns the alert and whether it was
    /// raised; `None` if there is no such alert or it was resolved meanwhile
    /// (the caller then opens a new one).
    async fn update_alert(
        &self,
        id: AlertId,
        level: AlertLevel,
        deliveries: DeliveriesFor<'_>,
        now: Timestamp,
    ) -> Result<Option<(Alert, bool)>>;
    /// One alert.
    async fn alert(&self, id: AlertId) -> Result<Option<Alert>>;
    /// A group's alerts, newest first; only open and claimed ones if asked.
    async fn alerts(&self, group: GroupId, unresolved_only: bool) -> Result<Vec<Alert>>;
    /// open → claimed.
    async fn claim_alert(&self, id: AlertId, by: &str, now: Timestamp) -> Result<AlertTransition>;
    /// open or claimed → resolved, with a note.
    async fn resolve_alert(
        &self,
        id: AlertId,
        by: &str,
        note: &str,
        now: Timestamp,
    ) -> Result<AlertTransition>;
    /// An alert's audit trail, oldest first.
    async fn alert_events(&self, id: AlertId) -> Result<Vec<AlertEvent>>;
    /// Open (unclaimed) alerts whose escalation time has come, oldest first.
    async fn due_escalations(&self, now: Timestamp, limit: i64) -> Result<Vec<Alert>>;
    /// Escalates an open alert once: counts it, sets the next escalation
    /// time, writes an "escalated" audit entry and enqueues the deliveries
    /// `deliveries` builds, in one transaction. Guarded by the escalation
    /// count the caller saw, so two processes never escalate the same step
    /// twice; `None` if the alert moved on (claimed, resolved, or already
    /// escalated).
    async fn escalate_alert(
        &self,
        alert: &Alert,
        next_at: Timestamp,
        deliveries: DeliveriesFor<'_>,
        now: Timestamp,
    ) -> Result<Option<Alert>>;

    // ---- daily picks (the day's card and reflective prompt) ----

    /// What a group's daily post carried (`pick`) on or after `since`,
    /// oldest first.
    async fn daily_picks_since(
        &self,
        group: GroupId,
        pick: Pick,
        since: NaiveDate,
    ) -> Result<Vec<(NaiveDate, String)>>;
    /// Records `id` as the group's `pick` for `day` unless one is already
    /// recorded; returns the day's pick either way, so that every process
    /// uses the same one.
    async fn set_daily_pick(
        &self,
        group: GroupId,
        pick: Pick,
        day: NaiveDate,
        id: &str,
    ) -> Result<String>;
    /// The cards a group's daily prompt carried on or after `since`.
    async fn daily_cards_since(
        &self,
        group: GroupId,
        since: NaiveDate,
    ) -> Result<Vec<(NaiveDate, String)>> {
        self.daily_picks_since(group, Pick::Card, since).await
    }
    /// Records the day's card (first record wins).
    async fn set_daily_card(
        &self,
        group: GroupId,
        day: NaiveDate,
        card_id: &str,
    ) -> Result<String> {
        self.set_daily_pick(group, Pick::Card, day, card_id).await
    }

    // ---- group membership and scheduled runs ----

    /// The groups a member belongs to, the most recently joined first.
    async fn member_groups(&self, member: MemberId) -> Result<Vec<Group>>;
    /// The group whose check-in prompt was last sent to the member, if
    /// any is still on record: a bare reply in a DM answers that one.
    async fn last_prompt_group(&self, member: MemberId) -> Result<Option<Group>>;
    /// Records that a member belongs to a group (idempotent).
    async fn add_group_member(
        &self,
        group: GroupId,
        member: MemberId,
        now: Timestamp,
    ) -> Result<()>;
    /// The group's members who opted in to check-ins and are not paused at
    /// `now`, by id.
    async fn checkin_recipients(&self, group: GroupId, now: Timestamp) -> Result<Vec<Member>>;
    /// Claims a scheduled run by its key and, in the same transaction,
    /// enqueues its deliveries. `false` (and nothing enqueued) when the run
    /// was already claimed, by this process before a restart or by another.
    /// A `skipped` run is recorded with no deliveries.
    async fn claim_run(
        &self,
        run: &RunKey,
        skipped: bool,
        deliveries: &[NewDelivery],
        now: Timestamp,
    ) -> Result<bool>;
    /// The latest fire time of the group's runs of `kind`, sent or
    /// skipped; `None` before its first run.
    async fn last_run(&self, group: GroupId, kind: &str) -> Result<Option<Timestamp>>;

    // ---- outbox ----

    /// Enqueues deliveries in one transaction. Keys already present are
    /// skipped; returns how many rows were new.
    async fn enqueue(&self, deliveries: &[NewDelivery], now: Timestamp) -> Result<usize>;
    /// Leases up to `limit` due deliveries of one lane for `platform`,
    /// oldest due first.
    async fn claim_deliveries(
        &self,
        platform: Platform,
        lane: Lane,
        now: Timestamp,
        limit: i64,
        lease: Duration,
    ) -> Result<Vec<Claimed>>;
    /// Settles claims as delivered, in one statement per lease. Returns how
    /// many were settled; a claim whose lease was lost is skipped.
    async fn mark_delivered(&self, claims: &[Claimed], now: Timestamp) -> Result<usize>;
    /// Settles a claim as failed: retry later, or dead. `false` if the lease
    /// was lost.
    async fn fail_delivery(
        &self,
        claim: &Claimed,
        error: &str,
        action: FailureAction,
    ) -> Result<bool>;
    /// Hands a claim back unsent (shutdown): due again at `now`, and the
    /// attempt does not count.
    async fn release_delivery(&self, claim: &Claimed, now: Timestamp) -> Result<bool>;
    /// One delivery by its idempotency key.
    async fn delivery(&self, idempotency_key: &str) -> Result<Option<Delivery>>;
    /// A group's deliveries in trouble (dead, or critical and still
    /// failing), newest first; what that group's moderators are shown.
    async fn undeliverable(&self, group: GroupId, limit: i64) -> Result<Vec<Delivery>>;
    /// Prunes deliveries settled long enough ago: a delivered one's text and
    /// target are blanked once delivered before `delivered_before` (its key
    /// kept [`KEEP_KEYS`] longer against resends), a dead one is deleted
    /// once made before `dead_before`. Returns how many rows changed.
    async fn prune_deliveries(
        &self,
        delivered_before: Timestamp,
        dead_before: Timestamp,
    ) -> Result<u64>;
    /// How many deliveries are waiting (queued or failing).
    async fn pending_deliveries(&self) -> Result<i64>;
}

fn corrupt(what: impl std::fmt::Display) -> Error {
    Error::Corrupt(what.to_string())
}

fn millis(t: Timestamp) -> i64 {
    t.timestamp_millis()
}

fn opt_time(ms: Option<i64>) -> Option<Timestamp> {
    ms.map(from_millis)
}

fn lease_millis(lease: Duration) -> i64 {
    i64::try_from(lease.as_millis()).unwrap_or(i64::MAX / 4)
}

// ---- rows: what the SQL returns, converted to domain types in plain Rust ----

macro_rules! group_columns {
    () => {
        "id, platform, external_id, moderator_channel, region, timezone, checkin_cron, settings, created_at"
    };
    ("g.") => {
        "g.id, g.platform, g.external_id, g.moderator_channel, g.region, g.timezone, g.checkin_cron, g.settings, g.created_at"
    };
}

#[derive(sqlx::FromRow)]
struct GroupRow {
    id: i64,
    platform: Platform,
    external_id: String,
    moderator_channel: Option<String>,
    region: String,
    timezone: String,
    checkin_cron: Option<String>,
    settings: String,
    created_at: i64,
}

impl TryFrom<GroupRow> for Group {
    type Error = Error;
    fn try_from(r: GroupRow) -> Result<Self> {
        let settings: GroupSettings = serde_json::from_str(&r.settings)
            .map_err(|e| corrupt(format!("group {} settings: {e}", r.id)))?;
        Ok(Group {
            id: GroupId(r.id),
            platform: r.platform,
            external_id: r.external_id,
            moderator_channel: r.moderator_channel,
            region: r.region,
            timezone: r.timezone,
            checkin_cron: r.checkin_cron,
            settings,
            created_at: from_millis(r.created_at),
        })
    }
}

macro_rules! member_columns {
    () => {
        "id, platform, external_id, display_name, timezone, consent_checkins, consent_quiet, consent_signals, paused_until, created_at"
    };
}

#[derive(sqlx::FromRow)]
struct MemberRow {
    id: i64,
    platform: Platform,
    external_id: String,
    display_name: String,
    timezone: Option<String>,
    consent_checkins: bool,
    consent_quiet: bool,
    consent_signals: bool,
    paused_until: Option<i64>,
    created_at: i64,
}

impl From<MemberRow> for Member {
    fn from(r: MemberRow) -> Self {
        Member {
            id: MemberId(r.id),
            platform: r.platform,
            external_id: r.external_id,
            display_name: r.display_name,
            timezone: r.timezone,
            consent: Consent {
                checkins: r.consent_checkins,
                quiet: r.consent_quiet,
                checkin_signals: r.consent_signals,
            },
            paused_until: opt_time(r.paused_until),
            created_at: from_millis(r.created_at),
        }
    }
}

macro_rules! checkin_columns {
    () => {
        "id, member_id, group_id, local_date, mood, sleep, connection, note, created_at, updated_at"
    };
}

#[derive(sqlx::FromRow)]
struct CheckinRow {
    id: i64,
    member_id: i64,
    group_id: Option<i64>,
    local_date: String,
    mood: i64,
    sleep: Option<i64>,
    connection: Option<String>,
    note: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<CheckinRow> for Checkin {
    type Error = Error;
    fn try_from(r: CheckinRow) -> Result<Self> {
        let local_date = NaiveDate::parse_from_str(&r.local_date, "%Y-%m-%d")
            .map_err(|e| corrupt(format!("check-in {} date: {e}", r.id)))?;
        Ok(Checkin {
            id: CheckinId(r.id),
            member_id: MemberId(r.member_id),
            group_id: r.group_id.map(GroupId),
            local_date,
            mood: r.mood,
            sleep: r.sleep,
            connection: r.connection,
            note: r.note,
            created_at: from_millis(r.created_at),
            updated_at: from_millis(r.updated_at),
        })
    }
}

macro_rules! homework_columns {
    () => {
        "id, member_id, group_id, template, title, details, status, due_at, assigned_by, reflection, created_at, completed_at"
    };
}

#[derive(sqlx::FromRow)]
struct HomeworkRow {
    id: i64,
    member_id: i64,
    group_id: Option<i64>,
    template: Option<String>,
    title: String,
    details: Option<String>,
    status: HomeworkStatus,
    due_at: Option<i64>,
    assigned_by: Option<String>,
    reflection: Option<String>,
    created_at: i64,
    completed_at: Option<i64>,
}

impl From<HomeworkRow> for Homework {
    fn from(r: HomeworkRow) -> Self {
        Homework {
            id: HomeworkId(r.id),
            member_id: MemberId(r.member_id),
            group_id: r.group_id.map(GroupId),
            template: r.template,
            title: r.title,
            details: r.details,
            status: r.status,
            due_at: opt_time(r.due_at),
            assigned_by: r.assigned_by,
            reflection: r.reflection,
            created_at: from_millis(r.created_at),
            completed_at: opt_time(r.completed_at),
        }
    }
}

macro_rules! alert_columns {
    () => {
        "id, group_id, member_id, level, status, message_link, excerpt, claimed_by, claimed_at, resolved_by, resolved_at, resolution_note, escalations, escalate_at, created_at, updated_at, forget_member, anonymised_at"
    };
}

#[derive(sqlx::FromRow)]
struct AlertRow {
    id: i64,
    group_id: i64,
    member_id: i64,
    level: AlertLevel,
    status: AlertStatus,
    message_link: Option<String>,
    excerpt: Option<String>,
    claimed_by: Option<String>,
    claimed_at: Option<i64>,
    resolved_by: Option<String>,
    resolved_at: Option<i64>,
    resolution_note: Option<String>,
    escalations: i64,
    escalate_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
    forget_member: bool,
    anonymised_at: Option<i64>,
}

impl From<AlertRow> for Alert {
    fn from(r: AlertRow) -> Self {
        Alert {
            id: AlertId(r.id),
            group_id: GroupId(r.group_id),
            member_id: MemberId(r.member_id),
            level: r.level,
            status: r.status,
            message_link: r.message_link,
            excerpt: r.excerpt,
            claimed_by: r.claimed_by,
            claimed_at: opt_time(r.claimed_at),
            resolved_by: r.resolved_by,
            resolved_at: opt_time(r.resolved_at),
            resolution_note: r.resolution_note,
            escalations: r.escalations,
            escalate_at: opt_time(r.escalate_at),
            created_at: from_millis(r.created_at),
            updated_at: from_millis(r.updated_at),
            forget_member: r.forget_member,
            anonymised_at: opt_time(r.anonymised_at),
        }
    }
}

#[derive(sqlx::FromRow)]
struct AlertEventRow {
    id: i64,
    alert_id: i64,
    at: i64,
    actor: Option<String>,
    action: AlertAction,
    detail: Option<String>,
}

impl From<AlertEventRow> for AlertEvent {
    fn from(r: AlertEventRow) -> Self {
        AlertEvent {
            id: AlertEventId(r.id),
            alert_id: AlertId(r.alert_id),
            at: from_millis(r.at),
            actor: r.actor,
            action: r.action,
            detail: r.detail,
        }
    }
}

macro_rules! delivery_columns {
    () => {
        "id, kind, platform, target_kind, target_id, payload, idempotency_key, state, attempts, available_at, lease, delivered_at, last_error, created_at"
    };
}

#[derive(sqlx::FromRow)]
struct DeliveryRow {
    id: i64,
    kind: DeliveryKind,
    platform: Platform,
    target_kind: TargetKind,
    target_id: String,
    payload: String,
    idempotency_key: String,
    state: DeliveryState,
    attempts: i64,
    available_at: Option<i64>,
    lease: Option<i64>,
    delivered_at: Option<i64>,
    last_error: Option<String>,
    created_at: i64,
}

impl DeliveryRow {
    fn into_delivery(self) -> Result<(Delivery, Option<i64>)> {
        let payload: Payload = serde_json::from_str(&self.payload)
            .map_err(|e| corrupt(format!("delivery {} payload: {e}", self.id)))?;
        let delivery = Delivery {
            id: DeliveryId(self.id),
            kind: self.kind,
            target: Target {
                platform: self.platform,
                kind: self.target_kind,
                id: self.target_id,
            },
            payload,
            idempotency_key: self.idempotency_key,
            state: self.state,
            attempts: self.attempts,
            available_at: opt_time(self.available_at),
            delivered_at: opt_time(self.delivered_at),
            last_error: self.last_error,
            created_at: from_millis(self.created_at),
        };
        Ok((delivery, self.lease))
    }
}

fn into_claims(rows: Vec<DeliveryRow>) -> Result<Vec<Claimed>> {
    let mut claims = rows
        .into_iter()
        .map(|row| {
            let (delivery, lease) = row.into_delivery()?;
            let lease = lease.ok_or_else(|| corrupt("claimed delivery without a lease"))?;
            Ok(Claimed { delivery, lease })
        })
        .collect::<Result<Vec<_>>>()?;
    // RETURNING gives no order guarantee (and shows the new lease time, not
    // when each row fell due); deliver in the order the messages were made,
    // which keeps several messages to one member in order.
    claims.sort_by_key(|c| (c.delivery.created_at, c.delivery.id));
    Ok(claims)
}

fn encode_payload(payload: &Payload) -> Result<String> {
    serde_json::to_string(payload).map_err(|e| corrupt(format!("payload: {e}")))
}

/// The statement both backends use to claim, minus Postgres' lock clause.
macro_rules! claim_sql {
    ($lock:literal) => {
        concat!(
            "UPDATE deliveries SET attempts = attempts + 1, available_at = $3, lease = $4 \
             WHERE id IN (SELECT id FROM deliveries \
                          WHERE platform = $1 AND lane = $6 AND available_at <= $2 \
                          ORDER BY available_at, id LIMIT $5 ",
            $lock,
            ") RETURNING ",
            $crate::store::delivery_columns!()
        )
    };
}
pub(crate) use claim_sql;

/// Implements [`Store`] for a backend whose pool type is `sqlx::Pool<$db>`.
/// The backend type provides `migrate_impl`, `claim_impl` and `close_impl`.
macro_rules! shared_store_impl {
    ($store:ty, $db:ty, $backend:expr) => {
        impl $store {
            async fn insert_deliveries(
                conn: &mut <$db as sqlx::Database>::Connection,
                deliveries: &[$crate::outbox::NewDelivery],
                now: $crate::clock::Timestamp,
            ) -> $crate::Result<usize> {
                // Many rows a statement: a morning's check-ins for a big
                // group are one transaction of a few statements, not
                // thousands (12 parameters a row, well under both limits).
                const ROWS: usize = 200;
                let mut inserted = 0;
                for chunk in deliveries.chunks(ROWS) {
                    let payloads = chunk
                        .iter()
                        .map(|d| $crate::store::encode_payload(&d.payload))
                        .collect::<$crate::Result<Vec<String>>>()?;
                    let mut sql = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO deliveries (kind, platform, target_kind, target_id, payload, \
                         idempotency_key, state, attempts, available_at, created_at, lane, \
                         group_id, member_id, alert_id) ",
                    );
                    sql.push_values(chunk.iter().zip(payloads), |mut row, (d, payload)| {
                        let available = d.not_before.map_or(now, |t| t.max(now));
                        row.push_bind(d.kind)
                            .push_bind(d.target.platform)
                            .push_bind(d.target.kind)
                            .push_bind(d.target.id.clone())
                            .push_bind(payload)
                            .push_bind(d.idempotency_key.clone())
                            .push("'queued'")
                            .push("0")
                            .push_bind($crate::store::millis(available))
                            .push_bind($crate::store::millis(now))
                            .push_bind(d.kind.lane())
                            .push_bind(d.group.map(|g| g.0))
                            .push_bind(d.about.map(|m| m.0))
                            .push_bind(d.payload.alert.map(|a| a.0));
                    });
                    sql.push(" ON CONFLICT (idempotency_key) DO NOTHING");
                    let result = sql.build().execute(&mut *conn).await?;
                    inserted += result.rows_affected() as usize;
                }
                Ok(inserted)
            }

            async fn fetch_alert(
                conn: &mut <$db as sqlx::Database>::Connection,
                id: $crate::ids::AlertId,
            ) -> $crate::Result<Option<$crate::model::Alert>> {
                let row = sqlx::query_as::<_, $crate::store::AlertRow>(concat!(
                    "SELECT ",
                    $crate::store::alert_columns!(),
                    " FROM alerts WHERE id = $1"
                ))
                .bind(id.0)
                .fetch_optional(&mut *conn)
                .await?;
                Ok(row.map(Into::into))
            }

            async fn insert_alert_event(
                conn: &mut <$db as sqlx::Database>::Connection,
                id: $crate::ids::AlertId,
                at: $crate::clock::Timestamp,
                actor: Option<&str>,
                action: $crate::model::AlertAction,
                detail: Option<&str>,
            ) -> $crate::Result<()> {
                sqlx::query(
                    "INSERT INTO alert_events (alert_id, at, actor, action, detail) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(id.0)
                .bind($crate::store::millis(at))
                .bind(actor.map(str::to_owned))
                .bind(action)
                .bind(detail.map(str::to_owned))
                .execute(&mut *conn)
                .await?;
                Ok(())
            }

            /// Anonymises a member's resolved alerts that are not yet: the
            /// link, excerpt and closing note go (the moderators' notes may
            /// name the member), and every message that belonged to them.
            /// The alert's bare facts stay for the moderators' records.
            async fn anonymise_resolved_alerts(
                conn: &mut <$db as sqlx::Database>::Connection,
                member: $crate::ids::MemberId,
                now: $crate::clock::Timestamp,
            ) -> $crate::Result<()> {
                let ids: Vec<i64> = sqlx::query_scalar(
                    "UPDATE alerts SET message_link = NULL, excerpt = NULL, \
                     resolution_note = NULL, forget_member = FALSE, anonymised_at = $2 \
                     WHERE member_id = $1 AND status = 'resolved' AND anonymised_at IS NULL \
                     RETURNING id",
                )
                .bind(member.0)
                .bind($crate::store::millis(now))
                .fetch_all(&mut *conn)
                .await?;
                for alert in ids {
                    sqlx::query(
                        "UPDATE alert_events SET detail = NULL \
                         WHERE alert_id = $1 AND action = 'resolved'",
                    )
                    .bind(alert)
                    .execute(&mut *conn)
                    .await?;
                    sqlx::query("DELETE FROM deliveries WHERE alert_id = $1")
                        .bind(alert)
                        .execute(&mut *conn)
                        .await?;
                }
                Ok(())
            }

            /// Runs one of the two member upserts (binding platform, id,
            /// name and time as `$1..$4`).
            async fn upsert_member_row(
                &self,
                sql: &'static str,
                member: &$crate::ids::MemberRef,
                display_name: &str,
                now: $crate::clock::Timestamp,
            ) -> $crate::Result<$crate::model::Member> {
                let row = sqlx::query_as::<_, $crate::store::MemberRow>(sql)
                    .bind(member.platform)
                    .bind(member.id.clone())
                    .bind(display_name.to_owned())
                    .bind($crate::store::millis(now))
                    .fetch_one(&self.pool)
                    .await?;
                Ok(row.into())
            }

            /// How many of a member's alerts are not resolved yet.
            async fn open_alerts_of(
                conn: &mut <$db as sqlx::Database>::Connection,
                member: $crate::ids::MemberId,
            ) -> $crate::Result<i64> {
                let open: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM alerts WHERE member_id = $1 AND status <> 'resolved'",
                )
                .bind(member.0)
                .fetch_one(&mut *conn)
                .await?;
                Ok(open)
            }

            /// The last step of an erasure: the member row goes. Anonymised
            /// alerts still point at it, so where there are any the row is
            /// blanked to a placeholder that names nobody instead.
            async fn erase_member_row(
                conn: &mut <$db as sqlx::Database>::Connection,
                member: $crate::ids::MemberId,
            ) -> $crate::Result<()> {
                sqlx::query("DELETE FROM deliveries WHERE member_id = $1")
                    .bind(member.0)
                    .execute(&mut *conn)
                    .await?;
                let alerts: i64 =
                    sqlx::query_scalar("SELECT COUNT(*) FROM alerts WHERE member_id = $1")
                        .bind(member.0)
                        .fetch_one(&mut *conn)
                        .await?;
                let sql = if alerts > 0 {
                    "UPDATE members SET external_id = 'erased:' || CAST(id AS TEXT), \
                     display_name = '', timezone = NULL, consent_checkins = FALSE, \
                     consent_quiet = FALSE, consent_signals = FALSE, paused_until = NULL, \
                     erase_requested_at = NULL WHERE id = $1"
                } else {
                    "DELETE FROM members WHERE id = $1"
                };
                sqlx::query(sql).bind(member.0).execute(&mut *conn).await?;
                Ok(())
            }

            /// After an erasure, SQLite's write-ahead log still holds the
            /// old pages: checkpoint and truncate it, so the deleted text is
            /// not left in the `-wal` file (deleted pages in the main file
            /// are zeroed by `secure_delete`). Best effort: a busy reader can
            /// delay it to the next checkpoint.
            async fn compact_after_erasure(&self) {
                if matches!($backend, $crate::store::Backend::Sqlite) {
                    if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                        .execute(&self.pool)
                        .await
                    {
                        tracing::warn!(%error, "checkpoint after an erasure failed");
                    }
                }
            }

            /// A resolved alert whose member asked to be forgotten while it
            /// was open: anonymise it now, and erase the member row once no
            /// alert of theirs is open. `true` if anything was erased.
            async fn finish_erasure(
                conn: &mut <$db as sqlx::Database>::Connection,
                id: $crate::ids::AlertId,
                now: $crate::clock::Timestamp,
            ) -> $crate::Result<bool> {
                let member: Option<(i64, Option<i64>)> = sqlx::query_as(
                    "SELECT m.id, m.erase_requested_at FROM alerts a \
                     JOIN members m ON m.id = a.member_id WHERE a.id = $1 AND a.forget_member",
                )
                .bind(id.0)
                .fetch_optional(&mut *conn)
                .await?;
                let Some((member, erase_requested)) = member else {
                    return Ok(false);
                };
                let member = $crate::ids::MemberId(member);
                Self::anonymise_resolved_alerts(&mut *conn, member, now).await?;
                let open = Self::open_alerts_of(&mut *conn, member).await?;
                if erase_requested.is_some() && open == 0 {
                    Self::erase_member_row(&mut *conn, member).await?;
                }
                Ok(true)
            }

            /// Runs one guarded lifecycle UPDATE (binding id, actor, time and,
            /// if given, the note as `$1..$4`) and its audit entry in one
            /// transaction; reports whether the guard let it through.
            async fn transition_alert(
                &self,
                id: $crate::ids::AlertId,
                update: &'static str,
                by: &str,
                note: Option<&str>,
                action: $crate::model::AlertAction,
                now: $crate::clock::Timestamp,
            ) -> $crate::Result<$crate::model::AlertTransition> {
                use $crate::model::AlertTransition;
                let mut tx = self.pool.begin().await?;
                let mut query = sqlx::query(update)
                    .bind(id.0)
                    .bind(by.to_owned())
                    .bind($crate::store::millis(now));
                if let Some(note) = note {
                    query = query.bind(note.to_owned());
                }
                let changed = query.execute(&mut *tx).await?.rows_affected();
                let mut erased = false;
                if changed == 1 {
                    Self::insert_alert_event(&mut tx, id, now, Some(by), action, note).await?;
                    if action == $crate::model::AlertAction::Resolved {
                        erased = Self::finish_erasure(&mut tx, id, now).await?;
                    }
                }
                let alert = Self::fetch_alert(&mut tx, id).await?;
                tx.commit().await?;
                if erased {
                    self.compact_after_erasure().await;
                }
                Ok(match (alert, changed) {
                    (None, _) => AlertTransition::NotFound,
                    (Some(a), 1) => AlertTransition::Done(a),
                    (Some(a), _) => AlertTransition::NotAllowed(a),
                })
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::Store for $store {
            fn backend(&self) -> $crate::store::Backend {
                $backend
            }

            async fn migrate(&self) -> $crate::Result<()> {
                self.migrate_impl().await
            }

            async fn close(&self) {
                self.pool.close().await;
            }

            #[tracing::instrument(skip(self, group), fields(platform = %group.platform))]
            async fn upsert_group(
                &self,
                group: &$crate::model::NewGroup,
                now: $crate::clock::Timestamp,
            ) -> $crate::Result<$crate::model::Group> {
                let settings = serde_json::to_string(&group.settings)
                    .map_err(|e| $crate::store::corrupt(format!("group settings: {e}")))?;
                let row = sqlx::query_as::<_, $crate::store::GroupRow>(concat!(
                    "INSERT INTO groups (platform, external_id, moderator_channel, region, \
                     timezone, checkin_cron, settings, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                     ON CONFLICT (platform, external_id) DO UPDATE SET \
                     moderator_channel = excluded.moderator_channel, region = excluded.region, \
                     timezone = excluded.timezone, checkin_cron = excluded.checkin_cron, \
                     settings = excluded.settings RETURNING ",
                    $crate::store::group_columns!()
                ))
                .bind(group.platform)
                .bind(group.external_id.clone())
                .bind(group.moderator_channel.clone())
                .bind(group.region.clone())
                .bind(group.timezone.clone())
                .bind(group.checkin_cron.clone())
                .bind(settings)
                .bind($crate::store::millis(now))
                .fetch_one(&self.pool)
                .await?;
                row.try_into()
            }

            #[tracing::instrument(skip(self))]
            async fn group(
                &self,
                platform: $crate::ids::Platform,
                external_id: &str,
            ) -> $crate::Result<Option<$crate::model::Group>> {
                let row = sqlx::query_as::<_, $crate::store::GroupRow>(concat!(
                    "SELECT ",
                    $crate::store::group_columns!(),
                    " FROM groups WHERE platform = $1 AND external_id = $2"
                ))
                .bind(platform)
                .bind(external_id.to_owned())
                .fetch_optional(&self.pool)
                .await?;
                row.map(TryInto::try_into).transpose()
            }

            #[tracing::instrument(skip(self))]
            async fn groups(&self) -> $crate::Result<Vec<$crate::model::Group>> {
                let rows = sqlx::query_as::<_, $crate::store::GroupRow>(concat!(
                    "SELECT ",
                    $crate::store::group_columns!(),
                    " FROM groups ORDER BY id"
                ))
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            #[tracing::instrument(skip(self, member, display_name))]
            async fn upsert_member(
                &self,
                member: &$crate::ids::MemberRef,
                display_name: &str,
                now: $crate::clock::Timestamp,
            ) -> $crate::Result<$crate::model::Member> {
                // Any use of the bot is a member coming back: a pending
                // erasure (held for an open alert) is called off.
                self.upsert_member_row(
                    concat!(
                        "INSERT INTO members (platform, external_id, display_name, created_at) \
                         VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (platform, external_id) DO UPDATE SET \
                         display_name = excluded.display_name, erase_requested_at = NULL \
                         RETURNING ",
                        $crate::store::member_columns!()
                    ),
                    member,
                    display_name,
                    now,
                )
                .await
            }

            #[tracing::instrument(skip(self, member, display_name))]
            async fn member_for_alert(
                &self,
                member: &$crate::ids::MemberRef,
                display_name: &str,
                now: $crate::clock::Timestamp,
            ) -> $crate::Result<$crate::model::Member> {
                self.upsert_member_row(
                    concat!(
                        "INSERT INTO members (platform, external_id, display_name, created_at) \
                         VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (platform, external_id) DO UPDATE SET \
                         display_name = excluded.display_name RETURNING ",
                        $crate::store::member_columns!()
                    ),
                    member,
                    display_name,
                    now,
                )
                .await
            }

            #[tracing::instrument(skip(self, member))]
            async fn member(
                &self,
                member: &$crate::ids::MemberRef,
            ) -> $crate::Result<Option<$crate::model::Member>> {
                let row = sqlx::query_as::<_, $crate::store::MemberRow>(concat!(
                    "SELECT ",
                    $crate::store::member_columns!(),
                    " FROM members WHERE platform = $1 AND external_id = $2"
                ))
                .bind(member.platform)
                .bind(member.id.clone())
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(Into::into))
            }

            #[tracing::instrument(skip(self))]
            async fn set_member_timezone(
                &self,
                id: $crate::ids::MemberId,
                timezone: Option<&str>,
            ) -> $crate::Result<()> {
                sqlx::query("UPDATE members SET timezone = $2 WHERE id = $1")
                    .bind(id.0)
                    .bind(timezone.map(str::to_owned))
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            #[tracing::instrument(skip(self))]
            async fn set_member_paused_until(
                &self,
                id: $crate::ids::MemberId,
                until: Option<$crate::clock::Timestamp>,
            ) -> $crate::Result<()> {
                sqlx::query("UPDATE members SET paused_until = $2 WHERE id = $1")
                    .bind(id.0)
                    .bind(until.map($crate::store::millis))
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            #[tracing::instrument(skip(self))]
            async fn set_member_consent(
                &self,
                id: $crate::ids::MemberId,
                consent: $crate::model::Consent,
            ) -> $crate::Result<()> {
                sqlx::query(
                    "UPDATE members SET consent_checkins = $2, consent_quiet = $3, \
                     consent_signals = $4 WHERE id = $1",
                )
                .bind(id.0)
                .bind(consent.checkins)
                .bind(consent.quiet)
                .bind(consent.checkin_signals)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            #[tracing::instrument(skip(self))]
            async fn member_data(
                &self,
                id: $crate::ids::MemberId,
            ) -> $crate::Result<Option<$crate::model::MemberData>> {
                let mut tx = self.pool.begin().await?;
                let Some(member) = sqlx::query_as::<_, $crate::store::MemberRow>(concat!(
                    "SELECT ",
                    $crate::store::member_columns!(),
                    " FROM members WHERE id = $1"
                ))
                .bind(id.0)
                .fetch_optional(&mut *tx)
                .await?
                else {
                    return Ok(None);
                };
                let checkins = sqlx::query_as::<_, $crate::store::CheckinRow>(concat!(
                    "SELECT ",
                    $crate::store::checkin_columns!(),
                    " FROM checkins WHERE member_id = $1 ORDER BY local_date"
                ))
                .bind(id.0)
                .fetch_all(&mut *tx)
                .await?
                .into_iter()
                .map(TryInto::try_into)
                .collect::<$crate::Result<Vec<_>>>()?;
                let homework = sqlx::query_as::<_, $crate::store::HomeworkRow>(concat!(
                    "SELECT ",
                    $crate::store::homework_columns!(),
                    " FROM homework WHERE member_id = $1 ORDER BY id"
                ))
                .bind(id.0)
                .fetch_all(&mut *tx)
                .await?
                .into_iter()
                .map(Into::into)
                .collect();
                let groups: Vec<(String, String)> = sqlx::query_as(
                    "SELECT g.platform, g.external_id FROM group_members m \
                     JOIN groups g ON g.id = m.group_id WHERE m.member_id = $1 ORDER BY g.id",
                )
                .bind(id.0)
                .fetch_all(&mut *tx)
                .await?;
                let alert_rows = sqlx::query_as::<_, $crate::store::AlertRow>(concat!(
                    "SELECT ",
                    $crate::store::alert_columns!(),
                    " FROM alerts WHERE member_id = $1 ORDER BY id"
                ))
                .bind(id.0)
                .fetch_all(&mut *tx)
                .await?;
                let mut alerts = Vec::with_capacity(alert_rows.len());
                for row in alert_rows {
                    let alert: $crate::model::Alert = row.into();
                    let group: Option<(String, String)> =
                        sqlx::query_as("SELECT platform, external_id FROM groups WHERE id = $1")
                            .bind(alert.group_id.0)
                            .fetch_optional(&mut *tx)
                            .await?;
                    let events = sqlx::query_as::<_, $crate::store::AlertEventRow>(
                        "SELECT id, alert_id, at, actor, action, detail FROM alert_events \
                         WHERE alert_id = $1 ORDER BY id",
                    )
                    .bind(alert.id.0)
                    .fetch_all(&mut *tx)
                    .await?
                    .into_iter()
                    .map(|r| {
                        let e: $crate::model::AlertEvent = r.into();
                        $crate::model::AlertRecordEvent {
                            at: e.at,
                            action: e.action,
                            detail: e.detail,
                        }
                    })
                    .collect();
                    alerts.push($crate::model::AlertRecord {
                        id: alert.id,
                        group: group.map(|(p, g)| format!("{p}:{g}")).unwrap_or_default(),
                        level: alert.level,
                        status: alert.status,
                        message_link: alert.message_link,
                        excerpt: alert.excerpt,
                        resolution_note: alert.resolution_note,
                        created_at: alert.created_at,
                        resolved_at: alert.resolved_at,
                        events,
                    });
                }
                let deliveries = sqlx::query_as::<_, $crate::store::DeliveryRow>(concat!(
                    "SELECT ",
                    $crate::store::delivery_columns!(),
                    " FROM deliveries WHERE member_id = $1 ORDER BY id"
                ))
                .bind(id.0)
                .fetch_all(&mut *tx)
                .await?
                .into_iter()
                .map(|r| {
                    r.into_delivery().map(|(d, _)| $crate::model::DeliveryRecord {
                        kind: d.kind,
                        to: d.target.kind,
                        state: d.state,
                        text: d.payload.text,
                        created_at: d.created_at,
                        delivered_at: d.delivered_at,
                    })
                })
                .collect::<$crate::Result<Vec<_>>>()?;
                tx.commit().await?;
                Ok(Some($crate::model::MemberData {
                    member: member.into(),
                    groups: groups.into_iter().map(|(p, g)| format!("{p}:{g}")).collect(),
                    checkins,
                    homework,
                    alerts,
                    deliveries,
                }))
            }

            #[tracing::instrument(skip(self))]
            async fn delete_member(
                &self,
                id: $crate::ids::MemberId,
                now: $crate::clock::Timestamp,
            ) -> $crate::Result<$crate::store::Erasure> {
                use $crate::store::Erasure;
                let mut tx = self.pool.begin().await?;
                // Lock the member first, so an alert being opened for them
                // at this moment either is counted below or waits for the
                // erasure (Postgres: FOR UPDATE blocks the alert's foreign
                // key check; SQLite: writing first takes the database's
                // write lock, where reading first could fail later with a
                // busy snapshot).
                let lock = if matches!($backend, $crate::store::Backend::Postgres) {
                    "SELECT id FROM members WHERE id = $1 FOR UPDATE"
                } else {
                    "UPDATE members SET id = id WHERE id = $1 RETURNING id"
                };
                let exists: Option<i64> = sqlx::query_scalar(lock)
                    .bind(id.0)
                    .fetch_optional(&mut *tx)
                    .await?;
                if exists.is_none() {
                    return Ok(Erasure::NotFound);
                }
                for sql in [
                    "DELETE FROM checkins WHERE member_id = $1",
                    "DELETE FROM homework WHERE member_id = $1",
                    "DELETE FROM group_members WHERE member_id = $1",
                    // Open alerts keep what they need to reach a person
                    // (reference, level, link); not the member's words.
                    "UPDATE alerts SET excerpt = NULL, forget_member = TRUE \
                     WHERE member_id = $1 AND status <> 'resolved'",
                    // Every message to or about them, except the unsettled
                    // ones of an open alert (still to go out, or the sign
                    // for moderators that it could not). `alert_id IS NOT
                    // NULL` matters: `NULL IN (...)` is NULL, and NOT NULL
                    // would keep every check-in prompt still waiting.
                    "DELETE FROM deliveries WHERE member_id = $1 AND NOT (\
                     state <> 'delivered' AND alert_id IS NOT NULL AND alert_id IN \
                     (SELECT id FROM alerts WHERE member_id = $1 AND status <> 'resolved'))",
                ] {
                    sqlx::query(sql).bind(id.0).execute(&mut *tx).await?;
                }
                Self::anonymise_resolved_alerts(&mut tx, id, now).await?;
                let open = Self::open_alerts_of(&mut tx, id).await?;
                let outcome = if open > 0 {
                    sqlx::query(
                        "UPDATE members SET timezone = NULL, consent_checkins = FALSE, \
                         consent_quiet = FALSE, consent_signals = FALSE, paused_until = NULL, \
                         erase_requested_at = $2 WHERE id = $1",
                    )
                    .bind(id.0)
                    .bind($crate::store::millis(now))
                    .execute(&mut *tx)
                    .await?;
                    Erasure::HeldForOpenAlerts(open as u64)
                } else {
                    Self::erase_member_row(&mut tx, id).await?;
                    Erasure::Erased
                };
                tx.commit().await?;
                self.compact_after_erasure().await;
                Ok(outcome)
            }

            #[tracing::instrument(skip(self, checkin), fields(member = %checkin.member_id))]
            async fn save_checkin(
                &self,
                checkin: &$crate::model::NewCheckin,
                now: $crate::clock::Timestamp,
            ) -> $crate::Result<$crate::model::Checkin> {
                let row = sqlx::query_as::<_, $crate::store::CheckinRow>(concat!(
                    "INSERT INTO checkins (member_id, group_id, local_date, mood, sleep, \
                     connection, note, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) \
                     ON CONFLICT (member_id, local_date) DO UPDATE SET \
                     group_id = excluded.group_id, mood = excluded.mood, sleep = excluded.sleep, \
                     connection = excluded.connection, note = excluded.note, \
                     updated_at = excluded.updated_at RETURNING ",
                    $crate::store::checkin_columns!()
                ))
                .bind(checkin.member_id.0)
                .bind(checkin.group_id.map(|g| g.0))
                .bind(checkin.local_date.format("%Y-%m-%d").to_string())
                .bind(checkin.mood)
                .bind(checkin.sleep)
                .bind(checkin.connection.clone())
                .bind(checkin.note.clone())
                .bind($crate::store::millis(now))
                .fetch_one(&self.pool)
                .await?;
                row.try_into()
            }

            #[tracing::instrument(skip(self))]
            async fn checkins(
                &self,
                member: $crate::ids::MemberId,
                since: chrono::NaiveDate,
            ) -> $crate::Result<Vec<$crate::model::Checkin>> {
                let rows = sqlx::query_as::<_, $crate::store::CheckinRow>(concat!(
                    "SELECT ",
                    $crate::store::checkin_columns!(),
                    " FROM checkins WHERE member_id = $1 AND local_date >= $2 ORDER BY local_date"
                ))
                .bind(member.0)
                .bind(since.format("%Y-%m-%d").to_string())
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            #[tracing::instrument(skip(self, homework), fields(member = %homework.member_id))]
            async fn add_homework(
                &self,
                homework: &$crate::model::NewHomework,
                now: $crate::clock::Timestamp,
            ) -> $crate::Result<$crate::model::Homework> {
                let row = sqlx::query_as::<_, $crate::store::HomeworkRow>(concat!(
                    "INSERT INTO homework (member_id, group_id, template, title, details, status, \
                     due_at, assigned_by, created_at) \
                     VALUES ($1, $2, $3, $4, $5, 'open', $6, $7, $8) RETURNING ",
                    $crate::store::homework_columns!()
                ))
                .bind(homework.member_id.0)
                .bind(homework.group_id.map(|g| g.0))
                .bind(homework.template.clone())
                .bind(homework.title.clone())
                .bind(homework.details.clone())
                .bind(homework.due_at.map($crate::store::millis))
                .bind(homework.assigned_by.clone())
                .bind($crate::store::millis(now))
                .fetch_one(&self.pool)
                .await?;
                Ok(row.into())
            }

            #[tracing::instrument(skip(self))]
            async fn homework(
                &self,
                member: $crate::ids::MemberId,
            ) -> $crate::Result<Vec<$crate::model::Homework>> {
                let rows = sqlx::query_as::<_, $crate::store::HomeworkRow>(concat!(
                    "SELECT ",
                    $crate::store::homework_columns!(),
                    " FROM homework WHERE member_id = $1 ORDER BY id DESC"
                ))
                .bind(member.0)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            #[tracing::instrument(skip(self, reflection))]
            async fn settle_homework(
                &self,
                id: $crate::ids::HomeworkId,
                member: $crate::ids::MemberId,
                status: $crate::model::HomeworkStatus,
                reflection: Option<&str>,
                now: $crate::clock::Timestamp,
            ) -> $crate::Result<Option<$crate::model::Homework>> {
                let completed =
                    (status != $crate::model::HomeworkStatus::Open).then(|| $crate::store::millis(now));
                let row = sqlx::query_as::<_, $crate::store::HomeworkRow>(concat!(
                    "UPDATE homework SET status = $3, reflection = COALESCE($4, reflection), \
                     completed_at = $5 WHERE id = $1 AND member_id = $2 RETURNING ",
                    $crate::store::homework_columns!()
                ))
                .bind(id.0)
                .bind(member.0)
                .bind(status)
                .bind(reflection.map(str::to_owned))
                .bind(completed)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(Into::into))
            }

            #[tracing::instrument(skip(self, alert, deliveries), fields(group = %alert.group_id, level = %alert.level))]
            async fn open_alert(
                &self,
                alert: &$crate::model::NewAlert,
                deliveries: $crate::store::DeliveriesFor<'_>,
                now: $crate::clock::Timestamp,
            ) -> $crate::Result<$crate::model::Alert> {
                let mut tx = self.pool.begin().await?;
                let row = sqlx::query_as::<_, $crate::store::AlertRow>(concat!(
                    "INSERT INTO alerts (group_id, member_id, level, status, message_link, \
                     excerpt, escalate_at, created_at, updated_at, forget_member) \
                     VALUES ($1, $2, $3, 'open', $4, $5, $6, $7, $7, \
                     (SELECT erase_requested_at IS NOT NULL FROM members WHERE id = $2)) \
                     RETURNING ",
                    $crate::store::alert_columns!()
                ))
                .bind(alert.group_id.0)
                .bind(alert.member_id.0)
                .bind(alert.level)
                .bind(alert.message_link.clone())
                .bind(alert.excerpt.clone())
                .bind(alert.escalate_at.map($crate::store::millis))
                .bind($crate::store::millis(now))
                .fetch_one(&mut *tx)
                .await?;
                let alert: $crate::model::Alert = row.into();
                Self::insert_alert_event(
                    &mut tx,
                    alert.id,
                    now,
                    None,
                    $crate::model::AlertAction::Opened,
                    Some(alert.level.as_str()),
                )
                .await?;
                Self::insert_deliveries(&mut tx, &deliveries(&alert), now).await?;
                tx.commit().await?;
                Ok(alert)
            }

            #[tracing::instrument(skip(self))]
            async fn recent_alert(
                &self,
                group: $crate::ids::GroupId,
                member: $crate::ids::MemberId,
                since: $crate::clock::Timestamp,
            ) -> $crate::Result<Option<$crate::model::Alert>> {
                let row = sqlx::query_as::<_, $crate::store::AlertRow>(concat!(
                    "SELECT ",
                    $crate::store::alert_columns!(),
                    " FROM alerts WHERE group_id = $1 AND member_id = $2 AND created_at >= $3 \
                     AND status <> 'resolved' ORDER BY id DESC LIMIT 1"
                ))
                .bind(group.0)
                .bind(member.0)
                .bind($crate::store::millis(since))
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(Into::into))
            }

            #[tracing::instrument(skip(self, deliveries))]
            async fn update_alert(
                &self,
                id: $crate::ids::AlertId,
                level: $crate::model::AlertLevel,
                deliveries: $crate::store::DeliveriesFor<'_>,
                now: $crate::clock::Timestamp,
            ) -> $crate::Result<Option<($crate::model::Alert, bool)>> {
                use $crate::model::{AlertLevel, AlertStatus};
                let rank = |l: AlertLevel| match l {
                    AlertLevel::Concern => 1i64,
                    AlertLevel::Urgent => 2,
                    AlertLevel::Imminent => 3,
                };
                let mut tx = self.pool.begin().await?;
                // Write first: takes SQLite's write lock before any read, and
                // the guard makes the raise atomic on Postgres.
                let raised = sqlx::query(
                    "UPDATE alerts SET level = $2, updated_at = $3 \
                     WHERE id = $1 AND status <> 'resolved' AND \
                     (CASE level WHEN 'concern' THEN 1 WHEN 'urgent' THEN 2 ELSE 3 END) < $4",
                )
                .bind(id.0)
                .bind(level)
                .bind($crate::store::millis(now))
                .bind(rank(level))
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                let Some(after) = Self::fetch_alert(&mut tx, id).await? else {
                    return Ok(None);
                };
                if after.status == AlertStatus::Resolved {
                    return Ok(None);
                }
                let detail = if raised {
                    format!("raised to {}", after.level)
                } else {
                    format!("another message at {level}")
                };
                Self::insert_alert_event(
                    &mut tx,
                    id,
                    now,
                    None,
                    $crate::model::AlertAction::Updated,
                    Some(&detail),
                )
                .await?;
                if raised {
                    Self::insert_deliveries(&mut tx, &deliveries(&after), now).await?;
                }
                tx.commit().await?;
                Ok(Some((after, raised)))
            }

            #[tracing::instrument(skip(self))]
            async fn alert(
                &self,
                id: $crate::ids::AlertId,
            ) -> $crate::Result<Option<$crate::model::Alert>> {
                let mut conn = self.pool.acquire().await?;
                Self::fetch_alert(&mut conn, id).await
            }

            #[tracing::instrument(skip(self))]
            async fn alerts(
                &self,
                group: $crate::ids::GroupId,
                unresolved_only: bool,
            ) -> $crate::Result<Vec<$crate::model::Alert>> {
                let rows = sqlx::query_as::<_, $crate::store::AlertRow>(concat!(
                    "SELECT ",
                    $crate::store::alert_columns!(),
                    " FROM alerts WHERE group_id = $1 AND ($2 = FALSE OR status <> 'resolved') \
                     ORDER BY id DESC"
                ))
                .bind(group.0)
                .bind(unresolved_only)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn claim_alert(
                &self,
                id: $crate::ids::AlertId,
                by: &str,
                now: $crate::clock::Timestamp,
            ) -> $crate::Result<$crate::model::AlertTransition> {
                self.transition_alert(
                    id,
                    "UPDATE alerts SET status = 'claimed', claimed_by = $2, claimed_at = $3, \
                     updated_at = $3, escalate_at = NULL \
                     WHERE id = $1 AND status = 'open'",
                    by,
                    None,
                    $crate::model::AlertAction::Claimed,
                    now,
                )
                .await
            }

            async fn resolve_alert(
                &self,
                id: $crate::ids::AlertId,
                by: &str,
                note: &str,
                now: $crate::clock::Timestamp,
            ) -> $crate::Result<$crate::model::AlertTransition> {
                self.transition_alert(
                    id,
                    "UPDATE alerts SET status = 'resolved', resolved_by = $2, resolved_at = $3, \
                     resolution_note = $4, updated_at = $3, escalate_at = NULL \
                     WHERE id = $1 AND status <> 'resolved'",
                    by,
                    Some(note),
                    $crate::model::AlertAction::Resolved,
                    now,
                )
                .await
            }

            #[tracing::instrument(skip(self))]
            async fn alert_events(
                &self,
                id: $crate::ids::AlertId,
            ) -> $crate::Result<Vec<$crate::model::AlertEvent>> {
                let rows = sqlx::query_as::<_, $crate::store::AlertEventRow>(
                    "SELECT id, alert_id, at, actor, action, detail FROM alert_events \
                     WHERE alert_id = $1 ORDER BY id",
                )
                .bind(id.0)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            #[tracing::instrument(skip(self))]
            async fn daily_picks_since(
                &self,
                group: $crate::ids::GroupId,
                pick: $crate::store::Pick,
                since: chrono::NaiveDate,
            ) -> $crate::Result<Vec<(chrono::NaiveDate, String)>> {
                let sql = match pick {
                    $crate::store::Pick::Card => {
                        "SELECT day, card_id FROM daily_cards WHERE group_id = $1 AND day >= $2 \
                         ORDER BY day"
                    }
                    $crate::store::Pick::Prompt => {
                        "SELECT day, prompt_id FROM daily_prompts WHERE group_id = $1 \
                         AND day >= $2 ORDER BY day"
                    }
                };
                let rows: Vec<(String, String)> = sqlx::query_as(sql)
                    .bind(group.0)
                    .bind(since.format("%Y-%m-%d").to_string())
                    .fetch_all(&self.pool)
                    .await?;
                rows.into_iter()
                    .map(|(day, id)| {
                        chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d")
                            .map(|d| (d, id))
                            .map_err(|e| $crate::store::corrupt(format!("daily pick day: {e}")))
                    })
                    .collect()
            }

            #[tracing::instrument(skip(self))]
            async fn set_daily_pick(
                &self,
                group: $crate::ids::GroupId,
                pick: $crate::store::Pick,
                day: chrono::NaiveDate,
                id: &str,
            ) -> $crate::Result<String> {
                let (insert, select) = match pick {
                    $crate::store::Pick::Card => (
                        "INSERT INTO daily_cards (group_id, day, card_id) VALUES ($1, $2, $3) \
                         ON CONFLICT (group_id, day) DO NOTHING",
                        "SELECT card_id FROM daily_cards WHERE group_id = $1 AND day = $2",
                    ),
                    $crate::store::Pick::Prompt => (
                        "INSERT INTO daily_prompts (group_id, day, prompt_id) VALUES ($1, $2, $3) \
                         ON CONFLICT (group_id, day) DO NOTHING",
                        "SELECT prompt_id FROM daily_prompts WHERE group_id = $1 AND day = $2",
                    ),
                };
                let day = day.format("%Y-%m-%d").to_string();
                sqlx::query(insert)
                    .bind(group.0)
                    .bind(day.clone())
                    .bind(id.to_owned())
                    .execute(&self.pool)
                    .await?;
                let stored: String = sqlx::query_scalar(select)
                    .bind(group.0)
                    .bind(day)
                    .fetch_one(&self.pool)
                    .await?;
                Ok(stored)
            }

            #[tracing::instrument(skip(self))]
            async fn homework_due(
                &self,
                after: $crate::clock::Timestamp,
                until: $crate::clock::Timestamp,
            ) -> $crate::Result<Vec<($crate::model::Homework, $crate::model::Member)>> {
                let rows = sqlx::query_as::<_, $crate::store::HomeworkRow>(concat!(
                    "SELECT ",
                    $crate::store::homework_columns!(),
                    " FROM homework WHERE status = 'open' AND due_at > $1 AND due_at <= $2 \
                     ORDER BY due_at, id"
                ))
                .bind($crate::store::millis(after))
                .bind($crate::store::millis(until))
                .fetch_all(&self.pool)
                .await?;
                let mut out = Vec::new();
                for row in rows {
                    let homework: $crate::model::Homework = row.into();
                    let member = sqlx::query_as::<_, $crate::store::MemberRow>(concat!(
                        "SELECT ",
                        $crate::store::member_columns!(),
                        " FROM members WHERE id = $1 AND (paused_until IS NULL OR paused_until <= $2)"
                    ))
                    .bind(homework.member_id.0)
                    .bind($crate::store::millis(until))
                    .fetch_optional(&self.pool)
                    .await?;
                    if let Some(member) = member {
                        out.push((homework, member.into()));
                    }
                }
                Ok(out)
            }

            #[tracing::instrument(skip(self))]
            async fn group_homework_counts(
                &self,
                group: $crate::ids::GroupId,
            ) -> $crate::Result<(i64, i64, i64)> {
                let rows: Vec<(String, i64)> = sqlx::query_as(
                    "SELECT status, COUNT(*) FROM homework WHERE group_id = $1 GROUP BY status",
                )
                .bind(group.0)
                .fetch_all(&self.pool)
                .await?;
                let count = |s: &str| rows.iter().find(|(k, _)| k == s).map_or(0, |(_, n)| *n);
                Ok((count("open"), count("done"), count("skipped")))
            }

            #[tracing::instrument(skip(self))]
            async fn group_homework_members(
                &self,
                group: $crate::ids::GroupId,
            ) -> $crate::Result<i64> {
                let n: i64 = sqlx::query_scalar(
                    "SELECT COUNT(DISTINCT member_id) FROM homework WHERE group_id = $1",
                )
                .bind(group.0)
                .fetch_one(&self.pool)
                .await?;
                Ok(n)
            }

            #[tracing::instrument(skip(self))]
            async fn last_prompt_group(
                &self,
                member: $crate::ids::MemberId,
            ) -> $crate::Result<Option<$crate::model::Group>> {
                let row = sqlx::query_as::<_, $crate::store::GroupRow>(concat!(
                    "SELECT ",
                    $crate::store::group_columns!("g."),
                    " FROM deliveries d JOIN groups g ON g.id = d.group_id \
                     WHERE d.member_id = $1 AND d.kind = 'checkin_prompt' \
                     AND d.state = 'delivered' ORDER BY d.delivered_at DESC, d.id DESC LIMIT 1"
                ))
                .bind(member.0)
                .fetch_optional(&self.pool)
                .await?;
                row.map(TryInto::try_into).transpose()
            }

            #[tracing::instrument(skip(self))]
            async fn member_groups(
                &self,
                member: $crate::ids::MemberId,
            ) -> $crate::Result<Vec<$crate::model::Group>> {
                let rows = sqlx::query_as::<_, $crate::store::GroupRow>(concat!(
                    "SELECT ",
                    $crate::store::group_columns!("g."),
                    " FROM group_members m JOIN groups g ON g.id = m.group_id \
                     WHERE m.member_id = $1 ORDER BY m.joined_at DESC, g.id DESC"
                ))
                .bind(member.0)
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            #[tracing::instrument(skip(self))]
            async fn group_checkins(
                &self,
                group: $crate::ids::GroupId,
                since: chrono::NaiveDate,
            ) -> $crate::Result<Vec<($crate::ids::MemberId, i64, Option<i64>)>> {
                let rows: Vec<(i64, i64, Option<i64>)> = sqlx::query_as(
                    "SELECT member_id, mood, sleep FROM checkins \
                     WHERE group_id = $1 AND local_date >= $2",
                )
                .bind(group.0)
                .bind(since.format("%Y-%m-%d").to_string())
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(m, mood, sleep)| ($crate::ids::MemberId(m), mood, sleep))
                    .collect())
            }

            #[tracing::instrument(skip(self))]
            async fn add_group_member(
                &self,
                group: $crate::ids::GroupId,
                member: $crate::ids::MemberId,
                now: $crate::clock::Timestamp,
            ) -> $crate::Result<()> {
                sqlx::query(
                    "INSERT INTO group_members (group_id, member_id, joined_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (group_id, member_id) DO NOTHING",
                )
                .bind(group.0)
                .bind(member.0)
                .bind($crate::store::millis(now))
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            #[tracing::instrument(skip(self))]
            async fn checkin_recipients(
                &self,
                group: $crate::ids::GroupId,
                now: $crate::clock::Timestamp,
            ) -> $crate::Result<Vec<$crate::model::Member>> {
                let rows = sqlx::query_as::<_, $crate::store::MemberRow>(concat!(
                    "SELECT ",
                    $crate::store::member_columns!(),
                    " FROM members WHERE consent_checkins = $2 \
                     AND (paused_until IS NULL OR paused_until <= $3) \
                     AND id IN (SELECT member_id FROM group_members WHERE group_id = $1) \
                     ORDER BY id"
                ))
                .bind(group.0)
                .bind(true)
                .bind($crate::store::millis(now))
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            #[tracing::instrument(skip(self, deliveries), fields(count = deliveries.len()))]
            async fn claim_run(
                &self,
                run: &$crate::store::RunKey,
                skipped: bool,
                deliveries: &[$crate::outbox::NewDelivery],
                now: $crate::clock::Timestamp,
            ) -> $crate::Result<bool> {
                let mut tx = self.pool.begin().await?;
                let claimed = sqlx::query(
                    "INSERT INTO schedule_runs (group_id, kind, fire_at, skipped, claimed_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (group_id, kind, fire_at) DO NOTHING",
                )
                .bind(run.group.0)
                .bind(run.kind.clone())
                .bind($crate::store::millis(run.fire_at))
                .bind(skipped)
                .bind($crate::store::millis(now))
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                if claimed && !skipped {
                    Self::insert_deliveries(&mut tx, deliveries, now).await?;
                }
                tx.commit().await?;
                Ok(claimed)
            }

            #[tracing::instrument(skip(self))]
            async fn last_run(
                &self,
                group: $crate::ids::GroupId,
                kind: &str,
            ) -> $crate::Result<Option<$crate::clock::Timestamp>> {
                let last: Option<i64> = sqlx::query_scalar(
                    "SELECT fire_at FROM schedule_runs WHERE group_id = $1 AND kind = $2 \
                     ORDER BY fire_at DESC LIMIT 1",
                )
                .bind(group.0)
                .bind(kind.to_owned())
                .fetch_optional(&self.pool)
                .await?;
                Ok($crate::store::opt_time(last))
            }

            #[tracing::instrument(skip(self))]
            async fn due_escalations(
                &self,
                now: $crate::clock::Timestamp,
                limit: i64,
            ) -> $crate::Result<Vec<$crate::model::Alert>> {
                let rows = sqlx::query_as::<_, $crate::store::AlertRow>(concat!(
                    "SELECT ",
                    $crate::store::alert_columns!(),
                    " FROM alerts WHERE status = 'open' AND escalate_at <= $1 \
                     ORDER BY escalate_at, id LIMIT $2"
                ))
                .bind($crate::store::millis(now))
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            #[tracing::instrument(skip(self, alert, deliveries), fields(id = %alert.id))]
            async fn escalate_alert(
                &self,
                alert: &$crate::model::Alert,
                next_at: $crate::clock::Timestamp,
                deliveries: $crate::store::DeliveriesFor<'_>,
                now: $crate::clock::Timestamp,
            ) -> $crate::Result<Option<$crate::model::Alert>> {
                let mut tx = self.pool.begin().await?;
                let changed = sqlx::query(
                    "UPDATE alerts SET escalations = escalations + 1, escalate_at = $3, \
                     updated_at = $4 WHERE id = $1 AND status = 'open' AND escalations = $2",
                )
                .bind(alert.id.0)
                .bind(alert.escalations)
                .bind($crate::store::millis(next_at))
                .bind($crate::store::millis(now))
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if changed != 1 {
                    return Ok(None);
                }
                let Some(after) = Self::fetch_alert(&mut tx, alert.id).await? else {
                    return Ok(None);
                };
                let detail = format!("escalation {}", after.escalations);
                Self::insert_alert_event(
                    &mut tx,
                    alert.id,
                    now,
                    None,
                    $crate::model::AlertAction::Escalated,
                    Some(&detail),
                )
                .await?;
                Self::insert_deliveries(&mut tx, &deliveries(&after), now).await?;
                tx.commit().await?;
                Ok(Some(after))
            }

            #[tracing::instrument(skip(self, deliveries), fields(count = deliveries.len()))]
            async fn enqueue(
                &self,
                deliveries: &[$crate::outbox::NewDelivery],
                now: $crate::clock::Timestamp,
            ) -> $crate::Result<usize> {
                // One row is one statement: autocommit is atomic already and
                // saves the BEGIN/COMMIT round trips on the hot path.
                if deliveries.len() == 1 {
                    let mut conn = self.pool.acquire().await?;
                    return Self::insert_deliveries(&mut conn, deliveries, now).await;
                }
                let mut tx = self.pool.begin().await?;
                let inserted = Self::insert_deliveries(&mut tx, deliveries, now).await?;
                tx.commit().await?;
                Ok(inserted)
            }

            #[tracing::instrument(skip(self))]
            async fn claim_deliveries(
                &self,
                platform: $crate::ids::Platform,
                lane: $crate::outbox::Lane,
                now: $crate::clock::Timestamp,
                limit: i64,
                lease: std::time::Duration,
            ) -> $crate::Result<Vec<$crate::outbox::Claimed>> {
                let token: i64 = rand::random();
                let until = $crate::store::millis(now)
                    .saturating_add($crate::store::lease_millis(lease));
                let rows = sqlx::query_as::<_, $crate::store::DeliveryRow>(Self::CLAIM_SQL)
                    .bind(platform)
                    .bind($crate::store::millis(now))
                    .bind(until)
                    .bind(token)
                    .bind(limit)
                    .bind(lane)
                    .fetch_all(&self.pool)
                    .await?;
                $crate::store::into_claims(rows)
            }

            #[tracing::instrument(skip(self, claims), fields(count = claims.len()))]
            async fn mark_delivered(
                &self,
                claims: &[$crate::outbox::Claimed],
                now: $crate::clock::Timestamp,
            ) -> $crate::Result<usize> {
                let mut settled = 0;
                // Claims from one claim call share a lease; group by it.
                let mut rest: Vec<&$crate::outbox::Claimed> = claims.iter().collect();
                while let Some(first) = rest.first() {
                    let lease = first.lease;
                    let ids: Vec<i64> = rest
                        .iter()
                        .filter(|c| c.lease == lease)
                        .map(|c| c.delivery.id.0)
                        .collect();
                    rest.retain(|c| c.lease != lease);
                    settled += self.mark_delivered_impl(lease, ids, now).await?;
                }
                Ok(settled)
            }

            #[tracing::instrument(skip(self, claim, error), fields(id = %claim.delivery.id))]
            async fn fail_delivery(
                &self,
                claim: &$crate::outbox::Claimed,
                error: &str,
                action: $crate::outbox::FailureAction,
            ) -> $crate::Result<bool> {
                use $crate::outbox::{DeliveryState, FailureAction};
                let (state, available) = match action {
                    FailureAction::RetryAt(at, state) => (state, Some($crate::store::millis(at))),
                    FailureAction::Dead => (DeliveryState::Dead, None),
                };
                let done = sqlx::query(
                    "UPDATE deliveries SET state = $3, available_at = $4, last_error = $5, \
                     lease = NULL WHERE id = $1 AND lease = $2",
                )
                .bind(claim.delivery.id.0)
                .bind(claim.lease)
                .bind(state)
                .bind(available)
                .bind(error.to_owned())
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            #[tracing::instrument(skip(self, claim), fields(id = %claim.delivery.id))]
            async fn release_delivery(
                &self,
                claim: &$crate::outbox::Claimed,
                now: $crate::clock::Timestamp,
            ) -> $crate::Result<bool> {
                let done = sqlx::query(
                    "UPDATE deliveries SET available_at = $3, lease = NULL, \
                     attempts = attempts - 1 WHERE id = $1 AND lease = $2",
                )
                .bind(claim.delivery.id.0)
                .bind(claim.lease)
                .bind($crate::store::millis(now))
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            #[tracing::instrument(skip(self))]
            async fn delivery(
                &self,
                idempotency_key: &str,
            ) -> $crate::Result<Option<$crate::outbox::Delivery>> {
                let row = sqlx::query_as::<_, $crate::store::DeliveryRow>(concat!(
                    "SELECT ",
                    $crate::store::delivery_columns!(),
                    " FROM deliveries WHERE idempotency_key = $1"
                ))
                .bind(idempotency_key.to_owned())
                .fetch_optional(&self.pool)
                .await?;
                row.map(|r| r.into_delivery().map(|(d, _)| d)).transpose()
            }

            #[tracing::instrument(skip(self))]
            async fn undeliverable(
                &self,
                group: $crate::ids::GroupId,
                limit: i64,
            ) -> $crate::Result<Vec<$crate::outbox::Delivery>> {
                let rows = sqlx::query_as::<_, $crate::store::DeliveryRow>(concat!(
                    "SELECT ",
                    $crate::store::delivery_columns!(),
                    " FROM deliveries WHERE group_id = $1 AND state IN ('failing', 'dead') \
                     ORDER BY id DESC LIMIT $2"
                ))
                .bind(group.0)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(|r| r.into_delivery().map(|(d, _)| d)).collect()
            }

            #[tracing::instrument(skip(self))]
            async fn prune_deliveries(
                &self,
                delivered_before: $crate::clock::Timestamp,
                dead_before: $crate::clock::Timestamp,
            ) -> $crate::Result<u64> {
                // Two steps. After the retention, what a delivered row said
                // and to whom is blanked; its idempotency key (numbers only)
                // stays for two more days, because homework reminders and
                // other keyed sends are told apart by it across restarts
                // (the scheduler looks back a day). Then the row goes.
                let mut tx = self.pool.begin().await?;
                let blanked = sqlx::query(
                    "UPDATE deliveries SET payload = '{\"text\":\"\"}', target_id = '', \
                     last_error = NULL WHERE state = 'delivered' AND delivered_at < $1 \
                     AND target_id <> ''",
                )
                .bind($crate::store::millis(delivered_before))
                .execute(&mut *tx)
                .await?;
                let keys_before = delivered_before - $crate::store::KEEP_KEYS;
                let deleted = sqlx::query(
                    "DELETE FROM deliveries WHERE (state = 'delivered' AND delivered_at < $1) \
                     OR (state = 'dead' AND created_at < $2)",
                )
                .bind($crate::store::millis(keys_before))
                .bind($crate::store::millis(dead_before))
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(blanked.rows_affected() + deleted.rows_affected())
            }

            #[tracing::instrument(skip(self))]
            async fn pending_deliveries(&self) -> $crate::Result<i64> {
                let n: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM deliveries WHERE state IN ('queued', 'failing')",
                )
                .fetch_one(&self.pool)
                .await?;
                Ok(n)
            }
        }
    };
}
pub(crate) use {
    alert_columns, checkin_columns, delivery_columns, group_columns, homework_columns,
    member_columns, shared_store_impl,
};
