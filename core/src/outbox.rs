//! The outbox: every message that must not be lost.
//!
//! A delivery is a row written in the same transaction as the domain change
//! that caused it (an alert, a check-in run). The [`OutboxWorker`] claims due
//! rows under a lease, hands each to the platform's [`DeliverySink`] with the
//! row's idempotency key, and then marks it delivered or reschedules it with
//! exponential backoff and jitter. A worker that crashes mid-delivery simply
//! lets its lease run out; another claim retakes the row and the platform
//! drops the duplicate by its key (Matrix transaction id, Discord nonce).
//!
//! After [`RetryPolicy::max_attempts`] an ordinary delivery becomes *dead*
//! (kept, listed for moderators). A critical one — anything from the crisis
//! path — is never given up on: it becomes *failing*, is listed the same way,
//! and keeps being retried at the slowest pace.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::Rng;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::clock::{Clock, Timestamp};
use crate::ids::{AlertId, DeliveryId, GroupId, MemberId, Platform};
use crate::store::Store;
use crate::text_enum;

text_enum! {
    /// What a delivery is for; decides its priority and retry policy.
    pub enum DeliveryKind {
        /// A crisis alert to the moderators' channel or room.
        CrisisAlert = "crisis_alert",
        /// Crisis resources sent privately to the member.
        CrisisSupport = "crisis_support",
        /// An unclaimed alert re-sent with the moderator mention.
        Escalation = "escalation",
        /// The private daily check-in.
        CheckinPrompt = "checkin_prompt",
        /// The daily group prompt.
        GroupPrompt = "group_prompt",
        /// A homework reminder.
        Reminder = "reminder",
        /// Any other notice (welcome, confirmations).
        Notice = "notice",
    }
}

text_enum! {
    /// Deliveries travel in three lanes, each with its own worker, so a
    /// crisis message never waits behind a morning's burst of check-in
    /// prompts, and the moderators' alert never waits behind the member's
    /// support (which may first need a new private room, and on Matrix the
    /// sharing of its encryption keys).
    pub enum Lane {
        /// Crisis alerts and escalations, to moderators.
        Critical = "critical",
        /// Crisis support, to the member.
        Support = "support",
        /// Everything else.
        Normal = "normal",
    }
}

impl DeliveryKind {
    /// The lane this kind travels in.
    pub fn lane(self) -> Lane {
        match self {
            Self::CrisisAlert | Self::Escalation => Lane::Critical,
            Self::CrisisSupport => Lane::Support,
            _ => Lane::Normal,
        }
    }

    /// Crisis-path deliveries are never dropped, whatever happens.
    pub fn is_critical(self) -> bool {
        matches!(
            self,
            Self::CrisisAlert | Self::CrisisSupport | Self::Escalation
        )
    }
}

text_enum! {
    /// Where a delivery stands.
    pub enum DeliveryState {
        /// Waiting for its next attempt (or leased to a worker right now).
        Queued = "queued",
        /// Over the retry limit, but critical: still retried at the slowest
        /// pace, and listed for moderators.
        Failing = "failing",
        /// The platform accepted it.
        Delivered = "delivered",
        /// Given up on (never for critical kinds); listed for moderators.
        Dead = "dead",
    }
}

text_enum! {
    /// Whom a delivery goes to.
    pub enum TargetKind {
        /// A member, privately (a DM, a direct room, the console's own view).
        Member = "member",
        /// A channel or room (the moderators' room, a group channel).
        Channel = "channel",
    }
}

/// Whom a delivery goes to, on which platform.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Target {
    /// The platform that delivers it.
    pub platform: Platform,
    /// A member privately, or a channel.
    pub kind: TargetKind,
    /// The platform's id of the member or channel.
    pub id: String,
}

impl Target {
    /// A private message to a member.
    pub fn member(platform: Platform, id: impl Into<String>) -> Self {
        Self {
            platform,
            kind: TargetKind::Member,
            id: id.into(),
        }
    }

