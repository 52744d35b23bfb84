//! The shared store suite: every test here runs on SQLite and on Postgres
//! (see `ipt_tests::store_suite!`). A behaviour that differs between the
//! backends is a bug in one of them.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use ipt_core::clock::{Timestamp, from_millis};
use ipt_core::ids::{AlertId, GroupId, HomeworkId, MemberRef, Platform};
use ipt_core::model::{
    AlertAction, AlertLevel, AlertStatus, AlertTransition, Consent, GroupSettings, HomeworkStatus,
    NewAlert, NewCheckin, NewGroup, NewHomework,
};
use ipt_core::outbox::{
    Claimed, DeliveryKind, DeliveryState, FailureAction, Lane, NewDelivery, Payload, Target,
};
use ipt_core::store::{Erasure, Store};

ipt_tests::store_suite!(
    test_migrate_twice_is_harmless,
    test_group_upsert_updates_in_place,
    test_member_profile_choices_round_trip,
    test_platform_enum_round_trips_through_the_database,
    test_checkin_same_day_edits_instead_of_duplicating,
    test_homework_lifecycle_and_ownership,
    test_alert_opens_with_audit_and_deliveries_in_one_transaction,
    test_alert_is_not_created_when_its_delivery_cannot_be_stored,
    test_alert_claim_and_resolve_are_guarded_and_audited,
    test_enqueue_skips_existing_keys,
    test_claim_takes_due_rows_oldest_first_for_one_platform,
    test_lease_blocks_reclaim_until_it_expires,
    test_stale_lease_cannot_settle_a_retaken_delivery,
    test_failed_delivery_backs_off_then_dies_and_is_listed,
    test_critical_delivery_keeps_failing_but_is_never_dead,
    test_release_makes_a_claim_due_again_without_counting_it,
    test_mark_delivered_settles_claims_from_several_leases_at_once,
    test_daily_card_never_repeats_within_30_days_and_is_stable_per_day,
    test_repeated_messages_update_the_open_alert_and_raise_its_level,
    test_concurrent_claimers_never_share_a_row,
    test_delivery_kinds_round_trip,
    test_member_delete_removes_everything_about_them,
    test_checkin_recipients_runs_and_group_totals,
    test_prune_deletes_only_long_settled_deliveries,
);

fn t(ms: i64) -> Timestamp {
    from_millis(1_780_000_000_000 + ms)
}

fn lease() -> Duration {
    Duration::from_secs(30)
}

/// Claims up to `n` due rows at `at` under a 30 s lease.
async fn claim(
    store: &Arc<dyn Store>,
    platform: Platform,
    lane: Lane,
    at: Timestamp,
    n: i64,
) -> Vec<Claimed> {
    store
        .claim_deliveries(platform, lane, at, n, lease())
        .await
        .unwrap()
}

/// Claims exactly one due row.
async fn claim_one(
    store: &Arc<dyn Store>,
    platform: Platform,
    lane: Lane,
    at: Timestamp,
) -> Claimed {
    let mut claimed = claim(store, platform, lane, at, 1).await;
    assert_eq!(claimed.len(), 1, "expected one due row at {at}");
    claimed.remove(0)
}

fn new_group(id: &str) -> NewGroup {
    NewGroup {
        platform: Platform::Matrix,
        external_id: id.to_owned(),
        moderator_channel: Some("!mods:example.org".into()),
        region: "GB".into(),
        timezone: "Europe/London".into(),
        checkin_cron: Some("0 0 9 * * *".into()),
        settings: GroupSettings::default(),
    }
}

fn note(key: &str, platform: Platform) -> NewDelivery {
    NewDelivery {
        kind: DeliveryKind::Notice,
        target: Target::member(platform, "@a:example.org"),
        payload: Payload {
            text: format!("hello {key}"),
            ..Payload::default()
        },
        idempotency_key: key.to_owned(),
        not_before: None,
        group: None,
        about: None,
    }
}

async fn member(store: &Arc<dyn Store>, id: &str) -> ipt_core::model::Member {
    store
        .upsert_member(&MemberRef::new(Platform::Matrix, id), "Sam", t(0))
        .await
        .unwrap()
}

async fn group(store: &Arc<dyn Store>) -> GroupId {
    store
        .upsert_group(&new_group("!g:example.org"), t(0))
        .await
        .unwrap()
        .id
}

async fn test_migrate_twice_is_harmless(store: Arc<dyn Store>) {
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    assert!(store.groups().await.unwrap().is_empty());
}

