//! The command line as users and scripts drive it: exit codes, the scripted
//! console, config errors and the schedule preview.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_ipt-bot");

struct Dir(PathBuf);

impl Dir {
    fn new() -> Self {
        let p =
            std::env::temp_dir().join(format!("ipt-cli-{}-{}", std::process::id(), rand_suffix()));
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64,
    );
    h.finish()
}

/// The example config, pointed at a database inside `dir`.
fn example_config(dir: &Path) -> PathBuf {
    let example = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../config.example.toml"
    ))
    .unwrap();
    let db = dir.join("bot.db");
    let text = example.replace("sqlite://ipt-bot.db", &format!("sqlite://{}", db.display()));
    assert_ne!(
        text, example,
        "the example config names sqlite://ipt-bot.db"
    );
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// The binary, run in `cwd` (always a test's temporary directory, so that
/// anything a config names relative, such as the default
/// `store_dir = "matrix-store"`, lands there and not in the source tree).
fn bot(args: &[&str], cwd: &Path) -> Command {
    let mut command = Command::new(BIN);
    command.args(args).current_dir(cwd).env_remove("RUST_LOG");
    command
}

/// Writes `toml` to `name` in `dir` and runs check-config on it.
fn check_config(dir: &Dir, name: &str, toml: &str) -> Output {
    let path = dir.0.join(name);
    std::fs::write(&path, toml).unwrap();
    run(
        &["check-config", "--config", path.to_str().unwrap()],
        "",
        &dir.0,
    )
}

