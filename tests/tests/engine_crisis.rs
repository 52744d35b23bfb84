//! The crisis pipeline in the engine: what is written, to whom, and what is
//! never written.

use std::sync::Arc;

use chrono::Utc;
use ipt_core::clock::{Clock, ManualClock};
use ipt_core::engine::{Engine, Event, Sender, Visibility};
use ipt_core::ids::{GroupRef, MemberRef, Platform};
use ipt_core::model::{AlertLevel, Consent, GroupSettings, NewGroup};
use ipt_core::outbox::{Lane, TargetKind};
use ipt_core::store::Store;

async fn setup(
    moderators: Option<&str>,
) -> (
    Arc<dyn Store>,
    Engine,
    Arc<ManualClock>,
    ipt_tests::tempdir::TempDir,
) {
    let (store, dir) = ipt_tests::sqlite_store().await;
    let store: Arc<dyn Store> = Arc::new(store);
    let clock = Arc::new(ManualClock::new(Utc::now()));
    store
        .upsert_group(
            &NewGroup {
                platform: Platform::Matrix,
                external_id: "!g:example.org".into(),
                moderator_channel: moderators.map(str::to_owned),
                region: "GB".into(),
                timezone: "Europe/London".into(),
                checkin_cron: None,
                settings: GroupSettings::default(),
            },
            clock.now(),
        )
        .await
        .unwrap();
    let engine = Engine::new(store.clone(), clock.clone());
    (store, engine, clock, dir)
}

fn message(group: &str, text: &str) -> Event {
    Event::Message {
        group: GroupRef::new(Platform::Matrix, group),
        sender: Sender {
            member: MemberRef::new(Platform::Matrix, "@m:example.org"),
            display_name: "M".into(),
            moderator: false,
        },
        text: text.into(),
        link: Some("https://matrix.to/#/!g:example.org/$e".into()),
    }
}

#[tokio::test]
async fn test_ordinary_messages_write_nothing() {
    let (store, engine, _clock, _dir) = setup(Some("!mods:example.org")).await;
    for text in [
        "good morning all",
        "this traffic is killing me",
        "my phone died",
    ] {
        assert!(
            engine
                .handle(message("!g:example.org", text))
                .await
                .unwrap()
                .is_empty()
        );
    }
    assert!(!ipt_tests::knows_member(store.as_ref(), "@m:example.org").await);
    assert_eq!(store.pending_deliveries().await.unwrap(), 0);
}

#[tokio::test]
async fn test_crisis_message_alerts_moderators_and_supports_member_privately() {
    let (store, engine, clock, _dir) = setup(Some("!mods:example.org")).await;
    let replies = engine
        .handle(message("!g:example.org", "i want to end my life"))
        .await
        .unwrap();
    assert!(
        replies.iter().all(|r| r.visibility == Visibility::Private),
        "nothing public"
    );
    let group = store
        .group(Platform::Matrix, "!g:example.org")
        .await
        .unwrap()
        .unwrap();
    let alerts = store.alerts(group.id, true).await.unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].level, AlertLevel::Urgent);
    assert_eq!(
        alerts[0].excerpt, None,
        "no excerpt unless the group chose excerpts"
    );
    assert_eq!(
        alerts[0].escalate_at,
        Some(clock.now() + chrono::Duration::minutes(10))
    );
    // The alert and the member's support travel in lanes of their own, so
    // the alert never waits for a private room to be made.
    let claim = |lane| {
        store.claim_deliveries(
            Platform::Matrix,
            lane,
            clock.now(),
            10,
            std::time::Duration::from_secs(60),
        )
    };
    let mut claims = claim(Lane::Critical).await.unwrap();
    assert_eq!(claims.len(), 1);
    assert_eq!(claims[0].delivery.target.kind, TargetKind::Channel);
    let support = claim(Lane::Support).await.unwrap();
    assert_eq!(support.len(), 1);
    claims.extend(support);
    let to_member = claims
        .iter()
        .find(|c| c.delivery.target.kind == TargetKind::Member)
        .unwrap();
    assert_eq!(to_member.delivery.target.id, "@m:example.org");
    assert!(
        to_member
            .delivery
            .payload
            .text
            .contains("Samaritans: call 116 123"),
        "GB lines"
    );
    assert!(
        to_member
            .delivery
            .payload
            .text
            .contains("I've let the group's moderators know")
    );
    let to_mods = claims
        .iter()
        .find(|c| c.delivery.target.kind == TargetKind::Channel)
        .unwrap();
    assert_eq!(to_mods.delivery.target.id, "!mods:example.org");
    assert!(
        to_mods
            .delivery
            .payload
            .text
            .contains("https://matrix.to/#/!g:example.org/$e")
    );
    assert!(
        !to_mods.delivery.payload.text.contains("end my life"),
        "no excerpt"
    );
}

