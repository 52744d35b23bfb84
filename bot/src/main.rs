//! The `ipt-bot` command line. Exit status: 0 ok, 1 bad input or config,
//! 2 runtime failure.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};
use ipt_bot::config;
use ipt_bot::runtime::{self, UserError};
use ipt_core::content::{Library, Lookup};
use ipt_core::schedule::Schedule;

/// A peer-support bot for depression support groups on Discord and Matrix,
/// built on ideas from Interpersonal Psychotherapy (IPT). Peer support, not
/// therapy.
#[derive(Debug, Parser)]
#[command(name = "ipt-bot", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run every platform enabled in the config.
    Run {
        /// The TOML config file.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Validate a config file; exit 1 naming every bad key.
    CheckConfig {
        /// The TOML config file.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Apply database migrations.
    Migrate {
        /// The TOML config file.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Assess messages for crisis language: stdin one message a line,
    /// stdout one JSON object a line ({"level": …, "signals": […]}).
    /// Reads with the rules and the learned model, as `run` does.
    Scan {
        /// Read with the rules alone (as `[crisis] model = "off"`).
        #[arg(long)]
        rules_only: bool,
        /// The model directory (default: IPT_MODEL_DIR, else
        /// ~/.cache/ipt-bot/model/all-MiniLM-L6-v2).
        #[arg(long)]
        model_dir: Option<PathBuf>,
    },
    /// The psychoeducation cards: list, show, search, lint.
    Content {
        #[command(subcommand)]
        command: ContentCommand,
    },
    /// Work with check-in schedules.
    Schedule {
        #[command(subcommand)]
        command: ScheduleCommand,
    },
}

#[derive(Debug, Subcommand)]
enum ContentCommand {
    /// Every card: id, section, title.
    List,
    /// One card as members see it (id, title or alias; typos forgiven).
    Show {
        /// The card.
        id: String,
    },
    /// The best cards for everyday words.
    Search {
        /// What to look for.
        #[arg(required = true, num_args = 1..)]
        query: Vec<String>,
        /// How many results.
        #[arg(long, default_value_t = 3)]
        limit: usize,
    },
    /// Check every card (front matter, links, length, reading level,
    /// forbidden phrasing); exit 1 on any problem.
    Lint,
}

#[derive(Debug, Subcommand)]
enum ScheduleCommand {
    /// Print the next fire times, one RFC 3339 UTC time a line.
    Preview {
        /// 6-field cron expression (sec min hour day-of-month month day-of-week).
        #[arg(long)]
        cron: String,
        /// IANA time zone, e.g. America/New_York.
        #[arg(long)]
        tz: String,
        /// Start after this time (RFC 3339); default now.
        #[arg(long)]
        from: Option<String>,
        /// How many times to print.
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..=1000))]
        count: u16,
    },
}

enum Failure {
    /// Bad input or config: exit 1.
    Input(String),
    /// Something broke while running: exit 2.
    Runtime(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        match e.downcast::<UserError>() {
            Ok(user) => Failure::Input(user.0),
            Err(e) => Failure::Runtime(e),
        }
    }
}

fn main() -> ExitCode {
    // The crisis encoder's thread settings, set before any thread exists.
    // If the restart fails, the program goes on as it is: the same
    // readings, only slower.
    let _failed = ipt_core::crisis::encoder::restart_with_thread_env();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 1 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    init_logging(matches!(cli.command, Command::Run { .. }));
    match execute(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Input(message)) => {
            eprintln!("{}", message.trim_end());
            ExitCode::from(1)
        }
        Err(Failure::Runtime(error)) => {
            eprintln!("ipt-bot: {}", error_chain(&error));
            ExitCode::from(2)
        }
    }
}

/// The error and its causes on one line, each said once. Many errors
/// (sqlx's, ours wrapping them) already repeat their source in their own
/// text, so `{:#}` would print "refused: refused: refused"; a cause whose
/// text the line already holds is left out.
fn error_chain(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        let text = text.trim();
        if text.is_empty() || line.contains(text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(text);
    }
    line
}

