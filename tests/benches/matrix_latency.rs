//! Load harness: crisis message → alert visible to a moderator's client,
//! through a real Synapse and the real bot, beside Synapse's own
//! send → sync round trip between the same two clients in the same run.
//!
//! A third figure separates the bot's own share: the time between the
//! crisis message's and the alert's timestamps on the homeserver.
//!
//! Last, each of several members' first crisis, one member after another:
//! the bot then has no direct room with them, and must open one (and share
//! its keys) before the member's support can go out. The alert travels in
//! a lane of its own and should not wait for that; the support is timed
//! too, separately, and is expected to take longer.
//!
//! `cargo bench -p ipt-tests --bench matrix_latency` runs 50 of each (10
//! first crises) and prints p50/p99; run by `cargo test --benches` (as
//! `scripts/test` does) it runs 3 of each, to prove the harness works.

#![recursion_limit = "256"]

use std::time::{Duration, Instant};

use ipt_tests::mx::{Bot, Seen, User, World, alert_id};

const CRISIS: &str = "i have decided to end my life tonight, i have the pills ready";

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn p50(samples: &[Duration]) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    percentile(&sorted, 0.50)
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{name}: n={} p50={:.1} ms p99={:.1} ms max={:.1} ms",
        samples.len(),
        percentile(&samples, 0.50).as_secs_f64() * 1e3,
        percentile(&samples, 0.99).as_secs_f64() * 1e3,
        samples.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
}

/// The member posts `text`; how long until the moderator's client has it.
async fn synapse_round_trip(world: &World, text: &str) -> Duration {
    let sent = Instant::now();
    world.member.say(&world.group, text).await;
    let seen = world
        .moderator
        .wait_for(Duration::from_secs(10), |s| s.body == text)
        .await
        .expect("moderator sees the message");
    seen.at - sent
}

/// An alert from the bot in the moderators' room newer than alert `last`.
fn new_alert(world: &World, last: i64) -> impl Fn(&Seen) -> bool + '_ {
    move |s: &Seen| world.from_bot_in(&world.mods)(s) && alert_id(s).is_some_and(|id| id > last)
}

/// The moderator resolves alert `id` and waits for the bot to say so, so
/// that the next crisis opens a new alert.
async fn resolve(world: &World, id: i64) {
    world
        .moderator
        .say(&world.mods, &format!("!ipt alert resolve {id} measured"))
        .await;
    world
        .moderator
        .wait_for(Duration::from_secs(10), |s| {
            s.body.contains(&format!("Alert #{id} was resolved"))
        })
        .await
        .expect("resolved");
}