async fn test_group_upsert_updates_in_place(store: Arc<dyn Store>) {
    let first = store
        .upsert_group(&new_group("!g:example.org"), t(0))
        .await
        .unwrap();
    let mut changed = new_group("!g:example.org");
    changed.region = "IE".into();
    changed.settings = GroupSettings {
        alert_excerpts: true,
        escalate_after_secs: 120,
        crisis_lines: vec![ipt_core::crisis::resources::Line {
            name: "Our warmline".into(),
            call: None,
            text: Some("HI to 5000".into()),
            chat: None,
            web: None,
            hours: None,
            last_checked: String::new(),
        }],
        checkin_catch_up_secs: 600,
    };
    let second = store.upsert_group(&changed, t(5)).await.unwrap();
    assert_eq!(first.id, second.id);
    assert_eq!(second.region, "IE");
    assert_eq!(second.created_at, t(0), "created_at is kept on update");
    let found = store
        .group(Platform::Matrix, "!g:example.org")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, second);
    assert!(found.settings.alert_excerpts);
    assert_eq!(found.settings.escalate_after_secs, 120);
    assert_eq!(found.settings.crisis_lines, changed.settings.crisis_lines);
    assert!(
        store
            .group(Platform::Discord, "!g:example.org")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.groups().await.unwrap().len(), 1);
}