fn init_logging(running: bool) {
    // The console shares the terminal with the logs, so only warnings show
    // by default; RUST_LOG overrides. matrix-sdk warns on every encrypted
    // send that no key backup is set up (the bot keeps none on purpose) and
    // logs each failed request as an error of its own; the adapter reports
    // what matters (a failed sync or delivery) itself.
    let default = if running {
        "warn,matrix_sdk_crypto::backups=error,matrix_sdk::http_client=off,matrix_sdk::sync=off"
    } else {
        "error"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal; in a pipe, a file
        // or journald they are noise.
        .with_ansi(std::io::stderr().is_terminal())
        // A closed stderr must not crash the bot: by default the subscriber
        // reports a failed write with eprintln!, which panics then.
        .log_internal_errors(false)
        .init();
}

fn load(path: &Path) -> Result<config::Config, Failure> {
    config::load(path).map_err(|errors| Failure::Input(errors.to_string()))
}

fn tokio() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Runtime(e.into()))
}

fn execute(command: Command) -> Result<(), Failure> {
    match command {
        Command::CheckConfig { config } => {
            let c = load(&config)?;
            // What `run` would refuse fails here too, in the same words.
            if let Some(reason) = c.not_runnable() {
                return Err(Failure::Input(format!("{}: {reason}", config.display())));
            }
            for warning in &c.warnings {
                eprintln!("warning: {warning}");
            }
            // The model as `run` would find it: missing or altered files
            // fail here too, in the same words.
            let model = if c.crisis.model {
                let dir = c.crisis.model_dir();
                ipt_core::crisis::encoder::verify(&dir)
                    .map_err(|e| Failure::Input(format!("{}: {e}", config.display())))?;
                format!("crisis model in use, files verified in {}", dir.display())
            } else {
                "crisis model OFF: the rules alone read messages".to_owned()
            };
            println!(
                "{}: OK ({}; database {}; {} configured group{}; {model})",
                config.display(),
                platforms(&c),
                c.database.redacted_url(),
                c.groups.len(),
                if c.groups.len() == 1 { "" } else { "s" }
            );
            Ok(())
        }
        Command::Migrate { config } => {
            let c = load(&config)?;
            tokio()?.block_on(runtime::open_store(&c))?;
            println!("database {} is up to date", c.database.redacted_url());
            Ok(())
        }
        Command::Run { config } => {
            let c = load(&config)?;
            let rt = tokio()?;
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                rt.block_on(runtime::run(c))
            }));
            // The console's stdin read sits on a blocking thread that only
            // returns with the next line; don't wait for it on the way out,
            // not even after a panic.
            rt.shutdown_timeout(std::time::Duration::from_millis(100));
            match result {
                Ok(result) => Ok(result?),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        Command::Content { command } => content(command),
        Command::Scan {
            rules_only,
            model_dir,
        } => {
            let model = if rules_only {
                None
            } else {
                let dir = model_dir.unwrap_or_else(ipt_core::crisis::encoder::default_model_dir);
                Some(
                    ipt_core::crisis::learned::Learned::load(&dir)
                        .map_err(|e| Failure::Runtime(e.into()))?,
                )
            };
            scan(model.as_ref())
        }
        Command::Schedule {
            command:
                ScheduleCommand::Preview {
                    cron,
                    tz,
                    from,
                    count,
                },
        } => {
            let schedule = Schedule::new(&cron, &tz).map_err(|e| Failure::Input(e.to_string()))?;
            let from = match from {
                None => Utc::now(),
                Some(text) => DateTime::parse_from_rfc3339(text.trim())
                    .map_err(|e| {
                        Failure::Input(format!(
                            "--from \"{text}\" is not an RFC 3339 time like 2026-03-07T00:00:00Z: {e}"
                        ))
                    })?
                    .with_timezone(&Utc),
            };
            // Any cron may be previewed; stdout stays one time a line, and
            // what a check-in would refuse is said on stderr.
            if schedule.never_fires() {
                return Err(Failure::Input(format!(
                    "\"{cron}\" never fires: no calendar date matches it (like 31 February)."
                )));
            }
            if let Some(problem) = schedule.checkin_problem() {
                eprintln!("Note: not usable as a check-in schedule: {problem}.");
            }
            let times = schedule.next_after(from, usize::from(count));
            if times.is_empty() {
                return Err(Failure::Input(format!(
                    "\"{cron}\" never fires after {}.",
                    from.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                )));
            }
            for t in times {
                println!("{}", t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
            }
            Ok(())
        }
    }
}

fn platforms(c: &config::Config) -> String {
    let mut names = Vec::new();
    if c.console.is_some() {
        names.push("console");
    }
    if c.matrix.is_some() {
        names.push("matrix");
    }
    if c.discord.is_some() {
        names.push("discord");
    }
    names.join(" + ")
}

