//! The check-in scheduler with a controllable clock: each run is sent once
//! (across restarts and across two processes on one Postgres), late runs
//! are sent within the catch-up window and skipped beyond it, paused
//! members are left alone, a member's own time zone moves their prompt,
//! no reflective prompt repeats within 30 days, daylight-saving changes
//! give one run a day, and a schedule that fires too often cannot flood.
//! (How a first start is logged is in `scheduler_logs.rs`.)

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use ipt_core::clock::{Clock, ManualClock};
use ipt_core::ids::{MemberRef, Platform};
use ipt_core::model::{Consent, Group, GroupSettings};
use ipt_core::outbox::TargetKind;
use ipt_core::scheduler::{Scheduler, SchedulerConfig, Tick};
use ipt_core::store::Store;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

async fn group(store: &dyn Store, zone: &str, now: DateTime<Utc>) -> Group {
    group_with(store, zone, "0 0 9 * * *", now).await
}

/// A group stored with any cron, as one saved before schedules were checked.
async fn group_with(store: &dyn Store, zone: &str, cron: &str, now: DateTime<Utc>) -> Group {
    let group = ipt_tests::matrix_group(zone, Some(cron), GroupSettings::default());
    store.upsert_group(&group, now).await.unwrap()
}

fn group_post(g: &Group, fire_at: &str) -> String {
    format!("checkin-{}-{}-group", g.id, at(fire_at).timestamp_millis())
}

/// A member of the group who opted in to check-ins.
async fn member(store: &dyn Store, group: &Group, name: &str, now: DateTime<Utc>) -> i64 {
    let m = store
        .upsert_member(
            &MemberRef::new(Platform::Matrix, format!("@{name}:example.org")),
            name,
            now,
        )
        .await
        .unwrap();
    store
        .set_member_consent(
            m.id,
            Consent {
                checkins: true,
                ..Consent::default()
            },
        )
        .await
        .unwrap();
    store.add_group_member(group.id, m.id, now).await.unwrap();
    m.id.0
}

fn scheduler(store: &Arc<dyn Store>, clock: &Arc<ManualClock>) -> Scheduler {
    Scheduler::new(store.clone(), clock.clone(), SchedulerConfig::default())
}

fn sent(n: usize, deliveries: usize) -> Tick {
    Tick {
        sent: n,
        skipped: 0,
        deliveries,
    }
}

#[tokio::test]
async fn test_a_checkin_is_sent_once_at_its_time_and_never_again_after_a_restart() {
    let (store, _dir) = ipt_tests::sqlite_store().await;
    let store: Arc<dyn Store> = Arc::new(store);
    let clock = Arc::new(ManualClock::new(at("2026-06-01T08:59:50Z")));
    let g = group(store.as_ref(), "UTC", clock.now()).await;
    member(store.as_ref(), &g, "ann", clock.now()).await;
    // Yesterday's 09:00 run is older than the catch-up window at start.
    let first = scheduler(&store, &clock);
    let t = first.tick().await.unwrap();
    assert_eq!(
        (t.sent, t.skipped),
        (0, 1),
        "yesterday's run skipped, not sent"
    );
    assert_eq!(store.pending_deliveries().await.unwrap(), 0);

    clock.advance(Duration::seconds(15));
    assert_eq!(first.tick().await.unwrap(), sent(1, 2), "group post + Ann");
    assert_eq!(first.tick().await.unwrap(), Tick::default());
    // A restart (a new scheduler with no memory) finds the run claimed.
    let second = scheduler(&store, &clock);
    assert_eq!(second.tick().await.unwrap(), Tick::default());
    assert_eq!(store.pending_deliveries().await.unwrap(), 2);
    let key = format!(
        "checkin-{}-{}-group",
        g.id,
        at("2026-06-01T09:00:00Z").timestamp_millis()
    );
    let post = store.delivery(&key).await.unwrap().expect("group post");
    assert_eq!(post.target.kind, TargetKind::Channel);
    assert!(
        post.payload.text.starts_with("Today's reflection: ")
            && post.payload.text.contains("!ipt checkin"),
        "{}",
        post.payload.text
    );
}

