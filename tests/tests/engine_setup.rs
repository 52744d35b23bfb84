//! `setup` (moderators configure a group from the chat), commands sent in a
//! moderators' room acting on the group it serves, which replies may be
//! shown in public, and a bare number answering the daily prompt.

use std::sync::Arc;

use ipt_core::clock::ManualClock;
use ipt_core::engine::{Engine, Event, Sender, Visibility};
use ipt_core::ids::{GroupRef, MemberRef, Platform};
use ipt_core::model::AlertStatus;
use ipt_core::store::Store;

struct Setup {
    store: Arc<dyn Store>,
    engine: Engine,
    _dir: ipt_tests::tempdir::TempDir,
}

async fn setup() -> Setup {
    let (store, dir) = ipt_tests::sqlite_store().await;
    let store: Arc<dyn Store> = Arc::new(store);
    let clock = Arc::new(ManualClock::new(
        chrono::DateTime::parse_from_rfc3339("2026-03-02T10:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc),
    ));
    let engine = Engine::new(store.clone(), clock);
    Setup {
        store,
        engine,
        _dir: dir,
    }
}

fn person(id: &str, moderator: bool) -> Sender {
    Sender {
        member: MemberRef::new(Platform::Matrix, id),
        display_name: id.trim_start_matches('@').into(),
        moderator,
    }
}

async fn command(
    engine: &Engine,
    room: Option<&str>,
    who: &Sender,
    line: &str,
) -> Vec<(Visibility, String)> {
    let (name, args) = line.split_once(' ').unwrap_or((line, ""));
    engine
        .handle(Event::Command {
            group: room.map(|r| GroupRef::new(Platform::Matrix, r)),
            sender: who.clone(),
            name: name.into(),
            args: args.into(),
            prefix: "!ipt ".into(),
        })
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.visibility, r.text))
        .collect()
}

async fn text(engine: &Engine, room: Option<&str>, who: &Sender, line: &str) -> String {
    command(engine, room, who, line)
        .await
        .into_iter()
        .map(|(_, t)| t)
        .collect::<Vec<_>>()
        .join("\n")
}

/// A private message to the bot.
fn direct(who: &Sender, text: &str) -> Event {
    Event::Direct {
        sender: who.clone(),
        text: text.into(),
        prefix: "!ipt ".into(),
    }
}

const ROOM: &str = "!group:example.org";
const MODS: &str = "!mods:example.org";

#[tokio::test]
async fn test_setup_makes_a_room_a_group_and_changes_its_settings() {
    let s = setup().await;
    let m = person("@mod:example.org", true);
    let shown = text(&s.engine, Some(ROOM), &m, "setup").await;
    assert!(shown.contains("not set up as a group yet"), "{shown}");
    assert!(
        s.store
            .group(Platform::Matrix, ROOM)
            .await
            .unwrap()
            .is_none(),
        "showing stores nothing"
    );

    let done = text(
        &s.engine,
        Some(ROOM),
        &m,
        &format!("setup moderators {MODS}"),
    )
    .await;
    assert!(done.contains(MODS), "{done}");
    assert!(
        text(&s.engine, Some(ROOM), &m, "setup region uk")
            .await
            .contains("GB")
    );
    assert!(
        text(&s.engine, Some(ROOM), &m, "setup timezone europe/london")
            .await
            .contains("Europe/London")
    );
    let cron = text(&s.engine, Some(ROOM), &m, "setup checkin 0 0 9 * * *").await;
    assert!(
        cron.contains("0 0 9 * * *") && cron.contains("Europe/London"),
        "{cron}"
    );

    let group = s
        .store
        .group(Platform::Matrix, ROOM)
        .await
        .unwrap()
        .expect("a group now");
    assert_eq!(group.moderator_channel.as_deref(), Some(MODS));
    assert_eq!(group.region, "GB");
    assert_eq!(group.timezone, "Europe/London");
    assert_eq!(group.checkin_cron.as_deref(), Some("0 0 9 * * *"));

    let summary = text(&s.engine, Some(ROOM), &m, "setup").await;
    for part in [MODS, "GB", "Europe/London", "0 0 9 * * *"] {
        assert!(summary.contains(part), "{part} missing from {summary}");
    }
    assert!(
        text(&s.engine, Some(ROOM), &m, "setup checkin off")
            .await
            .contains("off")
    );
    let group = s
        .store
        .group(Platform::Matrix, ROOM)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(group.checkin_cron, None);
    assert_eq!(group.region, "GB", "other settings are kept");
}

#[tokio::test]
async fn test_setup_refuses_bad_values_kindly_and_changes_nothing() {
    let s = setup().await;
    let m = person("@mod:example.org", true);
    text(&s.engine, Some(ROOM), &m, "setup region US").await;
    for (line, says) in [
        ("setup region Mars", "not a two-letter country code"),
        ("setup timezone Mars/Base", "don't know the time zone"),
        ("setup checkin every morning", "doesn't work"),
        // Regression: these were accepted; the first flooded everyone
        // every second, the second silently never sent anything.
        ("setup checkin * * * * * *", "at most once an hour"),
        ("setup checkin 0 0 0 31 2 *", "never comes"),
        ("setup moderators", "Name the private room"),
        ("setup colour blue", "I can set these"),
    ] {
        let reply = text(&s.engine, Some(ROOM), &m, line).await;
        assert!(reply.contains(says), "{line}: {reply}");
    }
    let group = s
        .store
        .group(Platform::Matrix, ROOM)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(group.region, "US");
    assert_eq!(group.timezone, "UTC");
    assert_eq!(group.checkin_cron, None);
}

