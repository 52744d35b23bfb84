//! Matrix clients for the end-to-end tests: members and moderators are real
//! matrix-sdk clients with their own devices (so encrypted rooms are
//! encrypted for real), syncing in the background, accepting invites, and
//! recording every message they can read.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use matrix_sdk::config::SyncSettings;
use matrix_sdk::event_handler::RawEvent;
use matrix_sdk::ruma::api::client::room::create_room::v3::{Request as CreateRoom, RoomPreset};
use matrix_sdk::ruma::events::InitialStateEvent;
use matrix_sdk::ruma::events::reaction::ReactionEventContent;
use matrix_sdk::ruma::events::relation::Annotation;
use matrix_sdk::ruma::events::room::encryption::RoomEncryptionEventContent;
use matrix_sdk::ruma::events::room::member::StrippedRoomMemberEvent;
use matrix_sdk::ruma::events::room::message::{
    OriginalSyncRoomMessageEvent, RoomMessageEventContent,
};
use matrix_sdk::ruma::{OwnedEventId, OwnedRoomId, OwnedUserId, RoomId, UserId};
use matrix_sdk::{Client, Room, RoomState};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::synapse::Synapse;
use crate::tempdir::TempDir;
use ipt_bot::config::Config;

/// One message a test client could read.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Where.
    pub room: OwnedRoomId,
    /// Who sent it.
    pub sender: OwnedUserId,
    /// Its event id.
    pub event_id: OwnedEventId,
    /// The plain body.
    pub body: String,
    /// The whole decrypted event as JSON.
    pub json: serde_json::Value,
    /// When this client saw it.
    pub at: Instant,
}

/// A logged-in test user that syncs in the background.
#[derive(Debug)]
pub struct User {
    /// The matrix-sdk client.
    pub client: Client,
    /// The user id.
    pub id: OwnedUserId,
    seen: Arc<Mutex<Vec<Seen>>>,
    /// True asks the sync loop to stop between two syncs ([`User::pause`]).
    pause: tokio::sync::watch::Sender<bool>,
    /// Where the sync loop is.
    status: tokio::sync::watch::Receiver<SyncStatus>,
    sync: JoinHandle<()>,
}

/// What a user's sync loop reports.
#[derive(Debug, Clone, Copy, Default)]
struct SyncStatus {
    /// Syncs completed so far.
    syncs: u64,
    /// Stopped by [`User::pause`], no request in flight.
    parked: bool,
}

/// How long a test user's sync waits on the homeserver for news.
const SYNC_TIMEOUT: Duration = Duration::from_secs(10);

impl Drop for User {
    fn drop(&mut self) {
        self.sync.abort();
    }
}

