//! The one entry point adapters call: [`Engine::handle`] turns an [`Event`]
//! into the [`Reply`]s to send now. Anything that must not be lost goes to
//! the outbox instead (see [`crate::outbox`]).
//!
//! Commands (the same names on every platform; Discord `/name`, Matrix
//! `!ipt name`, console `/name`):
//!
//! ```text
//! help                      what the bot is and what it can do
//! privacy                   what is stored and the member's choices
//! pause [days] / resume     pause scheduled messages (default 7 days, at most 90)
//! timezone [zone]           show or set the member's IANA time zone
//! mydata export             everything stored about the member, as JSON
//! mydata delete [confirm]   delete it (asks for confirmation first)
//! learn [topic]             list topics, or show one card (typos forgiven)
//! search <words>            the three best cards for everyday words
//! resources                 crisis lines for the group's region
//! checkin [mood|cancel]     today's check-in, one question at a time
//! mood [days]               the member's own history, with a chart
//! homework ...              exercises: templates, show, take, add, note, done, skip
//! alerts [all|open]         moderators: the group's alerts
//! alert claim|resolve <id>  moderators: take or close one
//! stats [days]              moderators: anonymous check-in totals (5 or more)
//! homework assign <who> <id> moderators: suggest an exercise
//! ```
//!
//! `setup` arrives with the adapters; until then it answers honestly that it
//! is not switched on yet.

use std::sync::Arc;

use crate::clock::Clock;
use crate::content::{self, Library, Lookup};
use crate::crisis::{self, resources::Resources};
use crate::ids::{GroupRef, MemberRef};
use crate::model::{Alert, AlertLevel, AlertTransition, Group, Member, NewAlert, NewGroup};
use crate::outbox::{DeliveryKind, NewDelivery, Payload, Target};
use crate::schedule::parse_zone;
use crate::store::Store;

/// Who sent an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender {
    /// The member's platform identity.
    pub member: MemberRef,
    /// Their display name as the platform shows it.
    pub display_name: String,
    /// Whether the platform says this person moderates the group (Matrix:
    /// power level of at least 50 or a member of the moderators' room;
    /// Discord: the moderator role; the console user always).
    pub moderator: bool,
}

/// Something that happened on a platform, in platform-neutral terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A command such as `help` or `pause 3`.
    Command {
        /// The group it was sent in; `None` for a direct message.
        group: Option<GroupRef>,
        /// Who sent it.
        sender: Sender,
        /// The command name, lower case, without prefix.
        name: String,
        /// Everything after the name, trimmed.
        args: String,
        /// How commands are typed on this platform (`/`, `!ipt `), for help texts.
        prefix: String,
    },
    /// An ordinary message in a group.
    Message {
        /// Where.
        group: GroupRef,
        /// Who.
        sender: Sender,
        /// What.
        text: String,
        /// A platform link to the message, if it has one.
        link: Option<String>,
    },
    /// A message to the bot in private (a DM; the console while a check-in
    /// is being answered): the answer to a waiting check-in question, or
    /// else a pointer to the commands. Crisis language here gets the member
    /// support at once.
    Direct {
        /// Who.
        sender: Sender,
        /// What.
        text: String,
        /// How commands are typed on this platform.
        prefix: String,
    },
    /// Someone joined a group: they get a private welcome. Nothing is
    /// stored until they use the bot.
    Joined {
        /// Where.
        group: GroupRef,
        /// Who.
        sender: Sender,
        /// How commands are typed on this platform.
        prefix: String,
    },
}

/// Who sees a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// Where the event came from. Only used for content that is safe in public.
    Here,
    /// Only the sender (an ephemeral reply, a DM, the console's own view).
    Private,
}

/// An answer to send now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Who sees it.
    pub visibility: Visibility,
    /// Plain text; adapters escape it for their markup.
    pub text: String,
    /// A picture sent with it (the mood chart), if any.
    pub image: Option<Image>,
}

/// A picture to upload with a reply.
#[derive(Clone, PartialEq, Eq)]
pub struct Image {
    /// A file name for it ("mood.png").
    pub name: String,
    /// The PNG bytes.
    pub png: Vec<u8>,
}

impl std::fmt::Debug for Image {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Image({}, {} bytes)", self.name, self.png.len())
    }
}

impl Reply {
    /// A reply only the sender sees.
    pub fn private(text: impl Into<String>) -> Self {
        Self {
            visibility: Visibility::Private,
            text: text.into(),
            image: None,
        }
    }
}

/// The apology a member sees when something broke on our side; the details
/// go to the log, never to the chat.
pub const APOLOGY: &str = "Sorry, something went wrong on my side and I couldn't do that. \
Nothing you sent was lost; please try again in a minute. If you need support right now, \
please reach out to a moderator or your local emergency number.";

/// Longest pause a member can ask for, in days.
pub const MAX_PAUSE_DAYS: i64 = 90;
/// Pause length when none is given, in days.
pub const DEFAULT_PAUSE_DAYS: i64 = 7;

/// The platform-free bot.
#[derive(Debug, Clone)]
pub struct Engine {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    /// Notified after anything is enqueued, so workers deliver at once.
    wake: Option<Arc<tokio::sync::Notify>>,
    /// Told of every enqueue, so the member's support gives way to the
    /// moderators' alert written with it.
    critical_first: Option<Arc<crate::outbox::CriticalFirst>>,
    /// The bot's own identities: their messages are never assessed and
    /// their commands never answered (adapters filter too; this is the
    /// backstop against the bot alerting on its own crisis replies).
    own: Vec<MemberRef>,
    /// Check-ins being answered.
    drafts: Arc<crate::checkin::Drafts>,
    /// Members who were asked to confirm `mydata delete`, and when: a bare
    /// "confirm" from them goes ahead within [`CONFIRM_MINUTES`].
    confirmations:
        Arc<std::sync::Mutex<std::collections::HashMap<MemberRef, crate::clock::Timestamp>>>,
    /// The crisis detector: the rules, and the learned layer when loaded.
    detector: crisis::Detector,
}

/// Minutes a `mydata delete` waits for its bare "confirm".
pub const CONFIRM_MINUTES: i64 = 10;

/// What moderators are told of a crisis message that came privately (a
/// check-in answer, a DM): never its words.
const PRIVATE_SOURCE: &str = "(from a private message to the bot: its words are not shown)";