fn run(args: &[&str], stdin: &str, cwd: &Path) -> Output {
    let mut child = bot(args, cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Runs the example config's console with `input`, expects a clean exit,
/// and returns what it printed.
fn console(input: &str) -> String {
    let dir = Dir::new();
    let config = example_config(&dir.0);
    let out = run(
        &["run", "--config", config.to_str().unwrap()],
        input,
        &dir.0,
    );
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    text(&out.stdout)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn test_scripted_console_help_prints_every_command_and_exits_zero() {
    let dir = Dir::new();
    let config = example_config(&dir.0);
    let out = run(
        &["run", "--config", config.to_str().unwrap()],
        "/help\n",
        &dir.0,
    );
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    let stdout = text(&out.stdout);
    for cmd in [
        "/learn",
        "/search",
        "/checkin",
        "/mood",
        "/homework",
        "/resources",
        "/pause",
        "/privacy",
        "/mydata",
    ] {
        assert!(stdout.contains(cmd), "help lacks {cmd}:\n{stdout}");
    }
    assert!(stdout.contains("not a therapist"));
    assert!(
        dir.0.join("bot.db").exists(),
        "the SQLite file is created on first run"
    );
}

#[test]
fn test_console_choices_persist_across_runs() {
    let dir = Dir::new();
    let config = example_config(&dir.0);
    let config = config.to_str().unwrap();
    let out = run(
        &["run", "--config", config],
        "/pause 3\n/timezone Asia/Kolkata\n",
        &dir.0,
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("Asia/Kolkata"));
    let out = run(&["run", "--config", config], "/mydata export\n", &dir.0);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("\"timezone\": \"Asia/Kolkata\""),
        "{stdout}"
    );
    assert!(stdout.contains("\"paused_until\": \"20"), "{stdout}");
    let out = run(
        &["run", "--config", config],
        "/mydata delete confirm\n/mydata export\n",
        &dir.0,
    );
    assert!(text(&out.stdout).contains("I don't have anything stored about you."));
}

#[test]
fn test_console_survives_bad_input_bytes_and_blank_lines() {
    let dir = Dir::new();
    let config = example_config(&dir.0);
    let mut child = bot(&["run", "--config", config.to_str().unwrap()], &dir.0)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"\n\n\xff\xfe hello\n/pause nope\n/HELP\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("whole number of days from 1 to 90"),
        "{stdout}"
    );
    assert!(
        stdout.contains("/checkin"),
        "commands are case-insensitive: {stdout}"
    );
}

#[test]
fn test_check_config_names_all_three_mistakes_and_exits_one() {
    let dir = Dir::new();
    let out = check_config(
        &dir,
        "bad.toml",
        &format!(
            "[database]\nurl = \"sqlite://{}/bad.db\"\n[console]\nenabled = true\n[[groups]]\nplatform = \"console\"\nid = \"demo\"\nregion = \"US\"\ncheckin = {{ cron = \"every morning\", timezone = \"Mars/Base\" }}\ncolour = \"blue\"\n",
            dir.0.display()
        ),
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("3 problems"), "{stderr}");
    assert!(
        stderr.contains("groups[0].checkin.cron: invalid cron expression \"every morning\""),
        "{stderr}"
    );
    assert!(
        stderr.contains("groups[0].checkin.timezone: unknown time zone \"Mars/Base\""),
        "{stderr}"
    );
    assert!(stderr.contains("groups[0].colour: unknown key"), "{stderr}");
    assert!(
        !dir.0.join("bad.db").exists(),
        "check-config touches no database"
    );
}

/// Regression: a check-in cron firing every second passed check-config.
#[test]
fn test_check_config_refuses_a_checkin_every_second_naming_the_key() {
    let dir = Dir::new();
    let out = check_config(
        &dir,
        "often.toml",
        &format!(
            "[database]\nurl = \"sqlite://{}/often.db\"\n[console]\nenabled = true\n[[groups]]\nplatform = \"console\"\nid = \"demo\"\nregion = \"US\"\ncheckin = {{ cron = \"* * * * * *\", timezone = \"UTC\" }}\n",
            dir.0.display()
        ),
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr
            .contains("groups[0].checkin.cron: \"* * * * * *\" would send a check-in every second"),
        "{stderr}"
    );
}

#[test]
fn test_check_config_accepts_the_example_and_migrate_creates_the_database() {
    let dir = Dir::new();
    let config = example_config(&dir.0);
    let out = run(
        &["check-config", "--config", config.to_str().unwrap()],
        "",
        &dir.0,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = run(
        &["migrate", "--config", config.to_str().unwrap()],
        "",
        &dir.0,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(dir.0.join("bot.db").exists());
    let again = run(
        &["migrate", "--config", config.to_str().unwrap()],
        "",
        &dir.0,
    );
    assert_eq!(again.status.code(), Some(0), "migrate is idempotent");
}

#[test]
fn test_secrets_never_appear_in_errors() {
    let dir = Dir::new();
    let path = dir.0.join("pg.toml");
    std::fs::write(
        &path,
        "[database]\nurl_env = \"IPT_TEST_DB_URL\"\n[console]\nenabled = true\n",
    )
    .unwrap();
    let out = bot(&["run", "--config", path.to_str().unwrap()], &dir.0)
        .env(
            "IPT_TEST_DB_URL",
            "postgres://bot:hunter2-secret@127.0.0.1:1/nowhere",
        )
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unreachable database is a runtime failure"
    );
    let all = text(&out.stdout) + &text(&out.stderr);
    assert!(!all.contains("hunter2-secret"), "{all}");
    assert!(
        all.contains("bot:***@127.0.0.1"),
        "the redacted URL says which database: {all}"
    );
}

#[test]
fn test_platform_not_in_this_build_is_a_clear_input_error() {
    let dir = Dir::new();
    let path = dir.0.join("discord.toml");
    std::fs::write(
        &path,
        format!(
            "[database]\nurl = \"sqlite://{}/d.db\"\n[discord]\ntoken_env = \"IPT_TEST_DISCORD_TOKEN\"\n",
            dir.0.display()
        ),
    )
    .unwrap();
    let out = bot(&["run", "--config", path.to_str().unwrap()], &dir.0)
        .env("IPT_TEST_DISCORD_TOKEN", "token-value-never-shown")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("Discord adapter"), "{stderr}");
    assert!(!stderr.contains("token-value-never-shown"));
}

// Regression: check-config said OK for a [discord] section that run refuses.
#[test]
fn test_check_config_refuses_what_run_refuses_in_the_same_words() {
    let dir = Dir::new();
    let path = dir.0.join("discord.toml");
    std::fs::write(
        &path,
        "[console]\nenabled = true\n[discord]\ntoken_env = \"IPT_TEST_DISCORD_TOKEN\"\n",
    )
    .unwrap();
    let path = path.to_str().unwrap();
    let ask = |subcommand: &str| {
        bot(&[subcommand, "--config", path], &dir.0)
            .env("IPT_TEST_DISCORD_TOKEN", "token-value-never-shown")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let (check, run) = (ask("check-config"), ask("run"));
    assert_eq!(check.status.code(), Some(1), "{}", text(&check.stdout));
    assert_eq!(run.status.code(), Some(1));
    let reason = "the config enables Discord, but this version of ipt-bot does not include \
                  the Discord adapter yet; remove the [discord] section to run the other platforms";
    for out in [&check, &run] {
        let stderr = text(&out.stderr);
        assert!(stderr.contains(reason), "{stderr}");
        assert!(!stderr.contains("token-value-never-shown"));
    }
    assert!(!text(&check.stdout).contains("OK"));
}

// Regression: a homeserver URL with user:password reached matrix-sdk, whose
// error ("error sending request for url (…)") and trace spans printed it.
#[test]
fn test_homeserver_password_appears_in_no_error_or_log() {
    let dir = Dir::new();
    let path = dir.0.join("matrix.toml");
    std::fs::write(
        &path,
        format!(
            "[database]\nurl = \"sqlite://{0}/m.db\"\n[matrix]\n\
             homeserver = \"http://bot:hs-secret-in-url@127.0.0.1:1\"\n\
             user = \"@bot:localhost\"\npassword_env = \"IPT_TEST_MATRIX_PW\"\nstore_dir = \"{0}/store\"\n",
            dir.0.display()
        ),
    )
    .unwrap();
    let path = path.to_str().unwrap();
    let out = bot(&["run", "--config", path], &dir.0)
        .env("IPT_TEST_MATRIX_PW", "pw-value-never-shown")
        .env("RUST_LOG", "debug")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let all = text(&out.stdout) + &text(&out.stderr);
    assert!(
        all.contains("Matrix login as @bot:localhost failed"),
        "{all}"
    );
    assert!(all.contains("127.0.0.1:1"), "says which server: {all}");
    assert!(!all.contains("hs-secret-in-url"), "{all}");
    assert!(!all.contains("pw-value-never-shown"));

    let out = bot(&["check-config", "--config", path], &dir.0)
        .env("IPT_TEST_MATRIX_PW", "pw-value-never-shown")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("warning: matrix.homeserver: the URL holds a password"),
        "{stderr}"
    );
    assert!(!(text(&out.stdout) + &stderr).contains("hs-secret-in-url"));
}

// Regression: check-config said nothing about a config file others can read
// or a password written into the database URL.
#[cfg(unix)]
#[test]
fn test_check_config_warns_about_a_readable_file_and_a_written_password() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = Dir::new();
    let path = dir.0.join("bot.toml");
    std::fs::write(
        &path,
        "[database]\nurl = \"postgres://bot:db-secret-in-url@127.0.0.1:1/ipt\"\n[console]\nenabled = true\n",
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let check = || {
        run(
            &["check-config", "--config", path.to_str().unwrap()],
            "",
            &dir.0,
        )
    };
    let out = check();
    assert_eq!(out.status.code(), Some(0), "warnings only");
    let stderr = text(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(
        lines[0].starts_with("warning: ")
            && lines[0].contains("can be read by every user of this machine")
            && lines[0].contains("chmod 600"),
        "{stderr}"
    );
    assert!(
        lines[1].starts_with("warning: database.url: the password is written in the file")
            && lines[1].contains("url_env"),
        "{stderr}"
    );
    let all = text(&out.stdout) + &stderr;
    assert!(!all.contains("db-secret-in-url"), "{all}");
    assert!(text(&out.stdout).contains("OK"));

    std::fs::write(
        &path,
        "[database]\nurl_env = \"IPT_TEST_DB_URL\"\n[console]\nenabled = true\n",
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = bot(
        &["check-config", "--config", path.to_str().unwrap()],
        &dir.0,
    )
    .env(
        "IPT_TEST_DB_URL",
        "postgres://bot:db-secret-in-url@127.0.0.1:1/ipt",
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stderr), "", "nothing to warn about");
}

// Regression: a refused Postgres connection surfaced after 10 s as "pool
// timed out", its cause printed three times.
#[test]
fn test_refused_database_connection_is_named_once() {
    let dir = Dir::new();
    let path = dir.0.join("pg.toml");
    std::fs::write(
        &path,
        "[database]\nurl = \"postgres://postgres@127.0.0.1:1/test\"\n[console]\nenabled = true\n",
    )
    .unwrap();
    for subcommand in ["migrate", "run"] {
        let out = run(
            &[subcommand, "--config", path.to_str().unwrap()],
            "",
            &dir.0,
        );
        assert_eq!(out.status.code(), Some(2), "{subcommand}");
        let stderr = text(&out.stderr);
        assert_eq!(
            stderr.to_lowercase().matches("connection refused").count(),
            1,
            "{subcommand}: {stderr}"
        );
        assert!(
            stderr.contains(
                "cannot open the database postgres://postgres@127.0.0.1:1/test: connection refused"
            ),
            "{subcommand}: {stderr}"
        );
        assert!(!stderr.contains("timed out"), "{subcommand}: {stderr}");
    }
}

// Regression: log lines carried ANSI colour codes into pipes and files.
#[test]
fn test_logs_have_no_colour_codes_when_stderr_is_not_a_terminal() {
    let dir = Dir::new();
    let config = example_config(&dir.0);
    let out = bot(&["run", "--config", config.to_str().unwrap()], &dir.0)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("ipt-bot running"), "{stderr}");
    assert!(!stderr.contains("\x1b["), "{stderr:?}");
}

#[test]
fn test_unreachable_homeserver_fails_clearly_without_the_password() {
    let dir = Dir::new();
    let path = dir.0.join("matrix.toml");
    std::fs::write(
        &path,
        format!(
            "[database]\nurl = \"sqlite://{0}/m.db\"\n[matrix]\nhomeserver = \"http://127.0.0.1:1\"\n\
             user = \"@bot:localhost\"\npassword_env = \"IPT_TEST_MATRIX_PW\"\nstore_dir = \"{0}/store\"\n",
            dir.0.display()
        ),
    )
    .unwrap();
    let out = bot(&["run", "--config", path.to_str().unwrap()], &dir.0)
        .env("IPT_TEST_MATRIX_PW", "pw-value-never-shown")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "a failure while running");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("Matrix login as @bot:localhost failed"),
        "{stderr}"
    );
    assert!(!stderr.contains("pw-value-never-shown"));
    assert!(
        !dir.0.join("store/session.json").exists(),
        "no session without a login"
    );
}