#[tokio::test]
async fn test_quiet_members_get_resources_without_alert_at_concern_only() {
    let (store, engine, _clock, _dir) = setup(Some("!mods:example.org")).await;
    engine
        .handle(message("!g:example.org", "hello"))
        .await
        .unwrap();
    let member = store
        .upsert_member(
            &MemberRef::new(Platform::Matrix, "@m:example.org"),
            "M",
            Utc::now(),
        )
        .await
        .unwrap();
    store
        .set_member_consent(
            member.id,
            Consent {
                quiet: true,
                ..Consent::default()
            },
        )
        .await
        .unwrap();
    let replies = engine
        .handle(message("!g:example.org", "i feel like such a burden"))
        .await
        .unwrap();
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].visibility, Visibility::Private);
    assert!(!replies[0].text.contains("moderators know"));
    let group = store
        .group(Platform::Matrix, "!g:example.org")
        .await
        .unwrap()
        .unwrap();
    assert!(
        store.alerts(group.id, false).await.unwrap().is_empty(),
        "quiet: no alert at concern"
    );
    engine
        .handle(message("!g:example.org", "i want to kill myself"))
        .await
        .unwrap();
    assert_eq!(
        store.alerts(group.id, false).await.unwrap().len(),
        1,
        "urgent always alerts"
    );
}

#[tokio::test]
async fn test_without_a_moderator_channel_the_member_is_not_told_moderators_know() {
    let (store, engine, clock, _dir) = setup(None).await;
    engine
        .handle(message("!g:example.org", "i want to kill myself"))
        .await
        .unwrap();
    let claims = store
        .claim_deliveries(
            Platform::Matrix,
            Lane::Support,
            clock.now(),
            10,
            std::time::Duration::from_secs(60),
        )
        .await
        .unwrap();
    assert_eq!(claims.len(), 1, "the member's support only");
    assert!(
        !claims[0].delivery.payload.text.contains("moderators know"),
        "only say it when true"
    );
    let group = store
        .group(Platform::Matrix, "!g:example.org")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store.alerts(group.id, true).await.unwrap().len(),
        1,
        "the alert is still recorded"
    );
}

#[tokio::test]
async fn test_unknown_group_gets_resources_and_writes_nothing() {
    let (store, engine, _clock, _dir) = setup(Some("!mods:example.org")).await;
    let replies = engine
        .handle(message("!other:example.org", "i want to kill myself"))
        .await
        .unwrap();
    assert_eq!(replies.len(), 1);
    assert!(replies[0].text.contains("findahelpline.com"));
    assert_eq!(store.pending_deliveries().await.unwrap(), 0);
}

fn command(name: &str, args: &str, moderator: bool) -> Event {
    Event::Command {
        group: Some(GroupRef::new(Platform::Matrix, "!g:example.org")),
        sender: Sender {
            member: MemberRef::new(
                Platform::Matrix,
                if moderator {
                    "@mod:example.org"
                } else {
                    "@m:example.org"
                },
            ),
            display_name: "someone".into(),
            moderator,
        },
        name: name.into(),
        args: args.into(),
        prefix: "!ipt ".into(),
    }
}

async fn reply(engine: &Engine, event: Event) -> String {
    let replies = engine.handle(event).await.unwrap();
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].visibility, Visibility::Private);
    replies[0].text.clone()
}