    /// A message to a channel or room.
    pub fn channel(platform: Platform, id: impl Into<String>) -> Self {
        Self {
            platform,
            kind: TargetKind::Channel,
            id: id.into(),
        }
    }
}

/// The platform-neutral content of a delivery, stored as JSON.
///
/// New fields must have serde defaults so rows written by an older version
/// still deliver after an upgrade.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Payload {
    /// The message as plain text. Adapters escape it for their markup.
    pub text: String,
    /// The alert this delivery belongs to, so adapters can offer claim
    /// buttons or reactions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert: Option<AlertId>,
    /// Whether to mention the moderator role or room (escalations only).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub mention_moderators: bool,
    /// The member an alert is about, so adapters can show them as a
    /// mention (a Matrix pill) without notifying them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<Mention>,
}

/// A member named in a delivery's text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mention {
    /// The member's platform id (`@alice:example.org`, a Discord user id).
    pub id: String,
    /// The name exactly as it appears in the text.
    pub name: String,
}

/// A delivery to be written to the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelivery {
    /// What it is for.
    pub kind: DeliveryKind,
    /// Whom it goes to.
    pub target: Target,
    /// What it says.
    pub payload: Payload,
    /// Unique per logical message; passed to the platform so a retry never
    /// shows twice. Enqueueing a key that already exists is a no-op.
    pub idempotency_key: String,
    /// Not before this time (`None`: now).
    pub not_before: Option<Timestamp>,
    /// The group it belongs to: only that group's moderators see it listed
    /// when it cannot be delivered.
    pub group: Option<GroupId>,
    /// The member it is to or about: deleted with their data.
    pub about: Option<MemberId>,
}

/// A stored delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Database id.
    pub id: DeliveryId,
    /// What it is for.
    pub kind: DeliveryKind,
    /// Whom it goes to.
    pub target: Target,
    /// What it says.
    pub payload: Payload,
    /// The platform-side idempotency key.
    pub idempotency_key: String,
    /// Where it stands.
    pub state: DeliveryState,
    /// Attempts so far, counting the current one while leased.
    pub attempts: i64,
    /// When it may next be claimed (while leased: when the lease runs out);
    /// `None` once settled (delivered or dead).
    pub available_at: Option<Timestamp>,
    /// When the platform accepted it.
    pub delivered_at: Option<Timestamp>,
    /// The last failure, for moderators and logs.
    pub last_error: Option<String>,
    /// Created.
    pub created_at: Timestamp,
}

/// A delivery leased to one worker. Only the holder of the current lease
/// token may settle it, so a worker whose lease ran out cannot overwrite the
/// outcome of the worker that retook it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    /// The delivery as claimed (attempts already counts this attempt).
    pub delivery: Delivery,
    /// The lease token.
    pub lease: i64,
}

/// What a platform made of one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryResult {
    /// The platform accepted it (or had already accepted it under this key).
    Delivered,
    /// A passing failure: try again later, no sooner than `after` if given
    /// (a 429's retry-after).
    Retry {
        /// What went wrong, without secrets.
        error: String,
        /// The platform's own wait, if it named one.
        after: Option<Duration>,
    },
    /// It can never succeed as it is (no such user, DMs closed). Ordinary
    /// deliveries become dead; critical ones keep failing visibly.
    Permanent {
        /// What went wrong, without secrets.
        error: String,
    },
}

/// A platform's way of sending one delivery.
#[async_trait::async_trait]
pub trait DeliverySink: Send + Sync {
    /// Sends `delivery`, passing its idempotency key to the platform.
    async fn deliver(&self, delivery: &Delivery) -> DeliveryResult;
}

/// Longest wait before a retry, whatever a platform asks for.
const MAX_WAIT: Duration = Duration::from_secs(24 * 3600);

/// How often and how patiently failed deliveries are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// First retry delay; doubles each attempt.
    pub base: Duration,
    /// Longest delay between attempts.
    pub cap: Duration,
    /// Attempts before an ordinary delivery is dead and a critical one failing.
    pub max_attempts: i64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(2),
            cap: Duration::from_secs(600),
            max_attempts: 12,
        }
    }
}