async fn test_member_profile_choices_round_trip(store: Arc<dyn Store>) {
    let m = member(&store, "@sam:example.org").await;
    assert_eq!(
        m.consent,
        Consent::default(),
        "everything is off until chosen"
    );
    let again = store
        .upsert_member(
            &MemberRef::new(Platform::Matrix, "@sam:example.org"),
            "Sam B",
            t(9),
        )
        .await
        .unwrap();
    assert_eq!(again.id, m.id);
    assert_eq!(again.display_name, "Sam B");
    store
        .set_member_timezone(m.id, Some("Asia/Kolkata"))
        .await
        .unwrap();
    store
        .set_member_paused_until(m.id, Some(t(86_400_000)))
        .await
        .unwrap();
    let consent = Consent {
        checkins: true,
        quiet: true,
        checkin_signals: false,
    };
    store.set_member_consent(m.id, consent).await.unwrap();
    let m = store
        .member(&MemberRef::new(Platform::Matrix, "@sam:example.org"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.timezone.as_deref(), Some("Asia/Kolkata"));
    assert_eq!(m.paused_until, Some(t(86_400_000)));
    assert!(m.is_paused(t(1)));
    assert!(!m.is_paused(t(86_400_001)));
    assert_eq!(m.consent, consent);
    store.set_member_paused_until(m.id, None).await.unwrap();
    store.set_member_timezone(m.id, None).await.unwrap();
    let m = store
        .member(&MemberRef::new(Platform::Matrix, "@sam:example.org"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((m.paused_until, m.timezone), (None, None));
}

async fn test_platform_enum_round_trips_through_the_database(store: Arc<dyn Store>) {
    for platform in Platform::ALL {
        let r = MemberRef::new(*platform, "same-id");
        let m = store.upsert_member(&r, "x", t(0)).await.unwrap();
        assert_eq!(m.platform, *platform);
        assert_eq!(store.member(&r).await.unwrap().unwrap().id, m.id);
    }
}

async fn test_checkin_same_day_edits_instead_of_duplicating(store: Arc<dyn Store>) {
    let m = member(&store, "@c:example.org").await;
    let day = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
    let mut answer = NewCheckin {
        member_id: m.id,
        group_id: None,
        local_date: day,
        mood: 3,
        sleep: None,
        connection: None,
        note: Some("rough morning".into()),
    };
    let first = store.save_checkin(&answer, t(0)).await.unwrap();
    answer.mood = 6;
    answer.sleep = Some(7);
    answer.connection = Some("called my sister".into());
    let second = store.save_checkin(&answer, t(60_000)).await.unwrap();
    assert_eq!(first.id, second.id);
    assert_eq!((second.mood, second.sleep), (6, Some(7)));
    assert_eq!(second.created_at, t(0));
    assert_eq!(second.updated_at, t(60_000));
    answer.local_date = day.succ_opt().unwrap();
    store.save_checkin(&answer, t(86_400_000)).await.unwrap();
    assert_eq!(store.checkins(m.id, day).await.unwrap().len(), 2);
    let later = store.checkins(m.id, day.succ_opt().unwrap()).await.unwrap();
    assert_eq!(later.len(), 1);
    assert_eq!(later[0].local_date, day.succ_opt().unwrap());
    answer.mood = 11;
    assert!(
        store.save_checkin(&answer, t(1)).await.is_err(),
        "mood is 0 to 10"
    );
}

async fn test_homework_lifecycle_and_ownership(store: Arc<dyn Store>) {
    let me = member(&store, "@me:example.org").await;
    let other = member(&store, "@other:example.org").await;
    let hw = store
        .add_homework(
            &NewHomework {
                member_id: me.id,
                group_id: None,
                template: Some("communication-analysis".into()),
                title: "Go over one conversation".into(),
                details: None,
                due_at: Some(t(7 * 86_400_000)),
                assigned_by: None,
            },
            t(0),
        )
        .await
        .unwrap();
    assert_eq!(hw.status, HomeworkStatus::Open);
    let stolen = store
        .settle_homework(hw.id, other.id, HomeworkStatus::Done, None, t(1))
        .await
        .unwrap();
    assert!(stolen.is_none(), "another member cannot settle my exercise");
    for status in HomeworkStatus::ALL {
        let done = store
            .settle_homework(hw.id, me.id, *status, Some("it helped"), t(2))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(done.status, *status);
        assert_eq!(done.reflection.as_deref(), Some("it helped"));
        assert_eq!(
            done.completed_at,
            (*status != HomeworkStatus::Open).then(|| t(2))
        );
    }
    assert!(
        store
            .settle_homework(HomeworkId(9_999), me.id, HomeworkStatus::Done, None, t(3))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.homework(me.id).await.unwrap().len(), 1);
    assert!(store.homework(other.id).await.unwrap().is_empty());
}

fn alert_for(group: GroupId, member: ipt_core::ids::MemberId, level: AlertLevel) -> NewAlert {
    NewAlert {
        group_id: group,
        member_id: member,
        level,
        message_link: Some("https://matrix.to/#/!g:example.org/$event".into()),
        excerpt: None,
        escalate_at: Some(t(600_000)),
    }
}

fn crisis_deliveries(tag: &str) -> Vec<NewDelivery> {
    vec![
        NewDelivery {
            kind: DeliveryKind::CrisisAlert,
            target: Target::channel(Platform::Matrix, "!mods:example.org"),
            payload: Payload {
                text: "alert".into(),
                ..Payload::default()
            },
            idempotency_key: format!("alert-{tag}"),
            not_before: None,
            group: None,
            about: None,
        },
        NewDelivery {
            kind: DeliveryKind::CrisisSupport,
            target: Target::member(Platform::Matrix, "@m:example.org"),
            payload: Payload {
                text: "support".into(),
                ..Payload::default()
            },
            idempotency_key: format!("support-{tag}"),
            not_before: None,
            group: None,
            about: None,
        },
    ]
}

async fn test_alert_opens_with_audit_and_deliveries_in_one_transaction(store: Arc<dyn Store>) {
    let g = group(&store).await;
    let m = member(&store, "@m:example.org").await;
    for level in AlertLevel::ALL {
        let alert = store
            .open_alert(
                &alert_for(g, m.id, *level),
                &|a| {
                    let mut d = crisis_deliveries(level.as_str());
                    d[0].payload.alert = Some(a.id);
                    d
                },
                t(0),
            )
            .await
            .unwrap();
        assert_eq!((alert.level, alert.status), (*level, AlertStatus::Open));
        assert_eq!(store.alert(alert.id).await.unwrap().unwrap(), alert);
        let events = store.alert_events(alert.id).await.unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].action, AlertAction::Opened);
        assert_eq!(events[0].actor, None);
        let d = store
            .delivery(&format!("alert-{level}"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(d.kind, DeliveryKind::CrisisAlert);
        assert_eq!(d.state, DeliveryState::Queued);
    }
    assert_eq!(store.pending_deliveries().await.unwrap(), 6);
}

async fn test_alert_is_not_created_when_its_delivery_cannot_be_stored(store: Arc<dyn Store>) {
    let g = group(&store).await;
    let m = member(&store, "@m:example.org").await;
    let mut deliveries = crisis_deliveries("x");
    deliveries[1].idempotency_key = String::new(); // refused by the schema
    let result = store
        .open_alert(
            &alert_for(g, m.id, AlertLevel::Urgent),
            &move |_| deliveries.clone(),
            t(0),
        )
        .await;
    assert!(result.is_err());
    assert!(
        store.alerts(g, false).await.unwrap().is_empty(),
        "no alert without its deliveries"
    );
    assert!(
        store.delivery("alert-x").await.unwrap().is_none(),
        "no half-written outbox"
    );
}

async fn test_alert_claim_and_resolve_are_guarded_and_audited(store: Arc<dyn Store>) {
    let g = group(&store).await;
    let m = member(&store, "@m:example.org").await;
    let a = store
        .open_alert(&alert_for(g, m.id, AlertLevel::Concern), &|_| vec![], t(0))
        .await
        .unwrap();
    let AlertTransition::Done(claimed) = store
        .claim_alert(a.id, "@mod1:example.org", t(10))
        .await
        .unwrap()
    else {
        panic!("first claim must succeed");
    };
    assert_eq!(claimed.status, AlertStatus::Claimed);
    assert_eq!(claimed.claimed_by.as_deref(), Some("@mod1:example.org"));
    assert_eq!(claimed.claimed_at, Some(t(10)));
    assert_eq!(
        claimed.escalate_at, None,
        "a claimed alert stops escalating"
    );
    let AlertTransition::NotAllowed(still) = store
        .claim_alert(a.id, "@mod2:example.org", t(11))
        .await
        .unwrap()
    else {
        panic!("second claim must be refused");
    };
    assert_eq!(still.claimed_by.as_deref(), Some("@mod1:example.org"));
    assert_eq!(store.alerts(g, true).await.unwrap().len(), 1);
    let AlertTransition::Done(resolved) = store
        .resolve_alert(a.id, "@mod1:example.org", "talked, safe now", t(20))
        .await
        .unwrap()
    else {
        panic!("resolve must succeed");
    };
    assert_eq!(resolved.status, AlertStatus::Resolved);
    assert_eq!(
        resolved.resolution_note.as_deref(),
        Some("talked, safe now")
    );
    assert!(matches!(
        store
            .resolve_alert(a.id, "@x:example.org", "again", t(21))
            .await
            .unwrap(),
        AlertTransition::NotAllowed(_)
    ));
    assert!(matches!(
        store
            .claim_alert(AlertId(424_242), "@x:example.org", t(22))
            .await
            .unwrap(),
        AlertTransition::NotFound
    ));
    assert!(store.alerts(g, true).await.unwrap().is_empty());
    assert_eq!(store.alerts(g, false).await.unwrap().len(), 1);
    let trail: Vec<_> = store
        .alert_events(a.id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.action, e.actor, e.detail))
        .collect();
    assert_eq!(
        trail,
        vec![
            (AlertAction::Opened, None, Some("concern".into())),
            (AlertAction::Claimed, Some("@mod1:example.org".into()), None),
            (
                AlertAction::Resolved,
                Some("@mod1:example.org".into()),
                Some("talked, safe now".into())
            ),
        ]
    );
    // An open alert can be resolved directly.
    let b = store
        .open_alert(&alert_for(g, m.id, AlertLevel::Urgent), &|_| vec![], t(30))
        .await
        .unwrap();
    assert!(matches!(
        store
            .resolve_alert(b.id, "@mod2:example.org", "false alarm", t(31))
            .await
            .unwrap(),
        AlertTransition::Done(_)
    ));
}

async fn test_enqueue_skips_existing_keys(store: Arc<dyn Store>) {
    assert_eq!(
        store
            .enqueue(
                &[note("a", Platform::Matrix), note("b", Platform::Matrix)],
                t(0)
            )
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .enqueue(
                &[note("b", Platform::Matrix), note("c", Platform::Matrix)],
                t(1)
            )
            .await
            .unwrap(),
        1
    );
    assert_eq!(store.pending_deliveries().await.unwrap(), 3);
    let b = store.delivery("b").await.unwrap().unwrap();
    assert_eq!(b.created_at, t(0), "the first enqueue wins");
    assert_eq!(b.payload.text, "hello b");
}

async fn test_claim_takes_due_rows_oldest_first_for_one_platform(store: Arc<dyn Store>) {
    let mut later = note("later", Platform::Matrix);
    later.not_before = Some(t(20_000));
    store
        .enqueue(&[note("m2", Platform::Matrix)], t(2))
        .await
        .unwrap();
    store
        .enqueue(
            &[
                note("m1", Platform::Matrix),
                note("d1", Platform::Discord),
                later,
            ],
            t(1),
        )
        .await
        .unwrap();
    let claimed = claim(&store, Platform::Matrix, Lane::Normal, t(10), 10).await;
    let keys: Vec<_> = claimed
        .iter()
        .map(|c| c.delivery.idempotency_key.as_str())
        .collect();
    assert_eq!(
        keys,
        ["m1", "m2"],
        "due Matrix rows only, oldest message first"
    );
    assert!(claimed.iter().all(|c| c.delivery.attempts == 1));
    // At 20 s "later" is due, and the first two are still leased (until 30 s).
    let claimed = claim(&store, Platform::Matrix, Lane::Normal, t(20_000), 10).await;
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].delivery.idempotency_key, "later");
    let discord = claim(&store, Platform::Discord, Lane::Normal, t(10), 10).await;
    assert_eq!(discord.len(), 1);
    // With a limit, the rows that fell due first are taken, whatever their ids.
    let staggered: Vec<_> = (0..5)
        .map(|i| {
            let mut d = note(&format!("n{i}"), Platform::Console);
            d.not_before = Some(t(4 - i)); // n4 is due first, n0 last
            d
        })
        .collect();
    store.enqueue(&staggered, t(0)).await.unwrap();
    let limited = claim(&store, Platform::Console, Lane::Normal, t(10), 3).await;
    let mut keys: Vec<_> = limited
        .iter()
        .map(|c| c.delivery.idempotency_key.clone())
        .collect();
    keys.sort();
    assert_eq!(keys, ["n2", "n3", "n4"]);
}