#[tokio::test]
async fn test_setup_is_for_moderators_in_a_group() {
    let s = setup().await;
    let member = person("@member:example.org", false);
    let reply = text(
        &s.engine,
        Some(ROOM),
        &member,
        "setup moderators !x:example.org",
    )
    .await;
    assert!(reply.contains("Only the group's moderators"), "{reply}");
    assert!(
        s.store
            .group(Platform::Matrix, ROOM)
            .await
            .unwrap()
            .is_none()
    );
    let m = person("@mod:example.org", true);
    let reply = text(&s.engine, None, &m, "setup region GB").await;
    assert!(reply.contains("not in a private chat"), "{reply}");
}

#[tokio::test]
async fn test_alerts_can_be_handled_from_the_moderators_room() {
    let s = setup().await;
    let m = person("@mod:example.org", true);
    text(
        &s.engine,
        Some(ROOM),
        &m,
        &format!("setup moderators {MODS}"),
    )
    .await;
    let member = person("@member:example.org", false);
    s.engine
        .handle(Event::Message {
            group: GroupRef::new(Platform::Matrix, ROOM),
            sender: member,
            text: "i want to kill myself".into(),
            link: None,
        })
        .await
        .unwrap();
    let listed = text(&s.engine, Some(MODS), &m, "alerts").await;
    assert!(listed.contains("#1"), "{listed}");
    let claimed = text(&s.engine, Some(MODS), &m, "alert claim 1").await;
    assert!(claimed.contains("You claimed alert #1"), "{claimed}");
    let alert = s
        .store
        .alert(ipt_core::ids::AlertId(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(alert.status, AlertStatus::Claimed);
}

#[tokio::test]
async fn test_only_help_and_cards_are_shown_in_the_group() {
    let s = setup().await;
    let member = person("@member:example.org", false);
    for (line, public) in [
        ("help", true),
        ("learn grief", true),
        ("search my mum died", true),
        ("resources", false),
        ("mood", false),
        ("privacy", false),
        ("pause 2", false),
    ] {
        let replies = command(&s.engine, Some(ROOM), &member, line).await;
        let want = if public {
            Visibility::Here
        } else {
            Visibility::Private
        };
        assert!(
            replies.iter().all(|(v, _)| *v == want),
            "{line}: {replies:?}"
        );
    }
    // In a direct message everything is private.
    let replies = command(&s.engine, None, &member, "help").await;
    assert!(replies.iter().all(|(v, _)| *v == Visibility::Private));
}

#[tokio::test]
async fn test_a_bare_number_in_private_answers_the_daily_prompt() {
    let s = setup().await;
    let member = person("@member:example.org", false);
    let replies = s.engine.handle(direct(&member, "7")).await.unwrap();
    let reply = &replies[0].text;
    assert!(
        reply.to_lowercase().contains("sleep"),
        "the mood is taken, sleep asked: {reply}"
    );
    for answer in ["skip", "skip", "skip"] {
        s.engine.handle(direct(&member, answer)).await.unwrap();
    }
    let me = s
        .store
        .member(&member.member)
        .await
        .unwrap()
        .expect("member");
    let since = chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
    let saved = s.store.checkins(me.id, since).await.unwrap();
    assert_eq!(saved.len(), 1);
    assert_eq!(saved[0].mood, 7);
    // A sentence that starts with a number is not a check-in.
    let other = person("@other:example.org", false);
    let replies = s
        .engine
        .handle(direct(&other, "3 things happened today"))
        .await
        .unwrap();
    assert!(replies[0].text.contains("I'm a bot"), "{}", replies[0].text);
}

#[tokio::test]
async fn test_the_moderators_room_is_private_and_serves_one_group() {
    let s = setup().await;
    let m = person("@mod:example.org", true);
    let own = text(
        &s.engine,
        Some(ROOM),
        &m,
        &format!("setup moderators {ROOM}"),
    )
    .await;
    assert!(own.contains("not the group itself"), "{own}");
    text(
        &s.engine,
        Some(ROOM),
        &m,
        &format!("setup moderators {MODS}"),
    )
    .await;
    // Another room's moderator cannot point alerts at this team's room,
    // nor at the group room.
    let other = "!other:example.org";
    for target in [MODS, ROOM] {
        let reply = text(
            &s.engine,
            Some(other),
            &m,
            &format!("setup moderators {target}"),
        )
        .await;
        assert!(
            reply.contains("already serves another group"),
            "{target}: {reply}"
        );
    }
    let group = s
        .store
        .group(Platform::Matrix, ROOM)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(group.moderator_channel.as_deref(), Some(MODS));
    assert!(
        s.store
            .group(Platform::Matrix, other)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn test_crisis_words_as_a_checkin_answer_get_support_and_keep_the_checkin() {
    let s = setup().await;
    let member = person("@member:example.org", false);
    text(&s.engine, None, &member, "checkin").await;
    let replies = s
        .engine
        .handle(direct(&member, "i want to kill myself"))
        .await
        .unwrap();
    assert!(
        !replies[0].text.contains("number from 0 to 10"),
        "support, not a number prompt: {}",
        replies[0].text
    );
    assert!(
        replies[0].text.contains("emergency") || replies[0].text.contains("crisis"),
        "{}",
        replies[0].text
    );
    // The check-in is still waiting for the mood.
    let replies = s.engine.handle(direct(&member, "4")).await.unwrap();
    assert!(
        replies[0].text.to_lowercase().contains("sleep"),
        "{}",
        replies[0].text
    );
}