/// What to do with a delivery after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureAction {
    /// Try again at this time; the state to keep it in.
    RetryAt(Timestamp, DeliveryState),
    /// Give up: mark it dead.
    Dead,
}

impl RetryPolicy {
    /// The delay before attempt `attempts + 1`, before jitter:
    /// `base * 2^(attempts-1)`, at most `cap`.
    pub fn backoff(&self, attempts: i64) -> Duration {
        let exp = attempts.clamp(1, 32) - 1;
        let factor = 1u32.checked_shl(exp as u32).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// Decides what follows a failed attempt. `jitter` in `[0, 1)` spreads
    /// retries over the upper half of the backoff window so that many
    /// deliveries failing together do not retry together.
    pub fn on_failure(
        &self,
        delivery: &Delivery,
        result: &DeliveryResult,
        now: Timestamp,
        jitter: f64,
    ) -> FailureAction {
        let critical = delivery.kind.is_critical();
        let exhausted = delivery.attempts >= self.max_attempts;
        let permanent = matches!(result, DeliveryResult::Permanent { .. });
        if (exhausted || permanent) && !critical {
            return FailureAction::Dead;
        }
        let state = if exhausted || permanent {
            DeliveryState::Failing
        } else {
            DeliveryState::Queued
        };
        let window = if state == DeliveryState::Failing {
            self.cap
        } else {
            self.backoff(delivery.attempts)
        };
        let jittered = window.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0));
        // A platform's own wait (429 Retry-After) is honoured, but a crisis
        // message never waits longer than `cap`, and nothing waits past a day.
        let limit = if critical { self.cap } else { MAX_WAIT };
        let asked = match result {
            DeliveryResult::Retry {
                after: Some(after), ..
            } => (*after).min(limit),
            _ => Duration::ZERO,
        };
        let wait = jittered.max(asked).min(MAX_WAIT.max(self.cap));
        let wait = chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::days(1));
        let at = now.checked_add_signed(wait).unwrap_or(now);
        FailureAction::RetryAt(at, state)
    }
}

/// Settings of one outbox worker.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// The platform whose deliveries this worker sends.
    pub platform: Platform,
    /// The lane it serves.
    pub lane: Lane,
    /// Rows claimed at a time.
    pub batch: i64,
    /// How long a claim holds before another worker may retake it.
    pub lease: Duration,
    /// How often to look for due rows when nothing wakes the worker.
    pub poll: Duration,
    /// Longest a platform call may take before it counts as a failure
    /// (to be retried under the same idempotency key).
    pub deliver_timeout: Duration,
    /// How long shutdown waits for the delivery in flight.
    pub grace: Duration,
    /// Longest a success may wait before it is recorded (successes are
    /// recorded together; see [`OutboxWorker::pass`]).
    pub settle_within: Duration,
    /// Retry policy.
    pub retry: RetryPolicy,
}

impl WorkerConfig {
    /// Defaults for one lane of `platform`.
    pub fn new(platform: Platform, lane: Lane) -> Self {
        Self {
            platform,
            lane,
            batch: 32,
            lease: Duration::from_secs(60),
            poll: Duration::from_secs(1),
            deliver_timeout: Duration::from_secs(20),
            grace: Duration::from_secs(10),
            settle_within: Duration::from_millis(200),
            retry: RetryPolicy::default(),
        }
    }

    /// How long after claiming a batch this worker may still start a
    /// delivery from it: the lease, less one platform call and a margin for
    /// recording the outcome and for clock skew between processes. Past
    /// this, the rest of the batch is released rather than risk sending a
    /// row another worker may already have retaken.
    pub fn send_budget(&self) -> Duration {
        self.lease
            .saturating_sub(self.deliver_timeout + Duration::from_secs(5))
    }
}

/// Longest the member's crisis support waits for the moderators' alert
/// to be attempted first (see [`CriticalFirst`]).
pub const SUPPORT_YIELDS_AT_MOST: Duration = Duration::from_millis(500);

