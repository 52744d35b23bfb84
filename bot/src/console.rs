//! The console platform: you are a member of a demo group in your terminal.
//!
//! Each input line is a command (`/help`, `/pause 3`, `/quit`), a private
//! message to the bot (a line starting with `>`: how check-in questions are
//! answered, like a DM on Discord or Matrix), or a message to the group.
//! Replies are printed as the bot would send them to you;
//! deliveries to moderators are printed marked as such, so one person can
//! see both sides of every flow without any tokens. End of input exits
//! cleanly, so the console can be scripted:
//! `printf '/help\n' | ipt-bot run --config config.example.toml`.

use std::collections::HashSet;
use std::io::Write;
use std::sync::{Arc, Mutex};

use ipt_core::engine::{Engine, Event, Reply, Sender, Visibility};
use ipt_core::ids::GroupRef;
use ipt_core::outbox::{Delivery, DeliveryResult, DeliverySink, TargetKind};
use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// Where console output goes: stdout in the binary, a buffer in tests.
#[derive(Clone)]
pub struct SharedOut(Arc<Mutex<Box<dyn Write + Send>>>);

impl std::fmt::Debug for SharedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedOut")
    }
}

impl SharedOut {
    /// Standard output.
    pub fn stdout() -> Self {
        Self::new(Box::new(std::io::stdout()))
    }

    /// Any writer.
    pub fn new(w: Box<dyn Write + Send>) -> Self {
        Self(Arc::new(Mutex::new(w)))
    }

    /// Writes a block of text and flushes. A closed stdout is not worth
    /// crashing over; the text is dropped.
    fn print(&self, text: &str) {
        let mut out = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Nothing printed may drive the terminal (escape sequences in
        // stored text from before it was cleaned on the way in).
        let _ = out.write_all(ipt_core::text::strip_controls(text).as_bytes());
        let _ = out.flush();
    }
}

/// The console user's session.
#[derive(Debug)]
pub struct Console {
    engine: Engine,
    group: GroupRef,
    sender: Sender,
    out: SharedOut,
}

/// What starts a private message to the bot in the console.
const DIRECT: char = '>';

impl Console {
    /// A console session for `sender` in `group`.
    pub fn new(engine: Engine, group: GroupRef, sender: Sender, out: SharedOut) -> Self {
        Self {
            engine,
            group,
            sender,
            out,
        }
    }

    /// The delivery sink that prints outbox deliveries.
    pub fn sink(&self) -> Arc<dyn DeliverySink> {
        Arc::new(ConsoleSink {
            out: self.out.clone(),
            me: self.sender.member.id.clone(),
            group: self.group.id.clone(),
            seen: Mutex::new(HashSet::new()),
        })
    }

    /// The greeting, on stderr so scripted output stays clean.
    pub fn banner(&self) {
        eprintln!(
            "ipt-bot console: you are \"{}\" in the group \"{}\". Type /help, a message to the group, or a line starting with > to message the bot privately; \
             /quit or Ctrl-D ends.",
            self.sender.display_name, self.group.id
        );
    }

    /// Reads lines until end of input or `/quit`.
    pub async fn run<R: AsyncBufRead + Unpin>(&self, mut input: R) -> std::io::Result<()> {
        // The console user has just joined the group: the same private
        // welcome a Discord or Matrix member gets.
        let welcome = self
            .engine
            .respond(Event::Joined {
                group: self.group.clone(),
                sender: self.sender.clone(),
                prefix: "/".into(),
            })
            .await;
        self.show(&welcome);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            if input.read_until(b'\n', &mut buf).await? == 0 {
                return Ok(());
            }
            // Invalid UTF-8 is replaced rather than refused: a member's
            // message is never dropped for its encoding.
            // The whole line is read for crisis, however long: only what is
            // stored or echoed is ever cut, and the member is told.
            let line = String::from_utf8_lossy(&buf);
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            if matches!(line, "/quit" | "/exit") {
                return Ok(());
            }
            let event = self.event(line);
            let to_group = matches!(event, Event::Message { .. });
            let replies = self.engine.respond(event).await;
            self.show(&replies);
            if to_group && replies.is_empty() && self.engine.in_checkin(&self.sender.member) {
                self.out.print(&format!(
                    "(That went to the group. To answer your check-in privately, start the \
                     line with {DIRECT}, e.g. \"{DIRECT} 7\".)\n\n"
                ));
            }
        }
    }

    fn event(&self, line: &str) -> Event {
        match line.strip_prefix('/') {
            Some(command) => {
                let (name, args) = command
                    .split_once(char::is_whitespace)
                    .unwrap_or((command, ""));
                Event::Command {
                    group: Some(self.group.clone()),
                    sender: self.sender.clone(),
                    name: name.to_lowercase(),
                    args: args.trim().to_owned(),
                    prefix: "/".into(),
                }
            }
            // A private message to the bot: check-in answers go here, as
            // in a DM. Group messages are never taken as answers.
            None if line.starts_with(DIRECT) => Event::Direct {
                sender: self.sender.clone(),
                text: line[DIRECT.len_utf8()..].trim().to_owned(),
                prefix: "/".into(),
            },
            None => Event::Message {
                group: self.group.clone(),
                sender: self.sender.clone(),
                text: line.to_owned(),
                link: None,
            },
        }
    }