#[test]
fn test_usage_errors_exit_one_and_help_exits_zero() {
    let dir = Dir::new();
    assert_eq!(run(&["frobnicate"], "", &dir.0).status.code(), Some(1));
    assert_eq!(
        run(&["run"], "", &dir.0).status.code(),
        Some(1),
        "--config is required"
    );
    let help = run(&["--help"], "", &dir.0);
    assert_eq!(help.status.code(), Some(0));
    let help = text(&help.stdout);
    for sub in ["run", "check-config", "migrate", "schedule"] {
        assert!(help.contains(sub), "{help}");
    }
}

#[test]
fn test_schedule_preview_keeps_local_time_across_dst() {
    let dir = Dir::new();
    let out = run(
        &[
            "schedule",
            "preview",
            "--cron",
            "0 0 9 * * *",
            "--tz",
            "America/New_York",
            "--from",
            "2026-03-07T00:00:00Z",
            "--count",
            "3",
        ],
        "",
        &dir.0,
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stdout),
        "2026-03-07T14:00:00Z\n2026-03-08T13:00:00Z\n2026-03-09T13:00:00Z\n"
    );
    let bad = run(
        &[
            "schedule",
            "preview",
            "--cron",
            "0 0 9 * * *",
            "--tz",
            "Mars/Base",
        ],
        "",
        &dir.0,
    );
    assert_eq!(bad.status.code(), Some(1));
    assert!(text(&bad.stderr).contains("unknown time zone \"Mars/Base\""));
}