#[tokio::test]
async fn test_a_missed_run_is_sent_late_within_catch_up_and_skipped_beyond_it() {
    let (store, _dir) = ipt_tests::sqlite_store().await;
    let store: Arc<dyn Store> = Arc::new(store);
    // Down from 08:00; back at 10:45: the 09:00 run is 1 h 45 late.
    let clock = Arc::new(ManualClock::new(at("2026-06-01T10:45:00Z")));
    let g = group(store.as_ref(), "UTC", clock.now()).await;
    member(store.as_ref(), &g, "ann", clock.now()).await;
    let t = scheduler(&store, &clock).tick().await.unwrap();
    assert_eq!((t.sent, t.deliveries), (1, 2), "{t:?}");

    // Down all the next morning; back at 11:30: 2 h 30 late, skipped.
    clock.set(at("2026-06-02T11:30:00Z"));
    let t = scheduler(&store, &clock).tick().await.unwrap();
    assert_eq!((t.sent, t.skipped, t.deliveries), (0, 1, 0), "{t:?}");
    assert_eq!(store.pending_deliveries().await.unwrap(), 2);
}

#[tokio::test]
async fn test_paused_and_unconsenting_members_get_no_prompt_and_own_zones_move_it() {
    let (store, _dir) = ipt_tests::sqlite_store().await;
    let store: Arc<dyn Store> = Arc::new(store);
    let clock = Arc::new(ManualClock::new(at("2026-06-01T07:59:00Z")));
    let g = group(store.as_ref(), "Europe/London", clock.now()).await;
    let ann = member(store.as_ref(), &g, "ann", clock.now()).await;
    let bob = member(store.as_ref(), &g, "bob", clock.now()).await;
    let cat = member(store.as_ref(), &g, "cat", clock.now()).await;
    // Bob is paused for a week; Cat never opted in; Ann lives in LA.
    store
        .set_member_paused_until(
            ipt_core::ids::MemberId(bob),
            Some(clock.now() + Duration::days(7)),
        )
        .await
        .unwrap();
    store
        .set_member_consent(ipt_core::ids::MemberId(cat), Consent::default())
        .await
        .unwrap();
    store
        .set_member_timezone(ipt_core::ids::MemberId(ann), Some("America/Los_Angeles"))
        .await
        .unwrap();
    let s = scheduler(&store, &clock);
    s.tick().await.unwrap();
    clock.set(at("2026-06-01T08:00:01Z")); // 09:00 in London (BST)
    assert_eq!(s.tick().await.unwrap(), sent(1, 2), "group post + Ann only");
    let fire = at("2026-06-01T08:00:00Z").timestamp_millis();
    let anns = store
        .delivery(&format!("checkin-{}-{fire}-member-{ann}", g.id))
        .await
        .unwrap()
        .expect("Ann's prompt");
    assert_eq!(
        anns.available_at,
        Some(at("2026-06-01T16:00:00Z")),
        "09:00 in Los Angeles"
    );
    for other in [bob, cat] {
        assert!(
            store
                .delivery(&format!("checkin-{}-{fire}-member-{other}", g.id))
                .await
                .unwrap()
                .is_none()
        );
    }
}

#[tokio::test]
async fn test_no_reflective_prompt_repeats_within_30_days() {
    let (store, _dir) = ipt_tests::sqlite_store().await;
    let store: Arc<dyn Store> = Arc::new(store);
    let clock = Arc::new(ManualClock::new(at("2026-03-01T08:00:00Z")));
    let g = group(store.as_ref(), "America/New_York", clock.now()).await;
    let s = scheduler(&store, &clock);
    s.tick().await.unwrap();
    let mut texts = HashSet::new();
    // Thirty mornings, across the March change to daylight saving time.
    for day in 0..30 {
        let morning = at("2026-03-01T15:00:00Z") + Duration::days(day);
        clock.set(morning);
        let t = s.tick().await.unwrap();
        assert_eq!(t.sent, 1, "day {day}: {t:?}");
        let fire = if morning < at("2026-03-08T12:00:00Z") {
            morning - Duration::hours(1) // 09:00 EST = 14:00Z
        } else {
            morning - Duration::hours(2) // 09:00 EDT = 13:00Z
        };
        let post = store
            .delivery(&format!(
                "checkin-{}-{}-group",
                g.id,
                fire.timestamp_millis()
            ))
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("day {day}: no post at {fire}"));
        assert!(texts.insert(post.payload.text), "day {day} repeats");
    }
}