impl Engine {
    /// An engine over `store`, telling time by `clock`.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            clock,
            wake: None,
            critical_first: None,
            own: Vec::new(),
            drafts: Arc::default(),
            confirmations: Arc::default(),
            detector: crisis::Detector::rules_only(),
        }
    }

    /// Reads messages with `detector` (the default is the rules alone).
    pub fn with_detector(mut self, detector: crisis::Detector) -> Self {
        self.detector = detector;
        self
    }

    /// The rules' level for a text (with the raw-text floor): known in
    /// microseconds, so an alert they raise never waits for the model.
    async fn rules_level(&self, text: &str, floor: Option<AlertLevel>) -> Option<AlertLevel> {
        self.detector
            .rules(text)
            .await
            .level
            .alert_level()
            .max(floor)
    }

    /// The learned layer's level for a text, if it is in use, and why.
    async fn model_level(&self, text: &str) -> Option<(AlertLevel, String)> {
        let reading = self.detector.learned(text).await?;
        let level = reading.level.alert_level()?;
        Some((level, model_why(&reading)))
    }

    /// The crisis level of a text in two steps. The rules come first: if
    /// they find a level, it is acted on at once, and the model's reading
    /// comes after (see [`Engine::model_raises`]). If they find none, the
    /// model's level is the answer.
    async fn first_level(
        &self,
        text: &str,
        floor: Option<AlertLevel>,
    ) -> (Option<AlertLevel>, Option<(AlertLevel, String)>) {
        let rules = self.rules_level(text, floor).await;
        match rules {
            Some(level) => (rules, Some((level, RULES_WHY.to_owned()))),
            None => (None, self.model_level(text).await),
        }
    }

    /// After acting on the rules' level: the model's level, where it reads
    /// more than the rules did (the higher level wins).
    async fn model_raises(
        &self,
        text: &str,
        rules: Option<AlertLevel>,
    ) -> Option<(AlertLevel, String)> {
        if rules.is_none() || !self.detector.model_in_use() {
            return None;
        }
        self.model_level(text)
            .await
            .filter(|(m, _)| Some(*m) > rules)
    }

    /// Tells the engine which identities are the bot's own.
    pub fn with_own_identity(mut self, me: MemberRef) -> Self {
        self.own.push(me);
        self
    }

    /// Wakes `wake` whenever the engine enqueues deliveries.
    pub fn with_wake(mut self, wake: Arc<tokio::sync::Notify>) -> Self {
        self.wake = Some(wake);
        self
    }

    /// Tells `order` of every enqueue (see [`crate::outbox::CriticalFirst`]).
    pub fn with_critical_first(mut self, order: Arc<crate::outbox::CriticalFirst>) -> Self {
        self.critical_first = Some(order);
        self
    }

    /// The store, for adapters that need to look things up (e.g. groups).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Handles one event; a storage failure is returned to the caller.
    pub async fn handle(&self, event: Event) -> crate::Result<Vec<Reply>> {
        let sender = match &event {
            Event::Command { sender, .. }
            | Event::Message { sender, .. }
            | Event::Direct { sender, .. }
            | Event::Joined { sender, .. } => sender,
        };
        if self.own.contains(&sender.member) {
            return Ok(Vec::new());
        }
        // Control characters are stripped before anything is stored or
        // echoed, but the detector must read every printable word the
        // member wrote: where stripping changed the text, the raw text with
        // each control character as a space is assessed too, and the higher
        // level counts.
        let floor = self.raw_floor(&event).await;
        match clean(event) {
            Event::Command {
                group,
                sender,
                name,
                args,
                prefix,
            } => {
                let mut replies = self
                    .command_crisis(group.as_ref(), &sender, &name, &args, floor)
                    .await?;
                replies.extend(
                    self.command(group.as_ref(), &sender, &name, &args, &prefix)
                        .await?,
                );
                Ok(replies)
            }
            Event::Message {
                group,
                sender,
                text,
                link,
            } => self.message(&group, &sender, &text, link, floor).await,
            Event::Direct {
                sender,
                text,
                prefix,
            } => self.direct(&sender, &text, &prefix, floor).await,
            Event::Joined { prefix, .. } => Ok(vec![Reply::private(welcome_text(&prefix))]),
        }
    }

    /// Handles one event; a failure is logged with its cause and the member
    /// gets a short apology instead.
    pub async fn respond(&self, event: Event) -> Vec<Reply> {
        match self.handle(event).await {
            Ok(replies) => replies,
            Err(error) => {
                tracing::error!(%error, "event handling failed");
                vec![Reply::private(APOLOGY)]
            }
        }
    }

    /// Crisis words written as a command's argument (`checkin I can't go
    /// on`, a homework reflection) go through the same pipeline as a
    /// message; the command itself is answered as usual. Moderators' own
    /// commands (alert notes, setup) are about others and are not read.
    async fn command_crisis(
        &self,
        group: Option<&GroupRef>,
        sender: &Sender,
        name: &str,
        args: &str,
        floor: Option<AlertLevel>,
    ) -> crate::Result<Vec<Reply>> {
        let moderators_own = matches!(name, "alert" | "alerts" | "setup" | "stats")
            || (name == "homework" && args.trim_start().to_ascii_lowercase().starts_with("assign"));
        if moderators_own || args.trim().is_empty() {
            return Ok(Vec::new());
        }
        // The model reads only what members write in their own words (a
        // check-in answer, an exercise and its notes). Settings such as a
        // time zone or a number of days are not sentences, and a sentence
        // encoder reads nonsense into them; the rules still read them.
        let free_text = matches!(name, "checkin" | "homework");
        let (rules, found) = if free_text {
            self.first_level(args, floor).await
        } else {
            let rules = self.rules_level(args, floor).await;
            (None, rules.map(|l| (l, RULES_WHY.to_owned())))
        };
        let Some((level, why)) = found else {
            return Ok(Vec::new());
        };
        let group = match self.group_of(group).await? {
            Some(g) => Some(GroupRef::new(g.platform, g.external_id)),
            None => self.home_group(sender).await?,
        };
        Ok(self
            .private_crisis_read(group.as_ref(), sender, args, rules, level, &why)
            .await)
    }

    async fn command(
        &self,
        group: Option<&GroupRef>,
        sender: &Sender,
        name: &str,
        args: &str,
        prefix: &str,
    ) -> crate::Result<Vec<Reply>> {
        // Choosing check-ins (or doing one) from a group makes the member
        // one of its check-in recipients. Other commands store nothing: a
        // member who deleted their data is not written back by `help`.
        if let Some(group) = group
            && (name == "checkin" || (name == "privacy" && !args.is_empty()))
        {
            self.note_membership(group, sender).await;
        }
        let text = match name {
            "help" | "start" => help_text(prefix),
            "privacy" if args.is_empty() => privacy_text(prefix),
            "privacy" => self.set_choice(sender, args, prefix).await?,
            "learn" => learn(args, prefix),
            "search" => search(args, prefix),
            "pause" => self.pause(sender, args, prefix).await?,
            "resume" => self.resume(sender, prefix).await?,
            "timezone" => self.timezone(sender, args, prefix).await?,
            "mydata" => self.mydata(sender, args, prefix).await?,
            "resources" => self.resources(group).await?,
            "checkin" => self.start_checkin(group, sender, args, prefix).await?,
            "mood" => return self.mood(sender, args, prefix).await,
            "alerts" | "alert" if !sender.moderator => {
                "Only the group's moderators can see and handle alerts.".to_owned()
            }
            "stats" if !sender.moderator => {
                "Group totals are for the group's moderators. Your own history is in {p}mood."
                    .replace("{p}", prefix)
            }
            "stats" => self.stats(group, args, prefix).await?,
            "setup" if !sender.moderator => {
                "Only the group's moderators can change its setup. {p}help shows what you can do."
                    .replace("{p}", prefix)
            }
            "setup" => self.setup(group, args, prefix).await?,
            "homework" => self.homework(group, sender, args, prefix).await?,
            "alerts" => self.list_alerts(group, args, prefix).await?,
            "alert" => self.alert_command(group, sender, args, prefix).await?,
            other => format!(
                "I don't know the command \"{}\". {prefix}help lists what I can do.",
                other.chars().take(40).collect::<String>()
            ),
        };
        // Help and the library cards say nothing about the member, so a
        // group where they were asked for may see them; everything else is
        // private (a DM or an ephemeral reply).
        let visibility = match name {
            "help" | "start" | "learn" | "search" if group.is_some() => Visibility::Here,
            _ => Visibility::Private,
        };
        Ok(vec![Reply {
            visibility,
            text,
            image: None,
        }])
    }

    /// The crisis pipeline for one group message. Ordinary messages cause
    /// no database access at all. At concern or above: the member gets
    /// private support and the moderators an alert, written with the alert
    /// in one transaction and delivered through the outbox; nothing is ever
    /// said in the group. A further message from the same member within
    /// [`REPEAT_WINDOW_MINUTES`] updates the open alert instead.
    async fn message(
        &self,
        group_ref: &GroupRef,
        sender: &Sender,
        text: &str,
        link: Option<String>,
        floor: Option<AlertLevel>,
    ) -> crate::Result<Vec<Reply>> {
        let (rules, found) = self.first_level(text, floor).await;
        let Some((level, why)) = found else {
            // A bare "confirm" after `mydata delete`, typed where the member
            // was (the console; a group room).
            if let Some(replies) = self.bare_confirmation(sender, text).await? {
                return Ok(replies);
            }
            return Ok(Vec::new());
        };
        match self
            .raise_alert(group_ref, sender, text, link.clone(), level, &why, true)
            .await
        {
            Ok(replies) => {
                self.wake_workers();
                // The alert is out on the rules' word; where the model reads
                // more, the open alert is raised to its level.
                if let Some((higher, why)) = self.model_raises(text, rules).await {
                    match self
                        .raise_alert(group_ref, sender, text, link, higher, &why, true)
                        .await
                    {
                        Ok(_) => self.wake_workers(),
                        Err(error) => {
                            tracing::error!(%error, group = %group_ref.id, %higher, "crisis alert not raised to the model's level");
                        }
                    }
                }
                Ok(replies)
            }
            Err(error) => {
                // The member must not go without help because our storage
                // failed: answer with the resources now, and log loudly.
                tracing::error!(%error, group = %group_ref.id, %level, "CRISIS ALERT NOT STORED; member given resources directly");
                Ok(vec![Reply::private(support_text(level, None, false))])
            }
        }
    }

    // One call opens or raises an alert; its inputs are each needed, and
    // grouping them into a struct would only rename them.
    #[allow(clippy::too_many_arguments)]
    async fn raise_alert(
        &self,
        group_ref: &GroupRef,
        sender: &Sender,
        text: &str,
        link: Option<String>,
        level: AlertLevel,
        why: &str,
        respect_quiet: bool,
    ) -> crate::Result<Vec<Reply>> {
        let now = self.clock.now();
        let Some(group) = self.store.group(group_ref.platform, &group_ref.id).await? else {
            tracing::warn!(group = %group_ref.id, %level, "crisis message in a group that is not set up: resources only");
            return Ok(vec![Reply::private(support_text(level, None, false))]);
        };
        let member = self
            .store
            .member_for_alert(&sender.member, &sender.display_name, now)
            .await?;
        // "Quiet": concern-level messages get resources without alerting.
        if respect_quiet && member.consent.quiet && level == AlertLevel::Concern {
            return Ok(vec![Reply::private(support_text(
                level,
                Some(&group),
                false,
            ))]);
        }
        let told = group.moderator_channel.is_some();
        if !told {
            tracing::warn!(group = %group.external_id, "no moderator channel: alert stored, moderators not messaged");
        }
        let note = if text == PRIVATE_SOURCE {
            // Without this, moderators would read "a message in <group>"
            // with no link, and might go looking, or ask, in the group.
            "They wrote it to me privately (a check-in answer or a direct message), so there \
             is no link, and its words stay private. Please reach out to them privately."
                .to_owned()
        } else {
            assessment_note(&group, text)
        };
        // Why the bot thinks so, in words that never quote the member.
        let note = match (note.is_empty(), why.is_empty()) {
            (_, true) => note,
            (true, false) => why.to_owned(),
            (false, false) => format!("{note}\n{why}"),
        };
        let since = now - chrono::Duration::minutes(REPEAT_WINDOW_MINUTES);
        if let Some(open) = self.store.recent_alert(group.id, member.id, since).await? {
            // Called only when the store really raised the level.
            let raised = |alert: &Alert| {
                let mut out = vec![member_delivery(alert, &group, &member, told, "raised")];
                out.extend(moderator_delivery(alert, &group, &member, &note, "raised"));
                out
            };
            if self
                .store
                .update_alert(open.id, level, &raised, now)
                .await?
                .is_some()
            {
                return Ok(Vec::new());
            }
            // Resolved in the meantime: this message opens a new alert.
        }
        let alert = NewAlert {
            group_id: group.id,
            member_id: member.id,
            level,
            message_link: link,
            excerpt: group
                .settings
                .alert_excerpts
                .then(|| text.chars().take(300).collect()),
            escalate_at: Some(now + chrono::Duration::seconds(group.settings.escalate_after_secs)),
        };
        let opened = |alert: &Alert| {
            let mut out = vec![member_delivery(alert, &group, &member, told, "opened")];
            out.extend(moderator_delivery(alert, &group, &member, &note, "opened"));
            out
        };
        self.store.open_alert(&alert, &opened, now).await?;
        Ok(Vec::new())
    }

    /// `alerts [all]`: the group's unresolved alerts (or all), newest first,
    /// and any messages that could not be delivered.
    async fn list_alerts(
        &self,
        group: Option<&GroupRef>,
        args: &str,
        p: &str,
    ) -> crate::Result<String> {
        let Some(group) = self.group_of(group).await? else {
            return Ok(format!("Use {p}alerts in the group you moderate."));
        };
        let all = args.trim().eq_ignore_ascii_case("all");
        let alerts = self.store.alerts(group.id, !all).await?;
        let now = self.clock.now();
        let mut out = if alerts.is_empty() {
            format!("No {}alerts in this group.", if all { "" } else { "open " })
        } else {
            let mut out = String::from("Alerts, newest first:");
            for a in alerts.iter().take(20) {
                let ago = (now - a.created_at).num_minutes();
                let state = match (&a.claimed_by, a.status) {
                    (Some(m), crate::model::AlertStatus::Claimed) => {
                        format!("claimed by {}", m.replace('@', "@\u{200B}"))
                    }
                    (Some(m), status) => {
                        format!("{status}, claimed by {}", m.replace('@', "@\u{200B}"))
                    }
                    (None, status) => status.to_string(),
                };
                out.push_str(&format!("\n#{} {} ({state}), {ago} min ago", a.id, a.level));
                if a.anonymised_at.is_some() {
                    out.push_str(" - anonymised: the member deleted their data");
                }
                if let Some(link) = &a.message_link {
                    out.push_str(&format!(" - {link}"));
                }
            }
            out.push_str(&format!(
                "\nClaim with {p}alert claim <id>; resolve with {p}alert resolve <id> <note>."
            ));
            out
        };
        let stuck = self.store.undeliverable(group.id, 10).await?;
        if !stuck.is_empty() {
            out.push_str(&format!(
                "\n\n{} message(s) could not be delivered yet:",
                stuck.len()
            ));
            for d in &stuck {
                out.push_str(&format!(
                    "\n- {} to {} ({}, {} attempts): {}",
                    d.kind,
                    d.target.id,
                    d.state,
                    d.attempts,
                    d.last_error.as_deref().unwrap_or("no error recorded")
                ));
            }
        }
        Ok(out)
    }

    /// `alert claim <id>` and `alert resolve <id> <note>`.
    async fn alert_command(
        &self,
        group: Option<&GroupRef>,
        sender: &Sender,
        args: &str,
        p: &str,
    ) -> crate::Result<String> {
        let usage = format!("Use {p}alert claim <id>, or {p}alert resolve <id> <note>.");
        let mut parts = args.splitn(3, char::is_whitespace);
        let action = parts.next().unwrap_or("").to_ascii_lowercase();
        let Some(id) = parts
            .next()
            .and_then(|n| n.trim_start_matches('#').parse::<i64>().ok())
        else {
            return Ok(usage);
        };
        let note = parts.next().unwrap_or("").trim();
        let Some(group) = self.group_of(group).await? else {
            return Ok(format!("Use {p}alert in the group you moderate."));
        };
        let id = crate::ids::AlertId(id);
        // Only this group's alerts can be handled from here.
        if self
            .store
            .alert(id)
            .await?
            .is_none_or(|a| a.group_id != group.id)
        {
            return Ok(format!(
                "There is no alert #{id} in this group. {p}alerts lists them."
            ));
        }
        let who = sender.member.id.as_str();
        let now = self.clock.now();
        let transition = match action.as_str() {
            "claim" => self.store.claim_alert(id, who, now).await?,
            "resolve" if note.is_empty() => {
                return Ok(format!(
                    "Please add a short note, e.g. {p}alert resolve {id} talked in DM, has support."
                ));
            }
            "resolve" => self.store.resolve_alert(id, who, note, now).await?,
            _ => return Ok(usage),
        };
        if let AlertTransition::Done(alert) = &transition {
            self.tell_moderators(&group, alert, &action, sender).await;
        }
        Ok(match (action.as_str(), transition) {
            ("claim", AlertTransition::Done(_)) => format!(
                "You claimed alert #{id}; it will not be escalated. When you're done: {p}alert resolve {id} <note>."
            ),
            ("resolve", AlertTransition::Done(a)) if a.anonymised_at.is_some() => format!(
                "Alert #{id} is resolved. Thank you for looking after them. They had asked for \
                 their data to be deleted, so the alert is now anonymised: its link and notes \
                 are gone, and it no longer says who it was about."
            ),
            ("resolve", AlertTransition::Done(_)) => {
                format!("Alert #{id} is resolved. Thank you for looking after them.")
            }
            (_, AlertTransition::NotAllowed(a)) => match a.status {
                crate::model::AlertStatus::Claimed => format!(
                    "Alert #{id} is already claimed by {}.",
                    a.claimed_by.unwrap_or_default().replace('@', "@\u{200B}")
                ),
                _ => format!("Alert #{id} is already resolved."),
            },
            _ => format!("There is no alert #{id}."),
        })
    }

    /// Whether the member is answering a check-in (adapters route their
    /// private messages to [`Event::Direct`] then).
    pub fn in_checkin(&self, member: &MemberRef) -> bool {
        self.drafts.get(member, self.clock.now()).is_some()
    }

    /// `checkin`, `checkin <mood>`, `checkin cancel`.
    async fn start_checkin(
        &self,
        group: Option<&GroupRef>,
        sender: &Sender,
        args: &str,
        p: &str,
    ) -> crate::Result<String> {
        use crate::checkin::{Draft, Step, question, scale};
        let now = self.clock.now();
        if crate::checkin::is_stop(args) {
            return Ok(if self.drafts.remove(&sender.member) {
                crate::checkin::STOPPED.into()
            } else {
                format!("There's no check-in in progress. {p}checkin starts one.")
            });
        }
        // Started privately (a DM, the daily prompt's reply): the check-in
        // belongs to the member's group, whose moderators and crisis lines
        // a crisis answer must reach.
        let group = match group {
            Some(group) => Some(group.clone()),
            None => self.home_group(sender).await?,
        };
        let mut draft = Draft {
            group,
            step: Step::Mood,
            mood: None,
            sleep: None,
            connection: None,
            touched: now,
        };
        let mut intro =
            String::from("Today's check-in: four short questions, all but the first optional.\n");
        if !args.trim().is_empty() {
            match scale(args) {
                Some(mood) => {
                    draft.mood = Some(mood);
                    draft.step = Step::Sleep;
                    intro = format!("Mood {mood} noted.\n");
                }
                None => {
                    return Ok(format!(
                        "{p}checkin takes a mood from 0 to 10 (e.g. {p}checkin 6), or nothing to \
                         be asked step by step."
                    ));
                }
            }
        }
        let ask = question(draft.step, p);
        self.drafts.put(sender.member.clone(), draft);
        Ok(format!("{intro}{ask}"))
    }

    /// `homework [list|templates|show|take|add|done|skip|assign]`.
    async fn homework(
        &self,
        group: Option<&GroupRef>,
        sender: &Sender,
        args: &str,
        p: &str,
    ) -> crate::Result<String> {
        use crate::homework::{
            from_template, id_and_words, list, show, template, template_list, unknown,
        };
        use crate::model::{HomeworkStatus, NewHomework};
        let now = self.clock.now();
        let (action, rest) = args
            .trim()
            .split_once(char::is_whitespace)
            .map_or((args.trim(), ""), |(a, r)| (a, r.trim()));
        let action = action.to_lowercase();
        match action.as_str() {
            "templates" => return Ok(template_list(p)),
            "show" => {
                return Ok(template(rest).map_or_else(|| unknown(rest, p), |t| show(t, p)));
            }
            "assign" => return self.assign_homework(group, sender, rest, p).await,
            _ => {}
        }
        let member = self
            .store
            .upsert_member(&sender.member, &sender.display_name, now)
            .await?;
        let group_id = self.group_of(group).await?.map(|g| g.id);
        match action.as_str() {
            "" | "list" => Ok(list(&self.store.homework(member.id).await?, now, p)),
            "take" => {
                let Some(t) = template(rest) else {
                    return Ok(unknown(rest, p));
                };
                let added = self
                    .store
                    .add_homework(&from_template(t, member.id, group_id, None, now), now)
                    .await?;
                Ok(format!(
                    "Added #{}: {}. Take your time; a smaller step counts too.\n{}\nWhen it's done: \
                     {p}homework done {} [how it went].",
                    added.id, t.title, t.steps, added.id
                ))
            }
            "add" if rest.is_empty() => Ok(format!(
                "Say what you'd like to do, e.g. {p}homework add call my brother on Sunday."
            )),
            "add" => {
                let (title, cut) = crate::text::clip(rest, crate::homework::MAX_TITLE);
                let added = self
                    .store
                    .add_homework(
                        &NewHomework {
                            member_id: member.id,
                            group_id,
                            template: None,
                            title: title.clone(),
                            details: None,
                            due_at: None,
                            assigned_by: None,
                        },
                        now,
                    )
                    .await?;
                Ok(format!(
                    "Added #{}: {title}. {p}homework done {} when you've done it.{}",
                    added.id,
                    added.id,
                    if cut {
                        format!("\n{}", crate::text::kept_note(crate::homework::MAX_TITLE))
                    } else {
                        String::new()
                    }
                ))
            }
            "note" => {
                let (id, note) = id_and_words(rest);
                let (Some(id), false) = (id, note.is_empty()) else {
                    return Ok(format!(
                        "Use {p}homework note <id> <a few words>, e.g. {p}homework note 3 it \
                         went better than I expected."
                    ));
                };
                let Some(h) = self
                    .store
                    .homework(member.id)
                    .await?
                    .into_iter()
                    .find(|h| h.id.0 == id)
                else {
                    return Ok(format!(
                        "You have no exercise #{id}. {p}homework lists yours."
                    ));
                };
                let (note, cut) = crate::text::clip(note, crate::homework::MAX_NOTE);
                self.store
                    .settle_homework(h.id, member.id, h.status, Some(&note), now)
                    .await?;
                Ok(format!(
                    "Noted on \"{}\". Only you see your notes.{}",
                    h.title,
                    if cut {
                        format!("\n{}", crate::text::kept_note(crate::homework::MAX_NOTE))
                    } else {
                        String::new()
                    }
                ))
            }
            "done" | "skip" => {
                let (id, note) = id_and_words(rest);
                let Some(id) = id else {
                    return Ok(format!(
                        "Which one? {p}homework lists them with their numbers, e.g. \
                         {p}homework {action} 3."
                    ));
                };
                let status = if action == "done" {
                    HomeworkStatus::Done
                } else {
                    HomeworkStatus::Skipped
                };
                let (reflection, cut) = if note.is_empty() {
                    (None, false)
                } else {
                    let (kept, cut) = crate::text::clip(note, crate::homework::MAX_NOTE);
                    (Some(kept), cut)
                };
                let cut_note = if cut {
                    format!("\n{}", crate::text::kept_note(crate::homework::MAX_NOTE))
                } else {
                    String::new()
                };
                let settled = self
                    .store
                    .settle_homework(
                        crate::ids::HomeworkId(id),
                        member.id,
                        status,
                        reflection.as_deref(),
                        now,
                    )
                    .await?;
                Ok(match (settled, status) {
                    (None, _) => format!("You have no exercise #{id}. {p}homework lists yours."),
                    (Some(h), HomeworkStatus::Done) => format!(
                        "Well done on \"{}\".{} Only you see your reflection.{cut_note}",
                        h.title,
                        if reflection.is_some() {
                            " Your note is saved."
                        } else {
                            ""
                        }
                    ),
                    (Some(h), _) => format!(
                        "\"{}\" is set aside. Skipping is fine; nothing counts against you.\
                         {cut_note}",
                        h.title
                    ),
                })
            }
            _ => Ok(format!(
                "{p}homework lists your exercises; also: {p}homework templates, show <id>, \
                 take <id>, add <what>, note <id> <words>, done <id> [note], skip <id>."
            )),
        }
    }

    /// `homework assign <member|all> <template>` (moderators, in a group).
    async fn assign_homework(
        &self,
        group: Option<&GroupRef>,
        sender: &Sender,
        args: &str,
        p: &str,
    ) -> crate::Result<String> {
        if !sender.moderator {
            return Ok(format!(
                "Only moderators can suggest exercises to others; {p}homework take <id> adds one \
                 for yourself."
            ));
        }
        let Some(group) = self.group_of(group).await? else {
            return Ok(format!("Use {p}homework assign in the group you moderate."));
        };
        let mut words = args.split_whitespace();
        let (Some(who), Some(id)) = (words.next(), words.next()) else {
            return Ok(format!(
                "Use {p}homework assign <member id or all> <exercise id>, e.g. \
                 {p}homework assign all social-activity."
            ));
        };
        let Some(t) = crate::homework::template(id) else {
            return Ok(crate::homework::unknown(id, p));
        };
        let now = self.clock.now();
        let by = Some(sender.member.id.clone());
        // Only this group's own members, and the same answer whether or not
        // anyone matched: the reply must not tell who uses the bot.
        if who.eq_ignore_ascii_case("all") {
            for m in self.store.checkin_recipients(group.id, now).await? {
                let exercise =
                    crate::homework::from_template(t, m.id, Some(group.id), by.clone(), now);
                self.store.add_homework(&exercise, now).await?;
            }
            return Ok(format!(
                "Suggested \"{}\" to this group's members who get check-ins. They see it in \
                 {p}homework; it's theirs to do or skip, and their reflections stay private. \
                 (I don't say how many, so nobody can tell who uses me.)",
                t.title
            ));
        }
        let id = who.trim_start_matches('@');
        let id = if group.platform == crate::ids::Platform::Matrix {
            format!("@{id}")
        } else {
            id.to_owned()
        };
        if let Some(member) = self
            .store
            .member(&MemberRef::new(group.platform, id))
            .await?
            && self
                .store
                .member_groups(member.id)
                .await?
                .iter()
                .any(|g| g.id == group.id)
        {
            let exercise = crate::homework::from_template(t, member.id, Some(group.id), by, now);
            self.store.add_homework(&exercise, now).await?;
        }
        Ok(format!(
            "If {} uses me in this group, they'll find \"{}\" in {p}homework; it's theirs to \
             do or skip, and their reflections stay private. (I don't say whether they do, so \
             nobody can tell who uses me.)",
            crate::text::clip(who, 80).0.replace('@', "@\u{200B}"),
            t.title
        ))
    }

    /// `stats [days]`: anonymous check-in totals for the group (moderators).
    async fn stats(&self, group: Option<&GroupRef>, args: &str, p: &str) -> crate::Result<String> {
        let Some(group) = self.group_of(group).await? else {
            return Ok(format!("Use {p}stats in the group you moderate."));
        };
        let days = match crate::mood::parse_days(args, 7, "stats", p) {
            Ok(days) => days,
            Err(usage) => return Ok(usage),
        };
        let now = self.clock.now();
        let zone = parse_zone(&group.timezone).unwrap_or(chrono_tz::UTC);
        let since = now.with_timezone(&zone).date_naive() - chrono::Duration::days(days - 1);
        let answers = self.store.group_checkins(group.id, since).await?;
        let opted_in = self.store.checkin_recipients(group.id, now).await?.len();
        let (open, done, skipped) = self.store.group_homework_counts(group.id).await?;
        let mut out = crate::mood::group_totals(&answers, opted_in, days);
        // The same five-member rule as the check-in totals: counts about
        // fewer people could point at someone.
        let with_homework = self.store.group_homework_members(group.id).await?;
        if open + done + skipped > 0 && with_homework >= crate::mood::MIN_FOR_TOTALS as i64 {
            out.push_str(&format!(
                "\nExercises from this group: {open} open, {done} done, {skipped} set aside \
                 (reflections stay private)."
            ));
        }
        Ok(out)
    }

    /// `mood [days]`: the member's own history, privately, with a chart.
    async fn mood(&self, sender: &Sender, args: &str, p: &str) -> crate::Result<Vec<Reply>> {
        use crate::mood::{DEFAULT_DAYS, MAX_DAYS, chart_png, parse_days, summary};
        let days = match parse_days(args, DEFAULT_DAYS, "mood", p) {
            Ok(days) => days,
            Err(usage) => return Ok(vec![Reply::private(usage)]),
        };
        let member = self.store.member(&sender.member).await?;
        let zone = member
            .as_ref()
            .and_then(|m| m.timezone.as_deref())
            .and_then(|z| parse_zone(z).ok())
            .unwrap_or(chrono_tz::UTC);
        let to = self.clock.now().with_timezone(&zone).date_naive();
        let from = to - chrono::Duration::days(days - 1);
        // Weeks-running needs a little more history than is shown.
        let checkins = match &member {
            Some(m) => {
                self.store
                    .checkins(m.id, from.min(to - chrono::Duration::days(MAX_DAYS)))
                    .await?
            }
            None => Vec::new(),
        };
        let mut reply = Reply::private(summary(&checkins, from, to, p));
        if checkins.iter().any(|c| c.local_date >= from) {
            match chart_png(&checkins, from, to) {
                Ok(png) => {
                    reply.image = Some(Image {
                        name: "mood.png".into(),
                        png,
                    });
                }
                Err(error) => tracing::warn!(%error, "mood chart failed; text only"),
            }
        }
        Ok(vec![reply])
    }

    /// A private message: the next check-in answer, a bare "confirm", or
    /// a pointer to help.
    async fn direct(
        &self,
        sender: &Sender,
        text: &str,
        p: &str,
        floor: Option<AlertLevel>,
    ) -> crate::Result<Vec<Reply>> {
        let now = self.clock.now();
        // Every private message is read for crisis first, whatever flow it
        // belongs to, and goes through the same pipeline as a group
        // message: an alert to the group the flow belongs to (else the
        // member's group) and that group's crisis lines.
        let draft = self.drafts.get(&sender.member, now);
        let mut replies = Vec::new();
        let (rules, found) = self.first_level(text, floor).await;
        if let Some((level, why)) = found {
            let group = match draft.as_ref().and_then(|d| d.group.clone()) {
                Some(group) => Some(group),
                None => self.home_group(sender).await?,
            };
            replies = self
                .private_crisis_read(group.as_ref(), sender, text, rules, level, &why)
                .await;
            // Mood and sleep want a number: the check-in waits where it
            // was. A free-text answer is also kept as the answer.
            let free_text = draft.as_ref().is_some_and(|d| {
                matches!(
                    d.step,
                    crate::checkin::Step::Connection | crate::checkin::Step::Note
                )
            });
            if !free_text {
                return Ok(replies);
            }
        }
        if let Some(confirmed) = self.bare_confirmation(sender, text).await? {
            return Ok(confirmed);
        }
        let Some(draft) = draft else {
            // A bare 0-10 answers the daily prompt ("reply here with the
            // number"): today's check-in starts with it as the mood.
            let bare = text.trim();
            if bare.len() <= 5
                && !bare.contains(char::is_whitespace)
                && crate::checkin::scale(bare).is_some()
            {
                let reply = self.start_checkin(None, sender, text, p).await?;
                return Ok(vec![Reply::private(reply)]);
            }
            return Ok(vec![Reply::private(format!(
                "I'm a bot and answer commands: {p}help lists them, and {p}checkin starts \
                 today's check-in."
            ))]);
        };
        replies.extend(self.answer(sender, draft, text, p).await?);
        Ok(replies)
    }

    /// [`Engine::private_crisis`] at the first level found in `text`; then,
    /// where the model reads more than the rules did, again at its level.
    async fn private_crisis_read(
        &self,
        group: Option<&GroupRef>,
        sender: &Sender,
        text: &str,
        rules: Option<AlertLevel>,
        level: AlertLevel,
        why: &str,
    ) -> Vec<Reply> {
        let mut replies = self.private_crisis(group, sender, level, why).await;
        if let Some((higher, why)) = self.model_raises(text, rules).await {
            replies.extend(self.private_crisis(group, sender, higher, &why).await);
        }
        replies
    }

    /// Crisis words that came privately: the alert goes to `group`'s
    /// moderators (never with the words), the member gets that group's
    /// lines. With no group known, the member gets support on their own.
    async fn private_crisis(
        &self,
        group: Option<&GroupRef>,
        sender: &Sender,
        level: AlertLevel,
        why: &str,
    ) -> Vec<Reply> {
        let Some(group) = group else {
            tracing::warn!(%level, "crisis words in a private message from someone in no group: resources only");
            return vec![Reply::private(support_text(level, None, false))];
        };
        match self
            .raise_alert(group, sender, PRIVATE_SOURCE, None, level, why, true)
            .await
        {
            Ok(replies) => {
                self.wake_workers();
                replies
            }
            Err(error) => {
                tracing::error!(%error, %level, "CRISIS ALERT NOT STORED (private message); member given resources directly");
                let group = self.group_of(Some(group)).await.ok().flatten();
                vec![Reply::private(support_text(level, group.as_ref(), false))]
            }
        }
    }

    /// The group a private message belongs to when no flow says: the group
    /// whose check-in prompt the member got last (a bare reply answers
    /// it), else the group on the same platform they most recently joined.
    async fn home_group(&self, sender: &Sender) -> crate::Result<Option<GroupRef>> {
        let Some(member) = self.store.member(&sender.member).await? else {
            return Ok(None);
        };
        if let Some(g) = self.store.last_prompt_group(member.id).await? {
            return Ok(Some(GroupRef::new(g.platform, g.external_id)));
        }
        Ok(self
            .store
            .member_groups(member.id)
            .await?
            .into_iter()
            .find(|g| g.platform == sender.member.platform)
            .map(|g| GroupRef::new(g.platform, g.external_id)))
    }

    /// A bare "confirm" while `mydata delete` waits for it: the deletion.
    /// `None` when the text is not that, or nothing is waiting.
    async fn bare_confirmation(
        &self,
        sender: &Sender,
        text: &str,
    ) -> crate::Result<Option<Vec<Reply>>> {
        if !text.trim().eq_ignore_ascii_case("confirm") {
            return Ok(None);
        }
        let since = self.clock.now() - chrono::Duration::minutes(CONFIRM_MINUTES);
        let waiting = self
            .confirmations
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&sender.member)
            .is_some_and(|asked| asked >= since);
        if !waiting {
            return Ok(None);
        }
        let Some(member) = self.store.member(&sender.member).await? else {
            return Ok(Some(vec![Reply::private(
                "I don't have anything stored about you.",
            )]));
        };
        let p = moderator_prefix(sender.member.platform);
        Ok(Some(vec![Reply::private(
            self.erase(sender, member.id, p).await?,
        )]))
    }

    async fn answer(
        &self,
        sender: &Sender,
        mut draft: crate::checkin::Draft,
        text: &str,
        p: &str,
    ) -> crate::Result<Vec<Reply>> {
        use crate::checkin::{MAX_CONNECTION, Step, is_skip, question, scale};
        let text = text.trim();
        if crate::checkin::is_stop(text) {
            self.drafts.remove(&sender.member);
            return Ok(vec![Reply::private(crate::checkin::STOPPED)]);
        }
        draft.touched = self.clock.now();
        let next = match draft.step {
            Step::Mood => match scale(text) {
                Some(mood) => {
                    draft.mood = Some(mood);
                    Step::Sleep
                }
                None => {
                    self.drafts.put(sender.member.clone(), draft);
                    return Ok(vec![Reply::private(
                        "Please answer with a number from 0 to 10, or \"cancel\" to stop.",
                    )]);
                }
            },
            Step::Sleep => match (is_skip(text), scale(text)) {
                (true, _) => Step::Connection,
                (false, Some(sleep)) => {
                    draft.sleep = Some(sleep);
                    Step::Connection
                }
                (false, None) => {
                    self.drafts.put(sender.member.clone(), draft);
                    return Ok(vec![Reply::private(
                        "Please answer with a number from 0 to 10, or \"skip\".",
                    )]);
                }
            },
            Step::Connection => {
                if !is_skip(text) {
                    let (kept, cut) = crate::text::clip(text, MAX_CONNECTION);
                    draft.connection = Some(kept);
                    if cut {
                        draft.step = Step::Note;
                        self.drafts.put(sender.member.clone(), draft);
                        return Ok(vec![Reply::private(format!(
                            "{}\n{}",
                            crate::text::kept_note(MAX_CONNECTION),
                            question(Step::Note, p)
                        ))]);
                    }
                }
                Step::Note
            }
            Step::Note => {
                self.drafts.remove(&sender.member);
                let note = (!is_skip(text)).then(|| text.to_owned());
                return self.save_checkin(sender, draft, note, p).await;
            }
        };
        draft.step = next;
        let ask = question(next, p);
        self.drafts.put(sender.member.clone(), draft);
        Ok(vec![Reply::private(ask)])
    }

    async fn save_checkin(
        &self,
        sender: &Sender,
        draft: crate::checkin::Draft,
        note: Option<String>,
        p: &str,
    ) -> crate::Result<Vec<Reply>> {
        use crate::checkin::MAX_NOTE;
        let now = self.clock.now();
        let member = self
            .store
            .upsert_member(&sender.member, &sender.display_name, now)
            .await?;
        let group = self.group_of(draft.group.as_ref()).await?;
        // The member's own zone, else the group's, decides the day.
        let zone = member
            .timezone
            .as_deref()
            .or(group.as_ref().map(|g| g.timezone.as_str()))
            .and_then(|z| parse_zone(z).ok())
            .unwrap_or(chrono_tz::UTC);
        let local_date = now.with_timezone(&zone).date_naive();
        let earlier = self.store.checkins(member.id, local_date).await?;
        let mood = draft.mood.unwrap_or_default();
        let mut cut = false;
        let note = note.map(|n| {
            let (kept, was_cut) = crate::text::clip(&n, MAX_NOTE);
            cut = was_cut;
            kept
        });
        let checkin = crate::model::NewCheckin {
            member_id: member.id,
            group_id: group.as_ref().map(|g| g.id),
            local_date,
            mood,
            sleep: draft.sleep,
            connection: draft.connection.clone(),
            note: note.clone(),
        };
        self.store.save_checkin(&checkin, now).await?;
        let mut replies = vec![Reply::private(format!(
            "{} your check-in for {}: mood {mood}{}. Thank you for taking a moment for \
             yourself. Answering again today updates it; {p}mydata export shows your answers.",
            if earlier.is_empty() {
                "Saved"
            } else {
                "Updated"
            },
            local_date.format("%A %-d %B"),
            draft
                .sleep
                .map(|s| format!(", sleep {s}"))
                .unwrap_or_default(),
        ))];
        if cut {
            replies.push(Reply::private(crate::text::kept_note(MAX_NOTE)));
        }
        // Low moods, for members who chose to let moderators know.
        if member.consent.checkin_signals
            && let Some(g) = &draft.group
        {
            let since = local_date - chrono::Duration::days(crate::checkin::SIGNAL_DAYS);
            let recent = self.store.checkins(member.id, since).await?;
            if let Some(why) = crate::checkin::low_mood_signal(&recent, local_date) {
                let text = format!("(check-in signal, shared by the member's choice: {why})");
                self.raise_alert(g, sender, &text, None, AlertLevel::Concern, "", false)
                    .await?;
                self.wake_workers();
                replies.push(Reply::private(format!(
                    "Because you chose to share low moods ({p}privacy signals), I've let the \
                     moderators know that {why}."
                )));
            }
        }
        // The connection answer and the note were read for crisis as they
        // came in (see `direct`), like any message.
        Ok(replies)
    }

    /// Remembers that the sender belongs to the group (their check-in
    /// prompts come from its schedule). Best effort: a failure is logged,
    /// the command goes on.
    async fn note_membership(&self, group: &GroupRef, sender: &Sender) {
        let now = self.clock.now();
        let noted = async {
            let Some(group) = self.store.group(group.platform, &group.id).await? else {
                return Ok(());
            };
            let member = self
                .store
                .upsert_member(&sender.member, &sender.display_name, now)
                .await?;
            self.store.add_group_member(group.id, member.id, now).await
        };
        if let Err(error) = noted.await {
            tracing::warn!(%error, group = %group.id, "could not record group membership");
        }
    }

    /// Tells the moderators' channel that an alert was claimed or resolved,
    /// so no two moderators reach out at once. Best effort: the claim
    /// itself is already stored and audited, so a failure here is logged.
    async fn tell_moderators(&self, group: &Group, alert: &Alert, action: &str, by: &Sender) {
        let Some(channel) = &group.moderator_channel else {
            return;
        };
        let who = by.display_name.replace('@', "@\u{200B}");
        let done = if action == "claim" {
            "claimed"
        } else {
            "resolved"
        };
        let p = moderator_prefix(group.platform);
        let text = if action == "claim" {
            format!(
                "Alert #{} was claimed by {who}; it will not be escalated. \
                 {p}alerts lists what is still open.",
                alert.id
            )
        } else {
            format!("Alert #{} was resolved by {who}.", alert.id)
        };
        let notice = NewDelivery {
            kind: DeliveryKind::Notice,
            target: Target::channel(group.platform, channel.clone()),
            payload: Payload {
                text,
                alert: Some(alert.id),
                mention_moderators: false,
                member: None,
            },
            idempotency_key: format!("alert-{}-{done}-notice", alert.id),
            not_before: None,
            // It names the moderator, not the member: it outlives the
            // member's data like the anonymised alert does.
            group: Some(group.id),
            about: None,
        };
        match self.store.enqueue(&[notice], self.clock.now()).await {
            Ok(_) => self.wake_workers(),
            Err(error) => {
                tracing::warn!(%error, alert = %alert.id, "could not tell moderators of the {done} alert");
            }
        }
    }

    fn wake_workers(&self) {
        if let Some(order) = &self.critical_first {
            order.enqueued();
        }
        if let Some(wake) = &self.wake {
            // notify_one keeps a permit if no worker is waiting yet.
            wake.notify_waiters();
            wake.notify_one();
        }
    }

    /// The group a command was sent in. A command sent in a moderators'
    /// room or channel (which is not a group itself) acts on the group that
    /// room serves, so moderators can handle alerts where they see them.
    async fn group_of(&self, group: Option<&GroupRef>) -> crate::Result<Option<Group>> {
        let Some(g) = group else {
            return Ok(None);
        };
        if let Some(found) = self.store.group(g.platform, &g.id).await? {
            return Ok(Some(found));
        }
        Ok(self.store.groups().await?.into_iter().find(|candidate| {
            candidate.platform == g.platform
                && candidate.moderator_channel.as_deref() == Some(g.id.as_str())
        }))
    }

    /// `setup`: shows the group's settings; `setup moderators <channel>`,
    /// `setup region <CC>`, `setup timezone <Zone>`, `setup checkin <cron>|off`
    /// change them. The first `setup` in a room or server makes it a group.
    async fn setup(&self, group: Option<&GroupRef>, args: &str, p: &str) -> crate::Result<String> {
        let Some(group_ref) = group else {
            return Ok(format!(
                "Use {p}setup in the group room or server you moderate, not in a private chat."
            ));
        };
        let existing = self.group_of(Some(group_ref)).await?;
        let mut new = match &existing {
            Some(g) => NewGroup {
                platform: g.platform,
                external_id: g.external_id.clone(),
                moderator_channel: g.moderator_channel.clone(),
                region: g.region.clone(),
                timezone: g.timezone.clone(),
                checkin_cron: g.checkin_cron.clone(),
                settings: g.settings.clone(),
            },
            None => NewGroup {
                platform: group_ref.platform,
                external_id: group_ref.id.clone(),
                moderator_channel: None,
                region: String::new(),
                timezone: "UTC".into(),
                checkin_cron: None,
                settings: crate::model::GroupSettings::default(),
            },
        };
        let (what, value) = match args.trim().split_once(char::is_whitespace) {
            Some((w, v)) => (w.to_ascii_lowercase(), v.trim()),
            None => (args.trim().to_ascii_lowercase(), ""),
        };
        let usage = format!(
            "{p}setup moderators <room or channel> - where crisis alerts go\n\
             {p}setup region <country code> - whose crisis lines members see, e.g. GB\n\
             {p}setup timezone <zone> - the group's time zone, e.g. Europe/London\n\
             {p}setup checkin <cron> | off - when the daily check-in goes out, \
             e.g. {p}setup checkin 0 0 9 * * *"
        );
        let done = match (what.as_str(), value) {
            ("", _) => {
                return Ok(format!(
                    "{}\n\n{usage}",
                    setup_summary(existing.as_ref(), p, self.detector.model_in_use())
                ));
            }
            ("moderators" | "mods", "") => {
                return Ok(format!(
                    "Name the private room or channel for alerts, e.g. {p}setup moderators #mods."
                ));
            }
            ("moderators" | "mods", channel) => {
                // Alerts must never land in the group itself, nor in a room
                // another group's moderators use (a room owner could
                // otherwise send alerts into someone else's team room).
                if channel == group_ref.id || channel == new.external_id {
                    return Ok(format!(
                        "Alerts need a private room for moderators, not the group itself. \
                         Make one, invite me, then run {p}setup moderators <that room>."
                    ));
                }
                let taken = self.store.groups().await?.into_iter().any(|g| {
                    g.platform == new.platform
                        && g.external_id != new.external_id
                        && (g.moderator_channel.as_deref() == Some(channel)
                            || g.external_id == channel)
                });
                if taken {
                    return Ok(
                        "That room already serves another group. Each group needs its own \
                         moderators' room."
                            .to_owned(),
                    );
                }
                new.moderator_channel = Some(channel.to_owned());
                format!(
                    "Crisis alerts for this group now go to {}.",
                    channel.replace('@', "@\u{200B}")
                )
            }
            ("region", code) => match crate::region::normalize(code) {
                Some(code) => {
                    new.region = code.clone();
                    format!("Members here now see crisis lines for {code}.")
                }
                None => {
                    return Ok(format!(
                        "\"{}\" is not a two-letter country code. Try e.g. {p}setup region US, GB or DE.",
                        code.chars().take(20).collect::<String>()
                    ));
                }
            },
            ("timezone" | "tz", zone) => match parse_zone(zone) {
                Ok(tz) => {
                    new.timezone = tz.name().to_owned();
                    format!("The group's time zone is now {}.", tz.name())
                }
                Err(_) => {
                    return Ok(format!(
                        "I don't know the time zone \"{}\". Use a name like Europe/London or America/New_York.",
                        zone.chars().take(40).collect::<String>()
                    ));
                }
            },
            ("checkin", off) if off.eq_ignore_ascii_case("off") => {
                new.checkin_cron = None;
                "The daily group check-in is now off.".to_owned()
            }
            ("checkin", expr) => match crate::schedule::Schedule::checkin(expr, &new.timezone) {
                Ok(_) => {
                    new.checkin_cron = Some(expr.split_whitespace().collect::<Vec<_>>().join(" "));
                    format!(
                        "The daily check-in now follows \"{}\" in {}.",
                        new.checkin_cron.as_deref().unwrap_or_default(),
                        new.timezone
                    )
                }
                Err(error) => return Ok(format!("That schedule doesn't work: {error}.")),
            },
            _ => return Ok(format!("I can set these:\n{usage}")),
        };
        self.store.upsert_group(&new, self.clock.now()).await?;
        Ok(done)
    }

    /// `privacy checkins|quiet|signals on|off` and `privacy choices`.
    async fn set_choice(&self, sender: &Sender, args: &str, p: &str) -> crate::Result<String> {
        let mut words = args.split_whitespace().map(str::to_ascii_lowercase);
        let (what, value) = (words.next().unwrap_or_default(), words.next());
        let now = self.clock.now();
        let member = self
            .store
            .upsert_member(&sender.member, &sender.display_name, now)
            .await?;
        let mut consent = member.consent;
        let on = match value.as_deref() {
            Some("on" | "yes") => true,
            Some("off" | "no") => false,
            _ if what == "choices" => {
                let show = |b: bool| if b { "on" } else { "off" };
                return Ok(format!(
                    "Your choices: daily check-ins {}, quiet {}, check-in signals {}. Change one \
                     with {p}privacy <checkins|quiet|signals> <on|off>.",
                    show(consent.checkins),
                    show(consent.quiet),
                    show(consent.checkin_signals)
                ));
            }
            _ => {
                return Ok(format!(
                    "Use {p}privacy checkins on|off, {p}privacy quiet on|off or {p}privacy \
                     signals on|off; {p}privacy choices shows yours."
                ));
            }
        };
        let said = match what.as_str() {
            "checkins" | "checkin" => {
                consent.checkins = on;
                if on {
                    "You'll get a short private check-in each day. Skipping is always fine."
                } else {
                    "No more daily check-ins from me."
                }
            }
            "quiet" => {
                consent.quiet = on;
                if on {
                    "Quiet is on: if a message of yours sounds worried, I'll send you resources without alerting moderators. If it sounds like you might act on thoughts of suicide or self-harm, I'll still tell them."
                } else {
                    "Quiet is off: moderators hear about worried-sounding messages too."
                }
            }
            "signals" => {
                consent.checkin_signals = on;
                if on {
                    "Very low check-in moods will let a moderator know, so someone can check in."
                } else {
                    "Check-in moods stay between you and me."
                }
            }
            _ => {
                return Ok(format!(
                    "I don't know the choice \"{}\". {p}privacy lists them.",
                    what.chars().take(20).collect::<String>()
                ));
            }
        };
        self.store.set_member_consent(member.id, consent).await?;
        Ok(said.to_owned())
    }

    /// Crisis lines for the group's region (or a directory for everywhere).
    async fn resources(&self, group: Option<&GroupRef>) -> crate::Result<String> {
        let group = self.group_of(group).await?;
        let region = group.as_ref().map(|g| g.region.as_str());
        let local = group
            .as_ref()
            .map_or(&[][..], |g| &g.settings.crisis_lines[..]);
        Ok(Resources::embedded().message(region, local))
    }

    async fn pause(&self, sender: &Sender, args: &str, prefix: &str) -> crate::Result<String> {
        let days = if args.is_empty() {
            DEFAULT_PAUSE_DAYS
        } else {
            match args.parse::<i64>() {
                Ok(d) if (1..=MAX_PAUSE_DAYS).contains(&d) => d,
                _ => {
                    return Ok(format!(
                        "I can pause for a whole number of days from 1 to {MAX_PAUSE_DAYS}, \
                         for example {prefix}pause 3. Without a number I pause for \
                         {DEFAULT_PAUSE_DAYS} days."
                    ));
                }
            }
        };
        let now = self.clock.now();
        let member = self
            .store
            .upsert_member(&sender.member, &sender.display_name, now)
            .await?;
        let until = now + chrono::Duration::days(days);
        self.store
            .set_member_paused_until(member.id, Some(until))
            .await?;
        // Say the end time in the member's own zone when they have set one.
        let zone = member.timezone.as_deref().and_then(|z| parse_zone(z).ok());
        let (when, zone_name) = match zone {
            Some(tz) => (
                until
                    .with_timezone(&tz)
                    .format("%A %-d %B, %H:%M")
                    .to_string(),
                tz.name(),
            ),
            None => (until.format("%A %-d %B, %H:%M").to_string(), "UTC"),
        };
        Ok(format!(
            "Done: no check-ins or reminders from me until {when} ({zone_name}). Take the time \
             you need. {prefix}resume brings them back sooner. If things get hard, crisis \
             support and the group are still here while you're paused."
        ))
    }

    async fn resume(&self, sender: &Sender, p: &str) -> crate::Result<String> {
        let now = self.clock.now();
        let Some(member) = self.store.member(&sender.member).await? else {
            return Ok(format!(
                "You weren't paused, so nothing changed. You don't get daily check-ins from me; \
                 {p}privacy checkins on starts them if you'd like."
            ));
        };
        let was_paused = member.is_paused(now);
        if was_paused {
            self.store.set_member_paused_until(member.id, None).await?;
        }
        // Say what is actually on for this member, not what could be.
        let checkins = if member.consent.checkins {
            "your daily check-ins are on".to_owned()
        } else {
            format!("you don't get daily check-ins ({p}privacy checkins on starts them)")
        };
        let open_homework = self
            .store
            .homework(member.id)
            .await?
            .iter()
            .any(|h| h.status == crate::model::HomeworkStatus::Open && h.due_at.is_some());
        let reminders = if open_homework {
            ", and reminders for your exercises are on"
        } else {
            ""
        };
        Ok(if was_paused {
            format!("Welcome back. The pause is over: {checkins}{reminders}.")
        } else {
            format!("You weren't paused, so nothing changed: {checkins}{reminders}.")
        })
    }

    async fn timezone(&self, sender: &Sender, args: &str, prefix: &str) -> crate::Result<String> {
        let now = self.clock.now();
        if args.is_empty() {
            let member = self.store.member(&sender.member).await?;
            return Ok(match member.and_then(|m| m.timezone) {
                Some(tz) => format!(
                    "Your time zone is {tz}. Change it with {prefix}timezone <zone>, for example \
                     {prefix}timezone Europe/London."
                ),
                None => format!(
                    "You haven't set a time zone, so your reminders follow the group's. Set one \
                     with {prefix}timezone <zone>, for example {prefix}timezone America/Chicago."
                ),
            });
        }
        let zone = match parse_zone(args) {
            Ok(zone) => zone,
            Err(_) => {
                return Ok(format!(
                    "I don't know the time zone \"{}\". Zone names look like Europe/London, \
                     America/New_York or Asia/Kolkata.",
                    args.chars().take(60).collect::<String>()
                ));
            }
        };
        let member = self
            .store
            .upsert_member(&sender.member, &sender.display_name, now)
            .await?;
        self.store
            .set_member_timezone(member.id, Some(zone.name()))
            .await?;
        let local = now.with_timezone(&zone);
        Ok(format!(
            "Your time zone is now {}; it's {} there. Your reminders will follow it.",
            zone.name(),
            local.format("%H:%M")
        ))
    }

    async fn mydata(&self, sender: &Sender, args: &str, prefix: &str) -> crate::Result<String> {
        let mut words = args.split_whitespace();
        let action = words.next().unwrap_or("").to_ascii_lowercase();
        let confirmed = words
            .next()
            .is_some_and(|w| w.eq_ignore_ascii_case("confirm"));
        let member = self.store.member(&sender.member).await?;
        match (action.as_str(), member) {
            ("export", None) | ("delete", None) => {
                Ok("I don't have anything stored about you.".to_owned())
            }
            ("export", Some(member)) => {
                let data = self.store.member_data(member.id).await?;
                let json = serde_json::to_string_pretty(&data)
                    .map_err(|e| crate::Error::Corrupt(e.to_string()))?;
                Ok(format!("Here is everything I store about you:\n{json}"))
            }
            ("delete", Some(_)) if !confirmed => {
                let now = self.clock.now();
                let mut waiting = self
                    .confirmations
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                waiting
                    .retain(|_, asked| *asked >= now - chrono::Duration::minutes(CONFIRM_MINUTES));
                waiting.insert(sender.member.clone(), now);
                drop(waiting);
                Ok(format!(
                    "This deletes everything I store about you: your profile and choices, your \
                     check-ins, your exercises, the messages I sent you and the alert records \
                     about you (moderators keep only an anonymous line that an alert happened). \
                     It can't be undone. One exception: if an alert about you is still open, \
                     your safety comes first, so the moderators keep who it is about and the \
                     link to your message until one of them closes it; then that goes too.\n\
                     To go ahead, reply \"confirm\" (or send {prefix}mydata delete confirm) \
                     within {CONFIRM_MINUTES} minutes."
                ))
            }
            ("delete", Some(member)) => self.erase(sender, member.id, prefix).await,
            _ => Ok(format!(
                "{prefix}mydata export sends you a copy of what I store about you; \
                 {prefix}mydata delete deletes it."
            )),
        }
    }

    /// Carries out `mydata delete`, and says plainly what happened.
    async fn erase(
        &self,
        sender: &Sender,
        member: crate::ids::MemberId,
        p: &str,
    ) -> crate::Result<String> {
        // A check-in half answered would write the member back when done.
        self.drafts.remove(&sender.member);
        self.confirmations
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&sender.member);
        let erasure = self.store.delete_member(member, self.clock.now()).await?;
        Ok(match erasure {
            crate::store::Erasure::NotFound => "I don't have anything stored about you.".to_owned(),
            crate::store::Erasure::Erased => "Done. Everything I stored about you is deleted, \
                including the messages I sent you. If moderators ever had an alert about you, \
                they keep only an anonymous line that it happened, without your name, your words \
                or a link. You're still welcome here; if you use me again I'll start from nothing."
                .to_owned(),
            crate::store::Erasure::HeldForOpenAlerts(n) => format!(
                "Done: your profile, choices, check-ins, exercises and my messages to you are \
                 deleted. One thing stays for now, because your safety comes first: {} about \
                 you is still open, so the moderators keep who it is about, how serious it \
                 sounded and the link to your message, and they will still be reminded until \
                 someone picks it up. As soon as a moderator closes it, your name and the link \
                 are removed from it too. If you need support now, {p}resources has people you \
                 can talk to.",
                if n == 1 {
                    "an alert".to_owned()
                } else {
                    format!("{n} alerts")
                }
            ),
        })
    }
}