fn preview(cron: &str, tz: &str, from: &str, count: &str) -> Output {
    let dir = Dir::new();
    run(
        &[
            "schedule", "preview", "--cron", cron, "--tz", tz, "--from", from, "--count", count,
        ],
        "",
        &dir.0,
    )
}

/// Regression: 02:30 New York was skipped on the spring-forward day and
/// 01:30 sent twice on the fall-back day.
#[test]
fn test_schedule_preview_fires_once_a_day_through_dst_gap_and_overlap() {
    let gap = preview(
        "0 30 2 * * *",
        "America/New_York",
        "2026-03-07T00:00:00Z",
        "3",
    );
    assert_eq!(gap.status.code(), Some(0), "{}", text(&gap.stderr));
    assert_eq!(
        text(&gap.stdout),
        "2026-03-07T07:30:00Z\n2026-03-08T07:00:00Z\n2026-03-09T06:30:00Z\n"
    );
    let overlap = preview(
        "0 30 1 * * *",
        "America/New_York",
        "2026-10-31T00:00:00Z",
        "3",
    );
    assert_eq!(overlap.status.code(), Some(0), "{}", text(&overlap.stderr));
    assert_eq!(
        text(&overlap.stdout),
        "2026-10-31T05:30:00Z\n2026-11-01T05:30:00Z\n2026-11-02T06:30:00Z\n"
    );
}