fn content(command: ContentCommand) -> Result<(), Failure> {
    let library = Library::embedded();
    match command {
        ContentCommand::List => {
            for card in library.cards() {
                println!("{}\t{}\t{}", card.id, card.section, card.title);
            }
            Ok(())
        }
        ContentCommand::Show { id } => match library.lookup(&id) {
            Lookup::Found(card) => {
                println!("{}", ipt_core::content::render(card, library, "/"));
                Ok(())
            }
            Lookup::Suggestions(cards) => {
                let ids: Vec<&str> = cards.iter().map(|c| c.id.as_str()).collect();
                Err(Failure::Input(format!(
                    "no card \"{id}\"; did you mean: {}",
                    ids.join(", ")
                )))
            }
            Lookup::NotFound => Err(Failure::Input(format!(
                "no card \"{id}\"; `ipt-bot content list` shows them all"
            ))),
        },
        ContentCommand::Search { query, limit } => {
            for hit in library.search(&query.join(" "), limit) {
                println!("{:.2}\t{}\t{}", hit.score, hit.card.id, hit.card.title);
            }
            Ok(())
        }
        ContentCommand::Lint => {
            let issues = ipt_core::content::lint();
            let prompts = ipt_core::prompts::lint();
            let homework = ipt_core::homework::lint();
            if issues.is_empty() && prompts.is_empty() && homework.is_empty() {
                println!("{} cards OK", library.cards().len());
                println!("{} daily prompts OK", ipt_core::prompts::all().len());
                println!(
                    "{} exercise templates OK",
                    ipt_core::homework::templates().len()
                );
                Ok(())
            } else {
                let lines: Vec<String> = issues
                    .iter()
                    .map(ToString::to_string)
                    .chain(prompts.into_iter().map(|p| format!("prompts.toml: {p}")))
                    .chain(homework.into_iter().map(|h| format!("homework.toml: {h}")))
                    .collect();
                Err(Failure::Input(format!(
                    "{} problem{} in the content:\n  - {}",
                    lines.len(),
                    if lines.len() == 1 { "" } else { "s" },
                    lines.join("\n  - ")
                )))
            }
        }
    }
}

/// A closed pipe (`ipt-bot scan | head`) ends the scan quietly.
fn closed_pipe_or(e: std::io::Error) -> Result<(), Failure> {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        return Ok(());
    }
    Err(Failure::Runtime(e.into()))
}

/// Lines the learned layer reads in one batch, when more are waiting.
const SCAN_BATCH: usize = 128;

/// Streams: each line is answered as soon as it is read, so `scan` can sit
/// in a pipe; lines already waiting in the input are read together (the
/// model is faster in batches). Invalid UTF-8 is replaced, never skipped:
/// every input line gets exactly one output line, in order.
fn scan(model: Option<&ipt_core::crisis::learned::Learned>) -> Result<(), Failure> {
    use std::io::{BufRead, Write};
    let stdin = std::io::stdin();
    let mut input = std::io::BufReader::with_capacity(1 << 16, stdin.lock());
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    loop {
        let mut lines = Vec::new();
        let mut ended = false;
        // One line, waiting if need be; then more only while whole lines
        // are already buffered.
        while lines.is_empty() || (lines.len() < SCAN_BATCH && input.buffer().contains(&b'\n')) {
            let mut line = Vec::new();
            let n = input
                .read_until(b'\n', &mut line)
                .map_err(|e| Failure::Runtime(e.into()))?;
            if n == 0 {
                ended = true;
                break;
            }
            let text = String::from_utf8_lossy(&line);
            lines.push(text.trim_end_matches(['\n', '\r']).to_owned());
        }
        let texts: Vec<&str> = lines.iter().map(String::as_str).collect();
        let readings =
            match model {
                Some(model) => Some(model.read_batch(&texts).map_err(|e| {
                    Failure::Runtime(anyhow::anyhow!("the crisis model failed: {e}"))
                })?),
                None => None,
            };
        for (i, text) in texts.iter().enumerate() {
            let reading = readings.as_ref().map(|r| &r[i]);
            let assessment = ipt_core::crisis::combine(ipt_core::crisis::assess(text), reading);
            let json =
                serde_json::to_string(&assessment).map_err(|e| Failure::Runtime(e.into()))?;
            if let Err(e) = writeln!(out, "{json}") {
                return closed_pipe_or(e);
            }
        }
        if let Err(e) = out.flush() {
            return closed_pipe_or(e);
        }
        if ended {
            return Ok(());
        }
    }
}