#[tokio::test]
async fn test_moderators_list_claim_and_resolve_alerts_and_members_cannot() {
    let (store, engine, _clock, _dir) = setup(Some("!mods:example.org")).await;
    engine
        .handle(message("!g:example.org", "i want to kill myself"))
        .await
        .unwrap();
    let refused = reply(&engine, command("alerts", "", false)).await;
    assert!(refused.contains("Only the group's moderators"), "{refused}");
    let refused = reply(&engine, command("alert", "claim 1", false)).await;
    assert!(refused.contains("Only the group's moderators"), "{refused}");

    let list = reply(&engine, command("alerts", "", true)).await;
    assert!(list.contains("#1 urgent (open)"), "{list}");
    assert!(list.contains("!ipt alert claim <id>"), "{list}");
    let claimed = reply(&engine, command("alert", "claim 1", true)).await;
    assert!(claimed.contains("You claimed alert #1"), "{claimed}");
    let again = reply(&engine, command("alert", "claim #1", true)).await;
    assert!(
        again.contains("already claimed by @\u{200B}mod:example.org"),
        "{again}"
    );
    let no_note = reply(&engine, command("alert", "resolve 1", true)).await;
    assert!(no_note.contains("add a short note"), "{no_note}");
    let resolved = reply(
        &engine,
        command("alert", "resolve 1 talked in DM, has support", true),
    )
    .await;
    assert!(resolved.contains("resolved"), "{resolved}");
    let none_open = reply(&engine, command("alerts", "", true)).await;
    assert!(none_open.contains("No open alerts"), "{none_open}");
    let all = reply(&engine, command("alerts", "all", true)).await;
    assert!(all.contains("#1 urgent (resolved, claimed by"), "{all}");
    let missing = reply(&engine, command("alert", "claim 99", true)).await;
    assert!(missing.contains("no alert #99"), "{missing}");
    let a = store
        .alert(ipt_core::ids::AlertId(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        a.resolution_note.as_deref(),
        Some("talked in DM, has support")
    );
    let trail: Vec<_> = store
        .alert_events(a.id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action.as_str())
        .collect();
    assert_eq!(trail, ["opened", "claimed", "resolved"]);
}

#[tokio::test]
async fn test_escalation_fires_on_time_slows_down_and_stops_when_claimed() {
    use ipt_core::alerts::run_escalations;
    let (store, engine, clock, _dir) = setup(Some("!mods:example.org")).await;
    let start = clock.now();
    engine
        .handle(message("!g:example.org", "i want to kill myself"))
        .await
        .unwrap();
    let at = |mins: i64, secs: i64| {
        start + chrono::Duration::minutes(mins) + chrono::Duration::seconds(secs)
    };
    assert_eq!(
        run_escalations(store.as_ref(), at(9, 59)).await.unwrap(),
        0,
        "not before 10 minutes"
    );
    assert_eq!(run_escalations(store.as_ref(), at(10, 0)).await.unwrap(), 1);
    assert_eq!(
        run_escalations(store.as_ref(), at(10, 1)).await.unwrap(),
        0,
        "once per step"
    );
    let first = store
        .delivery("alert-1-escalation-1")
        .await
        .unwrap()
        .expect("escalation delivery");
    assert!(first.payload.mention_moderators);
    assert!(
        first.payload.text.contains("Still unclaimed after 10 min"),
        "{}",
        first.payload.text
    );
    assert_eq!(first.target.id, "!mods:example.org");
    // The next one waits twice as long: 20 minutes after the first.
    assert_eq!(
        run_escalations(store.as_ref(), at(29, 59)).await.unwrap(),
        0
    );
    assert_eq!(run_escalations(store.as_ref(), at(30, 0)).await.unwrap(), 1);
    assert!(
        store
            .delivery("alert-1-escalation-2")
            .await
            .unwrap()
            .is_some()
    );
    reply(&engine, command("alert", "claim 1", true)).await;
    assert_eq!(
        run_escalations(store.as_ref(), at(600, 0)).await.unwrap(),
        0,
        "a claimed alert never escalates"
    );
    let trail: Vec<_> = store
        .alert_events(ipt_core::ids::AlertId(1))
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action.as_str())
        .collect();
    assert_eq!(trail, ["opened", "escalated", "escalated", "claimed"]);
}

#[tokio::test]
async fn test_a_message_after_resolution_opens_a_new_alert_and_imminent_raise_mentions_moderators()
{
    let (store, engine, clock, _dir) = setup(Some("!mods:example.org")).await;
    engine
        .handle(message("!g:example.org", "i feel like such a burden"))
        .await
        .unwrap();
    reply(
        &engine,
        command("alert", "resolve 1 talked, ok for now", true),
    )
    .await;
    engine
        .handle(message("!g:example.org", "i want to kill myself"))
        .await
        .unwrap();
    let group = store
        .group(Platform::Matrix, "!g:example.org")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store.alerts(group.id, true).await.unwrap().len(),
        1,
        "a new open alert"
    );
    assert_eq!(store.alerts(group.id, false).await.unwrap().len(), 2);
    reply(&engine, command("alert", "claim 2", true)).await;
    engine
        .handle(message(
            "!g:example.org",
            "i'm going to kill myself tonight",
        ))
        .await
        .unwrap();
    let raised = store
        .delivery("alert-2-raised-imminent-moderators")
        .await
        .unwrap()
        .expect("raise delivery");
    assert!(
        raised.payload.mention_moderators,
        "claimed alerts don't escalate, so a raise to imminent mentions"
    );
    let _ = clock;
}