async fn test_lease_blocks_reclaim_until_it_expires(store: Arc<dyn Store>) {
    store
        .enqueue(&[note("a", Platform::Matrix)], t(0))
        .await
        .unwrap();
    let first = claim(&store, Platform::Matrix, Lane::Normal, t(0), 10).await;
    assert_eq!(first.len(), 1);
    assert!(
        claim(&store, Platform::Matrix, Lane::Normal, t(29_999), 10)
            .await
            .is_empty()
    );
    let again = claim(&store, Platform::Matrix, Lane::Normal, t(30_000), 10).await;
    assert_eq!(
        again.len(),
        1,
        "a crashed worker's claim is retaken after the lease"
    );
    assert_eq!(again[0].delivery.attempts, 2);
    assert_ne!(again[0].lease, first[0].lease);
    assert_eq!(store.mark_delivered(&again, t(30_001)).await.unwrap(), 1);
    let d = store.delivery("a").await.unwrap().unwrap();
    assert_eq!(
        (d.state, d.delivered_at, d.available_at),
        (DeliveryState::Delivered, Some(t(30_001)), None)
    );
    assert!(
        claim(&store, Platform::Matrix, Lane::Normal, t(999_999), 10)
            .await
            .is_empty()
    );
    assert_eq!(store.pending_deliveries().await.unwrap(), 0);
}

