//! The alert lifecycle beyond opening: escalation of alerts nobody has
//! claimed. (Opening is in the engine's crisis pipeline; claim and resolve
//! are moderator commands; every step lands in the audit trail.)
//!
//! An open alert is re-sent to the moderators, mentioning them, when its
//! `escalate_at` passes: first after the group's `escalate_after` (default
//! 10 minutes), then at a slower pace, each wait twice the last, up to
//! [`MAX_ESCALATION_GAP_MINUTES`], until someone claims it. It is never
//! dropped silently.

use crate::clock::Timestamp;
use crate::ids::Platform;
use crate::model::Alert;
use crate::outbox::{DeliveryKind, NewDelivery, Payload, Target};
use crate::store::Store;

/// The longest wait between two escalations of one alert.
pub const MAX_ESCALATION_GAP_MINUTES: i64 = 120;

/// When to escalate next after escalation number `n` (1-based), given the
/// group's first wait.
pub fn next_escalation(now: Timestamp, first_wait_secs: i64, n: i64) -> Timestamp {
    let factor = 1i64 << n.clamp(0, 16);
    let gap = first_wait_secs
        .saturating_mul(factor)
        .clamp(60, MAX_ESCALATION_GAP_MINUTES * 60);
    now + chrono::Duration::seconds(gap)
}

/// Escalates every alert that is due. Returns how many were escalated.
/// Safe to run in several processes at once.
pub async fn run_escalations(store: &dyn Store, now: Timestamp) -> crate::Result<usize> {
    let mut done = 0;
    for alert in store.due_escalations(now, 100).await? {
        let Some(group) = store
            .groups()
            .await?
            .into_iter()
            .find(|g| g.id == alert.group_id)
        else {
            continue;
        };
        let next = next_escalation(
            now,
            group.settings.escalate_after_secs,
            alert.escalations + 1,
        );
        let channel = group.moderator_channel.clone();
        let platform = group.platform;
        let build = |a: &Alert| match &channel {
            Some(channel) => vec![escalation_delivery(a, platform, channel, now)],
            None => Vec::new(),
        };
        if store
            .escalate_alert(&alert, next, &build, now)
            .await?
            .is_some()
        {
            tracing::warn!(alert = %alert.id, escalations = alert.escalations + 1, "alert unclaimed: escalated");
            done += 1;
        }
    }
    Ok(done)
}

fn escalation_delivery(
    alert: &Alert,
    platform: Platform,
    channel: &str,
    now: Timestamp,
) -> NewDelivery {
    let p = crate::engine::moderator_prefix(platform);
    let minutes = (now - alert.created_at).num_minutes();
    NewDelivery {
        kind: DeliveryKind::Escalation,
        target: Target::channel(platform, channel),
        payload: Payload {
            text: format!(
                "Still unclaimed after {minutes} min: crisis alert #{} ({}). Could someone take \
                 it? {p}alert claim {}",
                alert.id, alert.level, alert.id
            ),
            alert: Some(alert.id),
            mention_moderators: true,
            member: None,
        },
        idempotency_key: format!("alert-{}-escalation-{}", alert.id, alert.escalations),
        not_before: None,
        group: Some(alert.group_id),
        about: Some(alert.member_id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::from_millis;

    #[test]
    fn escalations_slow_down_and_are_capped() {
        let now = from_millis(0);
        let mins = |t: Timestamp| (t - now).num_minutes();
        assert_eq!(mins(next_escalation(now, 600, 1)), 20);
        assert_eq!(mins(next_escalation(now, 600, 2)), 40);
        assert_eq!(mins(next_escalation(now, 600, 3)), 80);
        assert_eq!(mins(next_escalation(now, 600, 4)), 120);
        assert_eq!(mins(next_escalation(now, 600, 40)), 120);
    }
}
