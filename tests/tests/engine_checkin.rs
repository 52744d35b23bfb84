//! The check-in conversation in the engine: four questions, one required,
//! one answer a local day, notes read for crisis without ever being shown.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use ipt_core::clock::{Clock, ManualClock};
use ipt_core::engine::{Engine, Event, Sender};
use ipt_core::ids::{GroupRef, MemberRef, Platform};
use ipt_core::model::GroupSettings;
use ipt_core::store::Store;

struct Setup {
    store: Arc<dyn Store>,
    engine: Engine,
    _dir: ipt_tests::tempdir::TempDir,
}

async fn setup(now: &str) -> Setup {
    let (store, dir) = ipt_tests::sqlite_store().await;
    let store: Arc<dyn Store> = Arc::new(store);
    let clock = Arc::new(ManualClock::new(
        DateTime::parse_from_rfc3339(now)
            .unwrap()
            .with_timezone(&Utc),
    ));
    let settings = GroupSettings {
        alert_excerpts: true,
        ..GroupSettings::default()
    };
    store
        .upsert_group(
            &ipt_tests::matrix_group("Europe/London", None, settings),
            clock.now(),
        )
        .await
        .unwrap();
    let engine = Engine::new(store.clone(), clock);
    Setup {
        store,
        engine,
        _dir: dir,
    }
}

fn sender() -> Sender {
    Sender {
        member: MemberRef::new(Platform::Matrix, "@m:example.org"),
        display_name: "M".into(),
        moderator: false,
    }
}

async fn say(engine: &Engine, text: &str) -> String {
    let event = match text.strip_prefix("!ipt ") {
        Some(command) => {
            let (name, args) = command.split_once(' ').unwrap_or((command, ""));
            Event::Command {
                group: Some(GroupRef::new(Platform::Matrix, "!g:example.org")),
                sender: sender(),
                name: name.into(),
                args: args.into(),
                prefix: "!ipt ".into(),
            }
        }
        None => Event::Direct {
            sender: sender(),
            text: text.into(),
            prefix: "!ipt ".into(),
        },
    };
    engine
        .handle(event)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.text)
        .collect::<Vec<_>>()
        .join("\n")
}

async fn checkins(s: &Setup) -> Vec<ipt_core::model::Checkin> {
    let member = s.store.member(&sender().member).await.unwrap().unwrap();
    s.store
        .checkins(member.id, chrono::NaiveDate::MIN)
        .await
        .unwrap()
}

#[tokio::test]
async fn test_checkin_walks_through_the_questions_and_stores_one_answer_a_day() {
    let s = setup("2026-06-01T22:30:00Z").await; // 23:30 in London
    assert!(
        say(&s.engine, "!ipt checkin")
            .await
            .contains("from 0 (very low) to 10")
    );
    assert!(
        say(&s.engine, "fine i guess")
            .await
            .contains("a number from 0 to 10")
    );
    assert!(say(&s.engine, "4").await.contains("How did you sleep"));
    assert!(
        say(&s.engine, "skip")
            .await
            .contains("moment of connection")
    );
    assert!(
        say(&s.engine, "texted an old friend")
            .await
            .contains("Anything else")
    );
    let saved = say(&s.engine, "tired but ok").await;
    assert!(
        saved.contains("Saved your check-in for Monday 1 June: mood 4."),
        "{saved}"
    );
    let stored = checkins(&s).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(
        stored[0].local_date.to_string(),
        "2026-06-01",
        "London's date"
    );
    assert_eq!(
        (
            stored[0].mood,
            stored[0].sleep,
            stored[0].connection.as_deref(),
            stored[0].note.as_deref()
        ),
        (4, None, Some("texted an old friend"), Some("tired but ok"))
    );
    // A second check-in the same day updates the first.
    say(&s.engine, "!ipt checkin 6").await;
    say(&s.engine, "7").await;
    say(&s.engine, "skip").await;
    let updated = say(&s.engine, "skip").await;
    assert!(updated.contains("Updated your check-in"), "{updated}");
    let stored = checkins(&s).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(
        (stored[0].mood, stored[0].sleep, stored[0].note.as_deref()),
        (6, Some(7), None)
    );
}