async fn test_stale_lease_cannot_settle_a_retaken_delivery(store: Arc<dyn Store>) {
    store
        .enqueue(&[note("a", Platform::Matrix)], t(0))
        .await
        .unwrap();
    let stale = claim_one(&store, Platform::Matrix, Lane::Normal, t(0)).await;
    let fresh = claim_one(&store, Platform::Matrix, Lane::Normal, t(31_000)).await;
    assert!(
        !store
            .fail_delivery(&stale, "late failure", FailureAction::Dead)
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .mark_delivered(std::slice::from_ref(&stale), t(31_001))
            .await
            .unwrap(),
        0
    );
    assert!(!store.release_delivery(&stale, t(31_001)).await.unwrap());
    assert_eq!(
        store.delivery("a").await.unwrap().unwrap().state,
        DeliveryState::Queued
    );
    assert_eq!(
        store
            .mark_delivered(std::slice::from_ref(&fresh), t(31_002))
            .await
            .unwrap(),
        1
    );
}

async fn test_failed_delivery_backs_off_then_dies_and_is_listed(store: Arc<dyn Store>) {
    let g = group(&store).await;
    let mut d = note("a", Platform::Matrix);
    d.group = Some(g);
    store.enqueue(&[d], t(0)).await.unwrap();
    let c = claim_one(&store, Platform::Matrix, Lane::Normal, t(0)).await;
    assert!(
        store
            .fail_delivery(
                &c,
                "homeserver down",
                FailureAction::RetryAt(t(5_000), DeliveryState::Queued)
            )
            .await
            .unwrap()
    );
    assert!(
        claim(&store, Platform::Matrix, Lane::Normal, t(4_999), 1)
            .await
            .is_empty()
    );
    let c = claim_one(&store, Platform::Matrix, Lane::Normal, t(5_000)).await;
    assert_eq!(c.delivery.last_error.as_deref(), Some("homeserver down"));
    assert!(store.undeliverable(g, 10).await.unwrap().is_empty());
    assert!(
        store
            .fail_delivery(&c, "no such user", FailureAction::Dead)
            .await
            .unwrap()
    );
    let dead = store.undeliverable(g, 10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!((dead[0].state, dead[0].attempts), (DeliveryState::Dead, 2));
    assert!(
        claim(&store, Platform::Matrix, Lane::Normal, t(999_999_999), 1)
            .await
            .is_empty()
    );
    assert_eq!(store.pending_deliveries().await.unwrap(), 0);
}

async fn test_critical_delivery_keeps_failing_but_is_never_dead(store: Arc<dyn Store>) {
    let g = group(&store).await;
    let mut d = crisis_deliveries("c");
    d[0].group = Some(g);
    store.enqueue(&d[..1], t(0)).await.unwrap();
    let c = claim_one(&store, Platform::Matrix, Lane::Critical, t(0)).await;
    assert!(
        store
            .fail_delivery(
                &c,
                "forbidden",
                FailureAction::RetryAt(t(600_000), DeliveryState::Failing)
            )
            .await
            .unwrap()
    );
    let listed = store.undeliverable(g, 10).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].state, DeliveryState::Failing);
    assert_eq!(
        store.pending_deliveries().await.unwrap(),
        1,
        "still waiting to go out"
    );
    let retried = claim(&store, Platform::Matrix, Lane::Critical, t(600_000), 1).await;
    assert_eq!(
        retried.len(),
        1,
        "a failing critical delivery is still retried"
    );
    assert_eq!(store.mark_delivered(&retried, t(600_001)).await.unwrap(), 1);
    assert!(store.undeliverable(g, 10).await.unwrap().is_empty());
}

async fn test_release_makes_a_claim_due_again_without_counting_it(store: Arc<dyn Store>) {
    store
        .enqueue(&[note("a", Platform::Matrix)], t(0))
        .await
        .unwrap();
    let c = claim_one(&store, Platform::Matrix, Lane::Normal, t(0)).await;
    assert!(store.release_delivery(&c, t(100)).await.unwrap());
    let again = claim(&store, Platform::Matrix, Lane::Normal, t(100), 1).await;
    assert_eq!(again.len(), 1, "released rows are due at once");
    assert_eq!(
        again[0].delivery.attempts, 1,
        "a released claim was not an attempt"
    );
}

async fn test_concurrent_claimers_never_share_a_row(store: Arc<dyn Store>) {
    let n = 200;
    let batch: Vec<_> = (0..n)
        .map(|i| note(&format!("k{i}"), Platform::Matrix))
        .collect();
    store.enqueue(&batch, t(0)).await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let claimed = claim(&store, Platform::Matrix, Lane::Normal, t(1), 7).await;
                if claimed.is_empty() {
                    return mine;
                }
                assert_eq!(
                    store.mark_delivered(&claimed, t(2)).await.unwrap(),
                    claimed.len()
                );
                mine.extend(claimed.into_iter().map(|c| c.delivery.idempotency_key));
            }
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    let unique: HashSet<_> = all.iter().collect();
    assert_eq!(all.len(), n, "every row claimed exactly once in total");
    assert_eq!(unique.len(), n);
    assert_eq!(store.pending_deliveries().await.unwrap(), 0);
}

