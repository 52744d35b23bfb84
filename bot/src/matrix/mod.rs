//! The Matrix adapter, on matrix-sdk with its SQLite state and crypto store.
//!
//! What members type, in group rooms and in a direct room with the bot:
//! `!ipt <command> [args]` (the prefix is `matrix.command_prefix`), e.g.
//! `!ipt learn grief`, `!ipt checkin`, `!ipt alert claim 3`. Moderators can
//! also claim an alert by reacting ✅ to it in the moderators' room.
//!
//! Responsibilities, all translation (no business rule lives here):
//! - **Login and session.** Password or access token from the environment;
//!   the session (user, device, tokens) is saved in `store_dir/session.json`
//!   (mode 0600) and restored on the next start, so the bot keeps its device
//!   and keeps decrypting. matrix-sdk does not save the session itself.
//! - **Sync.** The very first start skips history (one sync before any
//!   handler is registered). Later starts resume from the sync token saved
//!   after every handled sync, so messages posted while the bot was down are
//!   still assessed; commands older than [`COMMAND_MAX_AGE`] are not answered.
//!   The token is saved only after the sync's events were handled: a crash
//!   in between replays them, and the engine folds a replayed crisis message
//!   into the open alert.
//! - **Rooms.** A room is the moderators' room of a group, a direct room
//!   (marked `is_direct`, or just the bot and one person in a room that is
//!   not a group), or a group room. Invites are accepted (optionally only
//!   from `invite_servers`).
//! - **Replies.** `m.notice` with a plain and an escaped HTML body, split
//!   when long, never pinging `@room`. Replies meant for the member alone go
//!   to their direct room (opened on first need, encrypted).
//! - **Delivery** ([`MatrixSink`]): outbox rows are sent with the delivery
//!   key as the transaction id, so a retry after a crash never shows twice.

pub mod render;

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use ipt_core::engine::{Engine, Event, Reply, Sender, Visibility};
use ipt_core::ids::{GroupRef, MemberRef, Platform};
use ipt_core::outbox::{Delivery, DeliveryKind, DeliveryResult, DeliverySink, TargetKind};
use matrix_sdk::authentication::matrix::MatrixSession;
use matrix_sdk::config::{RequestConfig, SyncSettings};
use matrix_sdk::event_handler::Ctx;
use matrix_sdk::ruma::api::client::filter::FilterDefinition;
use matrix_sdk::ruma::api::client::sync::sync_events;
use matrix_sdk::ruma::events::reaction::OriginalSyncReactionEvent;
use matrix_sdk::ruma::events::room::member::{
    MembershipChange, OriginalSyncRoomMemberEvent, StrippedRoomMemberEvent,
};
use matrix_sdk::ruma::events::room::message::{
    MessageType, OriginalSyncRoomMessageEvent, Relation,
};
use matrix_sdk::ruma::events::room::power_levels::UserPowerLevel;
use matrix_sdk::ruma::{
    MilliSecondsSinceUnixEpoch, OwnedEventId, OwnedRoomId, OwnedTransactionId, OwnedUserId,
    RoomAliasId, RoomId, RoomOrAliasId, UserId,
};
use matrix_sdk::{Client, Room, RoomState};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex as AsyncMutex;
use tokio_util::sync::CancellationToken;

use crate::config::{MatrixAuth, MatrixConfig, redact_url};

/// Commands older than this (by the homeserver's timestamp) are not
/// answered after a restart: the member has moved on. Crisis language is
/// assessed whatever its age.
pub const COMMAND_MAX_AGE: Duration = Duration::from_secs(5 * 60);

/// People who joined while the bot was down are still welcomed, up to
/// this long after.
pub const WELCOME_MAX_AGE: Duration = Duration::from_secs(24 * 3600);

/// How long a room's kind (group, moderators' room, direct) is trusted
/// without looking again.
const KIND_TTL: Duration = Duration::from_secs(60);

/// Power level from which a group member counts as a moderator.
pub const MODERATOR_POWER: i64 = 50;

/// The custom field that marks a bot notice as an alert, so a ✅ reaction
/// to it claims that alert.
const ALERT_FIELD: &str = "org.ipt_bot.alert";

/// Commands whose answers belong in the moderators' room when asked there.
const MODERATOR_COMMANDS: &[&str] = &["alerts", "alert", "stats", "setup", "help", "homework"];

/// Reactions that claim an alert.
const CLAIM_KEYS: &[&str] = &["✅", "✔️", "✔", "☑️", "☑"];

/// Timeline events asked for per room when resuming after downtime; more
/// than this many messages in one room while down leaves a gap (logged).
const RESUME_TIMELINE_LIMIT: u32 = 200;

/// What is kept in `store_dir/session.json`.
#[derive(Serialize, Deserialize)]
struct SavedSession {
    homeserver: String,
    session: MatrixSession,
    #[serde(default)]
    sync_token: Option<String>,
}

/// A logged-in Matrix client with the bot's handlers; see the module docs.
#[derive(Clone)]
pub struct MatrixAdapter {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for MatrixAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MatrixAdapter")
            .field("user", &self.inner.me)
            .finish_non_exhaustive()
    }
}

