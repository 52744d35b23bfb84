//! Configuration: loads the TOML file, validates *everything* up front and
//! reports every problem at once with its key path, then builds [`Config`].
//!
//! We walk the TOML tree ourselves instead of deriving `Deserialize` with
//! `deny_unknown_fields`, because serde stops at the first error and a person
//! fixing a config wants the whole list, e.g.
//! `groups[0].checkin.timezone: unknown time zone "Mars/Base"`.
//!
//! Secrets never appear in the file: keys ending in `_env` name environment
//! variables, whose values are read here, held in [`Secret`] and never
//! printed.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipt_core::crisis::resources::Line;
use ipt_core::ids::Platform;
use ipt_core::model::GroupSettings;
use ipt_core::region;
use ipt_core::schedule::{parse_checkin_cron, parse_zone};
use ipt_core::store::backend_of;
use toml::{Table, Value};

/// A secret value read from the environment. Its `Debug` and `Display` never
/// show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself; pass it straight to the library that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// The whole, validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where data lives.
    pub database: DatabaseConfig,
    /// The local terminal platform, if enabled.
    pub console: Option<ConsoleConfig>,
    /// Matrix, if its section is present.
    pub matrix: Option<MatrixConfig>,
    /// Discord, if its section is present.
    pub discord: Option<DiscordConfig>,
    /// Outbox delivery settings.
    pub outbox: OutboxConfig,
    /// The crisis detector's learned layer.
    pub crisis: CrisisConfig,
    /// Groups set up in the file (more can be set up at runtime).
    pub groups: Vec<GroupConfig>,
    /// Things that work but put a secret at risk (a password written in
    /// the file, a file others can read); `check-config` shows them.
    pub warnings: Vec<ConfigError>,
}

impl Config {
    /// Why `run` would refuse this config although every key is valid: a
    /// platform whose adapter this version does not include. `check-config`
    /// and `run` both ask this, so they never disagree.
    pub fn not_runnable(&self) -> Option<&'static str> {
        self.discord.is_some().then_some(
            "the config enables Discord, but this version of ipt-bot does not include the \
             Discord adapter yet; remove the [discord] section to run the other platforms",
        )
    }
}

/// `[database]`
#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    /// `url` or the value of `url_env`. Secret because a Postgres URL may
    /// carry a password.
    pub url: Secret,
    /// `max_connections`.
    pub max_connections: u32,
}

impl DatabaseConfig {
    /// The URL with any password replaced, for logs.
    pub fn redacted_url(&self) -> String {
        redact_url(self.url.expose())
    }
}

/// `[console]`
#[derive(Debug, Clone)]
pub struct ConsoleConfig {
    /// The demo group's id.
    pub group: String,
    /// The name you have in the demo group.
    pub member: String,
}

/// How the Matrix account logs in.
#[derive(Debug, Clone)]
pub enum MatrixAuth {
    /// `password_env`.
    Password(Secret),
    /// `access_token_env`.
    AccessToken(Secret),
}

/// `[matrix]`
#[derive(Debug, Clone)]
pub struct MatrixConfig {
    /// Homeserver base URL, without any user name or password (matrix-sdk
    /// never sends them, and would print them in its logs and errors), and
    /// without a query (requests are built by appending to this URL).
    pub homeserver: url::Url,
    /// The bot's user id.
    pub user: String,
    /// Credentials.
    pub auth: MatrixAuth,
    /// Where matrix-sdk keeps its state and crypto stores.
    pub store_dir: PathBuf,
    /// Command prefix, e.g. `!ipt`.
    pub command_prefix: String,
    /// Accept room invites only from users on these servers (empty: from
    /// anyone).
    pub invite_servers: Vec<String>,
}

/// `[discord]`
#[derive(Debug, Clone)]
pub struct DiscordConfig {
    /// The bot token.
    pub token: Secret,
    /// A REST proxy that owns rate limiting, if any. Secret, because a
    /// proxy URL may carry credentials.
    pub http_proxy: Option<Secret>,
}

/// `[outbox]`
#[derive(Debug, Clone)]
pub struct OutboxConfig {
    /// Attempts before an ordinary delivery is given up (critical ones never are).
    pub max_attempts: i64,
    /// How long a claimed delivery is held before another worker may retake it.
    pub lease: Duration,
    /// Deliveries claimed at a time.
    pub batch_size: i64,
    /// How long a delivered message is kept (for troubleshooting) before
    /// it is deleted: it may name a member or quote them.
    pub delivered_retention: Duration,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        Self {
            max_attempts: 12,
            lease: Duration::from_secs(60),
            batch_size: 32,
            delivered_retention: Duration::from_secs(3600),
        }
    }
}

/// `[crisis]`: the detector's learned layer. On unless the file says
/// `model = "off"`; then the rules read messages alone, and every start
/// says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrisisConfig {
    /// Whether the learned layer is used.
    pub model: bool,
    /// Where the model files are (default: `IPT_MODEL_DIR`, else
    /// `~/.cache/ipt-bot/model/all-MiniLM-L6-v2`).
    pub model_dir: Option<PathBuf>,
}

impl Default for CrisisConfig {
    fn default() -> Self {
        Self {
            model: true,
            model_dir: None,
        }
    }
}

impl CrisisConfig {
    /// The model directory in use.
    pub fn model_dir(&self) -> PathBuf {
        self.model_dir
            .clone()
            .unwrap_or_else(ipt_core::crisis::encoder::default_model_dir)
    }
}

/// What a start with `model = "off"` says, as a warning, every time.
pub const MODEL_OFF_WARNING: &str = "crisis detection runs on the rules alone ([crisis] model = \"off\"): \
     messages that say a crisis in words the rules do not know will be missed; \
     remove that line (and run scripts/fetch-model) to use the learned layer";

/// `[[groups]]`
#[derive(Debug, Clone)]
pub struct GroupConfig {
    /// Platform.
    pub platform: Platform,
    /// Platform id of the group.
    pub id: String,
    /// Moderator channel or room.
    pub moderator_channel: Option<String>,
    /// Region code, upper case.
    pub region: String,
    /// Check-in schedule, if any.
    pub checkin: Option<CheckinConfig>,
    /// Settings stored with the group.
    pub settings: GroupSettings,
}

impl GroupConfig {
    /// The group's time zone: its check-in zone, else UTC.
    pub fn timezone(&self) -> &str {
        self.checkin.as_ref().map_or("UTC", |c| c.timezone.as_str())
    }
}

/// `groups[].checkin`
#[derive(Debug, Clone)]
pub struct CheckinConfig {
    /// 6-field cron.
    pub cron: String,
    /// IANA zone.
    pub timezone: String,
    /// How late a missed check-in may still be sent, in seconds.
    pub catch_up_secs: Option<i64>,
}