impl Engine {
    /// The rules' level of the event's text read with its control
    /// characters as spaces, where it has any (see [`Engine::handle`]).
    async fn raw_floor(&self, event: &Event) -> Option<AlertLevel> {
        let text = match event {
            Event::Message { text, .. } | Event::Direct { text, .. } => text,
            Event::Command { args, .. } => args,
            Event::Joined { .. } => return None,
        };
        match crate::text::spaced(text) {
            std::borrow::Cow::Owned(spaced) => {
                self.detector.rules(&spaced).await.level.alert_level()
            }
            std::borrow::Cow::Borrowed(_) => None,
        }
    }
}

/// The event with control characters taken out of everything that may be
/// stored or echoed (see [`crate::text`]).
fn clean(mut event: Event) -> Event {
    fn strip(text: &mut String) {
        if let std::borrow::Cow::Owned(clean) = crate::text::strip_controls(text) {
            *text = clean;
        }
    }
    fn line(text: &mut String) {
        if text.contains(|c: char| c.is_control()) {
            *text = crate::text::one_line(text);
        }
    }
    match &mut event {
        Event::Command {
            sender, name, args, ..
        } => {
            line(&mut sender.display_name);
            line(name);
            strip(args);
        }
        Event::Message { sender, text, .. } | Event::Direct { sender, text, .. } => {
            line(&mut sender.display_name);
            strip(text);
        }
        Event::Joined { sender, .. } => line(&mut sender.display_name),
    }
    event
}