/// Lets the moderators' alert go out before the member's support.
///
/// Both are written together, and each lane has its own worker, so a
/// failure of one never holds the other. But on Matrix the support may
/// first need a new encrypted room and its keys, and a homeserver busy
/// making that room is slower to accept the alert sent beside it. So the
/// support lane gives way: before a support delivery, its worker waits
/// until the critical lane *of the same platform* has finished a pass
/// begun after the last enqueue, or [`SUPPORT_YIELDS_AT_MOST`], whichever
/// comes first. Another platform's critical pass does not count: the
/// console finishing its pass says nothing of Matrix's alert.
#[derive(Debug)]
pub struct CriticalFirst {
    /// Enqueues seen, and for each platform the enqueues its critical
    /// lane has attempted.
    state: tokio::sync::watch::Sender<(u64, std::collections::BTreeMap<Platform, u64>)>,
}

impl Default for CriticalFirst {
    fn default() -> Self {
        Self {
            state: tokio::sync::watch::Sender::new((0, std::collections::BTreeMap::new())),
        }
    }
}

impl CriticalFirst {
    /// Called after deliveries are enqueued (before the workers wake).
    pub fn enqueued(&self) {
        self.state.send_modify(|(seen, _)| *seen += 1);
    }

    /// The critical lane, as a pass begins: the enqueues it will cover.
    fn pass_begins(&self) -> u64 {
        self.state.borrow().0
    }

    /// `platform`'s critical lane, as a pass ends: `covered` is attempted.
    fn pass_ended(&self, platform: Platform, covered: u64) {
        self.state.send_if_modified(|(_, done)| {
            let done = done.entry(platform).or_insert(0);
            let later = covered > *done;
            if later {
                *done = covered;
            }
            later
        });
    }

    /// `platform`'s support lane, before a delivery: waits until every
    /// enqueue so far has been through a critical pass of that platform,
    /// or `bound`.
    pub async fn wait_turn(&self, platform: Platform, bound: Duration) {
        let target = self.state.borrow().0;
        let mut state = self.state.subscribe();
        let caught_up = |(_, done): &(u64, std::collections::BTreeMap<Platform, u64>)| {
            done.get(&platform).is_some_and(|d| *d >= target)
        };
        let _ = tokio::time::timeout(bound, state.wait_for(caught_up)).await;
    }
}

/// Delivers one platform's outbox rows until shut down.
pub struct OutboxWorker {
    store: Arc<dyn Store>,
    sink: Arc<dyn DeliverySink>,
    clock: Arc<dyn Clock>,
    wake: Arc<Notify>,
    config: WorkerConfig,
    critical_first: Option<Arc<CriticalFirst>>,
}

impl std::fmt::Debug for OutboxWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxWorker")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// What one pass over the due rows did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PassReport {
    /// Rows claimed.
    pub claimed: usize,
    /// Accepted by the platform.
    pub delivered: usize,
    /// Rescheduled or given up.
    pub failed: usize,
    /// Handed back unsent because of shutdown.
    pub released: usize,
}

impl OutboxWorker {
    /// A worker for `config.platform`. `wake` is notified by whoever enqueues,
    /// so new rows go out at once instead of at the next poll.
    pub fn new(
        store: Arc<dyn Store>,
        sink: Arc<dyn DeliverySink>,
        clock: Arc<dyn Clock>,
        wake: Arc<Notify>,
        config: WorkerConfig,
    ) -> Self {
        Self {
            store,
            sink,
            clock,
            wake,
            config,
            critical_first: None,
        }
    }

    /// Shares `order` with the engine and the other lanes: the critical
    /// lane reports its passes, the support lane gives way to them.
    pub fn with_critical_first(mut self, order: Arc<CriticalFirst>) -> Self {
        self.critical_first = Some(order);
        self
    }