struct Inner {
    client: Client,
    engine: Engine,
    me: OwnedUserId,
    /// `"!ipt"`.
    prefix: String,
    /// `"!ipt "`, as help texts show it.
    shown_prefix: String,
    invite_servers: Vec<String>,
    session_file: PathBuf,
    /// What `session_file` holds; kept here so each sync writes the file
    /// once instead of reading it back first.
    saved: Mutex<SavedSession>,
    /// Room ids of configured groups and moderator rooms given by alias,
    /// mapped to the alias the store knows them by.
    aliases: Mutex<HashMap<OwnedRoomId, String>>,
    /// Aliases already resolved.
    resolved: Mutex<HashMap<String, OwnedRoomId>>,
    /// Room kinds recently worked out, with when.
    kinds: Mutex<HashMap<OwnedRoomId, (RoomKind, std::time::Instant)>>,
    /// When unresolved aliases were last looked up.
    alias_refresh: Mutex<Option<std::time::Instant>>,
    /// One direct room is opened at a time, so two deliveries to the same
    /// member never create two rooms.
    dm_lock: AsyncMutex<()>,
    /// One send at a time per room. matrix-sdk checks a room key's age,
    /// then encrypts; two sends racing while the key rotates panic inside
    /// it ("Session expired"). In turn they share or rotate the key first.
    room_sends: Mutex<HashMap<OwnedRoomId, Arc<AsyncMutex<()>>>>,
    /// Events handled recently (a join can arrive in both the state and the
    /// timeline of one sync; a replayed sync repeats events).
    seen: Mutex<Seen>,
    /// Interactive replies go out from their own task, in order. A handler
    /// that sent them itself would hold up the sync loop, and with it the
    /// device-key queries matrix-sdk needs to encrypt them for the members.
    outgoing: tokio::sync::mpsc::UnboundedSender<Outgoing>,
}

#[derive(Default)]
struct Seen {
    set: HashSet<OwnedEventId>,
    order: VecDeque<OwnedEventId>,
}

impl Seen {
    /// Records `id`; false if it was already there.
    fn insert(&mut self, id: &OwnedEventId) -> bool {
        if !self.set.insert(id.clone()) {
            return false;
        }
        self.order.push_back(id.clone());
        if self.order.len() > 10_000
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&old);
        }
        true
    }
}

/// Replies waiting to be sent, in order.
struct Outgoing {
    room: Room,
    kind: RoomKind,
    user: OwnedUserId,
    replies: Vec<Reply>,
}

/// What kind of room an event came from.
#[derive(Clone)]
enum RoomKind {
    /// A direct room with one member.
    Direct,
    /// The moderators' room; the string is the id the store knows it by.
    Moderators(String),
    /// A group room; the string is the id the store knows it by.
    Group(String),
}

impl MatrixAdapter {
    /// Logs in (or restores the saved session) and opens the stores in
    /// `store_dir`. Nothing is synced yet.
    pub async fn connect(config: &MatrixConfig, engine: Engine) -> anyhow::Result<Self> {
        let me = UserId::parse(config.user.as_str())
            .map_err(|_| anyhow::anyhow!("matrix.user \"{}\" is not a user id", config.user))?;
        create_private_dir(&config.store_dir)?;
        let session_file = config.store_dir.join("session.json");
        // The config has already dropped any user:password from the URL
        // (matrix-sdk never sends them but prints this URL in its spans and
        // errors); `redact_url` guards what we print ourselves all the same.
        let homeserver = without_credentials(config.homeserver.as_str());
        let mut saved = read_session(&session_file)?;
        if let Some(other) = &mut saved {
            // A session saved by an earlier version may hold the URL as
            // written, credentials and all; it is the same server.
            other.homeserver = without_credentials(&other.homeserver);
        }
        if let Some(other) = &saved
            && (other.session.meta.user_id != me || other.homeserver != homeserver)
        {
            anyhow::bail!(
                "matrix.store_dir {} belongs to {} on {}; use another store_dir for {me} on {}",
                config.store_dir.display(),
                other.session.meta.user_id,
                redact_url(&other.homeserver),
                redact_url(&homeserver)
            );
        }
        if saved.is_none() && config.store_dir.join("sdk").exists() {
            anyhow::bail!(
                "matrix.store_dir {} holds encryption keys but no session.json; restore session.json, \
                 or delete the whole store_dir to start as a new device (earlier encrypted messages \
                 will be unreadable to the bot)",
                config.store_dir.display()
            );
        }
        let client = Client::builder()
            .homeserver_url(&homeserver)
            .sqlite_store(config.store_dir.join("sdk"), None)
            // Our own loops retry (sync with backoff, the outbox with its
            // policy); matrix-sdk's default retries forever.
            .request_config(
                RequestConfig::new()
                    .retry_limit(2)
                    .timeout(Duration::from_secs(30)),
            )
            .build()
            .await
            .context("cannot open the Matrix client store in store_dir")?;
        let saved = match saved {
            Some(saved) => {
                client
                    .restore_session(saved.session.clone())
                    .await
                    .context("cannot restore the saved Matrix session")?;
                tracing::info!(user = %me, device = %saved.session.meta.device_id, "Matrix session restored");
                saved
            }
            None => {
                let session = match login(&client, config, &me, &homeserver).await {
                    Ok(session) => session,
                    Err(error) => {
                        // Nothing was stored for a device that never came
                        // to be: a corrected password must find a clean slate.
                        drop(client);
                        let _ = std::fs::remove_dir_all(config.store_dir.join("sdk"));
                        return Err(error);
                    }
                };
                let saved = SavedSession {
                    homeserver: homeserver.clone(),
                    session,
                    sync_token: None,
                };
                write_session(&session_file, &saved)?;
                saved
            }
        };
        let prefix = config.command_prefix.clone();
        let (outgoing, mut queue) = tokio::sync::mpsc::unbounded_channel::<Outgoing>();
        let inner = Inner {
            client,
            engine: engine.with_own_identity(MemberRef::new(Platform::Matrix, me.as_str())),
            me,
            shown_prefix: format!("{prefix} "),
            prefix,
            invite_servers: config.invite_servers.clone(),
            session_file,
            saved: Mutex::new(saved),
            aliases: Mutex::default(),
            resolved: Mutex::default(),
            alias_refresh: Mutex::default(),
            kinds: Mutex::default(),
            dm_lock: AsyncMutex::new(()),
            room_sends: Mutex::default(),
            seen: Mutex::default(),
            outgoing,
        };
        let inner = Arc::new(inner);
        let weak = Arc::downgrade(&inner);
        tokio::spawn(async move {
            while let Some(out) = queue.recv().await {
                let Some(inner) = weak.upgrade() else {
                    return;
                };
                // Supervised: a panic inside matrix-sdk loses these replies
                // (logged), never the task that sends all later ones.
                let room = out.room.room_id().to_owned();
                let sent = tokio::spawn(async move {
                    inner
                        .send_replies(&out.room, &out.kind, &out.user, out.replies)
                        .await;
                })
                .await;
                if let Err(error) = sent {
                    tracing::error!(%room, %error, "sending replies failed inside the Matrix client; later replies still go out");
                }
            }
        });
        Ok(Self { inner })
    }