/// `learn` and `learn <topic>`.
pub fn learn(topic: &str, p: &str) -> String {
    let library = Library::embedded();
    if topic.trim().is_empty() {
        let mut out =
            format!("Topics to learn about. Type {p}learn and a topic, e.g. {p}learn grief.\n");
        for (section, cards) in library.by_section() {
            let ids: Vec<&str> = cards.iter().map(|c| c.id.as_str()).collect();
            out.push_str(&format!("\n{section}: {}", ids.join(", ")));
        }
        out.push_str(&format!(
            "\n\nOr describe what's on your mind: {p}search my dad died"
        ));
        return out;
    }
    let shown = topic.chars().take(60).collect::<String>();
    match library.lookup(topic) {
        Lookup::Found(card) => content::render(card, library, p),
        Lookup::Suggestions(cards) => {
            let list: Vec<String> = cards
                .iter()
                .map(|c| format!("{p}learn {} ({})", c.id, c.title))
                .collect();
            format!(
                "I don't have a card called \"{shown}\". Did you mean: {}?",
                list.join(", ")
            )
        }
        Lookup::NotFound => format!(
            "I don't have a card called \"{shown}\". {p}learn lists every topic, and \
             {p}search finds cards from everyday words."
        ),
    }
}

/// `search <words>`: the best three cards with their summaries.
pub fn search(query: &str, p: &str) -> String {
    if query.trim().is_empty() {
        return format!(
            "Tell me what's on your mind in a few words, e.g. {p}search we keep fighting, \
             or {p}search new job."
        );
    }
    let library = Library::embedded();
    let hits = library.search(query, 3);
    if hits.is_empty() {
        return format!(
            "I couldn't find a card for that. {p}learn lists every topic. If you're \
             struggling right now, {p}resources has people you can talk to."
        );
    }
    let mut out = String::from("These cards might help:");
    for (n, hit) in hits.iter().enumerate() {
        out.push_str(&format!(
            "\n{}. {} ({p}learn {})\n   {}",
            n + 1,
            hit.card.title,
            hit.card.id,
            hit.card.summary
        ));
    }
    out
}