#[tokio::test]
async fn test_two_processes_on_one_postgres_send_each_checkin_once() {
    let Some((store, schema)) = ipt_tests::postgres_store().await else {
        return;
    };
    let clock = Arc::new(ManualClock::new(at("2026-06-01T08:59:00Z")));
    let g = group(&store, "UTC", clock.now()).await;
    for name in ["ann", "bob", "cat"] {
        member(&store, &g, name, clock.now()).await;
    }
    let a: Arc<dyn Store> = Arc::new(store);
    let b: Arc<dyn Store> = Arc::new(schema.connect().await);
    let (one, two) = (scheduler(&a, &clock), scheduler(&b, &clock));
    clock.set(at("2026-06-01T09:00:30Z"));
    let (x, y) = tokio::join!(one.tick(), two.tick());
    let (x, y) = (x.unwrap(), y.unwrap());
    assert_eq!(x.sent + y.sent, 1, "{x:?} {y:?}");
    assert_eq!(x.deliveries + y.deliveries, 4, "{x:?} {y:?}");
    assert_eq!(a.pending_deliveries().await.unwrap(), 4);
    a.close().await;
    b.close().await;
    schema.drop_now().await;
}

#[tokio::test]
async fn test_a_homework_reminder_comes_once_when_it_is_due_and_not_while_paused() {
    let (store, _dir) = ipt_tests::sqlite_store().await;
    let store: Arc<dyn Store> = Arc::new(store);
    let clock = Arc::new(ManualClock::new(at("2026-06-01T10:00:00Z")));
    let g = ipt_tests::matrix_group("UTC", None, GroupSettings::default());
    let g = store.upsert_group(&g, clock.now()).await.unwrap();
    let ann = member(store.as_ref(), &g, "ann", clock.now()).await;
    let bob = member(store.as_ref(), &g, "bob", clock.now()).await;
    let t = ipt_core::homework::template("social-activity").unwrap();
    let mut ids = Vec::new();
    for who in [ann, bob] {
        let exercise = ipt_core::homework::from_template(
            t,
            ipt_core::ids::MemberId(who),
            Some(g.id),
            None,
            clock.now(),
        );
        ids.push(store.add_homework(&exercise, clock.now()).await.unwrap().id);
    }
    store
        .set_member_paused_until(
            ipt_core::ids::MemberId(bob),
            Some(clock.now() + Duration::days(30)),
        )
        .await
        .unwrap();
    let s = scheduler(&store, &clock);
    assert_eq!(s.tick().await.unwrap().deliveries, 0, "not due yet");
    clock.advance(Duration::days(t.days) + Duration::minutes(1));
    assert_eq!(
        s.tick().await.unwrap().deliveries,
        1,
        "Ann's, not paused Bob's"
    );
    assert_eq!(s.tick().await.unwrap().deliveries, 0);
    // A restart looks back a day, finds the same exercise, and the key
    // keeps it from being sent again.
    assert_eq!(
        scheduler(&store, &clock).tick().await.unwrap().deliveries,
        0
    );
    let reminder = store
        .delivery(&format!("homework-{}-due", ids[0]))
        .await
        .unwrap()
        .expect("Ann's reminder");
    assert!(
        reminder.payload.text.contains("gentle reminder")
            && reminder.payload.text.contains("both are fine"),
        "{}",
        reminder.payload.text
    );
    assert!(
        store
            .delivery(&format!("homework-{}-due", ids[1]))
            .await
            .unwrap()
            .is_none()
    );
}

/// Regression: a stored `* * * * * *` schedule sent a group post and a
/// private prompt every second, and the first tick wrote 1,440 skipped runs
/// (and 1,440 warnings).
#[tokio::test]
async fn test_a_stored_schedule_firing_every_second_sends_at_most_once_an_hour() {
    let (store, _dir) = ipt_tests::sqlite_store().await;
    let store: Arc<dyn Store> = Arc::new(store);
    let clock = Arc::new(ManualClock::new(at("2026-06-01T10:30:00Z")));
    let g = group_with(store.as_ref(), "UTC", "* * * * * *", clock.now()).await;
    member(store.as_ref(), &g, "ann", clock.now()).await;
    let s = scheduler(&store, &clock);
    // The day's look-back holds one run per hour: the latest (10:00) is
    // within the catch-up window and sent; the 23 before it are skipped.
    let t = s.tick().await.unwrap();
    assert_eq!((t.sent, t.skipped, t.deliveries), (1, 23, 2), "{t:?}");
    assert!(
        store
            .delivery(&group_post(&g, "2026-06-01T10:00:00Z"))
            .await
            .unwrap()
            .is_some()
    );
    for _ in 0..5 {
        clock.advance(Duration::seconds(7));
        assert_eq!(s.tick().await.unwrap(), Tick::default());
    }
    clock.set(at("2026-06-01T11:00:05Z"));
    assert_eq!(s.tick().await.unwrap(), sent(1, 2), "the next hour");
    // A restart picks the same runs, so nothing is sent twice.
    assert_eq!(scheduler(&store, &clock).tick().await.unwrap().sent, 0);
    assert_eq!(store.pending_deliveries().await.unwrap(), 4);
}