    /// The bot's user id.
    pub fn user_id(&self) -> &UserId {
        &self.inner.me
    }

    /// The matrix-sdk client (tests look at its rooms).
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    /// The sink the outbox workers deliver Matrix rows through.
    pub fn sink(&self) -> Arc<dyn DeliverySink> {
        Arc::new(MatrixSink {
            inner: self.inner.clone(),
        })
    }

    /// Brings the bot up to date: on the first start one sync that skips
    /// history; then handlers are registered and pending invites accepted.
    /// Rooms named in the config (`ids`, aliases allowed) are joined where
    /// possible and their aliases remembered.
    pub async fn prepare(&self, rooms: &[String]) -> anyhow::Result<()> {
        let inner = &self.inner;
        if inner.sync_token().is_none() {
            let response = inner
                .client
                .sync_once(SyncSettings::default())
                .await
                .context("the first sync with the homeserver failed")?;
            inner.save_token(&response.next_batch)?;
            tracing::info!("first start: history skipped");
        }
        // A weak reference: the client must not keep itself alive through
        // its own handlers once the adapter is dropped (a restart in the
        // same process opens the same stores again).
        inner
            .client
            .add_event_handler_context(Arc::downgrade(inner));
        inner.client.add_event_handler(on_message);
        inner.client.add_event_handler(on_member);
        inner.client.add_event_handler(on_invite);
        inner.client.add_event_handler(on_reaction);
        inner.client.add_event_handler(on_undecryptable);
        for room in inner.client.invited_rooms() {
            let inviter = room.invite_details().await.ok().map(|i| i.inviter_id);
            inner.accept_invite(&room, inviter.as_deref()).await;
        }
        for id in rooms {
            match inner.room(id).await {
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(room = %id, %error, "configured room is not reachable yet; invite the bot to it")
                }
            }
        }
        Ok(())
    }

    /// Syncs until `shutdown`, retrying with backoff while the homeserver
    /// is unreachable. Fails only if the homeserver rejects the session.
    pub async fn run(&self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let inner = &self.inner;
        let mut filter = FilterDefinition::default();
        filter.room.timeline.limit = Some(RESUME_TIMELINE_LIMIT.into());
        let mut backoff = Duration::from_millis(500);
        let mut token = inner.sync_token();
        loop {
            let mut settings = SyncSettings::default()
                .timeout(Duration::from_secs(30))
                .filter(sync_events::v3::Filter::FilterDefinition(filter.clone()));
            if let Some(token) = &token {
                settings = settings.token(token.clone());
            }
            // Rooms joined before this sync: a room joined during it starts
            // with a cut-off timeline, which is no gap.
            let known: HashSet<OwnedRoomId> = inner
                .client
                .joined_rooms()
                .iter()
                .map(|r| r.room_id().to_owned())
                .collect();
            let result = tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                result = inner.client.sync_once(settings) => result,
            };
            match result {
                Ok(response) => {
                    for (room, update) in &response.rooms.joined {
                        if update.timeline.limited && token.is_some() && known.contains(room) {
                            tracing::warn!(
                                %room,
                                "more messages arrived in this room while the bot was away than one sync returns; \
                                 the oldest were not read for crisis language"
                            );
                        }
                    }
                    inner.save_token(&response.next_batch)?;
                    token = Some(response.next_batch);
                    backoff = Duration::from_millis(500);
                }
                Err(error) => {
                    if let Some(matrix_sdk::ruma::api::error::ErrorKind::UnknownToken(_)) =
                        error.client_api_error_kind()
                    {
                        anyhow::bail!(
                            "the homeserver no longer accepts the bot's session; delete {} and start again to log in anew",
                            inner.session_file.display()
                        );
                    }
                    tracing::warn!(%error, retry_in = ?backoff, "Matrix sync failed; retrying");
                    tokio::select! {
                        () = shutdown.cancelled() => return Ok(()),
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
        }
    }
}

impl Inner {
    fn sync_token(&self) -> Option<String> {
        self.saved.lock().expect("session lock").sync_token.clone()
    }

    fn save_token(&self, token: &str) -> anyhow::Result<()> {
        let mut saved = self.saved.lock().expect("session lock");
        saved.sync_token = Some(token.to_owned());
        write_session(&self.session_file, &saved)
    }

    fn first_time(&self, id: &OwnedEventId) -> bool {
        self.seen.lock().expect("seen lock").insert(id)
    }

    /// The id the store knows this room by (an alias from the config, or
    /// the room id).
    fn store_id(&self, room: &RoomId) -> String {
        self.aliases
            .lock()
            .expect("aliases lock")
            .get(room)
            .cloned()
            .unwrap_or_else(|| room.to_string())
    }

    /// A room by id or alias, joined if the bot is not in it yet.
    async fn room(&self, id: &str) -> anyhow::Result<Room> {
        let room_id = self.resolve(id).await?;
        if let Some(room) = self.client.get_room(&room_id)
            && room.state() == RoomState::Joined
        {
            return Ok(room);
        }
        let target = RoomOrAliasId::parse(id).context("not a room id or alias")?;
        let room = self
            .client
            .join_room_by_id_or_alias(&target, &[])
            .await
            .with_context(|| format!("the bot is not in {id} and cannot join it"))?;
        Ok(room)
    }

    /// Resolves an alias (remembering it); a room id is returned as it is.
    async fn resolve(&self, id: &str) -> anyhow::Result<OwnedRoomId> {
        if let Ok(room_id) = RoomId::parse(id) {
            return Ok(room_id);
        }
        if let Some(found) = self.resolved.lock().expect("resolved lock").get(id) {
            return Ok(found.clone());
        }
        let alias = RoomAliasId::parse(id).context("not a room id or alias")?;
        let response = self
            .client
            .resolve_room_alias(&alias)
            .await
            .with_context(|| format!("cannot resolve the room alias {id}"))?;
        self.resolved
            .lock()
            .expect("resolved lock")
            .insert(id.to_owned(), response.room_id.clone());
        self.aliases
            .lock()
            .expect("aliases lock")
            .insert(response.room_id.clone(), id.to_owned());
        Ok(response.room_id)
    }

    /// Accepts an invite, unless `invite_servers` excludes its sender.
    async fn accept_invite(&self, room: &Room, inviter: Option<&UserId>) {
        let allowed = self.invite_servers.is_empty()
            || inviter.is_some_and(|inviter| {
                self.invite_servers
                    .iter()
                    .any(|s| s.eq_ignore_ascii_case(inviter.server_name().as_str()))
            });
        if !allowed {
            tracing::info!(room = %room.room_id(), inviter = ?inviter, "invite declined: not from a listed server");
            if let Err(error) = room.leave().await {
                tracing::warn!(%error, "could not decline the invite");
            }
            return;
        }
        // Synapse can briefly refuse a join right after the invite.
        let mut wait = Duration::from_millis(200);
        for attempt in 1..=6 {
            match room.join().await {
                Ok(()) => {
                    tracing::info!(room = %room.room_id(), "joined on invite");
                    return;
                }
                Err(error) if attempt < 6 => {
                    tracing::debug!(%error, attempt, "join failed; retrying");
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                }
                Err(error) => {
                    tracing::warn!(room = %room.room_id(), %error, "could not join on invite")
                }
            }
        }
    }

    /// Resolves the aliases of stored groups and moderators' rooms that are
    /// not resolved yet (say the homeserver was unreachable at start), at
    /// most once a minute.
    async fn refresh_aliases(&self) {
        {
            let mut last = self.alias_refresh.lock().expect("refresh lock");
            if last.is_some_and(|t| t.elapsed() < Duration::from_secs(60)) {
                return;
            }
            *last = Some(std::time::Instant::now());
        }
        let Ok(groups) = self.engine.store().groups().await else {
            return;
        };
        for g in groups.iter().filter(|g| g.platform == Platform::Matrix) {
            for id in std::iter::once(&g.external_id).chain(g.moderator_channel.as_ref()) {
                let known = self
                    .resolved
                    .lock()
                    .expect("resolved lock")
                    .contains_key(id);
                if id.starts_with('#') && !known {
                    let _ = self.resolve(id).await;
                }
            }
        }
    }

    /// Which kind of room this is. Remembered for [`KIND_TTL`] so that an
    /// ordinary chat message costs no database or member-list lookup;
    /// forgotten at once when a room's members or a group's setup change.
    async fn kind(&self, room: &Room) -> RoomKind {
        if let Some((kind, at)) = self.kinds.lock().expect("kinds lock").get(room.room_id())
            && at.elapsed() < KIND_TTL
        {
            return kind.clone();
        }
        let kind = self.lookup_kind(room).await;
        self.kinds.lock().expect("kinds lock").insert(
            room.room_id().to_owned(),
            (kind.clone(), std::time::Instant::now()),
        );
        kind
    }

    /// Forgets what [`Inner::kind`] remembered (`None`: every room).
    fn forget_kind(&self, room: Option<&RoomId>) {
        let mut kinds = self.kinds.lock().expect("kinds lock");
        match room {
            Some(room) => {
                kinds.remove(room);
            }
            None => kinds.clear(),
        }
    }

    async fn lookup_kind(&self, room: &Room) -> RoomKind {
        if !self
            .aliases
            .lock()
            .expect("aliases lock")
            .contains_key(room.room_id())
        {
            self.refresh_aliases().await;
        }
        let id = self.store_id(room.room_id());
        let store = self.engine.store();
        match store.group(Platform::Matrix, &id).await {
            Ok(Some(_)) => return RoomKind::Group(id),
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, "group lookup failed"),
        }
        if let Ok(groups) = store.groups().await
            && groups.iter().any(|g| {
                g.platform == Platform::Matrix
                    && g.moderator_channel.as_deref() == Some(id.as_str())
            })
        {
            return RoomKind::Moderators(id);
        }
        // A direct room holds the bot and one person, whatever its `is_direct`
        // flag says: a private answer must never reach a third person.
        if member_count(room).await <= 2 {
            RoomKind::Direct
        } else {
            RoomKind::Group(id)
        }
    }

    /// Whether `user` moderates the group whose room is `room` (store id
    /// `group_id`): power level of at least 50 there, or a member of the
    /// group's moderators' room.
    async fn is_moderator(&self, room: &Room, group_id: &str, user: &UserId) -> bool {
        match room.get_user_power_level(user).await {
            Ok(UserPowerLevel::Infinite) => return true,
            Ok(UserPowerLevel::Int(level)) if i64::from(level) >= MODERATOR_POWER => return true,
            _ => {}
        }
        let Ok(Some(group)) = self.engine.store().group(Platform::Matrix, group_id).await else {
            return false;
        };
        let Some(mods) = group.moderator_channel else {
            return false;
        };
        let Ok(mods_id) = self.resolve(&mods).await else {
            return false;
        };
        let Some(mods_room) = self.client.get_room(&mods_id) else {
            return false;
        };
        matches!(
            mods_room.get_member_no_sync(user).await,
            Ok(Some(m)) if *m.membership() == matrix_sdk::ruma::events::room::member::MembershipState::Join
        )
    }

    async fn sender(&self, room: &Room, user: &UserId, moderator: bool) -> Sender {
        let display_name = match room.get_member_no_sync(user).await {
            Ok(Some(member)) => member.name().to_owned(),
            _ => user.localpart().to_owned(),
        };
        Sender {
            member: MemberRef::new(Platform::Matrix, user.as_str()),
            display_name,
            moderator,
        }
    }

    /// The direct room with `user`, opened (encrypted, `is_direct`) if
    /// there is none yet.
    async fn direct_room(&self, user: &UserId) -> anyhow::Result<Room> {
        let _one_at_a_time = self.dm_lock.lock().await;
        // Rooms marked direct with this member first, then any room of just
        // the two of us that is not a group (a member who invited the bot to
        // a private chat without marking it direct). Either way the member
        // must still be in it (or invited), and nobody else.
        let marked: Vec<Room> = self.client.get_dm_rooms(user).collect();
        for room in marked.into_iter().chain(self.client.joined_rooms()) {
            if self.private_with(&room, user).await {
                return Ok(room);
            }
        }
        self.client
            .create_dm(user)
            .await
            .with_context(|| format!("cannot open a direct room with {user}"))
    }

    /// Queues interactive replies for the reply task.
    fn reply(&self, room: &Room, kind: &RoomKind, user: &UserId, replies: Vec<Reply>) {
        if replies.is_empty() {
            return;
        }
        let out = Outgoing {
            room: room.clone(),
            kind: kind.clone(),
            user: user.to_owned(),
            replies,
        };
        if self.outgoing.send(out).is_err() {
            tracing::warn!("reply dropped: the adapter is shutting down");
        }
    }

    /// Whether `room` holds exactly the bot and `user` (joined or invited)
    /// and is not a group.
    async fn private_with(&self, room: &Room, user: &UserId) -> bool {
        use matrix_sdk::ruma::events::room::member::MembershipState;
        if room.state() != RoomState::Joined || member_count(room).await != 2 {
            return false;
        }
        let present = matches!(
            room.get_member_no_sync(user).await,
            Ok(Some(m)) if matches!(m.membership(), MembershipState::Join | MembershipState::Invite)
        );
        present && matches!(self.kind(room).await, RoomKind::Direct)
    }

    /// Sends interactive replies: public ones to `room`, private ones to
    /// the member's direct room unless `room` is already private.
    async fn send_replies(&self, room: &Room, kind: &RoomKind, user: &UserId, replies: Vec<Reply>) {
        for reply in replies {
            let target = match (reply.visibility, kind) {
                (Visibility::Here, _) | (_, RoomKind::Direct | RoomKind::Moderators(_)) => {
                    room.clone()
                }
                (Visibility::Private, RoomKind::Group(_)) => match self.direct_room(user).await {
                    Ok(dm) => dm,
                    Err(error) => {
                        tracing::warn!(%error, "could not open a direct room for a private reply");
                        continue;
                    }
                },
            };
            match self
                .send(&target, &reply.text, None, Dress::default())
                .await
            {
                Ok(()) => tracing::debug!(room = %target.room_id(), "reply sent"),
                Err(error) => tracing::warn!(%error, room = %target.room_id(), "reply failed"),
            }
            if let Some(image) = reply.image {
                let lock = self.room_send_lock(&target);
                let _turn = lock.lock().await;
                if let Err(error) = target
                    .send_attachment(
                        image.name,
                        &mime::IMAGE_PNG,
                        image.png,
                        matrix_sdk::attachment::AttachmentConfig::new(),
                    )
                    .await
                {
                    tracing::warn!(%error, "chart upload failed");
                }
            }
        }
    }

    /// The lock that gives sends to `room` their turn.
    fn room_send_lock(&self, room: &Room) -> Arc<AsyncMutex<()>> {
        let mut sends = self.room_sends.lock().expect("room send locks");
        sends.entry(room.room_id().to_owned()).or_default().clone()
    }

    /// Sends `text` to `room` in its turn (see `room_sends`). A panic inside
    /// matrix-sdk is caught and returned as a failure, so the outbox retries
    /// the row and the calling task lives on.
    async fn send(
        &self,
        room: &Room,
        text: &str,
        txn: Option<&str>,
        dress: Dress,
    ) -> Result<(), SendFailure> {
        // The turn goes with the send: were this call given up (the outbox's
        // timeout), the send would keep its turn until it ends.
        let turn = self.room_send_lock(room).lock_owned().await;
        let (room, text, txn) = (room.clone(), text.to_owned(), txn.map(str::to_owned));
        let send = async move {
            let result = send_text(&room, &text, txn.as_deref(), &dress).await;
            drop(turn);
            result
        };
        match tokio::spawn(send).await {
            Ok(result) => result.map_err(SendFailure::Matrix),
            Err(error) => Err(SendFailure::Panicked(error.to_string())),
        }
    }

    /// Splits `!ipt name args`; `None` if `body` is not a command.
    fn command<'a>(&self, body: &'a str) -> Option<(String, &'a str)> {
        let trimmed = body.trim_start();
        let head = trimmed.get(..self.prefix.len())?;
        if !head.eq_ignore_ascii_case(&self.prefix) {
            return None;
        }
        let rest = &trimmed[self.prefix.len()..];
        if !(rest.is_empty() || rest.starts_with(char::is_whitespace)) {
            return None;
        }
        let rest = rest.trim();
        let (name, args) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        let name = if name.is_empty() { "help" } else { name };
        Some((name.to_lowercase(), args.trim()))
    }

    /// `setup moderators #alias`: the room is resolved and joined first, so
    /// the store holds a room id.
    async fn setup_args(&self, name: &str, args: &str) -> Result<String, String> {
        if name != "setup" {
            return Ok(args.to_owned());
        }
        let Some((what, value)) = args.split_once(char::is_whitespace) else {
            return Ok(args.to_owned());
        };
        if !matches!(what.to_ascii_lowercase().as_str(), "moderators" | "mods") {
            return Ok(args.to_owned());
        }
        let value = value.trim();
        match self.room(value).await {
            Ok(room) => Ok(format!("{what} {}", room.room_id())),
            Err(_) => Err(format!(
                "I couldn't join {} - please invite me to that room first, then run the command again.",
                value.replace('@', "@\u{200B}")
            )),
        }
    }
}