/// Minutes in which further messages from a member update their open
/// alert instead of opening a new one.
pub const REPEAT_WINDOW_MINUTES: i64 = 30;

/// The command prefix moderators type on a platform, for alert texts.
pub(crate) fn moderator_prefix(platform: crate::ids::Platform) -> &'static str {
    match platform {
        crate::ids::Platform::Matrix => "!ipt ",
        crate::ids::Platform::Console | crate::ids::Platform::Discord => "/",
    }
}

/// What moderators are told of an alert the rules raised. The rules'
/// signals quote the member's words, so they are not shown here.
const RULES_WHY: &str = "Why: the detector's phrase rules read it as a crisis.";

/// What moderators are told of a level the learned model read: the
/// labelled example it reads like, which is ours, never the member's words.
fn model_why(reading: &crisis::learned::Reading) -> String {
    match &reading.nearest {
        Some((level, example, similarity)) => format!(
            "Why: the learned model read it as {}; it reads like this example from our own \
             training set (not their words): \"{example}\" ({level}, similarity {similarity:.2}).",
            reading.level.as_str(),
            level = level.as_str()
        ),
        None => format!(
            "Why: the learned model read it as {}.",
            reading.level.as_str()
        ),
    }
}

/// What moderators are told of the message itself: an excerpt only where
/// the group chose excerpts; otherwise nothing here (the link goes with
/// the alert).
fn assessment_note(group: &Group, text: &str) -> String {
    if group.settings.alert_excerpts {
        let excerpt: String = text.chars().take(300).collect();
        format!("Excerpt: \"{}\"", excerpt.replace('@', "@\u{200B}"))
    } else {
        String::new()
    }
}