/// One problem in a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Where: `groups[0].checkin.timezone`.
    pub path: String,
    /// What is wrong, and where possible how to fix it.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Every problem found in a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors {
    /// The file.
    pub file: PathBuf,
    /// The problems, in file order.
    pub errors: Vec<ConfigError>,
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.errors.len();
        writeln!(
            f,
            "{} has {n} problem{}:",
            self.file.display(),
            if n == 1 { "" } else { "s" }
        )?;
        for e in &self.errors {
            writeln!(f, "  - {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Reads and validates a config file.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    let fail = |message: String| ConfigErrors {
        file: path.to_owned(),
        errors: vec![ConfigError {
            path: String::new(),
            message,
        }],
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| fail(format!("cannot read the config file: {e}")))?;
    let mut config =
        parse(&text, &|name| std::env::var(name).ok()).map_err(|errors| ConfigErrors {
            file: path.to_owned(),
            errors,
        })?;
    if let Some(warning) = readable_by_others(path) {
        config.warnings.insert(0, warning);
    }
    Ok(config)
}

/// A warning if people other than the owner may read the file: it names
/// rooms and moderators' channels, and may hold a password someone wrote
/// into a URL.
fn readable_by_others(path: &Path) -> Option<ConfigError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
        let who = match (mode & 0o040 != 0, mode & 0o004 != 0) {
            (_, true) => "every user of this machine",
            (true, false) => "the file's group",
            (false, false) => return None,
        };
        Some(ConfigError {
            path: String::new(),
            message: format!(
                "{} can be read by {who} (mode {mode:03o}); make it yours alone with: chmod 600 {}",
                path.display(),
                path.display()
            ),
        })
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// Validates config text. `env` looks up environment variables (tests pass
/// their own).
pub fn parse(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, Vec<ConfigError>> {
    let root: Table = toml::from_str(text).map_err(|e| {
        vec![ConfigError {
            path: String::new(),
            message: format!("not valid TOML: {}", e.to_string().trim_end()),
        }]
    })?;
    let mut v = Validator {
        errors: Vec::new(),
        warnings: Vec::new(),
        env,
    };
    let mut config = v.root(&root);
    config.warnings = v.warnings;
    if v.errors.is_empty() {
        Ok(config)
    } else {
        Err(v.errors)
    }
}

/// Hides the secrets a URL may carry, for logs and messages: the password
/// of `scheme://user:password@host/…` and any `password`-like query
/// parameter. Text that is not a URL is hidden whole, since we cannot tell
/// what it holds (e.g. a `host=… password=…` connection string).
pub fn redact_url(text: &str) -> String {
    if text.starts_with("sqlite:") && !text.contains('@') {
        return text.to_owned(); // a file path; nothing secret in it
    }
    let Ok(mut url) = url::Url::parse(text) else {
        return "[hidden: not a URL]".to_owned();
    };
    if url.password().is_some() {
        let _ = url.set_password(Some("***"));
    }
    if url.query().is_some() {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let secret = ["password", "pass", "token", "secret", "key"]
                    .iter()
                    .any(|s| k.to_ascii_lowercase().contains(s));
                (
                    k.into_owned(),
                    if secret {
                        "***".to_owned()
                    } else {
                        v.into_owned()
                    },
                )
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url.to_string()
}

/// Whether a URL carries a password: `user:password@` or a
/// `password`-like query parameter (what [`redact_url`] hides).
fn holds_password(text: &str) -> bool {
    let Ok(url) = url::Url::parse(text) else {
        return false;
    };
    url.password().is_some_and(|p| !p.is_empty())
        || url.query_pairs().any(|(k, v)| {
            let k = k.to_ascii_lowercase();
            !v.is_empty()
                && ["password", "pass", "token", "secret", "key"]
                    .iter()
                    .any(|s| k.contains(s))
        })
}

struct Validator<'e> {
    errors: Vec<ConfigError>,
    warnings: Vec<ConfigError>,
    env: &'e dyn Fn(&str) -> Option<String>,
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "a string",
        Value::Integer(_) => "a whole number",
        Value::Float(_) => "a number",
        Value::Boolean(_) => "true or false",
        Value::Datetime(_) => "a date",
        Value::Array(_) => "a list",
        Value::Table(_) => "a table",
    }
}

/// Edit distance, for "did you mean" hints on misspelt keys.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