#[tokio::test]
async fn test_after_a_restart_only_the_latest_missed_run_is_sent() {
    let (store, _dir) = ipt_tests::sqlite_store().await;
    let store: Arc<dyn Store> = Arc::new(store);
    // Hourly; down from 08:30 to 10:20: 09:00 and 10:00 are both within
    // the catch-up window, but Ann gets one prompt, not two at once.
    let clock = Arc::new(ManualClock::new(at("2026-06-01T08:30:00Z")));
    let g = group_with(store.as_ref(), "UTC", "0 0 * * * *", clock.now()).await;
    member(store.as_ref(), &g, "ann", clock.now()).await;
    scheduler(&store, &clock).tick().await.unwrap();
    clock.set(at("2026-06-01T10:20:00Z"));
    let t = scheduler(&store, &clock).tick().await.unwrap();
    assert_eq!((t.sent, t.skipped, t.deliveries), (1, 1, 2), "{t:?}");
    assert!(
        store
            .delivery(&group_post(&g, "2026-06-01T10:00:00Z"))
            .await
            .unwrap()
            .is_some()
    );
}

/// Regression: `0 30 2 * * *` in New York skipped 8 March 2026 (02:30
/// does not exist that day) and `0 30 1 * * *` went out twice on
/// 1 November 2026 (01:30 happens twice).
#[tokio::test]
async fn test_a_daily_checkin_goes_out_once_on_dst_change_days_in_new_york() {
    let (store, _dir) = ipt_tests::sqlite_store().await;
    let store: Arc<dyn Store> = Arc::new(store);
    let clock = Arc::new(ManualClock::new(at("2026-03-08T06:00:00Z")));
    let g = group_with(
        store.as_ref(),
        "America/New_York",
        "0 30 2 * * *",
        clock.now(),
    )
    .await;
    let s = scheduler(&store, &clock);
    s.tick().await.unwrap();
    // 03:00 EDT, the first minute after the gap.
    clock.set(at("2026-03-08T07:00:01Z"));
    assert_eq!(s.tick().await.unwrap(), sent(1, 1));
    assert!(
        store
            .delivery(&group_post(&g, "2026-03-08T07:00:00Z"))
            .await
            .unwrap()
            .is_some()
    );
    clock.set(at("2026-03-08T08:00:00Z")); // 04:00 EDT: 02:30 "EST" would be 07:30Z
    assert_eq!(s.tick().await.unwrap(), Tick::default());

    let (store, _dir) = ipt_tests::sqlite_store().await;
    let store: Arc<dyn Store> = Arc::new(store);
    clock.set(at("2026-11-01T05:00:00Z"));
    let g = group_with(
        store.as_ref(),
        "America/New_York",
        "0 30 1 * * *",
        clock.now(),
    )
    .await;
    let s = scheduler(&store, &clock);
    s.tick().await.unwrap();
    clock.set(at("2026-11-01T05:30:01Z")); // 01:30 EDT
    assert_eq!(s.tick().await.unwrap(), sent(1, 1));
    clock.set(at("2026-11-01T06:30:01Z")); // 01:30 EST, the second time round
    assert_eq!(s.tick().await.unwrap(), Tick::default());
    clock.set(at("2026-11-02T06:30:01Z"));
    assert_eq!(s.tick().await.unwrap(), sent(1, 1), "the next day as usual");
    assert!(
        store
            .delivery(&group_post(&g, "2026-11-01T05:30:00Z"))
            .await
            .unwrap()
            .is_some()
    );
}

#[test]
fn test_due_runs_across_the_eu_changes_are_one_a_day() {
    use ipt_core::schedule::Schedule;
    use ipt_core::scheduler::due_between;
    let s = Schedule::new("0 30 2 * * *", "Europe/Berlin").unwrap();
    // A restart's look-back over each change day sees exactly that day's run.
    assert_eq!(
        due_between(&s, at("2026-03-28T23:00:00Z"), at("2026-03-29T22:00:00Z")),
        [at("2026-03-29T01:00:00Z")],
        "03:00 CEST, just after the gap"
    );
    assert_eq!(
        due_between(&s, at("2026-10-24T22:00:00Z"), at("2026-10-25T23:00:00Z")),
        [at("2026-10-25T00:30:00Z")],
        "02:30 CEST only, not 02:30 CET as well"
    );
}