async fn test_delivery_kinds_round_trip(store: Arc<dyn Store>) {
    for (i, kind) in DeliveryKind::ALL.iter().enumerate() {
        let mut d = note(&format!("kind{i}"), Platform::Discord);
        d.kind = *kind;
        d.target = if i % 2 == 0 {
            Target::channel(Platform::Discord, "123")
        } else {
            Target::member(Platform::Discord, "456")
        };
        d.payload.alert = Some(AlertId(i as i64));
        d.payload.mention_moderators = i % 2 == 0;
        store.enqueue(std::slice::from_ref(&d), t(0)).await.unwrap();
        let back = store.delivery(&d.idempotency_key).await.unwrap().unwrap();
        assert_eq!(
            (back.kind, &back.target, &back.payload),
            (*kind, &d.target, &d.payload)
        );
    }
}

async fn test_member_delete_removes_everything_about_them(store: Arc<dyn Store>) {
    let g = group(&store).await;
    let m = member(&store, "@gone:example.org").await;
    let keep = member(&store, "@stays:example.org").await;
    for who in [m.id, keep.id] {
        store
            .save_checkin(
                &NewCheckin {
                    member_id: who,
                    group_id: Some(g),
                    local_date: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
                    mood: 5,
                    sleep: None,
                    connection: None,
                    note: Some("private".into()),
                },
                t(0),
            )
            .await
            .unwrap();
        store
            .add_homework(
                &NewHomework {
                    member_id: who,
                    group_id: None,
                    template: None,
                    title: "walk".into(),
                    details: None,
                    due_at: None,
                    assigned_by: None,
                },
                t(0),
            )
            .await
            .unwrap();
    }
    let open = store
        .open_alert(&alert_for(g, m.id, AlertLevel::Concern), &|_| vec![], t(0))
        .await
        .unwrap();
    let export = store.member_data(m.id).await.unwrap().unwrap();
    assert_eq!((export.checkins.len(), export.homework.len()), (1, 1));
    assert_eq!(export.checkins[0].note.as_deref(), Some("private"));
    assert_eq!(export.alerts.len(), 1, "the export shows alerts about them");
    // An open alert is never ended by a deletion: it keeps its member.
    assert_eq!(
        store.delete_member(m.id, t(1)).await.unwrap(),
        Erasure::HeldForOpenAlerts(1)
    );
    let held = store.member_data(m.id).await.unwrap().unwrap();
    assert_eq!((held.checkins.len(), held.homework.len()), (0, 0));
    assert_eq!(held.member.consent, Consent::default());
    assert_eq!(store.alerts(g, true).await.unwrap().len(), 1);
    // Resolving it finishes the erasure and anonymises the alert.
    store
        .resolve_alert(open.id, "@mod:example.org", "spoke with Sam", t(2))
        .await
        .unwrap();
    assert!(
        store
            .member(&MemberRef::new(Platform::Matrix, "@gone:example.org"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .member_data(m.id)
            .await
            .unwrap()
            .is_none_or(|d| d.member.display_name.is_empty())
    );
    let kept = store.alerts(g, false).await.unwrap();
    assert_eq!(kept.len(), 1, "moderators keep an anonymised record");
    assert!(kept[0].anonymised_at.is_some());
    assert_eq!(
        (
            kept[0].message_link.as_deref(),
            kept[0].resolution_note.as_deref()
        ),
        (None, None)
    );
    assert_eq!(
        store.delete_member(m.id, t(3)).await.unwrap(),
        Erasure::Erased
    );
    let kept = store.member_data(keep.id).await.unwrap().unwrap();
    assert_eq!(
        (kept.checkins.len(), kept.homework.len()),
        (1, 1),
        "other members untouched"
    );
    // Someone never seen: nothing to do.
    assert_eq!(
        store
            .delete_member(ipt_core::ids::MemberId(999_999), t(4))
            .await
            .unwrap(),
        Erasure::NotFound
    );
}

async fn test_mark_delivered_settles_claims_from_several_leases_at_once(store: Arc<dyn Store>) {
    store
        .enqueue(
            &[
                note("a", Platform::Matrix),
                note("b", Platform::Matrix),
                note("c", Platform::Matrix),
            ],
            t(0),
        )
        .await
        .unwrap();
    let mut claims = claim(&store, Platform::Matrix, Lane::Normal, t(0), 2).await;
    claims.extend(claim(&store, Platform::Matrix, Lane::Normal, t(0), 2).await);
    assert_eq!(claims.len(), 3);
    assert_ne!(claims[0].lease, claims[2].lease);
    assert_eq!(store.mark_delivered(&claims, t(1)).await.unwrap(), 3);
    assert_eq!(store.pending_deliveries().await.unwrap(), 0);
    assert_eq!(
        store.mark_delivered(&claims, t(2)).await.unwrap(),
        0,
        "settling twice changes nothing"
    );
    assert_eq!(
        store.delivery("c").await.unwrap().unwrap().delivered_at,
        Some(t(1))
    );
}

async fn test_daily_card_never_repeats_within_30_days_and_is_stable_per_day(store: Arc<dyn Store>) {
    use ipt_core::content::{Library, daily_card_for};
    let library = Library::embedded();
    let g = group(&store).await;
    let start = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    let mut shown: Vec<String> = Vec::new();
    for offset in 0..60 {
        let day = start + chrono::Duration::days(offset);
        let card = daily_card_for(library, store.as_ref(), g, day)
            .await
            .unwrap()
            .unwrap();
        let window = &shown[shown.len().saturating_sub(29)..];
        assert!(
            !window.contains(&card.id),
            "day {offset}: {} was shown within 30 days",
            card.id
        );
        let again = daily_card_for(library, store.as_ref(), g, day)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(again.id, card.id, "the same card all day");
        shown.push(card.id.clone());
    }
    // Another process that picked a different card loses to the first record.
    let day = start + chrono::Duration::days(100);
    assert_eq!(
        store.set_daily_card(g, day, "grief").await.unwrap(),
        "grief"
    );
    assert_eq!(
        store.set_daily_card(g, day, "role-play").await.unwrap(),
        "grief"
    );
    let history = store.daily_cards_since(g, start).await.unwrap();
    assert_eq!(history.len(), 61);
    assert!(history.windows(2).all(|w| w[0].0 < w[1].0), "oldest first");
}

async fn test_repeated_messages_update_the_open_alert_and_raise_its_level(store: Arc<dyn Store>) {
    let g = group(&store).await;
    let m = member(&store, "@m:example.org").await;
    let first = store
        .open_alert(&alert_for(g, m.id, AlertLevel::Concern), &|_| vec![], t(0))
        .await
        .unwrap();
    assert_eq!(
        store
            .recent_alert(g, m.id, t(-1))
            .await
            .unwrap()
            .map(|a| a.id),
        Some(first.id)
    );
    assert!(
        store.recent_alert(g, m.id, t(1)).await.unwrap().is_none(),
        "opened before the window"
    );
    let (raised, was_raised) = store
        .update_alert(
            first.id,
            AlertLevel::Urgent,
            &|a| crisis_deliveries(&format!("raise-{}", a.id)),
            t(60_000),
        )
        .await
        .unwrap()
        .unwrap();
    assert!(was_raised);
    assert_eq!(raised.level, AlertLevel::Urgent);
    let (same, was_raised) = store
        .update_alert(
            first.id,
            AlertLevel::Concern,
            &|_| crisis_deliveries("never"),
            t(120_000),
        )
        .await
        .unwrap()
        .unwrap();
    assert!(!was_raised);
    assert_eq!(
        same.level,
        AlertLevel::Urgent,
        "a lower level never lowers an alert"
    );
    assert!(
        store.delivery("alert-never").await.unwrap().is_none(),
        "no deliveries unless raised"
    );
    let details: Vec<_> = store
        .alert_events(first.id)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|e| e.detail)
        .collect();
    assert_eq!(
        details,
        ["concern", "raised to urgent", "another message at concern"]
    );
    assert!(
        store
            .delivery(&format!("alert-raise-{}", first.id))
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        store.alerts(g, false).await.unwrap().len(),
        1,
        "one alert, not three"
    );
    assert!(
        store
            .update_alert(AlertId(987_654), AlertLevel::Urgent, &|_| vec![], t(0))
            .await
            .unwrap()
            .is_none()
    );
    store
        .resolve_alert(first.id, "@mod:example.org", "ok", t(130_000))
        .await
        .unwrap();
    assert!(
        store
            .update_alert(first.id, AlertLevel::Imminent, &|_| vec![], t(140_000))
            .await
            .unwrap()
            .is_none(),
        "a resolved alert is not updated; the caller opens a new one"
    );
}

/// Membership, consent and pause decide who gets check-ins; a run is
/// claimed once with its deliveries; group totals read only that group.
async fn test_checkin_recipients_runs_and_group_totals(store: Arc<dyn Store>) {
    use ipt_core::store::RunKey;
    let g = store
        .upsert_group(&new_group("!g:example.org"), t(0))
        .await
        .unwrap();
    let other = store
        .upsert_group(&new_group("!h:example.org"), t(0))
        .await
        .unwrap();
    let (a, b, c) = (
        member(&store, "@a:example.org").await,
        member(&store, "@b:example.org").await,
        member(&store, "@c:example.org").await,
    );
    let yes = Consent {
        checkins: true,
        ..Consent::default()
    };
    for m in [&a, &b, &c] {
        store.add_group_member(g.id, m.id, t(0)).await.unwrap();
        store.add_group_member(g.id, m.id, t(1)).await.unwrap(); // idempotent
    }
    store.set_member_consent(a.id, yes).await.unwrap();
    store.set_member_consent(b.id, yes).await.unwrap();
    store
        .set_member_paused_until(b.id, Some(t(1_000)))
        .await
        .unwrap();
    let ids = |ms: Vec<ipt_core::model::Member>| ms.into_iter().map(|m| m.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.checkin_recipients(g.id, t(0)).await.unwrap()),
        [a.id]
    );
    assert_eq!(
        ids(store.checkin_recipients(g.id, t(1_000)).await.unwrap()),
        [a.id, b.id]
    );
    assert!(
        store
            .checkin_recipients(other.id, t(0))
            .await
            .unwrap()
            .is_empty()
    );
    let exported = store.member_data(a.id).await.unwrap().unwrap();
    assert_eq!(
        exported.groups,
        ["matrix:!g:example.org"],
        "export lists memberships"
    );

    let run = RunKey {
        group: g.id,
        kind: "checkin".into(),
        fire_at: t(5_000),
    };
    assert_eq!(store.last_run(g.id, "checkin").await.unwrap(), None);
    let prompt = note("run-1", Platform::Matrix);
    assert!(
        store
            .claim_run(&run, false, std::slice::from_ref(&prompt), t(5_000))
            .await
            .unwrap()
    );
    assert!(
        !store
            .claim_run(&run, false, std::slice::from_ref(&prompt), t(6_000))
            .await
            .unwrap()
    );
    let skipped = RunKey {
        fire_at: t(1),
        ..run.clone()
    };
    assert!(
        store
            .claim_run(&skipped, true, &[note("run-0", Platform::Matrix)], t(5_000))
            .await
            .unwrap()
    );
    assert_eq!(
        store.last_run(g.id, "checkin").await.unwrap(),
        Some(t(5_000)),
        "the latest run, whether sent or skipped"
    );
    assert_eq!(store.last_run(other.id, "checkin").await.unwrap(), None);
    assert!(store.delivery("run-1").await.unwrap().is_some());
    assert!(
        store.delivery("run-0").await.unwrap().is_none(),
        "a skipped run sends nothing"
    );

    let day = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
    for (m, group, mood) in [
        (&a, Some(g.id), 4),
        (&b, Some(g.id), 7),
        (&c, Some(other.id), 1),
        (&c, None, 2),
    ] {
        store
            .save_checkin(
                &NewCheckin {
                    member_id: m.id,
                    group_id: group,
                    local_date: if group.is_some() {
                        day
                    } else {
                        day.succ_opt().unwrap()
                    },
                    mood,
                    sleep: Some(5),
                    connection: None,
                    note: None,
                },
                t(0),
            )
            .await
            .unwrap();
    }
    let mut totals = store.group_checkins(g.id, day).await.unwrap();
    totals.sort();
    assert_eq!(totals, [(a.id, 4, Some(5)), (b.id, 7, Some(5))]);
    assert!(
        store
            .group_checkins(g.id, day.succ_opt().unwrap())
            .await
            .unwrap()
            .is_empty()
    );
}