/// The member's private message: warm, direct, honest about what happens.
pub fn support_text(level: AlertLevel, group: Option<&Group>, moderators_told: bool) -> String {
    let resources = Resources::embedded();
    let region = group.map(|g| g.region.as_str());
    let local = group.map_or(&[][..], |g| &g.settings.crisis_lines[..]);
    let emergency = resources.emergency(region);
    let mut out = String::new();
    if level == AlertLevel::Imminent {
        out.push_str(&format!(
            "Your safety comes first: if you are in danger or might act on these thoughts, \
             please call {emergency} now.\n\n"
        ));
    }
    out.push_str(
        "I noticed your message, and I'm glad you said something. It sounds like things \
         are really hard right now, and you deserve support.",
    );
    if moderators_told {
        out.push_str(
            " I've let the group's moderators know, so a person can check in with you. They \
             are peers, not a crisis team.",
        );
    }
    if level != AlertLevel::Imminent {
        out.push_str(&format!(
            "\n\nIf you might act on thoughts of suicide or self-harm, please call {emergency} now."
        ));
    }
    out.push_str("\n\n");
    out.push_str(&resources.lines(region, local));
    out.push_str("\n\nI'm a bot, not a therapist or an emergency service.");
    out
}

fn member_delivery(
    alert: &Alert,
    group: &Group,
    member: &Member,
    told: bool,
    step: &str,
) -> NewDelivery {
    NewDelivery {
        kind: DeliveryKind::CrisisSupport,
        target: Target::member(member.platform, member.external_id.clone()),
        payload: Payload {
            text: support_text(alert.level, Some(group), told),
            alert: Some(alert.id),
            mention_moderators: false,
            member: None,
        },
        idempotency_key: format!("alert-{}-{step}-{}-member", alert.id, alert.level),
        not_before: None,
        group: Some(group.id),
        about: Some(member.id),
    }
}