/// Regression: a cron that never fires printed nothing and exited 0.
#[test]
fn test_schedule_preview_says_when_a_cron_never_fires() {
    let out = preview("0 0 0 31 2 *", "UTC", "2026-01-01T00:00:00Z", "3");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "");
    let stderr = text(&out.stderr);
    assert!(stderr.contains("never fires"), "{stderr}");
    // A preview still shows a cron too frequent for check-ins, and says so
    // on stderr, leaving stdout to the times.
    let often = preview("0 * * * * *", "UTC", "2026-01-01T00:00:00Z", "2");
    assert_eq!(often.status.code(), Some(0));
    assert_eq!(
        text(&often.stdout),
        "2026-01-01T00:01:00Z\n2026-01-01T00:02:00Z\n"
    );
    assert!(
        text(&often.stderr).contains("at most once an hour"),
        "{}",
        text(&often.stderr)
    );
}

#[test]
fn test_sigterm_stops_a_running_bot_cleanly() {
    use std::io::{BufRead, BufReader};
    let dir = Dir::new();
    let config = example_config(&dir.0);
    let mut child = bot(&["run", "--config", config.to_str().unwrap()], &dir.0)
        .stdin(Stdio::piped()) // kept open: the console waits for input
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut banner = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut banner)
        .unwrap();
    assert!(banner.contains("ipt-bot console"), "{banner}");
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the bot did not stop after SIGTERM"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(
        status.code(),
        Some(0),
        "a requested shutdown is a clean exit"
    );
}