#[tokio::test]
async fn test_other_moderators_hear_of_claims_and_resolutions() {
    let (store, engine, _clock, _dir) = setup(Some("!mods:example.org")).await;
    engine
        .handle(message("!g:example.org", "i want to kill myself"))
        .await
        .unwrap();
    reply(&engine, command("alert", "claim 1", true)).await;
    let claimed = store
        .delivery("alert-1-claimed-notice")
        .await
        .unwrap()
        .expect("claim notice");
    assert_eq!(claimed.target.kind, TargetKind::Channel);
    assert_eq!(claimed.target.id, "!mods:example.org");
    assert_eq!(claimed.kind.lane(), Lane::Normal, "not a crisis message");
    assert!(
        claimed
            .payload
            .text
            .contains("Alert #1 was claimed by someone"),
        "{}",
        claimed.payload.text
    );
    // A refused second claim tells nobody anything new.
    reply(&engine, command("alert", "claim 1", true)).await;
    reply(
        &engine,
        command("alert", "resolve 1 talked, safe tonight", true),
    )
    .await;
    let resolved = store
        .delivery("alert-1-resolved-notice")
        .await
        .unwrap()
        .expect("resolve notice");
    assert!(
        resolved
            .payload
            .text
            .contains("Alert #1 was resolved by someone")
            && !resolved.payload.text.contains("safe tonight"),
        "the note stays in the audit trail: {}",
        resolved.payload.text
    );
}

#[tokio::test]
async fn test_the_bots_own_messages_are_never_assessed() {
    let (store, engine, _clock, _dir) = setup(Some("!mods:example.org")).await;
    let engine = engine.with_own_identity(MemberRef::new(Platform::Matrix, "@m:example.org"));
    // The bot's own crisis reply quotes resources and talks of suicide.
    let replies = engine
        .handle(message(
            "!g:example.org",
            "If you might act on thoughts of suicide or self-harm, please call 999 now. \
             i want to kill myself",
        ))
        .await
        .unwrap();
    assert!(replies.is_empty());
    assert_eq!(store.pending_deliveries().await.unwrap(), 0);
    assert!(!ipt_tests::knows_member(store.as_ref(), "@m:example.org").await);
}

#[tokio::test]
async fn test_joining_gets_a_private_welcome_that_explains_consent_and_stores_nothing() {
    let (store, engine, _clock, _dir) = setup(Some("!mods:example.org")).await;
    let replies = engine
        .handle(Event::Joined {
            group: GroupRef::new(Platform::Matrix, "!g:example.org"),
            sender: Sender {
                member: MemberRef::new(Platform::Matrix, "@new:example.org"),
                display_name: "New".into(),
                moderator: false,
            },
            prefix: "!ipt ".into(),
        })
        .await
        .unwrap();
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].visibility, Visibility::Private);
    let text = &replies[0].text;
    for needle in [
        "I'm ipt-bot, a bot",
        "not a person, a therapist or a crisis service",
        "!ipt privacy checkins on",
        "let the moderators know",
        "!ipt privacy",
        "!ipt mydata delete",
        "!ipt resources",
    ] {
        assert!(text.contains(needle), "welcome lacks {needle:?}: {text}");
    }
    assert!(!ipt_tests::knows_member(store.as_ref(), "@new:example.org").await);
}