async fn test_prune_deletes_only_long_settled_deliveries(store: Arc<dyn Store>) {
    store
        .enqueue(
            &[
                note("old", Platform::Matrix),
                note("new", Platform::Matrix),
                note("waiting", Platform::Matrix),
                note("dead", Platform::Matrix),
            ],
            t(0),
        )
        .await
        .unwrap();
    let claims = claim(&store, Platform::Matrix, Lane::Normal, t(0), 4).await;
    let by_key = |k: &str| {
        claims
            .iter()
            .find(|c| c.delivery.idempotency_key == k)
            .unwrap()
    };
    store
        .mark_delivered(&[by_key("old").clone()], t(1_000))
        .await
        .unwrap();
    store
        .mark_delivered(&[by_key("new").clone()], t(9_000))
        .await
        .unwrap();
    store
        .fail_delivery(by_key("dead"), "gone", FailureAction::Dead)
        .await
        .unwrap();
    store
        .fail_delivery(
            by_key("waiting"),
            "busy",
            FailureAction::RetryAt(t(1), DeliveryState::Queued),
        )
        .await
        .unwrap();
    // Delivered before 5 s: blanked, its key kept against resends; the
    // dead one is kept (its cut-off is earlier).
    assert_eq!(store.prune_deliveries(t(5_000), t(-1)).await.unwrap(), 1);
    let old = store.delivery("old").await.unwrap().expect("key kept");
    assert_eq!(
        (old.payload.text.as_str(), old.target.id.as_str()),
        ("", "")
    );
    assert_eq!(
        store
            .enqueue(&[note("old", Platform::Matrix)], t(6_000))
            .await
            .unwrap(),
        0,
        "a pruned key is not sent again"
    );
    for kept in ["new", "waiting", "dead"] {
        let d = store.delivery(kept).await.unwrap().expect(kept);
        assert!(d.payload.text.contains(kept), "{kept} pruned");
    }
    assert_eq!(store.prune_deliveries(t(5_000), t(1)).await.unwrap(), 1);
    assert!(store.delivery("dead").await.unwrap().is_none());
    // Two days on, the blanked row itself goes.
    let later = t(5_000) + ipt_core::store::KEEP_KEYS + chrono::Duration::seconds(10);
    assert!(store.prune_deliveries(later, t(1)).await.unwrap() >= 1);
    assert!(store.delivery("old").await.unwrap().is_none());
    assert!(
        store.delivery("waiting").await.unwrap().is_some(),
        "never a message still to send"
    );
}