fn moderator_delivery(
    alert: &Alert,
    group: &Group,
    member: &Member,
    note: &str,
    step: &str,
) -> Option<NewDelivery> {
    let channel = group.moderator_channel.as_ref()?;
    let p = moderator_prefix(group.platform);
    let headline = if step == "raised" {
        format!("Crisis alert #{} raised to {}", alert.id, alert.level)
    } else {
        format!("Crisis alert #{} ({})", alert.id, alert.level)
    };
    let whose = member.display_name.replace('@', "@\u{200B}");
    let mut text = format!(
        "{headline}: a message from {whose} in {}.",
        group.external_id
    );
    match &alert.message_link {
        Some(link) => text.push_str(&format!(" Message: {link}")),
        None => text.push_str(" (This platform gives no link to the message.)"),
    }
    if !note.is_empty() {
        text.push_str(&format!("\n{note}"));
    }
    text.push_str(&format!(
        "\nThey have been sent crisis resources privately. Claim it with {p}alert claim {} and \
         resolve it with {p}alert resolve {} <note>.",
        alert.id, alert.id
    ));
    Some(NewDelivery {
        kind: DeliveryKind::CrisisAlert,
        target: Target::channel(group.platform, channel.clone()),
        payload: Payload {
            text,
            alert: Some(alert.id),
            // A raise to imminent mentions everyone: whoever claimed it may
            // have gone, and a claimed alert no longer escalates.
            mention_moderators: step == "raised" && alert.level == AlertLevel::Imminent,
            member: Some(crate::outbox::Mention {
                id: member.external_id.clone(),
                name: whose,
            }),
        },
        idempotency_key: format!("alert-{}-{step}-{}-moderators", alert.id, alert.level),
        not_before: None,
        group: Some(group.id),
        about: Some(member.id),
    })
}