    /// Runs until `shutdown` is cancelled. The delivery in flight at that
    /// moment is finished (within the grace period); the rest of its batch is
    /// released for the next start. A failing pass is logged and the loop
    /// keeps going.
    pub async fn run(self, shutdown: CancellationToken) {
        let (platform, lane) = (self.config.platform, self.config.lane);
        tracing::debug!(%platform, %lane, "outbox worker started");
        while !shutdown.is_cancelled() {
            let report = match self.pass(&shutdown).await {
                Ok(report) => report,
                Err(error) => {
                    tracing::error!(%platform, %lane, %error, "outbox pass failed; retrying");
                    PassReport::default()
                }
            };
            if report.claimed > 0 && report.released == 0 {
                continue;
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(self.config.poll) => {}
            }
        }
        tracing::debug!(%platform, %lane, "outbox worker stopped");
    }

    /// Delivers everything due now, pass after pass, until nothing is due.
    /// The console uses this at end of input so that scripted runs see every
    /// message before the process exits.
    pub async fn drain(&self) -> crate::Result<PassReport> {
        let never = CancellationToken::new();
        let mut total = PassReport::default();
        loop {
            let report = self.pass(&never).await?;
            total.claimed += report.claimed;
            total.delivered += report.delivered;
            total.failed += report.failed;
            if report.claimed == 0 || report.delivered == 0 {
                return Ok(total);
            }
        }
    }

    /// Claims one batch of due rows and settles each.
    ///
    /// Successes are recorded together, in one statement per batch (or
    /// before the next attempt, once the oldest unrecorded success is
    /// `settle_within` old): this halves the database statements per
    /// delivery, and a crash before the record only means a resend under the
    /// same idempotency key, which the platform drops. Failures are recorded
    /// at once. Whatever happens, rows not attempted are released (best
    /// effort) and successes recorded before the pass returns.
    pub async fn pass(&self, shutdown: &CancellationToken) -> crate::Result<PassReport> {
        let order = self
            .critical_first
            .as_ref()
            .filter(|_| self.config.lane == Lane::Critical);
        let covers = order.map(|o| o.pass_begins());
        let result = self.pass_inner(shutdown).await;
        if let (Some(order), Some(covers)) = (order, covers) {
            order.pass_ended(self.config.platform, covers);
        }
        result
    }

    async fn pass_inner(&self, shutdown: &CancellationToken) -> crate::Result<PassReport> {
        let claimed_at = Instant::now();
        let claimed = self
            .store
            .claim_deliveries(
                self.config.platform,
                self.config.lane,
                self.clock.now(),
                self.config.batch,
                self.config.lease,
            )
            .await?;
        let mut report = PassReport {
            claimed: claimed.len(),
            ..PassReport::default()
        };
        let mut delivered: Vec<Claimed> = Vec::new();
        let mut oldest: Option<Instant> = None;
        let mut failure: Option<crate::Error> = None;
        let mut queue = claimed.into_iter().peekable();
        while let Some(claim) = queue.peek() {
            if oldest.is_some_and(|t| t.elapsed() >= self.config.settle_within) {
                let settled = self
                    .store
                    .mark_delivered(&delivered, self.clock.now())
                    .await;
                delivered.clear();
                oldest = None;
                if let Err(e) = settled {
                    failure = Some(e);
                    break;
                }
            }
            if shutdown.is_cancelled() || claimed_at.elapsed() >= self.config.send_budget() {
                break;
            }
            match self.attempt(claim, shutdown).await {
                Attempt::Delivered => {
                    report.delivered += 1;
                    delivered.extend(queue.next());
                    oldest.get_or_insert_with(Instant::now);
                }
                Attempt::Failed(result) => {
                    report.failed += 1;
                    let settled = self.settle_failure(claim, &result).await;
                    queue.next();
                    if let Err(e) = settled {
                        failure = Some(e);
                        break;
                    }
                }
                Attempt::Abandoned => {
                    // Left leased: the platform may have it. The lease runs
                    // out and a later claim resends it under the same key.
                    report.failed += 1;
                    queue.next();
                }
            }
        }
        for claim in queue {
            match self.store.release_delivery(&claim, self.clock.now()).await {
                Ok(_) => report.released += 1,
                Err(e) => {
                    failure.get_or_insert(e);
                }
            }
        }
        if !delivered.is_empty()
            && let Err(e) = self
                .store
                .mark_delivered(&delivered, self.clock.now())
                .await
        {
            failure.get_or_insert(e);
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(report),
        }
    }