impl Validator<'_> {
    fn error(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(ConfigError {
            path: path.into(),
            message: message.into(),
        });
    }

    fn warning(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(ConfigError {
            path: path.into(),
            message: message.into(),
        });
    }

    fn known_keys(&mut self, table: &Table, path: &str, allowed: &[&str]) {
        for key in table.keys() {
            if allowed.contains(&key.as_str()) {
                continue;
            }
            let hint = allowed
                .iter()
                .filter(|k| distance(k, key) <= 2)
                .min_by_key(|k| distance(k, key))
                .map(|k| format!("; did you mean \"{k}\"?"))
                .unwrap_or_else(|| format!("; known keys here: {}", allowed.join(", ")));
            self.error(join(path, key), format!("unknown key{hint}"));
        }
    }

    fn string(&mut self, table: &Table, path: &str, key: &str) -> Option<String> {
        match table.get(key)? {
            Value::String(s) => Some(s.clone()),
            other => {
                self.error(
                    join(path, key),
                    format!("expected a string, found {}", type_name(other)),
                );
                None
            }
        }
    }

    fn bool(&mut self, table: &Table, path: &str, key: &str) -> Option<bool> {
        match table.get(key)? {
            Value::Boolean(b) => Some(*b),
            other => {
                self.error(
                    join(path, key),
                    format!("expected true or false, found {}", type_name(other)),
                );
                None
            }
        }
    }

    fn int(&mut self, table: &Table, path: &str, key: &str, range: (i64, i64)) -> Option<i64> {
        let value = table.get(key)?;
        match value {
            Value::Integer(n) if (range.0..=range.1).contains(n) => Some(*n),
            Value::Integer(n) => {
                self.error(
                    join(path, key),
                    format!("{n} is out of range; use {} to {}", range.0, range.1),
                );
                None
            }
            other => {
                self.error(
                    join(path, key),
                    format!("expected a whole number, found {}", type_name(other)),
                );
                None
            }
        }
    }

    fn table<'t>(&mut self, parent: &'t Table, path: &str, key: &str) -> Option<&'t Table> {
        match parent.get(key)? {
            Value::Table(t) => Some(t),
            other => {
                self.error(
                    join(path, key),
                    format!("expected a table, found {}", type_name(other)),
                );
                None
            }
        }
    }

    /// Reads the environment variable named by `table[key]`; a missing
    /// variable is an error that names the variable, never a value.
    fn secret(&mut self, table: &Table, path: &str, key: &str) -> Option<Secret> {
        let name = self.string(table, path, key)?;
        let name = name.trim();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            self.error(
                join(path, key),
                format!("\"{name}\" is not an environment variable name"),
            );
            return None;
        }
        match (self.env)(name) {
            Some(value) if !value.trim().is_empty() => Some(Secret(value.trim().to_owned())),
            _ => {
                self.error(
                    join(path, key),
                    format!("environment variable {name} is not set"),
                );
                None
            }
        }
    }

    fn http_url(&mut self, path: String, text: &str, may_hold_secret: bool) -> Option<url::Url> {
        match url::Url::parse(text) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Some(u),
            _ => {
                let shown = if may_hold_secret {
                    redact_url(text)
                } else {
                    text.to_owned()
                };
                self.error(
                    path,
                    format!("\"{shown}\" is not an http:// or https:// URL"),
                );
                None
            }
        }
    }

    fn root(&mut self, root: &Table) -> Config {
        self.known_keys(
            root,
            "",
            &[
                "database", "console", "matrix", "discord", "outbox", "crisis", "groups",
            ],
        );
        let database = self.database(root);
        let console = self.console(root);
        let matrix = self.table(root, "", "matrix").and_then(|t| self.matrix(t));
        let discord = self
            .table(root, "", "discord")
            .and_then(|t| self.discord(t));
        let outbox = self.outbox(root);
        let crisis = self.crisis(root);
        let enabled = |p: Platform| match p {
            Platform::Console => console.is_some(),
            Platform::Matrix => root.contains_key("matrix"),
            Platform::Discord => root.contains_key("discord"),
        };
        let groups = self.groups(root, &enabled);
        if !root.contains_key("matrix") && !root.contains_key("discord") && console.is_none() {
            self.error(
                "",
                "no platform is enabled: set [console] enabled = true, or add a [matrix] or [discord] section",
            );
        }
        Config {
            database,
            console,
            matrix,
            discord,
            outbox,
            crisis,
            groups,
            warnings: Vec::new(),
        }
    }

    fn database(&mut self, root: &Table) -> DatabaseConfig {
        let default = DatabaseConfig {
            url: Secret("sqlite://ipt-bot.db".into()),
            max_connections: 8,
        };
        let Some(t) = self.table(root, "", "database") else {
            return default;
        };
        self.known_keys(t, "database", &["url", "url_env", "max_connections"]);
        let url = match (t.contains_key("url"), t.contains_key("url_env")) {
            (true, true) => {
                self.error("database", "set url or url_env, not both");
                None
            }
            (false, true) => self.secret(t, "database", "url_env"),
            (_, false) => self.string(t, "database", "url").map(Secret),
        };
        if let Some(url) = &url
            && t.contains_key("url")
            && holds_password(url.expose())
        {
            self.warning(
                "database.url",
                "the password is written in the file; put the whole URL in an environment \
                 variable and name that variable with url_env instead",
            );
        }
        if let Some(url) = &url
            && backend_of(url.expose()).is_none()
        {
            if t.contains_key("url") {
                let shown = redact_url(url.expose());
                self.error(
                    "database.url",
                    format!("\"{shown}\" is not a database URL; use sqlite://FILE or postgres://USER@HOST/DB"),
                );
            } else {
                // The variable's value may be a secret: name the variable only.
                self.error(
                    "database.url_env",
                    "the variable's value is not a database URL; use sqlite://FILE or postgres://USER@HOST/DB",
                );
            }
        }

        let max_connections = self
            .int(t, "database", "max_connections", (1, 256))
            .unwrap_or(8);
        DatabaseConfig {
            url: url.unwrap_or(default.url),
            max_connections: u32::try_from(max_connections).unwrap_or(8),
        }
    }

    fn console(&mut self, root: &Table) -> Option<ConsoleConfig> {
        let t = self.table(root, "", "console")?;
        self.known_keys(t, "console", &["enabled", "group", "member"]);
        let enabled = self.bool(t, "console", "enabled").unwrap_or(false);
        let group = self
            .string(t, "console", "group")
            .unwrap_or_else(|| "demo".into());
        let member = self
            .string(t, "console", "member")
            .unwrap_or_else(|| "you".into());
        for (key, value) in [("group", &group), ("member", &member)] {
            if value.trim().is_empty() {
                self.error(join("console", key), "must not be empty");
            }
        }
        enabled.then(|| ConsoleConfig {
            group: group.trim().into(),
            member: member.trim().into(),
        })
    }

    fn matrix(&mut self, t: &Table) -> Option<MatrixConfig> {
        let p = "matrix";
        self.known_keys(
            t,
            p,
            &[
                "homeserver",
                "user",
                "password_env",
                "access_token_env",
                "store_dir",
                "command_prefix",
                "invite_servers",
            ],
        );
        let homeserver = match self.string(t, p, "homeserver") {
            // Shown as written unless it might carry a password.
            Some(s) => self
                .http_url(join(p, "homeserver"), &s, s.contains(['@', '?', '=']))
                .and_then(|u| self.homeserver(u)),
            None => {
                self.error(
                    join(p, "homeserver"),
                    "missing; the homeserver's URL, e.g. \"https://matrix.example.org\"",
                );
                None
            }
        };
        let user = self.string(t, p, "user");
        match &user {
            Some(u) if is_matrix_id(u, '@') => {}
            Some(u) => self.error(
                join(p, "user"),
                format!("\"{u}\" is not a Matrix user id like \"@ipt-bot:example.org\""),
            ),
            None => self.error(
                join(p, "user"),
                "missing; the bot's Matrix user id, e.g. \"@ipt-bot:example.org\"",
            ),
        }
        let auth = match (
            t.contains_key("password_env"),
            t.contains_key("access_token_env"),
        ) {
            (true, true) => {
                self.error(p, "set password_env or access_token_env, not both");
                None
            }
            (true, false) => self.secret(t, p, "password_env").map(MatrixAuth::Password),
            (false, true) => self
                .secret(t, p, "access_token_env")
                .map(MatrixAuth::AccessToken),
            (false, false) => {
                self.error(p, "set password_env (or access_token_env) to the environment variable holding the bot's credentials");
                None
            }
        };
        let store_dir = self
            .string(t, p, "store_dir")
            .unwrap_or_else(|| "matrix-store".into());
        let command_prefix = self
            .string(t, p, "command_prefix")
            .unwrap_or_else(|| "!ipt".into());
        if command_prefix.trim().is_empty() || command_prefix.contains(char::is_whitespace) {
            self.error(
                join(p, "command_prefix"),
                "must be one word without spaces, e.g. \"!ipt\"",
            );
        }
        let invite_servers = match t.get("invite_servers") {
            None => Vec::new(),
            Some(Value::Array(items)) => {
                let mut servers = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    match item.as_str().map(str::trim) {
                        Some(s) if !s.is_empty() && !s.contains(char::is_whitespace) => {
                            servers.push(s.to_ascii_lowercase());
                        }
                        _ => self.error(
                            format!("{p}.invite_servers[{i}]"),
                            "must be a server name such as \"example.org\"",
                        ),
                    }
                }
                servers
            }
            Some(_) => {
                self.error(
                    join(p, "invite_servers"),
                    "must be a list of server names, e.g. [\"example.org\"]",
                );
                Vec::new()
            }
        };
        Some(MatrixConfig {
            homeserver: homeserver?,
            user: user?,
            auth: auth?,
            store_dir: PathBuf::from(store_dir),
            command_prefix,
            invite_servers,
        })
    }

    /// The homeserver URL as matrix-sdk gets it. A user name or password in
    /// it is dropped with a warning: matrix-sdk never sends them (it logs in
    /// with password_env or access_token_env) but would print them in its
    /// logs and errors. A query is refused: matrix-sdk appends each
    /// request's path to this URL, so one would break every request.
    fn homeserver(&mut self, mut url: url::Url) -> Option<url::Url> {
        let path = join("matrix", "homeserver");
        if url.query().is_some() || url.fragment().is_some() {
            self.error(
                path,
                format!(
                    "\"{}\" has a ?query or #fragment; give the homeserver's address alone, \
                     e.g. \"https://matrix.example.org\"",
                    redact_url(url.as_str())
                ),
            );
            return None;
        }
        if url.password().is_some_and(|p| !p.is_empty()) {
            self.warning(
                path,
                "the URL holds a password, which ipt-bot never sends and ignores; remove it \
                 from the file, and keep the bot's password in the environment variable \
                 that password_env names",
            );
        }
        if !url.username().is_empty() || url.password().is_some() {
            let _ = url.set_password(None);
            let _ = url.set_username("");
        }
        Some(url)
    }

    fn discord(&mut self, t: &Table) -> Option<DiscordConfig> {
        let p = "discord";
        self.known_keys(t, p, &["token_env", "http_proxy"]);
        let token = if t.contains_key("token_env") {
            self.secret(t, p, "token_env")
        } else {
            self.error(
                join(p, "token_env"),
                "missing; the environment variable holding the bot token, e.g. \"DISCORD_TOKEN\"",
            );
            None
        };
        let http_proxy = match self.string(t, p, "http_proxy") {
            Some(s) if !s.trim().is_empty() => self
                .http_url(join(p, "http_proxy"), s.trim(), true)
                .map(|_| Secret(s.trim().to_owned())),
            _ => None,
        };
        Some(DiscordConfig {
            token: token?,
            http_proxy,
        })
    }

    fn outbox(&mut self, root: &Table) -> OutboxConfig {
        let mut out = OutboxConfig::default();
        let Some(t) = self.table(root, "", "outbox") else {
            return out;
        };
        self.known_keys(
            t,
            "outbox",
            &[
                "max_attempts",
                "lease_seconds",
                "batch_size",
                "delivered_retention",
            ],
        );
        if let Some(n) = self.int(t, "outbox", "max_attempts", (1, 1000)) {
            out.max_attempts = n;
        }
        if let Some(n) = self.int(t, "outbox", "lease_seconds", (60, 3600)) {
            out.lease = Duration::from_secs(n.unsigned_abs());
        }
        if let Some(n) = self.int(t, "outbox", "batch_size", (1, 1000)) {
            out.batch_size = n;
        }
        if let Some(text) = self.string(t, "outbox", "delivered_retention") {
            match parse_duration(&text) {
                Some(d) if (0..=7 * 86_400).contains(&d) => {
                    out.delivered_retention = Duration::from_secs(d.unsigned_abs());
                }
                _ => self.error(
                    "outbox.delivered_retention",
                    format!("\"{text}\" is not a duration from 0s to 168h (a week), e.g. \"1h\""),
                ),
            }
        }
        out
    }

    fn crisis(&mut self, root: &Table) -> CrisisConfig {
        let mut out = CrisisConfig::default();
        let Some(t) = self.table(root, "", "crisis") else {
            return out;
        };
        self.known_keys(t, "crisis", &["model", "model_dir"]);
        if let Some(text) = self.string(t, "crisis", "model") {
            match text.as_str() {
                "on" => out.model = true,
                "off" => {
                    out.model = false;
                    self.warning("crisis.model", MODEL_OFF_WARNING);
                }
                _ => self.error(
                    "crisis.model",
                    format!(
                        "\"{}\" is not \"on\" or \"off\"",
                        ipt_core::text::clip(&text, 40).0
                    ),
                ),
            }
        }
        if let Some(dir) = self.string(t, "crisis", "model_dir") {
            if dir.trim().is_empty() {
                self.error(
                    "crisis.model_dir",
                    "is empty: give a directory, or leave the key out",
                );
            } else {
                out.model_dir = Some(PathBuf::from(dir));
            }
        }
        out
    }

    fn groups(&mut self, root: &Table, enabled: &dyn Fn(Platform) -> bool) -> Vec<GroupConfig> {
        let list = match root.get("groups") {
            None => return Vec::new(),
            Some(Value::Array(list)) => list,
            Some(other) => {
                self.error(
                    "groups",
                    format!(
                        "expected a list of [[groups]] tables, found {}",
                        type_name(other)
                    ),
                );
                return Vec::new();
            }
        };
        let mut seen = HashSet::new();
        let mut groups = Vec::new();
        for (i, item) in list.iter().enumerate() {
            let path = format!("groups[{i}]");
            let Value::Table(t) = item else {
                self.error(path, format!("expected a table, found {}", type_name(item)));
                continue;
            };
            if let Some(g) = self.group(t, &path, enabled) {
                if !seen.insert((g.platform, g.id.clone())) {
                    self.error(
                        join(&path, "id"),
                        format!("group \"{}\" is listed twice", g.id),
                    );
                }
                groups.push(g);
            }
        }
        groups
    }

    fn group(
        &mut self,
        t: &Table,
        path: &str,
        enabled: &dyn Fn(Platform) -> bool,
    ) -> Option<GroupConfig> {
        self.known_keys(
            t,
            path,
            &[
                "platform",
                "id",
                "moderator_channel",
                "region",
                "checkin",
                "escalate_after",
                "alert_excerpts",
                "crisis_lines",
            ],
        );
        let platform = match self.string(t, path, "platform") {
            Some(p) => {
                match p.parse::<Platform>() {
                    Ok(p) if enabled(p) => Some(p),
                    Ok(p) => {
                        self.error(join(path, "platform"), format!("{p} is not enabled in this config; add its section or remove the group"));
                        None
                    }
                    Err(_) => {
                        self.error(
                            join(path, "platform"),
                            format!("\"{p}\" is not a platform; use matrix, discord or console"),
                        );
                        None
                    }
                }
            }
            None => {
                self.error(
                    join(path, "platform"),
                    "missing; matrix, discord or console",
                );
                None
            }
        };
        let id = self.string(t, path, "id").map(|s| s.trim().to_owned());
        match (&id, platform) {
            (None, _) => self.error(
                join(path, "id"),
                "missing; the Matrix room id or Discord server (guild) id",
            ),
            (Some(id), _) if id.is_empty() => self.error(join(path, "id"), "must not be empty"),
            (Some(id), Some(Platform::Matrix))
                if !is_matrix_id(id, '!') && !is_matrix_id(id, '#') =>
            {
                self.error(join(path, "id"), format!("\"{id}\" is not a Matrix room id (\"!abc:example.org\") or alias (\"#room:example.org\")"));
            }
            (Some(id), Some(Platform::Discord)) if !is_snowflake(id) => {
                self.error(
                    join(path, "id"),
                    format!("\"{id}\" is not a Discord server id (a long number)"),
                );
            }
            _ => {}
        }
        let moderator_channel = self
            .string(t, path, "moderator_channel")
            .map(|s| s.trim().to_owned());
        match (&moderator_channel, platform) {
            (Some(c), Some(Platform::Matrix)) if !is_matrix_id(c, '!') && !is_matrix_id(c, '#') => {
                self.error(
                    join(path, "moderator_channel"),
                    format!("\"{c}\" is not a Matrix room id or alias"),
                );
            }
            (Some(c), Some(Platform::Discord)) if !is_snowflake(c) => {
                self.error(
                    join(path, "moderator_channel"),
                    format!("\"{c}\" is not a Discord channel id (a long number)"),
                );
            }
            _ => {}
        }
        let region = match self.string(t, path, "region") {
            Some(r) => match region::normalize(&r) {
                Some(r) => Some(r),
                None => {
                    self.error(join(path, "region"), format!("\"{r}\" is not a two-letter country code (ISO 3166-1), e.g. \"US\", \"GB\", \"DE\""));
                    None
                }
            },
            None => {
                self.error(join(path, "region"), "missing; the two-letter country code whose crisis lines members should see, e.g. \"US\"");
                None
            }
        };
        let checkin = self
            .table(t, path, "checkin")
            .and_then(|c| self.checkin(c, &join(path, "checkin")));
        let mut settings = GroupSettings::default();
        if let Some(text) = self.string(t, path, "escalate_after") {
            match parse_duration(&text) {
                Some(d) if (60..=86_400).contains(&d) => settings.escalate_after_secs = d,
                _ => self.error(
                    join(path, "escalate_after"),
                    format!("\"{text}\" is not a duration from 1 minute to 24 hours, e.g. \"10m\""),
                ),
            }
        }
        if let Some(b) = self.bool(t, path, "alert_excerpts") {
            settings.alert_excerpts = b;
        }
        settings.crisis_lines = self.crisis_lines(t, path);
        if let Some(secs) = checkin.as_ref().and_then(|c| c.catch_up_secs) {
            settings.checkin_catch_up_secs = secs;
        }
        Some(GroupConfig {
            platform: platform?,
            id: id?,
            moderator_channel,
            region: region?,
            checkin,
            settings,
        })
    }

    /// `crisis_lines = [{ name = "…", call = "…", hours = "…" }]`: lines the
    /// moderators add to the region's national ones.
    fn crisis_lines(&mut self, t: &Table, path: &str) -> Vec<Line> {
        let key = "crisis_lines";
        let list = match t.get(key) {
            None => return Vec::new(),
            Some(Value::Array(list)) => list,
            Some(other) => {
                self.error(
                    join(path, key),
                    format!(
                        "expected a list of lines, e.g. [{{ name = \"Our warmline\", call = \"555 0100\" }}], found {}",
                        type_name(other)
                    ),
                );
                return Vec::new();
            }
        };
        let mut lines = Vec::new();
        for (i, item) in list.iter().enumerate() {
            let p = format!("{}[{i}]", join(path, key));
            let Value::Table(line) = item else {
                self.error(p, format!("expected a table, found {}", type_name(item)));
                continue;
            };
            self.known_keys(line, &p, &["name", "call", "text", "chat", "web", "hours"]);
            let mut field = |k: &str| {
                self.string(line, &p, k)
                    .map(|v| v.trim().to_owned())
                    .filter(|v| !v.is_empty())
            };
            let entry = Line {
                name: field("name").unwrap_or_default(),
                call: field("call"),
                text: field("text"),
                chat: field("chat"),
                web: field("web"),
                hours: field("hours"),
                last_checked: String::new(),
            };
            if entry.name.is_empty() {
                self.error(
                    join(&p, "name"),
                    "missing; the line's name as members should see it",
                );
            } else if [&entry.call, &entry.text, &entry.chat, &entry.web]
                .iter()
                .all(|w| w.is_none())
            {
                self.error(
                    p,
                    "says nothing about how to reach it; set call, text, chat or web",
                );
            } else {
                lines.push(entry);
            }
        }
        lines
    }

    fn checkin(&mut self, t: &Table, path: &str) -> Option<CheckinConfig> {
        self.known_keys(t, path, &["cron", "timezone", "catch_up"]);
        let catch_up_secs = self
            .string(t, path, "catch_up")
            .and_then(|text| match parse_duration(&text) {
                Some(d) if (0..=86_400).contains(&d) => Some(d),
                _ => {
                    self.error(
                        join(path, "catch_up"),
                        format!("\"{text}\" is not a duration from 0 to 24 hours, e.g. \"2h\""),
                    );
                    None
                }
            });
        let cron = self.string(t, path, "cron");
        let timezone = self.string(t, path, "timezone");
        match &cron {
            Some(c) => {
                if let Err(e) = parse_checkin_cron(c) {
                    self.error(join(path, "cron"), e.to_string());
                }
            }
            None => self.error(
                join(path, "cron"),
                "missing; e.g. \"0 0 9 * * *\" for 09:00 every day",
            ),
        }
        // Kept under its canonical name ("europe/london" → "Europe/London").
        let timezone = match &timezone {
            Some(z) => match parse_zone(z) {
                Ok(tz) => Some(tz.name().to_owned()),
                Err(e) => {
                    self.error(join(path, "timezone"), e.to_string());
                    None
                }
            },
            None => {
                self.error(
                    join(path, "timezone"),
                    "missing; an IANA zone such as \"America/New_York\"",
                );
                None
            }
        };
        Some(CheckinConfig {
            cron: cron?,
            timezone: timezone?,
            catch_up_secs,
        })
    }
}