/// Joined and invited members. The room summary's counts are only sent
/// with lazy-loaded members, so the member list itself is counted: from the
/// store, or from the homeserver when the store has none yet.
async fn member_count(room: &Room) -> usize {
    use matrix_sdk::RoomMemberships;
    match room.members_no_sync(RoomMemberships::ACTIVE).await {
        Ok(members) if !members.is_empty() => members.len(),
        _ => room
            .members(RoomMemberships::ACTIVE)
            .await
            .map_or(0, |m| m.len()),
    }
}

fn too_old(ts: MilliSecondsSinceUnixEpoch, max: Duration) -> bool {
    ts.to_system_time()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .is_some_and(|age| age > max)
}

async fn on_message(ev: OriginalSyncRoomMessageEvent, room: Room, Ctx(weak): Ctx<Weak<Inner>>) {
    let Some(inner) = weak.upgrade() else {
        return;
    };
    if ev.sender == inner.me || room.state() != RoomState::Joined || !inner.first_time(&ev.event_id)
    {
        return;
    }
    let edited = matches!(ev.content.relates_to, Some(Relation::Replacement(_)));
    let body = match (&ev.content.relates_to, &ev.content.msgtype) {
        (Some(Relation::Replacement(r)), _) => match &r.new_content.msgtype {
            MessageType::Text(t) => t.body.clone(),
            MessageType::Emote(e) => e.body.clone(),
            _ => return,
        },
        (_, MessageType::Text(t)) => t.body.clone(),
        (_, MessageType::Emote(e)) => e.body.clone(),
        // Notices are bots talking; images and files carry no text to read.
        _ => return,
    };
    // A reply quotes what it answers; only the member's own words count.
    let body = if matches!(ev.content.relates_to, Some(Relation::Reply(_))) {
        render::strip_reply_fallback(&body)
    } else {
        &body
    }
    .trim()
    .to_owned();
    if body.is_empty() {
        return;
    }
    let kind = inner.kind(&room).await;
    let mut reply_kind = kind.clone();
    tracing::debug!(room = %room.room_id(), event = %ev.event_id, "message");
    let p = inner.shown_prefix.clone();
    let command = if edited { None } else { inner.command(&body) };
    let event = match (command, &kind) {
        (Some((name, args)), _) => {
            if too_old(ev.origin_server_ts, COMMAND_MAX_AGE) {
                tracing::info!(event = %ev.event_id, "command from before a restart not answered");
                return;
            }
            let (group, moderator) = match &kind {
                RoomKind::Direct => (None, false),
                RoomKind::Moderators(id) => (Some(GroupRef::new(Platform::Matrix, id)), true),
                RoomKind::Group(id) => (
                    Some(GroupRef::new(Platform::Matrix, id)),
                    inner.is_moderator(&room, id, &ev.sender).await,
                ),
            };
            // Only a moderator's `setup moderators <room>` makes the bot
            // join a room; everyone else's is refused by the engine.
            let args = if moderator && group.is_some() {
                match inner.setup_args(&name, args).await {
                    Ok(args) => args,
                    Err(text) => {
                        inner.reply(&room, &kind, &ev.sender, vec![Reply::private(text)]);
                        return;
                    }
                }
            } else {
                args.to_owned()
            };
            // In the moderators' room, a moderator's own business (their
            // mood, their data) still goes to their direct room.
            if let RoomKind::Moderators(id) = &kind
                && !MODERATOR_COMMANDS.contains(&name.as_str())
            {
                reply_kind = RoomKind::Group(id.clone());
            }
            Event::Command {
                group,
                sender: inner.sender(&room, &ev.sender, moderator).await,
                name,
                args,
                prefix: p,
            }
        }
        (None, RoomKind::Direct) => Event::Direct {
            sender: inner.sender(&room, &ev.sender, false).await,
            text: body,
            prefix: p,
        },
        (None, RoomKind::Group(id)) => Event::Message {
            group: GroupRef::new(Platform::Matrix, id),
            sender: inner.sender(&room, &ev.sender, false).await,
            text: body,
            link: Some(
                room.room_id()
                    .matrix_to_event_uri(ev.event_id.clone())
                    .to_string(),
            ),
        },
        // Moderators talking among themselves.
        (None, RoomKind::Moderators(_)) => return,
    };
    let setup = matches!(&event, Event::Command { name, .. } if name == "setup");
    let replies = inner.engine.respond(event).await;
    if setup {
        // A room may just have become a group or a moderators' room.
        inner.forget_kind(None);
    }
    inner.reply(&room, &reply_kind, &ev.sender, replies);
}