    /// One platform call, in its own task: a panic in an adapter becomes a
    /// failed attempt (retried) instead of ending this worker, and a call
    /// that times out or is abandoned at shutdown is aborted, not left behind.
    async fn attempt(&self, claim: &Claimed, shutdown: &CancellationToken) -> Attempt {
        if let Some(order) = &self.critical_first
            && self.config.lane == Lane::Support
        {
            order
                .wait_turn(self.config.platform, SUPPORT_YIELDS_AT_MOST)
                .await;
        }
        let timeout = self.config.deliver_timeout;
        let (sink, delivery) = (self.sink.clone(), claim.delivery.clone());
        let mut call = tokio::spawn(async move { sink.deliver(&delivery).await });
        let outcome = tokio::select! {
            outcome = tokio::time::timeout(timeout, &mut call) => outcome,
            _ = shutdown.cancelled() => {
                match tokio::time::timeout(self.config.grace, &mut call).await {
                    Ok(outcome) => Ok(outcome),
                    Err(_) => {
                        call.abort();
                        return Attempt::Abandoned;
                    }
                }
            }
        };
        match outcome {
            Ok(Ok(DeliveryResult::Delivered)) => Attempt::Delivered,
            Ok(Ok(failed)) => Attempt::Failed(failed),
            Ok(Err(crashed)) => {
                tracing::error!(id = %claim.delivery.id, error = %crashed, "platform adapter crashed while delivering");
                Attempt::Failed(DeliveryResult::Retry {
                    error: "the platform adapter crashed while sending".into(),
                    after: None,
                })
            }
            Err(_) => {
                call.abort();
                Attempt::Failed(DeliveryResult::Retry {
                    error: format!("no answer from the platform within {} s", timeout.as_secs()),
                    after: None,
                })
            }
        }
    }

    async fn settle_failure(&self, claim: &Claimed, result: &DeliveryResult) -> crate::Result<()> {
        let delivery = &claim.delivery;
        let error = match result {
            DeliveryResult::Retry { error, .. } | DeliveryResult::Permanent { error } => error,
            DeliveryResult::Delivered => return Ok(()),
        };
        let jitter = rand::rng().random::<f64>();
        let action = self
            .config
            .retry
            .on_failure(delivery, result, self.clock.now(), jitter);
        if delivery.kind.is_critical() {
            tracing::error!(id = %delivery.id, kind = %delivery.kind, attempts = delivery.attempts, %error, "critical delivery failed");
        } else {
            tracing::warn!(id = %delivery.id, kind = %delivery.kind, attempts = delivery.attempts, %error, "delivery failed");
        }
        self.store.fail_delivery(claim, error, action).await?;
        Ok(())
    }
}

/// How one delivery attempt ended, before it is recorded.
enum Attempt {
    Delivered,
    Failed(DeliveryResult),
    /// Shutdown's grace period ran out while the platform call was open.
    Abandoned,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::from_millis;

    fn delivery(kind: DeliveryKind, attempts: i64) -> Delivery {
        Delivery {
            id: DeliveryId(1),
            kind,
            target: Target::member(Platform::Console, "m"),
            payload: Payload::default(),
            idempotency_key: "k".into(),
            state: DeliveryState::Queued,
            attempts,
            available_at: Some(from_millis(0)),
            delivered_at: None,
            last_error: None,
            created_at: from_millis(0),
        }
    }

    fn retry() -> DeliveryResult {
        DeliveryResult::Retry {
            error: "down".into(),
            after: None,
        }
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let p = RetryPolicy {
            base: Duration::from_secs(2),
            cap: Duration::from_secs(60),
            max_attempts: 10,
        };
        assert_eq!(p.backoff(1), Duration::from_secs(2));
        assert_eq!(p.backoff(2), Duration::from_secs(4));
        assert_eq!(p.backoff(5), Duration::from_secs(32));
        assert_eq!(p.backoff(6), Duration::from_secs(60));
        assert_eq!(p.backoff(1000), Duration::from_secs(60));
    }