/// What `setup` shows about a group.
fn setup_summary(group: Option<&Group>, p: &str, model: bool) -> String {
    let detection = if model {
        "crisis detection: rules and the learned model, reading English"
    } else {
        "crisis detection: RULES ALONE - the learned model is off in the bot's config \
         ([crisis] model = \"off\"), so crises said in words the rules do not know will be missed"
    };
    let Some(g) = group else {
        return format!(
            "This room is not set up as a group yet. Start with {p}setup moderators <room> so \
             crisis alerts reach the moderators.\n{detection}"
        );
    };
    let mods = match &g.moderator_channel {
        Some(c) => c.replace('@', "@\u{200B}"),
        None => "not set - alerts are stored but reach nobody".to_owned(),
    };
    let region = if g.region.is_empty() {
        "not set - members see international directories of crisis lines".to_owned()
    } else {
        g.region.clone()
    };
    let checkin = g.checkin_cron.as_deref().unwrap_or("off");
    format!(
        "This group's setup:\nmoderators: {mods}\nregion: {region}\ntime zone: {}\ncheck-in: {checkin}\n{detection}",
        g.timezone
    )
}

/// The help text, with the platform's command prefix.
pub fn help_text(p: &str) -> String {
    format!(
        "I'm ipt-bot, a bot that supports this peer-support group. I'm not a therapist, \
         a crisis service or a person. I bring ideas from Interpersonal Psychotherapy (IPT), \
         a daily check-in and small exercises to try between meetings.\n\
         \n\
         For everyone:\n\
         {p}help - this list\n\
         {p}learn [topic] - short cards about depression and IPT\n\
         {p}search <words> - find a card using everyday words\n\
         {p}checkin - answer today's check-in (mood, sleep, a moment of connection, a note)\n\
         {p}mood [days] - your own mood history, shown only to you\n\
         {p}homework list|add|done|note - your exercises between meetings\n\
         {p}resources - crisis lines for your region\n\
         {p}pause [days] / {p}resume - take a break from scheduled messages\n\
         {p}timezone <zone> - set your time zone, e.g. Europe/London\n\
         {p}privacy - what I keep and the choices you have\n\
         {p}mydata export|delete - get a copy of your data, or delete it\n\
         \n\
         For moderators:\n\
         {p}alerts [all] - open crisis alerts in this group (all: resolved ones too)\n\
         {p}alert claim|resolve <id> [note] - take or close an alert\n\
         {p}setup ... - set the moderator channel, region and check-in time\n\
         {p}stats - anonymous group totals\n\
         {p}homework assign ... - suggest an exercise to a member or the group\n\
         \n\
         I read messages for signs of crisis in English; in other languages I catch only a \
         few plain phrases. That is a safety net, not a clinician: I can miss things and \
         misread them, so please keep looking out for each other.\n\
         If you might act on thoughts of suicide or self-harm, please call your local \
         emergency number or a crisis line now."
    )
}

/// The private welcome for someone who joined a group: what the bot is,
/// that it is a bot and peer support, privacy and consent, how to start.
pub fn welcome_text(p: &str) -> String {
    format!(
        "Welcome to the group. I'm ipt-bot, a bot that helps this peer-support group; I'm \
         not a person, a therapist or a crisis service. The people here are peers, and the \
         moderators are volunteers.\n\
         \n\
         What I can do for you:\n\
         - {p}learn and {p}search: short cards on depression and Interpersonal Psychotherapy \
         (IPT), which looks at how our moods and our relationships affect each other.\n\
         - A daily check-in, only if you want one: {p}privacy checkins on. Your answers are \
         yours; moderators only ever see anonymous group totals.\n\
         - {p}homework: small exercises to try between meetings.\n\
         \n\
         Good to know before you post: if a message of yours sounds like you may be in \
         crisis, I'll send you support privately and let the moderators know, so a person \
         can check in with you. I never post about it in the group. {p}privacy explains what \
         I keep and the choices you have, and {p}mydata delete removes it all.\n\
         \n\
         If you are in danger now, please call your local emergency number; {p}resources \
         lists crisis lines. {p}help shows everything else."
    )
}

/// The privacy text, with the platform's command prefix.
pub fn privacy_text(p: &str) -> String {
    format!(
        "What I keep, and your choices:\n\
         - Your platform id, display name, time zone and the choices below.\n\
         - Your check-in answers and exercises. Only you see them; moderators see only \
         anonymous group totals, and never for fewer than 5 people. A check-in note that \
         sounds like crisis is treated like a message below, but the note itself is never \
         shown to anyone.\n\
         - If a message of yours sounds like you may be in crisis, I send you support \
         privately and tell the moderators, with a link to the message rather than its \
         text (unless this group chose excerpts). I can't promise to keep that secret: \
         keeping you safe comes first.\n\
         Choices (all off until you turn them on): daily check-ins ({p}privacy checkins on); \
         \"quiet\" ({p}privacy quiet on), which means worried-sounding messages get you \
         resources without alerting moderators (messages about acting on suicide or \
         self-harm always alert them); and letting low check-in moods alert a moderator \
         ({p}privacy signals on). {p}privacy choices shows yours.\n\
         {p}pause stops scheduled messages for a while. {p}mydata export shows everything \
         I store about you and {p}mydata delete removes it.\n\
         - How I spot a crisis: rules and a small language model that runs inside the bot \
         (nothing is sent anywhere to be read). They read English; in other languages they \
         catch only a few plain phrases. They are a safety net, not a clinician: they can \
         miss a crisis or see one that isn't there.\n\
         I'm a bot for peer support, not a health service or an emergency service."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_lists_every_member_command_with_the_platform_prefix() {
        let help = help_text("!ipt ");
        for cmd in [
            "help", "learn", "search", "checkin", "mood", "homework", "pause", "resume",
            "timezone", "privacy", "mydata",
        ] {
            assert!(help.contains(&format!("!ipt {cmd}")), "help lacks {cmd}");
        }
        assert!(help.contains("not a therapist"));
    }
}