async fn on_member(ev: OriginalSyncRoomMemberEvent, room: Room, Ctx(weak): Ctx<Weak<Inner>>) {
    let Some(inner) = weak.upgrade() else {
        return;
    };
    if !inner.first_time(&ev.event_id) {
        return;
    }
    // Someone came or went: a two-person room may have become a group.
    inner.forget_kind(Some(room.room_id()));
    if ev.state_key == inner.me {
        if matches!(
            ev.membership_change(),
            MembershipChange::Kicked | MembershipChange::Banned | MembershipChange::KickedAndBanned
        ) {
            tracing::info!(room = %room.room_id(), by = %ev.sender, "removed from the room; leaving it be");
        }
        return;
    }
    if !matches!(
        ev.membership_change(),
        MembershipChange::Joined | MembershipChange::InvitationAccepted
    ) {
        return;
    }
    let kind = inner.kind(&room).await;
    let RoomKind::Group(id) = &kind else {
        return;
    };
    // Joining a room shows the bot who joined before it; only people who
    // join after the bot are new to the group.
    let bot_joined = match room.get_member_no_sync(&inner.me).await {
        Ok(Some(me)) => me.event().origin_server_ts(),
        _ => None,
    };
    if bot_joined.is_none_or(|at| ev.origin_server_ts <= at)
        || too_old(ev.origin_server_ts, WELCOME_MAX_AGE)
    {
        return;
    }
    let Ok(user) = UserId::parse(ev.state_key.as_str()) else {
        return;
    };
    let event = Event::Joined {
        group: GroupRef::new(Platform::Matrix, id),
        sender: inner.sender(&room, &user, false).await,
        prefix: inner.shown_prefix.clone(),
    };
    let replies = inner.engine.respond(event).await;
    inner.reply(&room, &kind, &user, replies);
}