/// `@local:server`, `!opaque:server` or `#alias:server`.
fn is_matrix_id(s: &str, sigil: char) -> bool {
    if s.contains(char::is_whitespace) {
        return false;
    }
    let Some(rest) = s.strip_prefix(sigil) else {
        return false;
    };
    match rest.split_once(':') {
        Some((local, server)) => !local.is_empty() && !server.is_empty(),
        // Room version 12 room ids are a hash without a server part
        // ("!31hneApxJ_1o-63DmFrpeqnkFfWppnzWso1JvH3ogLM").
        None => sigil == '!' && rest.len() >= 20,
    }
}

fn is_snowflake(s: &str) -> bool {
    (15..=20).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

/// `"90s"`, `"10m"`, `"2h"` → seconds.
fn parse_duration(text: &str) -> Option<i64> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = text.split_at(split);
    let n: i64 = n.parse().ok()?;
    let scale = match unit.trim() {
        "s" | "sec" | "secs" | "seconds" => 1,
        "m" | "min" | "mins" | "minutes" => 60,
        "h" | "hour" | "hours" => 3600,
        _ => return None,
    };
    n.checked_mul(scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn delivered_retention_is_read_and_bounded() {
        let base = "[database]\nurl = \"sqlite://x.db\"\n[console]\nenabled = true\n";
        let config = parse(base, &no_env).unwrap();
        assert_eq!(config.outbox.delivered_retention, Duration::from_secs(3600));
        let config = parse(
            &format!("{base}[outbox]\ndelivered_retention = \"10m\"\n"),
            &no_env,
        )
        .unwrap();
        assert_eq!(config.outbox.delivered_retention, Duration::from_secs(600));
        let bad = errors(&format!("{base}[outbox]\ndelivered_retention = \"30d\"\n"));
        assert!(
            bad.iter()
                .any(|e| e.starts_with("outbox.delivered_retention:")),
            "{bad:?}"
        );
    }

    #[test]
    fn crisis_model_is_on_unless_turned_off_and_off_is_a_warning() {
        let base = "[database]\nurl = \"sqlite://x.db\"\n[console]\nenabled = true\n";
        let config = parse(base, &no_env).unwrap();
        assert_eq!(config.crisis, CrisisConfig::default());
        assert!(config.crisis.model);
        assert!(config.warnings.is_empty());
        let off = parse(&format!("{base}[crisis]\nmodel = \"off\"\n"), &no_env).unwrap();
        assert!(!off.crisis.model);
        assert!(
            warnings(&off)
                .iter()
                .any(|w| w.starts_with("crisis.model:") && w.contains("rules alone")),
            "{:?}",
            warnings(&off)
        );
        let dir = parse(
            &format!("{base}[crisis]\nmodel = \"on\"\nmodel_dir = \"/srv/model\"\n"),
            &no_env,
        )
        .unwrap();
        assert_eq!(dir.crisis.model_dir(), PathBuf::from("/srv/model"));
        for bad in [
            "model = \"no\"",
            "model = false",
            "model_dir = \" \"",
            "modle = \"off\"",
        ] {
            let errors = errors(&format!("{base}[crisis]\n{bad}\n"));
            assert!(
                errors.iter().any(|e| e.starts_with("crisis.")),
                "{bad}: {errors:?}"
            );
        }
    }

    fn errors(text: &str) -> Vec<String> {
        parse(text, &no_env)
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn example_config_is_valid() {
        let text = include_str!("../../config.example.toml");
        let config = parse(text, &no_env).unwrap();
        assert!(config.console.is_some());
        assert!(config.database.url.expose().starts_with("sqlite://"));
    }

    /// Regression: a check-in every second, or on 31 February, passed
    /// validation.
    #[test]
    fn checkin_cron_that_fires_too_often_or_never_is_refused_by_key() {
        for (cron, says) in [
            ("* * * * * *", "every second"),
            ("0 */15 9 * * *", "at most once an hour"),
            ("0 0 0 31 2 *", "never comes"),
        ] {
            let errs = errors(&format!(
                "[console]\nenabled = true\n[[groups]]\nplatform = \"console\"\nid = \"demo\"\n\
                 region = \"US\"\ncheckin = {{ cron = \"{cron}\", timezone = \"UTC\" }}\n"
            ));
            assert_eq!(errs.len(), 1, "{cron}: {errs:#?}");
            assert!(
                errs[0].starts_with(&format!("groups[0].checkin.cron: \"{cron}\"")),
                "{errs:#?}"
            );
            assert!(errs[0].contains(says), "{errs:#?}");
        }
    }

    #[test]
    fn three_mistakes_are_all_reported_with_their_paths() {
        let errs = errors(
            r#"
[console]
enabled = true
[[groups]]
platform = "console"
id = "demo"
region = "US"
checkin = { cron = "every morning", timezone = "Mars/Base" }
colour = "blue"
"#,
        );
        assert_eq!(errs.len(), 3, "{errs:#?}");
        assert!(errs.iter().any(|e| {
            e.starts_with("groups[0].checkin.cron: invalid cron expression \"every morning\"")
        }));
        assert!(
            errs.iter()
                .any(|e| e
                    .starts_with("groups[0].checkin.timezone: unknown time zone \"Mars/Base\""))
        );
        assert!(
            errs.iter()
                .any(|e| e.starts_with("groups[0].colour: unknown key"))
        );
    }

    #[test]
    fn misspelt_key_gets_a_suggestion() {
        let errs = errors("[console]\nenabld = true\n");
        assert!(
            errs.iter()
                .any(|e| e.contains("console.enabld: unknown key; did you mean \"enabled\"?")),
            "{errs:?}"
        );
    }

    #[test]
    fn missing_secret_names_the_variable_not_a_value() {
        let errs = errors("[discord]\ntoken_env = \"IPT_TEST_UNSET_TOKEN\"\n");
        assert_eq!(
            errs,
            vec!["discord.token_env: environment variable IPT_TEST_UNSET_TOKEN is not set"]
        );
    }

    #[test]
    fn secret_values_never_show_in_debug_output() {
        let env = |name: &str| (name == "TOK").then(|| "super-secret-value".to_owned());
        let config = parse("[discord]\ntoken_env = \"TOK\"\n", &env).unwrap();
        assert_eq!(
            config.discord.as_ref().unwrap().token.expose(),
            "super-secret-value"
        );
        assert!(!format!("{config:?}").contains("super-secret-value"));
    }

    #[test]
    fn room_ids_of_every_room_version_are_accepted() {
        assert!(is_matrix_id("!abc:example.org", '!'));
        assert!(is_matrix_id(
            "!WVPfA1bvMg8prAVIlvBhbNvRxj2qqjI9DpfCOUzXA_U",
            '!'
        ));
        assert!(is_matrix_id("#room:example.org", '#'));
        assert!(!is_matrix_id("#room", '#'));
        assert!(!is_matrix_id("!short", '!'));
        assert!(!is_matrix_id("@bot", '@'));
        assert!(!is_matrix_id("!abc :example.org", '!'));
    }

    #[test]
    fn matrix_section_is_checked() {
        let errs = errors("[matrix]\nhomeserver = \"matrix.org\"\nuser = \"ipt-bot\"\n");
        assert!(
            errs.iter()
                .any(|e| e.starts_with("matrix.homeserver: \"matrix.org\" is not an http")),
            "{errs:?}"
        );
        assert!(
            errs.iter().any(|e| e.starts_with("matrix.user:")),
            "{errs:?}"
        );
        assert!(
            errs.iter()
                .any(|e| e.starts_with("matrix: set password_env")),
            "{errs:?}"
        );
    }

    #[test]
    fn invite_servers_are_a_list_of_server_names() {
        let base = "[matrix]\nhomeserver = \"https://hs.example\"\nuser = \"@b:hs.example\"\npassword_env = \"PW\"\n";
        let env = |k: &str| (k == "PW").then(|| "x".to_owned());
        let ok = parse(
            &format!("{base}invite_servers = [\"Example.org\", \"hs.example\"]\n"),
            &env,
        )
        .expect("valid");
        assert_eq!(
            ok.matrix.expect("matrix").invite_servers,
            vec!["example.org".to_owned(), "hs.example".to_owned()]
        );
        let errs = parse(&format!("{base}invite_servers = \"example.org\"\n"), &env).unwrap_err();
        assert!(
            errs[0]
                .to_string()
                .starts_with("matrix.invite_servers: must be a list"),
            "{errs:?}"
        );
        let errs = parse(&format!("{base}invite_servers = [\"a b\", 3]\n"), &env).unwrap_err();
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert!(
            errs[0].to_string().starts_with("matrix.invite_servers[0]:"),
            "{errs:?}"
        );
    }

    #[test]
    fn group_on_a_disabled_platform_is_refused() {
        let errs = errors(
            "[console]\nenabled = true\n[[groups]]\nplatform = \"matrix\"\nid = \"!a:b.org\"\nregion = \"GB\"\n",
        );
        assert_eq!(
            errs,
            vec![
                "groups[0].platform: matrix is not enabled in this config; add its section or remove the group"
            ]
        );
    }

    #[test]
    fn a_groups_own_crisis_lines_are_read_and_checked() {
        let base = "[console]\nenabled = true\n[[groups]]\nplatform = \"console\"\nid = \"g\"\nregion = \"GB\"\n";
        let config = parse(
            &format!("{base}crisis_lines = [{{ name = \"Warmline\", call = \"0800 1\", hours = \"evenings\" }}]\n"),
            &no_env,
        )
        .unwrap();
        let lines = &config.groups[0].settings.crisis_lines;
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].name, "Warmline");
        assert_eq!(lines[0].call.as_deref(), Some("0800 1"));
        assert_eq!(lines[0].hours.as_deref(), Some("evenings"));
        let errs = errors(&format!(
            "{base}crisis_lines = [{{ call = \"1\" }}, {{ name = \"No way in\" }}, {{ name = \"x\", phone = \"1\" }}, 5]\n"
        ));
        assert_eq!(
            errs,
            vec![
                "groups[0].crisis_lines[0].name: missing; the line's name as members should see it",
                "groups[0].crisis_lines[1]: says nothing about how to reach it; set call, text, chat or web",
                "groups[0].crisis_lines[2].phone: unknown key; known keys here: name, call, text, chat, web, hours",
                "groups[0].crisis_lines[2]: says nothing about how to reach it; set call, text, chat or web",
                "groups[0].crisis_lines[3]: expected a table, found a whole number",
            ]
        );
    }

    #[test]
    fn checkin_catch_up_is_read_and_checked() {
        let group = |checkin: &str| {
            format!(
                "[console]\nenabled = true\n[[groups]]\nplatform = \"console\"\nid = \"g\"\n\
                 region = \"GB\"\ncheckin = {{ cron = \"0 0 9 * * *\", timezone = \"UTC\"{checkin} }}\n"
            )
        };
        let config = parse(&group(", catch_up = \"30m\""), &no_env).unwrap();
        assert_eq!(config.groups[0].settings.checkin_catch_up_secs, 1800);
        let config = parse(&group(""), &no_env).unwrap();
        assert_eq!(config.groups[0].settings.checkin_catch_up_secs, 7200);
        assert_eq!(
            errors(&group(", catch_up = \"3 days\"")),
            vec![
                "groups[0].checkin.catch_up: \"3 days\" is not a duration from 0 to 24 hours, e.g. \"2h\""
            ]
        );
    }

    #[test]
    fn wrong_types_and_bad_values_are_named() {
        let errs = errors(
            "[database]\nurl = \"mysql://x\"\n[console]\nenabled = \"yes\"\n[outbox]\nmax_attempts = 0\n",
        );
        assert!(
            errs.iter()
                .any(|e| e.starts_with("database.url: \"mysql://x\" is not a database URL")),
            "{errs:?}"
        );
        assert!(
            errs.iter()
                .any(|e| e == "console.enabled: expected true or false, found a string"),
            "{errs:?}"
        );
        assert!(
            errs.iter()
                .any(|e| e.starts_with("outbox.max_attempts: 0 is out of range")),
            "{errs:?}"
        );
    }

    #[test]
    fn syntax_error_is_reported_with_position() {
        let errs = errors("[console\nenabled = true\n");
        assert_eq!(errs.len(), 1);
        assert!(errs[0].starts_with("not valid TOML"), "{errs:?}");
        assert!(errs[0].contains("line 1"), "{errs:?}");
    }

    #[test]
    fn nothing_enabled_is_an_error() {
        let errs = errors("[database]\nurl = \"sqlite://x.db\"\n");
        assert!(
            errs.iter().any(|e| e.starts_with("no platform is enabled")),
            "{errs:?}"
        );
    }

    #[test]
    fn duplicate_groups_and_bad_regions_are_reported() {
        let errs = errors(
            "[console]\nenabled = true\n[[groups]]\nplatform = \"console\"\nid = \"a\"\nregion = \"XX\"\n[[groups]]\nplatform = \"console\"\nid = \"a\"\nregion = \"us\"\n[[groups]]\nplatform = \"console\"\nid = \"a\"\nregion = \"uk\"\n",
        );
        assert!(
            errs.iter()
                .any(|e| e.starts_with("groups[0].region: \"XX\"")),
            "{errs:?}"
        );
        assert!(
            errs.iter()
                .any(|e| e == "groups[2].id: group \"a\" is listed twice"),
            "{errs:?}"
        );
    }

    fn warnings(config: &Config) -> Vec<String> {
        config.warnings.iter().map(ToString::to_string).collect()
    }

    const MATRIX_PW: &str = "user = \"@b:hs.example\"\npassword_env = \"PW\"\n";

    fn pw_env(name: &str) -> Option<String> {
        (name == "PW").then(|| "x".to_owned())
    }

    // Regression: a homeserver URL with user:password in it reached
    // matrix-sdk, which printed it in its trace spans and errors, and the
    // config's Debug output.
    #[test]
    fn test_homeserver_password_is_dropped_with_a_warning_and_never_shown() {
        let text =
            format!("[matrix]\nhomeserver = \"https://bot:hunter2@hs.example\"\n{MATRIX_PW}");
        let config = parse(&text, &pw_env).unwrap();
        let matrix = config.matrix.as_ref().unwrap();
        assert_eq!(matrix.homeserver.as_str(), "https://hs.example/");
        assert!(!format!("{config:?}").contains("hunter2"));
        let warnings = warnings(&config);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].starts_with("matrix.homeserver: the URL holds a password")
                && warnings[0].contains("password_env"),
            "{warnings:?}"
        );
        assert!(!warnings[0].contains("hunter2"));
    }

    #[test]
    fn test_homeserver_errors_never_show_its_password() {
        let errs = errors(&format!(
            "[matrix]\nhomeserver = \"ftp://bot:hunter2@hs.example\"\n{MATRIX_PW}"
        ));
        assert!(
            errs.iter()
                .any(|e| e.starts_with("matrix.homeserver: \"ftp://bot:***@hs.example")),
            "{errs:?}"
        );
        let errs = parse(
            &format!(
                "[matrix]\nhomeserver = \"https://hs.example/?password=hunter2\"\n{MATRIX_PW}"
            ),
            &pw_env,
        )
        .unwrap_err();
        let errs: Vec<String> = errs.iter().map(ToString::to_string).collect();
        assert_eq!(
            errs,
            vec![
                "matrix.homeserver: \"https://hs.example/?password=***\" has a ?query or #fragment; \
                 give the homeserver's address alone, e.g. \"https://matrix.example.org\""
            ]
        );
    }

    #[test]
    fn test_literal_database_password_is_warned_about_but_valid() {
        let config = |db: &str| {
            parse(
                &format!("[database]\n{db}\n[console]\nenabled = true\n"),
                &|k: &str| (k == "DB").then(|| "postgres://bot:pw@db/ipt".to_owned()),
            )
            .unwrap()
        };
        let expected = "database.url: the password is written in the file; put the whole URL \
                        in an environment variable and name that variable with url_env instead";
        assert_eq!(
            warnings(&config("url = \"postgres://bot:hunter2@db/ipt\"")),
            vec![expected]
        );
        assert_eq!(
            warnings(&config(
                "url = \"postgres://bot@db/ipt?sslmode=require&password=hunter2\""
            )),
            vec![expected]
        );
        assert!(warnings(&config("url = \"postgres://bot@db/ipt?sslmode=require\"")).is_empty());
        assert!(warnings(&config("url = \"sqlite://ipt.db\"")).is_empty());
        assert!(warnings(&config("url_env = \"DB\"")).is_empty());
    }

    #[test]
    fn test_discord_section_is_not_runnable_in_this_version() {
        let env = |k: &str| (k == "TOK").then(|| "t".to_owned());
        let config = parse("[discord]\ntoken_env = \"TOK\"\n", &env).unwrap();
        assert!(config.not_runnable().unwrap().contains("Discord adapter"));
        let config = parse("[console]\nenabled = true\n", &no_env).unwrap();
        assert_eq!(config.not_runnable(), None);
    }

    #[cfg(unix)]
    #[test]
    fn test_config_file_readable_by_others_is_warned_about() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = std::env::temp_dir().join(format!("ipt-config-mode-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("bot.toml");
        std::fs::write(&path, "[console]\nenabled = true\n").unwrap();
        let with_mode = |mode: u32| {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            warnings(&load(&path).unwrap())
        };
        let shown = path.display();
        assert_eq!(
            with_mode(0o644),
            vec![format!(
                "{shown} can be read by every user of this machine (mode 644); make it yours alone with: chmod 600 {shown}"
            )]
        );
        assert!(with_mode(0o640)[0].contains("can be read by the file's group (mode 640)"));
        assert!(with_mode(0o600).is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn secrets_in_urls_never_reach_error_text() {
        let env = |name: &str| (name == "DB").then(|| "host=db password=hunter2".to_owned());
        let errs: Vec<String> = parse(
            "[database]\nurl_env = \"DB\"\n[console]\nenabled = true\n",
            &env,
        )
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect();
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(
            errs[0].starts_with("database.url_env: the variable's value is not a database URL")
        );
        assert!(!errs[0].contains("hunter2"));
        let errs = errors("[discord]\ntoken_env = \"X\"\nhttp_proxy = \"ftp://u:hunter2@proxy\"\n");
        assert!(errs.iter().all(|e| !e.contains("hunter2")), "{errs:?}");
        assert!(
            errs.iter().any(|e| e.starts_with("discord.http_proxy:")),
            "{errs:?}"
        );
    }

    #[test]
    fn passwords_in_database_urls_are_redacted() {
        assert_eq!(
            redact_url("postgres://bot@db/ipt?sslmode=require&password=hunter2"),
            "postgres://bot@db/ipt?sslmode=require&password=***"
        );
        assert_eq!(
            redact_url("postgres://bot:p@ss@db/ipt"),
            "postgres://bot:***@db/ipt"
        );
        assert_eq!(
            redact_url("host=db password=hunter2"),
            "[hidden: not a URL]"
        );
        assert_eq!(
            redact_url("postgres://bot:hunter2@db/ipt"),
            "postgres://bot:***@db/ipt"
        );
        assert_eq!(redact_url("postgres://bot@db/ipt"), "postgres://bot@db/ipt");
        assert_eq!(redact_url("sqlite://ipt.db"), "sqlite://ipt.db");
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("10m"), Some(600));
        assert_eq!(parse_duration("90s"), Some(90));
        assert_eq!(parse_duration("2 hours"), Some(7200));
        assert_eq!(parse_duration("soon"), None);
    }
}