#[test]
fn test_content_commands_list_show_search_and_lint() {
    let dir = Dir::new();
    let list = run(&["content", "list"], "", &dir.0);
    assert_eq!(list.status.code(), Some(0));
    let list = text(&list.stdout);
    assert!(list.lines().count() >= 40, "{list}");
    assert!(list.contains("grief\tProblem areas\tGrief"), "{list}");
    let show = run(&["content", "show", "inventory"], "", &dir.0);
    assert_eq!(show.status.code(), Some(0));
    assert!(text(&show.stdout).starts_with("The interpersonal inventory"));
    let missing = run(&["content", "show", "xyzzy-plugh"], "", &dir.0);
    assert_eq!(missing.status.code(), Some(1));
    let search = run(
        &["content", "search", "my", "mum", "passed", "away"],
        "",
        &dir.0,
    );
    assert_eq!(search.status.code(), Some(0));
    let first = text(&search.stdout)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    assert!(first.contains("\tgrief\t"), "{first}");
    let lint = run(&["content", "lint"], "", &dir.0);
    assert_eq!(lint.status.code(), Some(0), "{}", text(&lint.stderr));
    assert!(text(&lint.stdout).contains("cards OK"));
}

#[test]
fn test_console_learn_and_search_answer_from_the_cards() {
    let stdout = console("/learn\n/learn inventroy\n/search my mum passed away\n");
    assert!(
        stdout.contains(
            "Problem areas: grief, interpersonal-deficits, role-disputes, role-transitions"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("The interpersonal inventory"),
        "typo forgiven: {stdout}"
    );
    assert!(stdout.contains("1. Grief (/learn grief)"), "{stdout}");
}

#[test]
fn test_scan_answers_each_line_in_order_with_one_json_object() {
    let dir = Dir::new();
    let input = "hello there\nI want to kill myself\n\nthis traffic is killing me\ngoodbye all, ending it tonight\n";
    let out = run(&["scan"], input, &dir.0);
    assert_eq!(out.status.code(), Some(0));
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let levels: Vec<&str> = lines.iter().map(|v| v["level"].as_str().unwrap()).collect();
    assert_eq!(levels, ["none", "urgent", "none", "none", "imminent"]);
    assert!(
        lines[1]["signals"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s.as_str().unwrap().contains("kill myself"))
    );
}

#[test]
fn test_console_resources_show_the_groups_region() {
    let stdout = console("/resources\n");
    assert!(stdout.contains("please call 911 now"), "{stdout}");
    assert!(
        stdout.contains("988 Suicide & Crisis Lifeline: call 988, text 988 (24/7)"),
        "{stdout}"
    );
}

#[test]
fn test_console_crisis_message_reaches_member_and_moderators_privately() {
    let stdout = console(
        "what a lovely day\nI want to kill myself\ni'm going to do it tonight, i have everything i need\n",
    );
    assert!(
        !stdout.contains("ipt-bot in demo"),
        "nothing is said in the group: {stdout}"
    );
    assert!(
        stdout.contains("[private message to you]\nI noticed your message"),
        "{stdout}"
    );
    assert!(stdout.contains("988 Suicide & Crisis Lifeline"), "{stdout}");
    assert!(
        stdout.contains("[to the moderators' channel \"moderators\"]\nCrisis alert #1 (urgent)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Crisis alert #1 raised to imminent"),
        "a repeat updates the same alert: {stdout}"
    );
    assert!(stdout.contains("Your safety comes first"), "{stdout}");
    assert!(!stdout.contains("Crisis alert #2"), "{stdout}");
    assert!(
        !stdout.contains("kill myself"),
        "moderators get no excerpt by default: {stdout}"
    );
}

#[test]
fn test_privacy_choices_can_be_set_and_shown() {
    let stdout = console(
        "/privacy choices\n/privacy quiet on\n/privacy checkins on\n/privacy choices\n/privacy loud on\n",
    );
    assert!(
        stdout.contains("daily check-ins off, quiet off, check-in signals off"),
        "{stdout}"
    );
    assert!(stdout.contains("Quiet is on"), "{stdout}");
    assert!(
        stdout.contains("daily check-ins on, quiet on, check-in signals off"),
        "{stdout}"
    );
    assert!(
        stdout.contains("I don't know the choice \"loud\""),
        "{stdout}"
    );
}

#[test]
fn test_console_checkin_answers_go_privately_and_group_lines_stay_group_lines() {
    let stdout = console("/checkin\nhello everyone\n> 7\n> skip\n> skip\n> skip\n");
    assert!(
        stdout.contains("(That went to the group. To answer your check-in privately"),
        "a group line is not taken as an answer, and the member is told: {stdout}"
    );
    assert!(stdout.contains("your check-in for"), "{stdout}");
    assert!(stdout.contains("mood 7"), "{stdout}");
}

#[test]
fn test_console_crisis_typed_as_a_checkin_answer_alerts_the_group() {
    let stdout = console("/checkin\n> I am going to kill myself tonight\n/alerts\n");
    assert!(
        stdout.contains("[to the moderators' channel \"moderators\"]\nCrisis alert #1 (imminent)"),
        "{stdout}"
    );
    assert!(stdout.contains("#1 imminent (open)"), "{stdout}");
    assert!(stdout.contains("988"), "the group's US lines: {stdout}");
    assert!(
        !stdout.contains("I am going to kill myself"),
        "the words are never echoed: {stdout}"
    );
}

#[test]
fn test_console_reads_a_crisis_sentence_after_900_words() {
    let line = format!("{}I am going to kill myself tonight\n", "word ".repeat(900));
    let stdout = console(&line);
    assert!(
        stdout.contains("Crisis alert #1 (imminent)"),
        "the whole line is assessed: {stdout}"
    );
}

#[test]
fn test_console_bare_confirm_completes_a_delete() {
    let stdout = console("/pause 3\n/mydata delete\nconfirm\n/mydata export\n");
    assert!(
        stdout.contains("Done. Everything I stored about you is deleted"),
        "{stdout}"
    );
    assert!(
        stdout.contains("I don't have anything stored about you."),
        "{stdout}"
    );
}

#[test]
fn test_console_never_echoes_terminal_escape_sequences() {
    let stdout = console(
        "/\u{1b}]0;pwned\u{7}oops\n/timezone \u{1b}[2JMars\n/homework add \u{1b}]52;c;aGk=\u{7}call mum\n/homework\n",
    );
    assert!(
        !stdout.contains('\u{1b}') && !stdout.contains('\u{7}'),
        "{stdout:?}"
    );
    assert!(stdout.contains("call mum"), "{stdout}");
}

/// Fail safe, never open: with the model files missing or altered, `run`
/// exits 2 naming the command that fetches them, `check-config` fails in
/// the same words, and `scan` will not quietly read with the rules alone.
#[test]
fn test_a_missing_or_altered_model_stops_run_and_names_the_fetch_command() {
    let dir = Dir::new();
    let config = example_config(&dir.0);
    let config = config.to_str().unwrap();
    let empty = dir.0.join("no-model");
    std::fs::create_dir_all(&empty).unwrap();
    let altered = dir.0.join("altered-model");
    std::fs::create_dir_all(&altered).unwrap();
    std::fs::write(
        altered.join("model.safetensors"),
        b"not the published model",
    )
    .unwrap();
    std::fs::write(altered.join("tokenizer.json"), b"{}").unwrap();
    for (model_dir, says) in [(&empty, "is missing"), (&altered, "published sha256")] {
        let ask = |args: &[&str]| {
            bot(args, &dir.0)
                .env("IPT_MODEL_DIR", model_dir)
                .stdin(Stdio::null())
                .output()
                .unwrap()
        };
        let run = ask(&["run", "--config", config]);
        assert_eq!(run.status.code(), Some(2), "{}", text(&run.stderr));
        let check = ask(&["check-config", "--config", config]);
        assert_eq!(check.status.code(), Some(1), "{}", text(&check.stdout));
        let scan = ask(&["scan"]);
        assert_eq!(scan.status.code(), Some(2));
        for out in [&run, &check, &scan] {
            let stderr = text(&out.stderr);
            assert!(stderr.contains("scripts/fetch-model"), "{stderr}");
            assert!(stderr.contains(says), "{stderr}");
        }
        assert!(text(&run.stdout).is_empty(), "the bot must not start");
        let rules = run_with_model_dir(
            &["scan", "--rules-only"],
            "I want to kill myself\n",
            &dir.0,
            model_dir,
        );
        assert_eq!(rules.status.code(), Some(0));
        assert!(text(&rules.stdout).contains("\"urgent\""));
    }
}

fn run_with_model_dir(args: &[&str], stdin: &str, cwd: &Path, model_dir: &Path) -> Output {
    let mut child = bot(args, cwd)
        .env("IPT_MODEL_DIR", model_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Only an explicit `model = "off"` runs the rules alone: check-config
/// says so, every start warns, and `setup` tells the moderators.
#[test]
fn test_model_off_is_explicit_warned_at_start_and_shown_in_setup() {
    let dir = Dir::new();
    let config = example_config(&dir.0);
    let mut text_of = std::fs::read_to_string(&config).unwrap();
    text_of.push_str("\n[crisis]\nmodel = \"off\"\n");
    std::fs::write(&config, text_of).unwrap();
    let config = config.to_str().unwrap();
    let empty = dir.0.join("no-model");
    std::fs::create_dir_all(&empty).unwrap();
    let check = run_with_model_dir(&["check-config", "--config", config], "", &dir.0, &empty);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check.stderr));
    assert!(
        text(&check.stdout).contains("crisis model OFF"),
        "{}",
        text(&check.stdout)
    );
    assert!(text(&check.stderr).contains("rules alone"));
    let run = run_with_model_dir(&["run", "--config", config], "/setup\n", &dir.0, &empty);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    assert!(
        text(&run.stderr).contains("rules alone"),
        "{}",
        text(&run.stderr)
    );
    assert!(
        text(&run.stdout).contains("RULES ALONE"),
        "{}",
        text(&run.stdout)
    );
}

/// With the model in use, check-config says so and setup shows it; the
/// learned layer reads a crisis the rules have no pattern for, and says
/// what it read it as.
#[test]
fn test_the_model_reads_what_the_rules_miss_and_explains_it() {
    let dir = Dir::new();
    let config = example_config(&dir.0);
    let check = run(
        &["check-config", "--config", config.to_str().unwrap()],
        "",
        &dir.0,
    );
    assert_eq!(check.status.code(), Some(0), "{}", text(&check.stderr));
    assert!(text(&check.stdout).contains("crisis model in use, files verified"));
    let farewell = "thank you all for everything, please look after my cat for me\n";
    let rules = run(&["scan", "--rules-only"], farewell, &dir.0);
    assert!(
        text(&rules.stdout).contains("\"none\""),
        "{}",
        text(&rules.stdout)
    );
    let both = run(&["scan"], farewell, &dir.0);
    let json: serde_json::Value = serde_json::from_str(text(&both.stdout).trim()).unwrap();
    assert_ne!(json["level"], "none", "{json}");
    assert!(
        json["signals"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s.as_str().unwrap().starts_with("reads like: ")),
        "{json}"
    );
    let setup = console("/setup\n");
    assert!(
        setup.contains("rules and the learned model, reading English"),
        "{setup}"
    );
}