/// A message the bot could not decrypt cannot be read for crisis language:
/// say so loudly. (matrix-sdk asks the sender's other devices for the key.)
async fn on_undecryptable(
    ev: matrix_sdk::ruma::events::room::encrypted::OriginalSyncRoomEncryptedEvent,
    room: Room,
) {
    tracing::warn!(
        room = %room.room_id(), sender = %ev.sender, event = %ev.event_id,
        "a message could not be decrypted, so it was not read for crisis language"
    );
}

async fn on_invite(ev: StrippedRoomMemberEvent, room: Room, Ctx(weak): Ctx<Weak<Inner>>) {
    let Some(inner) = weak.upgrade() else {
        return;
    };
    if ev.state_key != inner.me || room.state() != RoomState::Invited {
        return;
    }
    // Joining can wait for the homeserver; the sync goes on meanwhile.
    tokio::spawn(async move {
        inner.accept_invite(&room, Some(&ev.sender)).await;
    });
}

async fn on_reaction(ev: OriginalSyncReactionEvent, room: Room, Ctx(weak): Ctx<Weak<Inner>>) {
    let Some(inner) = weak.upgrade() else {
        return;
    };
    let key = ev.content.relates_to.key.as_str();
    if ev.sender == inner.me
        || !CLAIM_KEYS.contains(&key)
        || too_old(ev.origin_server_ts, COMMAND_MAX_AGE)
        || !inner.first_time(&ev.event_id)
    {
        return;
    }
    let Ok(target) = room.event(&ev.content.relates_to.event_id, None).await else {
        return;
    };
    let Ok(value) = target.raw().deserialize_as_unchecked::<serde_json::Value>() else {
        return;
    };
    if value["sender"].as_str() != Some(inner.me.as_str()) {
        return;
    }
    let Some(alert) = value["content"][ALERT_FIELD].as_i64() else {
        return;
    };
    let kind = inner.kind(&room).await;
    let (group, moderator) = match &kind {
        RoomKind::Moderators(id) => (id.clone(), true),
        RoomKind::Group(id) => (id.clone(), inner.is_moderator(&room, id, &ev.sender).await),
        RoomKind::Direct => return,
    };
    let event = Event::Command {
        group: Some(GroupRef::new(Platform::Matrix, group)),
        sender: inner.sender(&room, &ev.sender, moderator).await,
        name: "alert".into(),
        args: format!("claim {alert}"),
        prefix: inner.shown_prefix.clone(),
    };
    let replies = inner.engine.respond(event).await;
    inner.reply(&room, &kind, &ev.sender, replies);
}