impl User {
    /// Logs in `user` (a full id) on `homeserver`, skips history, accepts
    /// every invite and starts syncing.
    pub async fn login(homeserver: &str, user: &str, password: &str) -> User {
        let client = Client::builder()
            .homeserver_url(homeserver)
            .build()
            .await
            .expect("build client");
        client
            .matrix_auth()
            .login_username(user, password)
            .send()
            .await
            .expect("login");
        client
            .sync_once(SyncSettings::default())
            .await
            .expect("first sync");
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let log = seen.clone();
        client.add_event_handler(
            move |ev: OriginalSyncRoomMessageEvent, room: Room, raw: RawEvent| {
                let log = log.clone();
                async move {
                    let json: serde_json::Value =
                        serde_json::from_str(raw.get()).unwrap_or_default();
                    log.lock().expect("seen lock").push(Seen {
                        room: room.room_id().to_owned(),
                        sender: ev.sender.clone(),
                        event_id: ev.event_id.clone(),
                        body: ev.content.body().to_owned(),
                        json,
                        at: Instant::now(),
                    });
                }
            },
        );
        client.add_event_handler(
            |ev: StrippedRoomMemberEvent, room: Room, client: Client| async move {
                if Some(ev.state_key.as_ref()) != client.user_id()
                    || room.state() != RoomState::Invited
                {
                    return;
                }
                tokio::spawn(async move {
                    for _ in 0..10 {
                        if room.join().await.is_ok() {
                            return;
                        }
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                });
            },
        );
        let syncing = client.clone();
        let (pause, mut paused) = tokio::sync::watch::channel(false);
        let (report, status) = tokio::sync::watch::channel(SyncStatus::default());
        // Our own loop rather than `Client::sync`, which waits a second
        // after any sync that came back within a second (to spare servers
        // that ignore the timeout): that pause would be measured as the
        // bot's latency. Keeps syncing through a homeserver outage.
        let sync = tokio::spawn(async move {
            let mut settings = SyncSettings::default().timeout(SYNC_TIMEOUT);
            let mut catching_up = false;
            loop {
                if *paused.borrow_and_update() {
                    report.send_modify(|s| s.parked = true);
                    if paused.wait_for(|p| !*p).await.is_err() {
                        return;
                    }
                    report.send_modify(|s| s.parked = false);
                    catching_up = true;
                }
                // Back from a pause: take what is waiting, without waiting
                // for more.
                let this = if catching_up {
                    settings.clone().timeout(Duration::ZERO)
                } else {
                    settings.clone()
                };
                match syncing.sync_once(this).await {
                    Ok(response) => {
                        settings = settings.token(response.next_batch);
                        catching_up = false;
                        report.send_modify(|s| s.syncs += 1);
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
                }
            }
        });
        let id = UserId::parse(user).expect("user id");
        User {
            client,
            id,
            seen,
            pause,
            status,
            sync,
        }
    }

    /// Stops syncing (a phone in a pocket) and returns once no sync is in
    /// flight, so an idle user costs the homeserver and this process
    /// nothing while others are measured. Nothing is lost: the next sync
    /// after [`User::resume`] brings what happened meanwhile.
    pub async fn pause(&self) {
        self.pause.send_replace(true);
        // The sync in flight is a long poll that ends on news for this user
        // or after `SYNC_TIMEOUT`: news in the user's own account data ends
        // it now, without waking anyone else.
        let mut status = self.status.clone();
        let n = status.borrow().syncs;
        self.client
            .account()
            .set_account_data_raw(
                "org.ipt_bot.test.pause".into(),
                matrix_sdk::ruma::serde::Raw::new(&serde_json::json!({ "n": n }))
                    .expect("json")
                    .cast_unchecked(),
            )
            .await
            .expect("account data");
        tokio::time::timeout(SYNC_TIMEOUT * 2, status.wait_for(|s| s.parked))
            .await
            .expect("sync loop parks")
            .expect("sync loop running");
    }

    /// Syncs again after [`User::pause`]; returns once a first sync has
    /// brought what happened meanwhile.
    pub async fn resume(&self) {
        let mut status = self.status.clone();
        let before = status.borrow().syncs;
        self.pause.send_replace(false);
        tokio::time::timeout(SYNC_TIMEOUT * 2, status.wait_for(|s| s.syncs > before))
            .await
            .expect("a sync after resuming")
            .expect("sync loop running");
    }

    /// Creates an encrypted private room and invites `invite`.
    pub async fn create_encrypted_room(&self, name: &str, invite: &[&UserId]) -> Room {
        self.create_room_rotating(name, invite, None).await
    }

    /// Like [`User::create_encrypted_room`], with the room key rotated
    /// after every `messages` messages sent with it (the
    /// `rotation_period_msgs` of `m.room.encryption`).
    pub async fn create_rotating_room(
        &self,
        name: &str,
        invite: &[&UserId],
        messages: u64,
    ) -> Room {
        self.create_room_rotating(name, invite, Some(messages))
            .await
    }

    async fn create_room_rotating(
        &self,
        name: &str,
        invite: &[&UserId],
        messages: Option<u64>,
    ) -> Room {
        let mut request = CreateRoom::new();
        request.name = Some(name.to_owned());
        request.preset = Some(RoomPreset::PrivateChat);
        request.invite = invite.iter().map(|u| (*u).to_owned()).collect();
        let mut content = RoomEncryptionEventContent::with_recommended_defaults();
        if let Some(n) = messages {
            content.rotation_period_msgs = Some(n.try_into().expect("a small count"));
        }
        request.initial_state = vec![InitialStateEvent::with_empty_state_key(content).to_raw_any()];
        self.client.create_room(request).await.expect("create room")
    }

    /// Waits until this user is joined to `room`.
    pub async fn joined(&self, room: &RoomId, timeout: Duration) -> Room {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(r) = self.client.get_room(room)
                && r.state() == RoomState::Joined
            {
                return r;
            }
            assert!(Instant::now() < deadline, "{} did not join {room}", self.id);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Sends a text message to `room`.
    pub async fn say(&self, room: &RoomId, text: &str) -> OwnedEventId {
        let room = self.client.get_room(room).expect("in room");
        room.send(RoomMessageEventContent::text_plain(text))
            .await
            .expect("send")
            .response
            .event_id
    }

    /// Shares this client's room key for `room` with the members' devices
    /// now, by sending an event nobody reads, rather than with the next
    /// message (a client does the same when its user starts typing): then
    /// timing that message does not time this client's key sharing.
    pub async fn share_room_key(&self, room: &RoomId) {
        let room = self.client.get_room(room).expect("in room");
        room.send_raw("org.ipt_bot.test.share_room_key", serde_json::json!({}))
            .await
            .expect("send");
    }

    /// Reacts to `event` in `room`.
    pub async fn react(&self, room: &RoomId, event: &OwnedEventId, key: &str) {
        let room = self.client.get_room(room).expect("in room");
        room.send(ReactionEventContent::new(Annotation::new(
            event.clone(),
            key.to_owned(),
        )))
        .await
        .expect("react");
    }

    /// Everything seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("seen lock").clone()
    }

    /// Waits for the first message (from now on or already seen, as
    /// `pred` decides) matching `pred`.
    pub async fn wait_for(&self, timeout: Duration, pred: impl Fn(&Seen) -> bool) -> Option<Seen> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(found) = self.seen().into_iter().find(|s| pred(s)) {
                return Some(found);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Waits until this client sees `who` joined to `room` and knows at
    /// least one of their devices: a client shares its room keys only with
    /// the devices it knows of members it has seen join.
    pub async fn sees_joined(&self, who: &UserId, room: &RoomId, timeout: Duration) {
        use matrix_sdk::ruma::events::room::member::MembershipState;
        let deadline = Instant::now() + timeout;
        loop {
            let joined = match self.client.get_room(room) {
                Some(r) => matches!(
                    r.get_member_no_sync(who).await,
                    Ok(Some(m)) if *m.membership() == MembershipState::Join
                ),
                None => false,
            };
            let devices = self
                .client
                .encryption()
                .get_user_devices(who)
                .await
                .map(|d| d.devices().count())
                .unwrap_or(0);
            if joined && devices > 0 {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{} did not see {who} join {room} with a device",
                self.id
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Messages from `sender` in direct rooms (any room but `except`).
    pub fn direct_from(&self, sender: &UserId, except: &[&RoomId]) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| s.sender == sender && !except.contains(&s.room.as_ref()))
            .collect()
    }
}

/// The bot account's password in the test homeserver.
pub const BOT_PASSWORD: &str = "bot-password-e2e";
/// The content field that marks a bot notice as an alert.
pub const ALERT_FIELD: &str = "org.ipt_bot.alert";

/// A homeserver with a bot account, a moderator and a member; an
/// encrypted group room (moderator power 100, bot and member invited) and
/// an encrypted moderators' room.
#[derive(Debug)]
pub struct World {
    /// The homeserver.
    pub synapse: Synapse,
    /// The bot's database and Matrix store.
    pub dir: TempDir,
    /// The bot's user id.
    pub bot: String,
    /// Power 100 in the group room, member of the moderators' room.
    pub moderator: User,
    /// An ordinary member of the group room.
    pub member: User,
    /// The encrypted group room.
    pub group: OwnedRoomId,
    /// The encrypted moderators' room.
    pub mods: OwnedRoomId,
    /// One world at a time: on two cores, parallel homeservers and bots
    /// would measure each other rather than the bot.
    _serial: tokio::sync::MutexGuard<'static, ()>,
}

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

impl World {
    /// Starts Synapse and sets the world up; `None` when Synapse is not
    /// installed (outside CI).
    pub async fn new() -> Option<World> {
        // RUST_LOG=ipt_bot=debug shows what the bot did when a test fails.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            // The test writer prints to stdout; colour only at a terminal.
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
            .try_init();
        let serial = SERIAL.lock().await;
        // A Synapse that fails to start panics (and fails the test); only a
        // missing install outside CI skips.
        let synapse = tokio::task::spawn_blocking(Synapse::start)
            .await
            .expect("starting Synapse")?;
        let bot = synapse.register("ipt-bot", BOT_PASSWORD, false);
        let moderator_id = synapse.register("moderator", "moderator-password", false);
        let member_id = synapse.register("member", "member-password", false);
        let moderator = User::login(&synapse.base_url, &moderator_id, "moderator-password").await;
        let member = User::login(&synapse.base_url, &member_id, "member-password").await;
        let bot_id = UserId::parse(bot.as_str()).expect("bot id");
        let group = moderator
            .create_encrypted_room("support group", &[&bot_id, &member.id])
            .await
            .room_id()
            .to_owned();
        let mods = moderator
            .create_encrypted_room("moderators", &[&bot_id])
            .await
            .room_id()
            .to_owned();
        member.joined(&group, Duration::from_secs(10)).await;
        Some(World {
            synapse,
            dir: TempDir::new(),
            bot,
            moderator,
            member,
            group,
            mods,
            _serial: serial,
        })
    }

    /// Replaces the moderators' room by one whose room key rotates after
    /// every `messages` messages. Call it before the bot starts.
    pub async fn rotate_moderator_keys_every(&mut self, messages: u64) {
        let bot_id = UserId::parse(self.bot.as_str()).expect("bot id");
        self.mods = self
            .moderator
            .create_rotating_room("moderators (rotating keys)", &[&bot_id], messages)
            .await
            .room_id()
            .to_owned();
    }

    /// Lifts every rate limit for `user` (a full id) with Synapse's admin
    /// API, the override the README gives for a production bot. The test
    /// server's relaxed limits leave room creation at Synapse's default,
    /// ten in a burst and then one a minute: a bot opening a direct room
    /// with each of more than ten members would wait a minute for the
    /// eleventh.
    /// Registers an admin account, so call it once per world.
    pub async fn lift_rate_limits(&self, user: &str) {
        let password = "rate-limit-admin-password";
        let admin = self.synapse.register("rate-limit-admin", password, true);
        let client = Client::builder()
            .homeserver_url(&self.synapse.base_url)
            .build()
            .await
            .expect("build client");
        client
            .matrix_auth()
            .login_username(&admin, password)
            .send()
            .await
            .expect("admin login");
        let token = client.access_token().expect("admin token");
        matrix_sdk::reqwest::Client::new()
            .post(format!(
                "{}/_synapse/admin/v1/users/{user}/override_ratelimit",
                self.synapse.base_url
            ))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(r#"{"messages_per_second": 0, "burst_count": 0}"#)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .expect("rate limit override");
    }

    /// The bot's config, reaching the homeserver at `homeserver`.
    pub fn config(&self, homeserver: &str) -> Config {
        let text = format!(
            "[database]\nurl = \"sqlite://{db}\"\n\
             [matrix]\nhomeserver = \"{homeserver}\"\nuser = \"{bot}\"\n\
             password_env = \"IPT_E2E_BOT_PASSWORD\"\nstore_dir = \"{store}\"\n\
             [[groups]]\nplatform = \"matrix\"\nid = \"{group}\"\n\
             moderator_channel = \"{mods}\"\nregion = \"GB\"\n",
            db = self.dir.path().join("bot.db").display(),
            store = self.dir.path().join("matrix-store").display(),
            bot = self.bot,
            group = self.group,
            mods = self.mods,
        );
        // IPT_TEST_CRISIS_MODEL=off runs the bot with the rules alone, to
        // compare (the model reads on the same two cores as the homeserver).
        let text = match std::env::var("IPT_TEST_CRISIS_MODEL").as_deref() {
            Ok("off") => format!("{text}[crisis]\nmodel = \"off\"\n"),
            _ => text,
        };
        let env = |key: &str| (key == "IPT_E2E_BOT_PASSWORD").then(|| BOT_PASSWORD.to_owned());
        ipt_bot::config::parse(&text, &env).expect("valid test config")
    }

    /// The bot's user id, parsed.
    pub fn bot_id(&self) -> &UserId {
        <&UserId>::try_from(self.bot.as_str()).expect("bot id")
    }

    /// Waits until every test user in `room` sees the bot joined there and
    /// knows its device: a client that has not yet seen the bot join does
    /// not share its room keys with it (as with any newcomer's device).
    /// Users added by [`World::add_member`] are waited for with
    /// [`User::sees_joined`].
    pub async fn bot_joined(&self, room: &RoomId) {
        for user in [&self.moderator, &self.member] {
            if user.client.get_room(room).is_some() {
                user.sees_joined(self.bot_id(), room, Duration::from_secs(30))
                    .await;
            }
        }
    }

    /// Another member of the group room: registers `name` (password
    /// `name-password`), logs in, is invited by the moderator and joins.
    /// Returns once the moderator's client sees them joined with a device
    /// and theirs sees the moderator's, so each can read the other.
    ///
    /// If the bot is running it welcomes them privately, which opens a
    /// direct room with them; someone who joined before the bot did is
    /// not welcomed, and has no direct room until the bot first needs one.
    /// The bot's side is not checked here: it learns a member's devices
    /// when it needs to encrypt for them.
    pub async fn add_member(&self, name: &str) -> User {
        let password = format!("{name}-password");
        let id = self.synapse.register(name, &password, false);
        let user = User::login(&self.synapse.base_url, &id, &password).await;
        self.moderator
            .client
            .get_room(&self.group)
            .expect("moderator in the group")
            .invite_user_by_id(&user.id)
            .await
            .expect("invite");
        // Joining is also what the invite handler does; whichever comes
        // second finds the user joined already.
        user.client
            .join_room_by_id(&self.group)
            .await
            .expect("join the group");
        user.joined(&self.group, Duration::from_secs(10)).await;
        let timeout = Duration::from_secs(30);
        self.moderator
            .sees_joined(&user.id, &self.group, timeout)
            .await;
        user.sees_joined(&self.moderator.id, &self.group, timeout)
            .await;
        user
    }

    /// Matches bot messages in `room`.
    pub fn from_bot_in<'a>(&'a self, room: &'a RoomId) -> impl Fn(&Seen) -> bool + 'a {
        move |s: &Seen| s.room == room && s.sender == self.bot
    }

    /// The member's direct rooms with the bot: anything but the group.
    pub fn is_dm_from_bot(&self, s: &Seen) -> bool {
        s.sender == self.bot && s.room != self.group && s.room != self.mods
    }
}

/// The bot, running in-process as `ipt-bot run` would.
#[derive(Debug)]
pub struct Bot {
    stop: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Bot {
    /// Starts the bot with `config`.
    pub fn start(config: Config) -> Bot {
        let stop = CancellationToken::new();
        let run = ipt_bot::runtime::run_until(config, stop.clone());
        let task = tokio::spawn(async move {
            let result = run.await;
            // Said now: otherwise only `stop` tells, after a test has timed
            // out waiting for a bot that is not there.
            if let Err(error) = &result {
                eprintln!("the bot stopped with an error: {error:#}");
            }
            result
        });
        Bot { stop, task }
    }

    /// Stops it gracefully and checks it ended without error.
    pub async fn stop(self) {
        self.stop.cancel();
        self.task
            .await
            .expect("bot task")
            .expect("bot stopped cleanly");
    }
}

/// The alert id a bot notice carries, if it is an alert.
pub fn alert_id(s: &Seen) -> Option<i64> {
    s.json["content"][ALERT_FIELD].as_i64()
}

/// The bot's device id, from its saved session.
pub fn device_of(world: &World) -> String {
    let saved = std::fs::read_to_string(world.dir.path().join("matrix-store/session.json"))
        .expect("session saved");
    let json: serde_json::Value = serde_json::from_str(&saved).expect("session json");
    json["session"]["device_id"]
        .as_str()
        .expect("device id")
        .to_owned()
}