    fn show(&self, replies: &[Reply]) {
        let mut text = String::new();
        for reply in replies {
            let who = match reply.visibility {
                Visibility::Here => format!("ipt-bot in {}", self.group.id),
                Visibility::Private => "ipt-bot (only you see this)".to_owned(),
            };
            text.push_str(&format!("{who}:\n{}\n", reply.text));
            if let Some(image) = &reply.image {
                // A terminal shows no pictures: the chart goes to a file.
                match save_private(&image.name, &image.png) {
                    Ok(path) => text.push_str(&format!("[chart saved to {}]\n", path.display())),
                    Err(error) => text.push_str(&format!("[chart not saved: {error}]\n")),
                }
            }
            text.push('\n');
        }
        self.out.print(&text);
    }
}

/// Writes a chart to a new file in the temp folder that only its owner can
/// read (it shows a member's moods), under a name nobody can plant first:
/// the file must not exist yet, so a symlink or file laid in wait makes us
/// pick another name instead of writing through it.
fn save_private(name: &str, bytes: &[u8]) -> std::io::Result<std::path::PathBuf> {
    use std::io::Write as _;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut last = None;
    for _ in 0..8 {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path =
            std::env::temp_dir().join(format!("ipt-bot-{}-{nanos:09}-{name}", std::process::id()));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        options.mode(0o600);
        match options.open(&path) {
            Ok(mut file) => {
                file.write_all(bytes)?;
                return Ok(path);
            }
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => last = Some(error),
            Err(error) => return Err(error),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no free file name")))
}

/// Prints outbox deliveries. Remembers idempotency keys, so a retried
/// delivery is shown once, as a real platform would.
struct ConsoleSink {
    out: SharedOut,
    me: String,
    /// The group's own channel (posts there are public to the group).
    group: String,
    seen: Mutex<HashSet<String>>,
}

#[async_trait::async_trait]
impl DeliverySink for ConsoleSink {
    async fn deliver(&self, delivery: &Delivery) -> DeliveryResult {
        let fresh = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(delivery.idempotency_key.clone());
        if !fresh {
            return DeliveryResult::Delivered;
        }
        let target = &delivery.target;
        let heading = match target.kind {
            TargetKind::Member if target.id == self.me => "[private message to you]".to_owned(),
            TargetKind::Member => format!("[private message to {}]", target.id),
            TargetKind::Channel if target.id == self.group => {
                format!("[posted in the group \"{}\"]", target.id)
            }
            TargetKind::Channel => format!("[to the moderators' channel \"{}\"]", target.id),
        };
        self.out
            .print(&format!("{heading}\n{}\n\n", delivery.payload.text));
        DeliveryResult::Delivered
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use ipt_core::clock::{Clock, SystemClock, from_millis};
    use ipt_core::engine::Engine;
    use ipt_core::ids::{DeliveryId, MemberRef, Platform};
    use ipt_core::outbox::{Delivery, DeliveryKind, DeliveryState, Payload, Target};
    use ipt_core::store::{ConnectOptions, SqliteStore};

    use super::*;

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);

    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn delivery(key: &str, target: Target, text: &str) -> Delivery {
        Delivery {
            id: DeliveryId(1),
            kind: DeliveryKind::CrisisAlert,
            target,
            payload: Payload {
                text: text.into(),
                ..Payload::default()
            },
            idempotency_key: key.into(),
            state: DeliveryState::Queued,
            attempts: 1,
            available_at: None,
            delivered_at: None,
            last_error: None,
            created_at: from_millis(0),
        }
    }

    #[cfg(unix)]
    #[test]
    fn charts_are_saved_private_under_fresh_names() {
        use std::os::unix::fs::PermissionsExt;
        let a = save_private("mood.png", b"png").unwrap();
        let b = save_private("mood.png", b"png").unwrap();
        assert_ne!(a, b, "a name nobody can plant first");
        let mode = std::fs::metadata(&a).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let _ = std::fs::remove_file(a);
        let _ = std::fs::remove_file(b);
    }

    #[tokio::test]
    async fn moderator_deliveries_are_marked_and_shown_once_per_key() {
        let store = SqliteStore::connect("sqlite::memory:", &ConnectOptions::default())
            .await
            .unwrap();
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let buf = Buf::default();
        let console = Console::new(
            Engine::new(Arc::new(store), clock),
            GroupRef::new(Platform::Console, "demo"),
            Sender {
                member: MemberRef::new(Platform::Console, "you"),
                display_name: "you".into(),
                moderator: true,
            },
            SharedOut::new(Box::new(buf.clone())),
        );
        let sink = console.sink();
        let to_mods = delivery(
            "k1",
            Target::channel(Platform::Console, "moderators"),
            "Alert #1",
        );
        assert_eq!(sink.deliver(&to_mods).await, DeliveryResult::Delivered);
        assert_eq!(
            sink.deliver(&to_mods).await,
            DeliveryResult::Delivered,
            "a retry is accepted"
        );
        let to_me = delivery(
            "k2",
            Target::member(Platform::Console, "you"),
            "You are not alone",
        );
        sink.deliver(&to_me).await;
        let out = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert_eq!(out.matches("Alert #1").count(), 1, "{out}");
        assert!(
            out.contains("[to the moderators' channel \"moderators\"]\nAlert #1"),
            "{out}"
        );
        assert!(
            out.contains("[private message to you]\nYou are not alone"),
            "{out}"
        );
    }
}