/// How the notices of one message are dressed.
#[derive(Default)]
struct Dress {
    /// A member shown as a pill: (user id, name as in the text).
    pill: Option<(String, String)>,
    /// The alert the notice is about, so a reaction can claim it.
    alert: Option<i64>,
    /// Ping the room with the first part: the bot's own escalations only,
    /// never user text (render defangs `@room` in text).
    ping_room: bool,
}

/// Sends `text` as one or more notices. `txn` (a delivery key) makes the
/// send idempotent; split parts get `-2`, `-3`… after it.
async fn send_text(
    room: &Room,
    text: &str,
    txn: Option<&str>,
    dress: &Dress,
) -> Result<(), matrix_sdk::Error> {
    for (i, part) in render::split(text, render::MAX_CHUNK).iter().enumerate() {
        let pill = dress
            .pill
            .as_ref()
            .map(|(id, name)| (id.as_str(), name.as_str()));
        let mut content = render::notice(part, pill);
        if let Some(alert) = dress.alert {
            content[ALERT_FIELD] = serde_json::json!(alert);
        }
        if dress.ping_room && i == 0 {
            for key in ["body", "formatted_body"] {
                let shown = format!("@room {}", content[key].as_str().unwrap_or_default());
                content[key] = serde_json::json!(shown);
            }
            content["m.mentions"] = serde_json::json!({ "room": true });
        }
        let send = room.send_raw("m.room.message", content);
        match txn {
            Some(txn) => {
                let id: OwnedTransactionId = if i == 0 {
                    txn.into()
                } else {
                    format!("{txn}-{}", i + 1).into()
                };
                send.with_transaction_id(&id).await?;
            }
            None => {
                send.await?;
            }
        }
    }
    Ok(())
}

/// Delivers Matrix outbox rows; see [`MatrixAdapter::sink`].
pub struct MatrixSink {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for MatrixSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MatrixSink")
    }
}

#[async_trait::async_trait]
impl DeliverySink for MatrixSink {
    async fn deliver(&self, delivery: &Delivery) -> DeliveryResult {
        let inner = &self.inner;
        let room = match delivery.target.kind {
            TargetKind::Member => match UserId::parse(delivery.target.id.as_str()) {
                Ok(user) => inner.direct_room(&user).await,
                Err(_) => {
                    return DeliveryResult::Permanent {
                        error: format!("\"{}\" is not a Matrix user id", delivery.target.id),
                    };
                }
            },
            TargetKind::Channel => inner.room(&delivery.target.id).await,
        };
        let room = match room {
            Ok(room) => room,
            Err(error) => {
                return DeliveryResult::Retry {
                    error: format!("{error:#}"),
                    after: None,
                };
            }
        };
        let payload = &delivery.payload;
        let mut text = payload.text.clone();
        let to_moderators = delivery.target.kind == TargetKind::Channel
            && matches!(
                delivery.kind,
                DeliveryKind::CrisisAlert | DeliveryKind::Escalation
            );
        if to_moderators && payload.alert.is_some() {
            text.push_str("\nOr react with ✅ to this message to claim it.");
        }
        let dress = Dress {
            pill: payload
                .member
                .as_ref()
                .map(|m| (m.id.clone(), m.name.clone())),
            alert: payload.alert.filter(|_| to_moderators).map(|a| a.0),
            ping_room: payload.mention_moderators && delivery.target.kind == TargetKind::Channel,
        };
        let result = inner
            .send(&room, &text, Some(&delivery.idempotency_key), dress)
            .await;
        let outcome = match result {
            Ok(()) => DeliveryResult::Delivered,
            Err(SendFailure::Matrix(error)) => classify(&error),
            Err(SendFailure::Panicked(error)) => {
                tracing::error!(%error, room = %room.room_id(), "the Matrix client failed while sending; the delivery will be retried");
                DeliveryResult::Retry {
                    error: format!("the Matrix client failed while sending: {error}"),
                    after: None,
                }
            }
        };
        tracing::debug!(kind = %delivery.kind, room = %room.room_id(), ?outcome, "Matrix delivery");
        outcome
    }
}