    #[test]
    fn jitter_stays_within_the_upper_half_of_the_window() {
        let p = RetryPolicy::default();
        let now = from_millis(1_000_000);
        let d = delivery(DeliveryKind::Notice, 3); // window 8 s
        for (jitter, expect_ms) in [(0.0, 4_000), (0.5, 6_000), (0.999_999, 8_000)] {
            let FailureAction::RetryAt(at, DeliveryState::Queued) =
                p.on_failure(&d, &retry(), now, jitter)
            else {
                panic!("expected a retry");
            };
            let waited = (at - now).num_milliseconds();
            assert!(
                (waited - expect_ms).abs() <= 1,
                "jitter {jitter}: waited {waited} ms"
            );
        }
    }

    #[test]
    fn retry_after_from_the_platform_is_honoured() {
        let p = RetryPolicy::default();
        let now = from_millis(0);
        let result = DeliveryResult::Retry {
            error: "429".into(),
            after: Some(Duration::from_secs(30)),
        };
        let FailureAction::RetryAt(at, _) =
            p.on_failure(&delivery(DeliveryKind::Notice, 1), &result, now, 0.0)
        else {
            panic!("expected a retry");
        };
        assert_eq!((at - now).num_seconds(), 30);
    }

    #[test]
    fn huge_retry_after_is_capped_and_never_panics() {
        let p = RetryPolicy::default();
        let now = from_millis(1_000);
        let result = DeliveryResult::Retry {
            error: "429".into(),
            after: Some(Duration::MAX),
        };
        let FailureAction::RetryAt(at, _) =
            p.on_failure(&delivery(DeliveryKind::CrisisAlert, 1), &result, now, 0.0)
        else {
            panic!("expected a retry");
        };
        assert_eq!(
            (at - now).to_std().unwrap(),
            p.cap,
            "a crisis message waits at most the cap"
        );
        let FailureAction::RetryAt(at, _) =
            p.on_failure(&delivery(DeliveryKind::Notice, 1), &result, now, 0.0)
        else {
            panic!("expected a retry");
        };
        assert_eq!((at - now).num_hours(), 24, "nothing waits more than a day");
    }

    #[test]
    fn ordinary_delivery_dies_after_the_limit() {
        let p = RetryPolicy::default();
        let d = delivery(DeliveryKind::Reminder, p.max_attempts);
        assert_eq!(
            p.on_failure(&d, &retry(), from_millis(0), 0.5),
            FailureAction::Dead
        );
        let d = delivery(DeliveryKind::Reminder, 1);
        let permanent = DeliveryResult::Permanent {
            error: "no such user".into(),
        };
        assert_eq!(
            p.on_failure(&d, &permanent, from_millis(0), 0.5),
            FailureAction::Dead
        );
    }

    #[test]
    fn critical_delivery_is_never_dropped() {
        let p = RetryPolicy::default();
        for kind in [
            DeliveryKind::CrisisAlert,
            DeliveryKind::CrisisSupport,
            DeliveryKind::Escalation,
        ] {
            let d = delivery(kind, p.max_attempts + 50);
            let action = p.on_failure(&d, &retry(), from_millis(0), 0.0);
            assert!(
                matches!(action, FailureAction::RetryAt(_, DeliveryState::Failing)),
                "{kind}: {action:?}"
            );
            let permanent = DeliveryResult::Permanent {
                error: "dm closed".into(),
            };
            let action = p.on_failure(&delivery(kind, 1), &permanent, from_millis(0), 0.0);
            assert!(matches!(
                action,
                FailureAction::RetryAt(_, DeliveryState::Failing)
            ));
        }
    }

    #[test]
    fn payload_without_new_fields_still_parses() {
        let p: Payload = serde_json::from_str(r#"{"text":"hi"}"#).unwrap();
        assert_eq!(
            p,
            Payload {
                text: "hi".into(),
                ..Payload::default()
            }
        );
    }
}