/// An alert slower than this is reported on its own line.
const SLOW: Duration = Duration::from_secs(1);

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let n = if quick { 3 } else { 50 };
    let first_crises = if quick { 3 } else { 10 };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async move {
        let Some(world) = World::new().await else {
            return;
        };
        // The members whose first crisis is measured last join before the
        // bot does: it welcomes, in a direct room, only those who join after
        // it, and the point is a member it has no direct room with.
        let mut newcomers: Vec<User> = Vec::new();
        for i in 0..first_crises {
            newcomers.push(world.add_member(&format!("newcomer-{i}")).await);
        }
        // A direct room for each of them and the member is more rooms than
        // Synapse lets one user create at once.
        world.lift_rate_limits(&world.bot).await;
        let bot = Bot::start(world.config(&world.synapse.base_url));
        world.bot_joined(&world.group).await;
        world.bot_joined(&world.mods).await;
        for newcomer in &newcomers {
            newcomer
                .sees_joined(world.bot_id(), &world.group, Duration::from_secs(30))
                .await;
        }
        world.member.say(&world.group, "!ipt help").await;
        let ready = world
            .member
            .wait_for(Duration::from_secs(30), world.from_bot_in(&world.group))
            .await
            .expect("bot ready");
        // The bot encrypted that answer for the devices it knows in the
        // group: a newcomer who can read it is one it knows.
        for newcomer in &newcomers {
            newcomer
                .wait_for(Duration::from_secs(30), |s| s.event_id == ready.event_id)
                .await
                .expect("the bot knows the newcomer's device");
            // A member's first message also shares their client's room key
            // with every device in the group: done now, as a client does
            // when someone starts typing, that cost is not the bot's.
            newcomer.share_room_key(&world.group).await;
            // Idle until measured, not syncing beside the others.
            newcomer.pause().await;
        }

        // Synapse alone: the member posts, the moderator's client sees it;
        // then the same shaped like the alert path, a second message right
        // behind a first (the alert follows the crisis message by about
        // the bot's share).
        let mut round_trip = Vec::new();
        let mut follow_up = Vec::new();
        for i in 0..n {
            round_trip.push(synapse_round_trip(&world, &format!("round trip {i}")).await);
        }
        for i in 0..n {
            world.member.say(&world.group, &format!("first {i}")).await;
            tokio::time::sleep(Duration::from_millis(100)).await;
            follow_up.push(synapse_round_trip(&world, &format!("second {i}")).await);
        }

        // The bot in the middle: crisis message → alert in the moderators'
        // room. Each alert is resolved before the next, so every message
        // opens a new one (a repeat would update the open alert instead).
        let mut alert = Vec::new();
        let mut bot_share = Vec::new();
        let mut last = 0;
        for i in 0..n {
            let sent = Instant::now();
            let crisis_event = world.member.say(&world.group, CRISIS).await;
            let seen = world
                .moderator
                .wait_for(Duration::from_secs(10), new_alert(&world, last))
                .await
                .expect("alert seen by the moderator");
            alert.push(seen.at - sent);
            // The bot's own share, on the homeserver's clock: from the
            // crisis message's timestamp to the alert's.
            let crisis_ts = world
                .moderator
                .wait_for(Duration::from_secs(10), |s| s.event_id == crisis_event)
                .await
                .and_then(|s| s.json["origin_server_ts"].as_i64());
            let share = match (crisis_ts, seen.json["origin_server_ts"].as_i64()) {
                (Some(a), Some(b)) => Some(Duration::from_millis(b.saturating_sub(a).max(0) as u64)),
                _ => None,
            };
            bot_share.extend(share);
            // A slow one is told where its time went: in the bot (between
            // the two server timestamps) or in reaching the clients.
            let took = seen.at - sent;
            if took > SLOW {
                println!(
                    "slow alert, crisis {i}: {:.0} ms to the moderator, of which the bot's share {}",
                    took.as_secs_f64() * 1e3,
                    share.map_or("unknown".to_owned(), |d| format!("{} ms", d.as_millis()))
                );
            }
            last = alert_id(&seen).expect("alert id");
            resolve(&world, last).await;
        }

        // A member's first crisis: the alert as above, and the member's
        // support, which first needs a new direct room. One member at a
        // time, each syncing only for their turn.
        let mut first_alert = Vec::new();
        let mut first_support = Vec::new();
        for newcomer in &newcomers {
            newcomer.resume().await;
            assert!(
                !newcomer.seen().iter().any(|s| world.is_dm_from_bot(s)),
                "{} already has a direct room with the bot",
                newcomer.id
            );
            let sent = Instant::now();
            newcomer.say(&world.group, CRISIS).await;
            let seen = world
                .moderator
                .wait_for(Duration::from_secs(30), new_alert(&world, last))
                .await
                .expect("first-crisis alert seen by the moderator");
            first_alert.push(seen.at - sent);
            let support = newcomer
                .wait_for(Duration::from_secs(30), |s| {
                    world.is_dm_from_bot(s) && s.at > sent
                })
                .await
                .expect("first-crisis support seen by the member");
            first_support.push(support.at - sent);
            last = alert_id(&seen).expect("alert id");
            resolve(&world, last).await;
            newcomer.pause().await;
        }

        let one_hop = p50(&round_trip);
        let first_alert_p50 = p50(&first_alert);
        report("synapse send->sync (member -> moderator)", round_trip);
        report(
            "synapse send->sync, 100 ms behind another message",
            follow_up,
        );
        report("crisis message -> alert seen by moderator", alert);
        report(
            "crisis message -> alert, server timestamps (the bot's share)",
            bot_share,
        );
        report(
            "first crisis of a new member -> alert seen by moderator",
            first_alert,
        );
        report(
            "first crisis of a new member -> private support seen by member",
            first_support,
        );
        println!(
            "first-crisis alert p50 / one-hop p50 = {:.1}x",
            first_alert_p50.as_secs_f64() / one_hop.as_secs_f64()
        );
        bot.stop().await;
    });
}
