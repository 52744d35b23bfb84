//! A real Synapse homeserver for the Matrix tests: generated config in a
//! temporary directory, a free loopback port, rate limits relaxed (a test
//! bot sends faster than Synapse's defaults allow), users registered with
//! the shared secret. Stopped (killed) when dropped.
//!
//! The venv comes from `IPT_SYNAPSE_VENV` (set by `scripts/test`, which
//! installs Synapse from PyPI) or `~/.cache/ipt-bot/synapse-venv`.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::tempdir::TempDir;

/// A running Synapse.
#[derive(Debug)]
pub struct Synapse {
    child: Child,
    dir: TempDir,
    python: PathBuf,
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    /// The server name users live on (`@name:localhost`).
    pub server_name: String,
}

/// Limits lifted so tests are not throttled (production docs show the
/// admin API's per-user override instead).
const RELAXED_LIMITS: &str = "
rc_message: {per_second: 1000, burst_count: 1000}
rc_registration: {per_second: 1000, burst_count: 1000}
rc_login:
  address: {per_second: 1000, burst_count: 1000}
  account: {per_second: 1000, burst_count: 1000}
  failed_attempts: {per_second: 1000, burst_count: 1000}
rc_joins:
  local: {per_second: 1000, burst_count: 1000}
  remote: {per_second: 1000, burst_count: 1000}
rc_invites:
  per_room: {per_second: 1000, burst_count: 1000}
  per_user: {per_second: 1000, burst_count: 1000}
  per_issuer: {per_second: 1000, burst_count: 1000}
";

fn venv() -> PathBuf {
    std::env::var_os("IPT_SYNAPSE_VENV").map_or_else(
        || {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/ipt-bot/synapse-venv")
        },
        PathBuf::from,
    )
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Whether `GET path` answers 200.
fn answers(port: u16, path: &str) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
    let mut reply = String::new();
    stream.write_all(request.as_bytes()).is_ok()
        && stream.read_to_string(&mut reply).is_ok()
        && reply.split_whitespace().nth(1) == Some("200")
}

impl Synapse {
    /// Starts a fresh Synapse, or `None` (after a loud SKIPPED line) when
    /// it is not installed outside CI. In CI a missing Synapse fails.
    pub fn start() -> Option<Synapse> {
        let python = venv().join("bin/python");
        if !python.exists() {
            assert!(
                !crate::in_ci(),
                "Synapse is required in CI but {} is missing",
                python.display()
            );
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: Matrix test (no Synapse venv at {}); scripts/test installs it",
                venv().display()
            );
            return None;
        }
        let dir = TempDir::new();
        let config = dir.path().join("homeserver.yaml");
        let server_name = "localhost".to_owned();
        let generated = Command::new(&python)
            .args([
                "-m",
                "synapse.app.homeserver",
                "--server-name",
                &server_name,
            ])
            .arg("--config-path")
            .arg(&config)
            .args(["--generate-config", "--report-stats=no"])
            .current_dir(dir.path())
            .output()
            .expect("run synapse --generate-config");
        assert!(
            generated.status.success(),
            "synapse --generate-config: {}",
            String::from_utf8_lossy(&generated.stderr)
        );
        let port = free_port();
        let text = std::fs::read_to_string(&config).expect("read generated config");
        let text = text
            .replace("port: 8008", &format!("port: {port}"))
            .replace("    - ::1\n", "");
        std::fs::write(&config, format!("{text}{RELAXED_LIMITS}")).expect("write config");
        let child = Command::new(&python)
            .args(["-m", "synapse.app.homeserver", "-c"])
            .arg(&config)
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("synapse.err")).expect("log file"))
            .spawn()
            .expect("start synapse");
        let synapse = Synapse {
            child,
            dir,
            python,
            base_url: format!("http://127.0.0.1:{port}"),
            server_name,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !answers(port, "/_matrix/client/versions") {
            assert!(
                Instant::now() < deadline,
                "Synapse did not answer within 60 s: {}",
                std::fs::read_to_string(synapse.dir.path().join("synapse.err")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(synapse)
    }

    /// Registers a user with the shared secret; returns the full user id.
    pub fn register(&self, name: &str, password: &str, admin: bool) -> String {
        let script = self
            .python
            .parent()
            .expect("venv bin")
            .join("register_new_matrix_user");
        let out = Command::new(&self.python)
            .arg(script)
            .arg("-c")
            .arg(self.dir.path().join("homeserver.yaml"))
            .args(["-u", name, "-p", password])
            .arg(if admin { "--admin" } else { "--no-admin" })
            .arg(&self.base_url)
            .output()
            .expect("run register_new_matrix_user");
        assert!(
            out.status.success(),
            "registering {name}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        format!("@{name}:{}", self.server_name)
    }

    /// Starts the server again after [`Synapse::kill`], on the same port
    /// with the same data, and waits until it answers.
    pub fn restart(&mut self) {
        self.kill();
        let config = self.dir.path().join("homeserver.yaml");
        self.child = Command::new(&self.python)
            .args(["-m", "synapse.app.homeserver", "-c"])
            .arg(&config)
            .current_dir(self.dir.path())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(self.dir.path().join("synapse-2.err")).expect("log file"))
            .spawn()
            .expect("restart synapse");
        let port = self.port();
        let deadline = Instant::now() + Duration::from_secs(60);
        while !answers(port, "/_matrix/client/versions") {
            assert!(
                Instant::now() < deadline,
                "Synapse did not come back within 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The loopback port it listens on.
    pub fn port(&self) -> u16 {
        self.base_url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("port in base_url")
    }

    /// Stops the server (SIGKILL) and waits for it, as a crash would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Synapse {
    fn drop(&mut self) {
        self.kill();
    }
}
