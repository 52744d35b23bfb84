//! The Matrix adapter end to end, against a real Synapse (installed from
//! PyPI by `scripts/test`) with real matrix-sdk clients as the moderator
//! and members, in encrypted rooms. The bot runs in-process through the
//! same `run_until` that `ipt-bot run` uses.

#![recursion_limit = "256"]

use std::time::{Duration, Instant};

use ipt_core::crisis::{self, Level};
use ipt_tests::cutproxy::CutProxy;
use ipt_tests::mx::{Bot, User, World, alert_id, device_of};
use matrix_sdk::RoomState;

const CRISIS: &str = "i have decided to end my life tonight, i have the pills ready";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_matrix_commands_crisis_alert_and_claim_in_encrypted_rooms() {
    let Some(world) = World::new().await else {
        return;
    };
    assert!(crisis::assess(CRISIS).level >= Level::Urgent);
    let bot = Bot::start(world.config(&world.synapse.base_url));
    world.bot_joined(&world.group).await;
    world.bot_joined(&world.mods).await;
    let group_room = world.member.client.get_room(&world.group).expect("group");
    assert!(
        group_room
            .latest_encryption_state()
            .await
            .expect("state")
            .is_encrypted(),
        "the group room is encrypted"
    );

    // help and learn in the encrypted group room, answered there.
    world.member.say(&world.group, "!ipt help").await;
    let help = world
        .member
        .wait_for(Duration::from_secs(20), |s| {
            world.from_bot_in(&world.group)(s) && s.body.contains("not a therapist")
        })
        .await
        .expect("help answered in the group room");
    assert_eq!(help.json["content"]["msgtype"], "m.notice");
    assert_eq!(help.json["content"]["format"], "org.matrix.custom.html");
    assert!(
        help.json["content"]["formatted_body"]
            .as_str()
            .unwrap_or("")
            .contains("<br>")
    );
    world.member.say(&world.group, "!ipt learn grief").await;
    world
        .member
        .wait_for(Duration::from_secs(10), |s| {
            world.from_bot_in(&world.group)(s) && s.body.contains("Grief")
        })
        .await
        .expect("learn grief answered");

    // User text is escaped in HTML and never pings the room.
    world
        .member
        .say(&world.group, "!ipt learn <b>@room</b>")
        .await;
    let echoed = world
        .member
        .wait_for(Duration::from_secs(10), |s| {
            world.from_bot_in(&world.group)(s) && s.body.contains("don't have a card")
        })
        .await
        .expect("unknown topic answered");
    let html = echoed.json["content"]["formatted_body"]
        .as_str()
        .unwrap_or("");
    assert!(html.contains("&lt;b&gt;"), "{html}");
    assert!(
        !echoed.body.to_lowercase().contains("@room"),
        "{}",
        echoed.body
    );
    assert_eq!(echoed.json["content"]["m.mentions"], serde_json::json!({}));

    // A member command for moderators only is refused, privately.
    world.member.say(&world.group, "!ipt alerts").await;
    world
        .member
        .wait_for(Duration::from_secs(15), |s| {
            world.is_dm_from_bot(s) && s.body.contains("Only the group's moderators")
        })
        .await
        .expect("refusal in a direct room");

    // Crisis language: an alert in the moderators' room and support in
    // the member's direct room, both within 2 seconds, nothing in public.
    let group_messages_before = world
        .member
        .seen()
        .iter()
        .filter(|s| world.from_bot_in(&world.group)(s))
        .count();
    let sent = Instant::now();
    let crisis_event = world.member.say(&world.group, CRISIS).await;
    let alert = world
        .moderator
        .wait_for(Duration::from_secs(2), |s| {
            world.from_bot_in(&world.mods)(s) && alert_id(s).is_some()
        })
        .await
        .expect("alert in the moderators' room within 2 s");
    let support = world
        .member
        .wait_for(Duration::from_secs(2), |s| {
            world.is_dm_from_bot(s) && s.at > sent && s.body.contains("999")
        })
        .await
        .expect("crisis resources in a direct room within 2 s");
    eprintln!(
        "crisis -> alert seen by moderator: {:?}; support seen by member: {:?}",
        alert.at - sent,
        support.at - sent
    );
    assert!(alert.body.contains("Crisis alert #"), "{}", alert.body);
    assert!(alert.body.contains("react with ✅"), "{}", alert.body);
    assert!(
        !alert.body.contains("pills"),
        "no excerpt unless the group chose them"
    );
    let alert_html = alert.json["content"]["formatted_body"]
        .as_str()
        .unwrap_or("");
    assert!(
        alert_html.contains(&format!("https://matrix.to/#/{}\"", world.member.id)),
        "mention pill: {alert_html}"
    );
    assert!(
        alert.body.contains(crisis_event.as_str()),
        "matrix.to link to the message: {}",
        alert.body
    );
    let dm = world
        .member
        .client
        .get_room(&support.room)
        .expect("dm room");
    assert!(
        dm.latest_encryption_state()
            .await
            .expect("state")
            .is_encrypted()
    );
    let group_messages_after = world
        .member
        .seen()
        .iter()
        .filter(|s| world.from_bot_in(&world.group)(s))
        .count();
    assert_eq!(
        group_messages_before, group_messages_after,
        "nothing posted publicly"
    );

    // Claim by reaction.
    let id = alert_id(&alert).expect("alert id");
    world
        .moderator
        .react(&world.mods, &alert.event_id, "✅")
        .await;
    world
        .moderator
        .wait_for(Duration::from_secs(10), |s| {
            world.from_bot_in(&world.mods)(s)
                && s.body.contains(&format!("Alert #{id} was claimed by"))
        })
        .await
        .expect("claim by reaction announced");

    // Onboarding: someone who joins later gets a private welcome.
    let newcomer_id = world
        .synapse
        .register("newcomer", "newcomer-password", false);
    let newcomer = User::login(&world.synapse.base_url, &newcomer_id, "newcomer-password").await;
    world
        .moderator
        .client
        .get_room(&world.group)
        .expect("group")
        .invite_user_by_id(&newcomer.id)
        .await
        .expect("invite");
    let welcome = newcomer
        .wait_for(Duration::from_secs(20), |s| {
            s.sender == world.bot && s.room != world.group && s.body.contains("Welcome")
        })
        .await
        .expect("private welcome");
    assert!(
        welcome.body.contains("not a person, a therapist"),
        "{}",
        welcome.body
    );
    assert!(
        welcome.body.contains("!ipt privacy checkins on"),
        "{}",
        welcome.body
    );
    let welcome_room = newcomer.client.get_room(&welcome.room).expect("dm");
    assert_eq!(welcome_room.state(), RoomState::Joined);
    // A private room: the newcomer and the bot, nobody else, encrypted.
    let members = welcome_room
        .members(matrix_sdk::RoomMemberships::ACTIVE)
        .await
        .expect("members");
    let mut ids: Vec<String> = members.iter().map(|m| m.user_id().to_string()).collect();
    ids.sort();
    let mut want = vec![world.bot.clone(), newcomer.id.to_string()];
    want.sort();
    assert_eq!(ids, want);
    assert!(
        welcome_room
            .latest_encryption_state()
            .await
            .expect("state")
            .is_encrypted()
    );

    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_matrix_restart_resumes_sync_keeps_decrypting_and_sends_the_checkin() {
    let Some(world) = World::new().await else {
        return;
    };
    let bot = Bot::start(world.config(&world.synapse.base_url));
    world.bot_joined(&world.group).await;
    world.bot_joined(&world.mods).await;
    let device = device_of(&world);

    // The member opts in; the moderator (power 100) sets the check-in a
    // little ahead, in UTC.
    world
        .member
        .say(&world.group, "!ipt privacy checkins on")
        .await;
    world
        .member
        .wait_for(Duration::from_secs(20), |s| {
            world.is_dm_from_bot(s) && s.body.contains("short private check-in each day")
        })
        .await
        .expect("opt-in confirmed privately");
    let fire = chrono::Utc::now() + chrono::Duration::seconds(12);
    let cron = fire.format("%S %M %H * * *").to_string();
    world
        .moderator
        .say(&world.group, &format!("!ipt setup checkin {cron}"))
        .await;
    world
        .moderator
        .wait_for(Duration::from_secs(20), |s| {
            s.sender == world.bot && s.body.contains("daily check-in now follows")
        })
        .await
        .expect("setup confirmed");

    // Stopped: a crisis message is posted meanwhile, and the check-in
    // time passes.
    bot.stop().await;
    let missed = world.member.say(&world.group, CRISIS).await;
    while chrono::Utc::now() < fire + chrono::Duration::seconds(1) {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let bot = Bot::start(world.config(&world.synapse.base_url));
    let alert = world
        .moderator
        .wait_for(Duration::from_secs(30), |s| {
            world.from_bot_in(&world.mods)(s) && alert_id(s).is_some()
        })
        .await
        .expect("the message posted while the bot was down is alerted after start");
    assert!(alert.body.contains(missed.as_str()), "{}", alert.body);
    assert_eq!(
        device_of(&world),
        device,
        "the restart kept the same device"
    );

    // Still decrypting the encrypted group room after the restart.
    world.member.say(&world.group, "!ipt learn grief").await;
    world
        .member
        .wait_for(Duration::from_secs(15), |s| {
            world.from_bot_in(&world.group)(s) && s.body.contains("Grief")
        })
        .await
        .expect("answers in the encrypted room after a restart");

    // The scheduled check-in arrives privately and is answered there.
    let prompt = world
        .member
        .wait_for(Duration::from_secs(40), |s| {
            world.is_dm_from_bot(s) && s.body.contains("Time for today's check-in")
        })
        .await
        .expect("scheduled check-in prompt in the direct room");
    world.member.say(&prompt.room, "7").await;
    world
        .member
        .wait_for(Duration::from_secs(15), |s| {
            s.room == prompt.room
                && s.sender == world.bot
                && s.body.to_lowercase().contains("sleep")
        })
        .await
        .expect("the sleep question follows the mood");
    for answer in ["skip", "skip", "skip"] {
        let before = world.member.seen().len();
        world.member.say(&prompt.room, answer).await;
        world
            .member
            .wait_for(Duration::from_secs(15), |s| {
                s.room == prompt.room && s.sender == world.bot
            })
            .await;
        let deadline = Instant::now() + Duration::from_secs(15);
        while world.member.seen().len() == before && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    world.member.say(&prompt.room, "!ipt mood").await;
    world
        .member
        .wait_for(Duration::from_secs(15), |s| {
            s.room == prompt.room
                && s.sender == world.bot
                && s.body.contains("7")
                && s.body.to_lowercase().contains("average")
        })
        .await
        .expect("the answered check-in is in the member's mood history");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_matrix_alert_sent_during_an_outage_arrives_exactly_once() {
    let Some(mut world) = World::new().await else {
        return;
    };
    let upstream = format!("127.0.0.1:{}", world.synapse.port())
        .parse()
        .expect("addr");
    let proxy = CutProxy::start(upstream).await;
    let bot = Bot::start(world.config(&proxy.url));
    world.bot_joined(&world.group).await;
    world.bot_joined(&world.mods).await;
    world.member.say(&world.group, "!ipt help").await;
    world
        .member
        .wait_for(Duration::from_secs(20), world.from_bot_in(&world.group))
        .await
        .expect("bot ready");

    // The alert's send reaches Synapse, its answer is lost, and the
    // homeserver is gone for 20 seconds.
    proxy.cut_after("-moderators");
    world.member.say(&world.group, CRISIS).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !proxy.tripped() {
        assert!(
            Instant::now() < deadline,
            "the bot never tried to send the alert"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(600)).await;
    tokio::task::block_in_place(|| world.synapse.kill());
    tokio::time::sleep(Duration::from_secs(20)).await;
    tokio::task::block_in_place(|| world.synapse.restart());
    proxy.restore();

    // The moderator's client reconnects too; the alert must be there once.
    let first = world
        .moderator
        .wait_for(Duration::from_secs(120), |s| {
            world.from_bot_in(&world.mods)(s) && alert_id(s).is_some()
        })
        .await
        .expect("the alert arrives after the homeserver returns");
    // Give any duplicate time to show: the outbox retried under the same
    // transaction id, which Synapse answers with the first event.
    world.member.say(&world.group, "!ipt learn grief").await;
    world
        .member
        .wait_for(Duration::from_secs(60), |s| {
            world.from_bot_in(&world.group)(s) && s.body.contains("Grief")
        })
        .await
        .expect("bot working again");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let id = alert_id(&first);
    let copies = world
        .moderator
        .seen()
        .iter()
        .filter(|s| {
            world.from_bot_in(&world.mods)(s)
                && alert_id(s) == id
                && s.body.starts_with("Crisis alert")
        })
        .count();
    assert_eq!(copies, 1, "the alert shows exactly once");
    bot.stop().await;
}

/// matrix-sdk panics ("Session expired") when two sends to one room race
/// while its room key rotates. The moderators' room here rotates its key
/// with every message, and alerts (the outbox) and command answers (the
/// reply task) go to it at the same time: every one must arrive, and the
/// bot must still answer afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_matrix_sends_racing_a_room_key_rotation_all_arrive() {
    const ASKS: usize = 20;
    let Some(mut world) = World::new().await else {
        return;
    };
    world.rotate_moderator_keys_every(1).await;
    world.lift_rate_limits(&world.bot).await;
    let mut members = Vec::new();
    for name in ["rota", "rotb", "rotc", "rotd", "rote"] {
        members.push(world.add_member(name).await);
    }
    let bot = Bot::start(world.config(&world.synapse.base_url));
    world.bot_joined(&world.group).await;
    world.bot_joined(&world.mods).await;
    for m in &members {
        m.sees_joined(world.bot_id(), &world.group, Duration::from_secs(30))
            .await;
    }
    world.moderator.say(&world.mods, "!ipt alerts").await;
    world
        .moderator
        .wait_for(Duration::from_secs(20), world.from_bot_in(&world.mods))
        .await
        .expect("bot ready in the moderators' room");

    // Five members in crisis at once while the moderator keeps asking.
    let asks = async {
        for _ in 0..ASKS {
            world.moderator.say(&world.mods, "!ipt alerts").await;
        }
    };
    tokio::join!(
        members[0].say(&world.group, CRISIS),
        members[1].say(&world.group, CRISIS),
        members[2].say(&world.group, CRISIS),
        members[3].say(&world.group, CRISIS),
        members[4].say(&world.group, CRISIS),
        asks
    );

    let alerts = |s: &ipt_tests::mx::Seen| {
        world.from_bot_in(&world.mods)(s) && s.body.starts_with("Crisis alert")
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let seen = world.moderator.seen();
        let got = seen.iter().filter(|s| alerts(s)).count();
        let answers = seen
            .iter()
            .filter(|s| {
                world.from_bot_in(&world.mods)(s)
                    && (s.body.starts_with("Alerts, newest first")
                        || s.body.starts_with("No open alerts"))
            })
            .count();
        // The first ask's answer and one for each of the others.
        if got >= 5 && answers > ASKS {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "lost while the room key rotated: {got} of 5 alerts and {answers} of {} answers arrived",
            ASKS + 1
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The reply task is alive: a later command is still answered.
    world.member.say(&world.group, "!ipt learn grief").await;
    world
        .member
        .wait_for(Duration::from_secs(20), |s| {
            world.from_bot_in(&world.group)(s) && s.body.contains("Grief")
        })
        .await
        .expect("the bot still answers");
    bot.stop().await;
}