#[tokio::test]
async fn test_a_cancelled_checkin_saves_nothing_and_a_bad_mood_is_refused() {
    let s = setup("2026-06-01T12:00:00Z").await;
    assert!(
        say(&s.engine, "!ipt checkin 12")
            .await
            .contains("from 0 to 10")
    );
    say(&s.engine, "!ipt checkin").await;
    say(&s.engine, "5").await;
    assert!(say(&s.engine, "cancel").await.contains("nothing was saved"));
    assert!(!s.engine.in_checkin(&sender().member));
    assert!(say(&s.engine, "hello?").await.contains("!ipt help"));
    let member = s.store.member(&sender().member).await.unwrap().unwrap();
    assert!(
        s.store
            .checkins(member.id, chrono::NaiveDate::MIN)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn test_a_crisis_note_alerts_moderators_without_showing_the_note() {
    let s = setup("2026-06-01T12:00:00Z").await;
    say(&s.engine, "!ipt checkin 1").await;
    say(&s.engine, "skip").await;
    say(&s.engine, "skip").await;
    say(&s.engine, "i want to end my life, i keep thinking about it").await;
    let group = s
        .store
        .group(Platform::Matrix, "!g:example.org")
        .await
        .unwrap()
        .unwrap();
    let alerts = s.store.alerts(group.id, true).await.unwrap();
    assert_eq!(alerts.len(), 1, "moderators are told");
    let to_mods = s
        .store
        .delivery(&format!("alert-{}-opened-urgent-moderators", alerts[0].id))
        .await
        .unwrap()
        .expect("moderator alert");
    assert!(
        !to_mods.payload.text.contains("end my life")
            && alerts[0].excerpt.as_deref()
                == Some("(from a private message to the bot: its words are not shown)"),
        "the note itself stays private: {} / {:?}",
        to_mods.payload.text,
        alerts[0].excerpt
    );
    assert!(
        s.store
            .delivery(&format!("alert-{}-opened-urgent-member", alerts[0].id))
            .await
            .unwrap()
            .is_some(),
        "the member gets support privately"
    );
}

#[tokio::test]
async fn test_a_crisis_message_in_private_gets_support_at_once() {
    let s = setup("2026-06-01T12:00:00Z").await;
    let reply = say(&s.engine, "i dont want to live anymore").await;
    assert!(reply.contains("I noticed your message"), "{reply}");
}

#[tokio::test]
async fn test_opting_in_from_a_group_makes_the_member_a_checkin_recipient() {
    let s = setup("2026-06-01T12:00:00Z").await;
    let group = s
        .store
        .group(Platform::Matrix, "!g:example.org")
        .await
        .unwrap()
        .unwrap();
    let now = DateTime::parse_from_rfc3339("2026-06-01T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    assert!(
        s.store
            .checkin_recipients(group.id, now)
            .await
            .unwrap()
            .is_empty()
    );
    say(&s.engine, "!ipt privacy checkins on").await;
    let recipients = s.store.checkin_recipients(group.id, now).await.unwrap();
    assert_eq!(recipients.len(), 1);
    assert_eq!(recipients[0].external_id, "@m:example.org");
    say(&s.engine, "!ipt pause 3").await;
    assert!(
        s.store
            .checkin_recipients(group.id, now)
            .await
            .unwrap()
            .is_empty(),
        "paused members get no prompt"
    );
}

#[tokio::test]
async fn test_two_low_moods_alert_only_members_who_chose_signals() {
    for signals in [false, true] {
        let s = setup("2026-06-01T12:00:00Z").await;
        if signals {
            say(&s.engine, "!ipt privacy signals on").await;
        }
        // Quiet does not hold back a signal the member asked for.
        say(&s.engine, "!ipt privacy quiet on").await;
        let member = s
            .store
            .upsert_member(&sender().member, "M", Utc::now())
            .await
            .unwrap();
        s.store
            .save_checkin(
                &ipt_core::model::NewCheckin {
                    member_id: member.id,
                    group_id: None,
                    local_date: chrono::NaiveDate::from_ymd_opt(2026, 5, 31).unwrap(),
                    mood: 2,
                    sleep: None,
                    connection: None,
                    note: None,
                },
                Utc::now(),
            )
            .await
            .unwrap();
        say(&s.engine, "!ipt checkin 1").await;
        say(&s.engine, "skip").await;
        say(&s.engine, "skip").await;
        let done = say(&s.engine, "skip").await;
        let group = s
            .store
            .group(Platform::Matrix, "!g:example.org")
            .await
            .unwrap()
            .unwrap();
        let alerts = s.store.alerts(group.id, true).await.unwrap();
        if signals {
            assert_eq!(alerts.len(), 1, "{done}");
            assert_eq!(alerts[0].level, ipt_core::model::AlertLevel::Concern);
            assert!(done.contains("I've let the moderators know"), "{done}");
        } else {
            assert!(alerts.is_empty(), "no signal without consent: {done}");
            assert!(!done.contains("moderators"), "{done}");
        }
    }
}

#[tokio::test]
async fn test_mood_shows_the_members_own_history_privately_with_a_chart() {
    let s = setup("2026-06-01T12:00:00Z").await;
    let mood = |args: &str| Event::Command {
        group: Some(GroupRef::new(Platform::Matrix, "!g:example.org")),
        sender: sender(),
        name: "mood".into(),
        args: args.into(),
        prefix: "!ipt ".into(),
    };
    let empty = s.engine.handle(mood("")).await.unwrap();
    assert!(empty[0].text.contains("no check-ins") && empty[0].image.is_none());
    assert!(
        !ipt_tests::knows_member(s.store.as_ref(), "@m:example.org").await,
        "looking stores nothing"
    );
    say(&s.engine, "!ipt checkin 6").await;
    say(&s.engine, "skip").await;
    say(&s.engine, "skip").await;
    say(&s.engine, "skip").await;
    let shown = s.engine.handle(mood("7")).await.unwrap();
    assert_eq!(shown.len(), 1);
    assert_eq!(shown[0].visibility, ipt_core::engine::Visibility::Private);
    assert!(
        shown[0].text.contains("last 7 days") && shown[0].text.contains("1 Jun 6"),
        "{}",
        shown[0].text
    );
    let chart = shown[0].image.as_ref().expect("a chart");
    assert!(chart.png.starts_with(b"\x89PNG"));
    let refused = s.engine.handle(mood("365")).await.unwrap();
    assert!(
        refused[0].text.contains("from 1 to 90"),
        "{}",
        refused[0].text
    );
}

#[tokio::test]
async fn test_stats_are_for_moderators_and_need_five_answering_members() {
    let s = setup("2026-06-01T12:00:00Z").await;
    let stats = |moderator: bool| Event::Command {
        group: Some(GroupRef::new(Platform::Matrix, "!g:example.org")),
        sender: Sender {
            moderator,
            ..sender()
        },
        name: "stats".into(),
        args: String::new(),
        prefix: "!ipt ".into(),
    };
    let member = s.engine.handle(stats(false)).await.unwrap();
    assert!(
        member[0].text.contains("for the group's moderators"),
        "{}",
        member[0].text
    );
    say(&s.engine, "!ipt checkin 5").await;
    for _ in 0..3 {
        say(&s.engine, "skip").await;
    }
    let few = s.engine.handle(stats(true)).await.unwrap();
    assert!(
        few[0].text.starts_with("Fewer than 5 members"),
        "{}",
        few[0].text
    );
    assert!(!few[0].text.contains("average"), "{}", few[0].text);
}

#[tokio::test]
async fn test_homework_take_add_done_skip_and_moderators_see_only_counts() {
    let s = setup("2026-06-01T12:00:00Z").await;
    assert!(
        say(&s.engine, "!ipt homework")
            .await
            .contains("no open exercises")
    );
    assert!(
        say(&s.engine, "!ipt homework templates")
            .await
            .contains("communication-analysis")
    );
    let taken = say(&s.engine, "!ipt homework take Communication Analysis").await;
    assert!(
        taken.starts_with("Added #1: Go over one conversation"),
        "{taken}"
    );
    assert!(
        say(&s.engine, "!ipt homework take nonsense")
            .await
            .contains("don't have an exercise")
    );
    say(&s.engine, "!ipt homework add text my aunt back").await;
    let list = say(&s.engine, "!ipt homework list").await;
    assert!(
        list.contains("#1 Go over one conversation - suggested by 4 Jun")
            && list.contains("#2 text my aunt back"),
        "{list}"
    );
    let done = say(
        &s.engine,
        "!ipt homework done 1 it helped to say what I needed",
    )
    .await;
    assert!(done.contains("Well done"), "{done}");
    let noted = say(&s.engine, "!ipt homework note 2 maybe next week").await;
    assert!(noted.contains("Noted"), "{noted}");
    assert!(
        say(&s.engine, "!ipt homework skip #2")
            .await
            .contains("nothing counts against you")
    );
    assert!(
        say(&s.engine, "!ipt homework done 7")
            .await
            .contains("no exercise #7")
    );
    let member = s.store.member(&sender().member).await.unwrap().unwrap();
    let stored = s.store.homework(member.id).await.unwrap();
    let one = stored.iter().find(|h| h.id.0 == 1).unwrap();
    assert_eq!(
        one.reflection.as_deref(),
        Some("it helped to say what I needed")
    );
    let two = stored.iter().find(|h| h.id.0 == 2).unwrap();
    assert_eq!(two.reflection.as_deref(), Some("maybe next week"));

    // Members cannot assign; moderators can, and see counts, never reflections.
    assert!(
        say(&s.engine, "!ipt homework assign all emotion-log")
            .await
            .contains("Only moderators")
    );
    say(&s.engine, "!ipt privacy checkins on").await;
    let as_moderator = |name: &str, args: &str| Event::Command {
        group: Some(GroupRef::new(Platform::Matrix, "!g:example.org")),
        sender: Sender {
            member: MemberRef::new(Platform::Matrix, "@mod:example.org"),
            display_name: "Mod".into(),
            moderator: true,
        },
        name: name.into(),
        args: args.into(),
        prefix: "!ipt ".into(),
    };
    let assigned = s
        .engine
        .handle(as_moderator("homework", "assign all emotion-log"))
        .await
        .unwrap();
    assert!(
        assigned[0]
            .text
            .contains("to this group's members who get check-ins")
            && !assigned[0].text.contains('1'),
        "no count, so nobody can tell who uses the bot: {}",
        assigned[0].text
    );
    assert!(
        say(&s.engine, "!ipt homework")
            .await
            .contains("(suggested by a moderator)")
    );
    // Counts about one member could point at them: the five-member rule
    // that hides check-in totals hides these too.
    let stats = s.engine.handle(as_moderator("stats", "")).await.unwrap();
    assert!(
        !stats[0].text.contains("Exercises from this group")
            && !stats[0].text.contains("what I needed"),
        "{}",
        stats[0].text
    );
}