#[tokio::test]
async fn test_a_groups_own_crisis_lines_reach_the_member() {
    let (store, engine, clock, _dir) = setup(Some("!mods:example.org")).await;
    let mut settings = GroupSettings::default();
    settings
        .crisis_lines
        .push(ipt_core::crisis::resources::Line {
            name: "Our evening warmline".into(),
            call: Some("0800 123 456".into()),
            text: None,
            chat: None,
            web: None,
            hours: Some("6pm-11pm".into()),
            last_checked: String::new(),
        });
    store
        .upsert_group(
            &ipt_tests::matrix_group("Europe/London", None, settings),
            clock.now(),
        )
        .await
        .unwrap();
    engine
        .handle(message("!g:example.org", "i want to kill myself"))
        .await
        .unwrap();
    let support = store
        .delivery("alert-1-opened-urgent-member")
        .await
        .unwrap()
        .expect("member delivery");
    let text = &support.payload.text;
    assert!(
        text.contains("Samaritans")
            && text.contains("Our evening warmline: call 0800 123 456 (6pm-11pm)"),
        "{text}"
    );
    let listed = reply(&engine, command("resources", "", false)).await;
    assert!(listed.contains("Our evening warmline"), "{listed}");
}

/// A stand-in for the learned layer that answers only when the test lets
/// it, with the level the test chose: to see what the engine does while
/// the model is still reading.
struct HeldReader {
    level: ipt_core::crisis::Level,
    release: std::sync::Mutex<std::sync::mpsc::Receiver<()>>,
}

impl ipt_core::crisis::Reader for HeldReader {
    fn read_batch(
        &self,
        texts: &[&str],
    ) -> Result<Vec<ipt_core::crisis::learned::Reading>, String> {
        self.release
            .lock()
            .unwrap()
            .recv()
            .map_err(|e| e.to_string())?;
        Ok(texts
            .iter()
            .map(|_| ipt_core::crisis::learned::Reading {
                level: self.level,
                probabilities: [0.0, 0.0, 1.0, 0.0],
                nearest: None,
                windows: 1,
                clipped: false,
            })
            .collect())
    }
}

/// Rules that flag a message raise the alert at once; the model's reading
/// comes after and raises the open alert where it reads more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_the_alert_never_waits_for_the_model_and_the_higher_level_wins() {
    let (store, engine, clock, _dir) = setup(Some("!mods:example.org")).await;
    let (release, held) = std::sync::mpsc::channel();
    let reader = HeldReader {
        level: ipt_core::crisis::Level::Urgent,
        release: std::sync::Mutex::new(held),
    };
    let engine = engine.with_detector(ipt_core::crisis::Detector::with_model(reader, 1));
    let group = store
        .group(Platform::Matrix, "!g:example.org")
        .await
        .unwrap()
        .unwrap();
    let handling = tokio::spawn({
        let engine = engine.clone();
        async move {
            engine
                .handle(message(
                    "!g:example.org",
                    "I feel like such a burden to everyone",
                ))
                .await
        }
    });
    // The model has not answered, and the alert is already there.
    let mut opened = false;
    for _ in 0..500 {
        if store.alerts(group.id, true).await.unwrap().len() == 1 {
            opened = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(opened, "the rules' alert waited for the model");
    let alerts = store.alerts(group.id, true).await.unwrap();
    assert_eq!(alerts[0].level, AlertLevel::Concern);
    assert!(!handling.is_finished());
    release.send(()).unwrap();
    handling.await.unwrap().unwrap();
    let alerts = store.alerts(group.id, true).await.unwrap();
    assert_eq!(alerts.len(), 1, "raised, not a second alert");
    assert_eq!(alerts[0].level, AlertLevel::Urgent);
    // Moderators are told why, and never in the member's words.
    let to_moderators: Vec<String> = store
        .claim_deliveries(
            Platform::Matrix,
            Lane::Critical,
            clock.now(),
            10,
            std::time::Duration::from_secs(60),
        )
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.delivery.payload.text)
        .collect();
    assert_eq!(to_moderators.len(), 2, "{to_moderators:?}");
    assert!(
        to_moderators[0].contains("phrase rules"),
        "{}",
        to_moderators[0]
    );
    assert!(
        to_moderators[1].contains("learned model read it as urgent"),
        "{}",
        to_moderators[1]
    );
    assert!(
        to_moderators.iter().all(|t| !t.contains("burden")),
        "{to_moderators:?}"
    );

    // A message the rules pass over is read by the model alone.
    release.send(()).unwrap();
    let replies = engine
        .handle(Event::Message {
            group: GroupRef::new(Platform::Matrix, "!g:example.org"),
            sender: Sender {
                member: MemberRef::new(Platform::Matrix, "@other:example.org"),
                display_name: "O".into(),
                moderator: false,
            },
            text: "words the rules do not know".into(),
            link: None,
        })
        .await
        .unwrap();
    assert!(replies.is_empty());
    assert_eq!(store.alerts(group.id, true).await.unwrap().len(), 2);
}