/// Why a send failed: the homeserver or client said no, or matrix-sdk
/// panicked inside (caught; the row is retried).
#[derive(Debug)]
enum SendFailure {
    Matrix(matrix_sdk::Error),
    Panicked(String),
}

impl std::fmt::Display for SendFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Matrix(error) => error.fmt(f),
            Self::Panicked(error) => write!(f, "the Matrix client failed: {error}"),
        }
    }
}

/// A failed send as the outbox sees it: a 429 with its wait, a refusal
/// that will not change, or a passing failure.
fn classify(error: &matrix_sdk::Error) -> DeliveryResult {
    use matrix_sdk::ruma::api::error::{ErrorKind, RetryAfter};
    match error.client_api_error_kind() {
        Some(ErrorKind::LimitExceeded(data)) => {
            let after = match &data.retry_after {
                Some(RetryAfter::Delay(d)) => Some(*d),
                Some(RetryAfter::DateTime(t)) => t.duration_since(SystemTime::now()).ok(),
                None => None,
            };
            DeliveryResult::Retry {
                error: "rate limited by the homeserver".into(),
                after,
            }
        }
        Some(ErrorKind::Forbidden) => DeliveryResult::Permanent {
            error: format!("the homeserver refused: {error}"),
        },
        _ => DeliveryResult::Retry {
            error: error.to_string(),
            after: None,
        },
    }
}

async fn login(
    client: &Client,
    config: &MatrixConfig,
    me: &UserId,
    homeserver: &str,
) -> anyhow::Result<MatrixSession> {
    match &config.auth {
        MatrixAuth::Password(password) => {
            client
                .matrix_auth()
                .login_username(me, password.expose())
                .initial_device_display_name("ipt-bot")
                .send()
                .await
                // The error names the account, never the password.
                .with_context(|| format!("Matrix login as {me} failed"))?;
        }
        MatrixAuth::AccessToken(token) => {
            // The token's device is asked for first, so the crypto store
            // is opened for the right device.
            let probe = Client::builder()
                .homeserver_url(homeserver)
                .build()
                .await
                .context("cannot build a Matrix client")?;
            probe
                .restore_session(MatrixSession {
                    meta: matrix_sdk::SessionMeta {
                        user_id: me.to_owned(),
                        device_id: "IPTBOTPROBE".into(),
                    },
                    tokens: matrix_sdk::SessionTokens {
                        access_token: token.expose().to_owned(),
                        refresh_token: None,
                    },
                })
                .await
                .context("cannot use the access token")?;
            let whoami = probe
                .whoami()
                .await
                .context("the homeserver did not accept the access token")?;
            anyhow::ensure!(
                whoami.user_id == me,
                "the access token belongs to {}, not to matrix.user {me}",
                whoami.user_id
            );
            let device_id = whoami.device_id.context(
                "the access token has no device; create it by logging in with a password",
            )?;
            client
                .restore_session(MatrixSession {
                    meta: matrix_sdk::SessionMeta {
                        user_id: me.to_owned(),
                        device_id,
                    },
                    tokens: matrix_sdk::SessionTokens {
                        access_token: token.expose().to_owned(),
                        refresh_token: None,
                    },
                })
                .await
                .context("cannot start the Matrix session")?;
        }
    }
    let session = client
        .matrix_auth()
        .session()
        .context("logged in, but matrix-sdk has no session")?;
    tracing::info!(user = %me, device = %session.meta.device_id, "logged in to Matrix");
    Ok(session)
}

/// The URL without user name, password or trailing slash, as the session
/// file keeps it.
fn without_credentials(text: &str) -> String {
    match url::Url::parse(text) {
        Ok(mut url) => {
            let _ = url.set_password(None);
            let _ = url.set_username("");
            url.as_str().trim_end_matches('/').to_owned()
        }
        Err(_) => text.trim_end_matches('/').to_owned(),
    }
}

fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create matrix.store_dir {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("cannot restrict matrix.store_dir {}", dir.display()))?;
    }
    Ok(())
}

fn read_session(path: &Path) -> anyhow::Result<Option<SavedSession>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).with_context(|| {
            format!(
                "{} is damaged; restore it from a backup, or delete the whole store_dir to start as a new device",
                path.display()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Writes the session atomically (temporary file, then rename), readable
/// by the bot's user only: it holds the access token.
fn write_session(path: &Path, saved: &SavedSession) -> anyhow::Result<()> {
    let tmp = path.with_extension("json.tmp");
    let bytes = serde_json::to_vec(saved).context("cannot encode the session")?;
    {
        use std::io::Write as _;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let mut file = options
            .open(&tmp)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        file.write_all(&bytes)?;
        file.sync_all()?;
    }
    std::fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::without_credentials;

    #[test]
    fn test_session_file_keeps_the_homeserver_without_credentials() {
        assert_eq!(
            without_credentials("https://bot:hunter2@hs.example/"),
            "https://hs.example"
        );
        assert_eq!(
            without_credentials("https://hs.example:8448"),
            "https://hs.example:8448"
        );
    }
}
