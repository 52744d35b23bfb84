//! A TCP proxy a test can cut. The bot reaches Synapse through it while
//! the test's own clients talk to Synapse directly, so "the homeserver is
//! unreachable" can be staged for the bot alone, at an exact moment:
//! [`CutProxy::cut_after`] lets one request through to Synapse, swallows
//! its answer and then refuses every connection until [`CutProxy::restore`]
//! — the bot sees a send fail that in truth reached the server, which is
//! the case idempotent delivery exists for.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// A running proxy; stops when dropped.
#[derive(Debug)]
pub struct CutProxy {
    /// `http://127.0.0.1:PORT`, to give the bot as its homeserver.
    pub url: String,
    state: Arc<State>,
    stop: CancellationToken,
}

#[derive(Debug, Default)]
struct State {
    down: AtomicBool,
    tripped: AtomicBool,
    /// Bytes that, seen in a request, cut the link.
    trigger: Mutex<Option<Vec<u8>>>,
    /// Cancelled to drop every open connection.
    connections: Mutex<CancellationToken>,
}

impl State {
    fn cut(&self) {
        self.down.store(true, Ordering::SeqCst);
        let mut connections = self.connections.lock().expect("lock");
        connections.cancel();
        *connections = CancellationToken::new();
    }

    fn trips(&self, chunk: &[u8]) -> bool {
        let trigger = self.trigger.lock().expect("lock");
        let Some(pattern) = trigger.as_deref() else {
            return false;
        };
        !pattern.is_empty() && chunk.windows(pattern.len()).any(|w| w == pattern)
    }
}

impl CutProxy {
    /// Starts forwarding a free loopback port to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let state = Arc::new(State::default());
        let stop = CancellationToken::new();
        let (st, sp) = (state.clone(), stop.clone());
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    () = sp.cancelled() => return,
                    a = listener.accept() => a,
                };
                let Ok((client, _)) = accepted else { continue };
                if st.down.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let token = st.connections.lock().expect("lock").clone();
                tokio::spawn(relay(client, upstream, st.clone(), token));
            }
        });
        Self { url, state, stop }
    }

    /// Arms the cut: the next request containing `pattern` (e.g. a
    /// transaction id in a send URL) reaches the server, its answer is
    /// swallowed, and from then on the link is down.
    pub fn cut_after(&self, pattern: &str) {
        *self.state.trigger.lock().expect("lock") = Some(pattern.as_bytes().to_vec());
    }

    /// Whether an armed cut has happened.
    pub fn tripped(&self) -> bool {
        self.state.tripped.load(Ordering::SeqCst)
    }

    /// Takes the link down now.
    pub fn cut(&self) {
        self.state.cut();
    }

    /// Brings the link back (and disarms any cut).
    pub fn restore(&self) {
        *self.state.trigger.lock().expect("lock") = None;
        self.state.down.store(false, Ordering::SeqCst);
    }
}

impl Drop for CutProxy {
    fn drop(&mut self) {
        self.stop.cancel();
        self.state.cut();
    }
}

async fn relay(
    client: TcpStream,
    upstream: SocketAddr,
    state: Arc<State>,
    token: CancellationToken,
) {
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    // Set once this connection carried the trigger: its answer must not
    // reach the bot.
    let swallow = Arc::new(AtomicBool::new(false));
    let sw = swallow.clone();
    let up = {
        let state = state.clone();
        async move {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = match client_read.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                if !sw.load(Ordering::SeqCst) && state.trips(&buf[..n]) {
                    sw.store(true, Ordering::SeqCst);
                    state.tripped.store(true, Ordering::SeqCst);
                    // No new connection gets through from here on.
                    state.down.store(true, Ordering::SeqCst);
                    if server_write.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                    // Let the rest of the request (a body written apart from
                    // its headers) through, then cut everything.
                    let rest = tokio::time::timeout(Duration::from_millis(300), async {
                        loop {
                            match client_read.read(&mut buf).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => {
                                    if server_write.write_all(&buf[..n]).await.is_err() {
                                        return;
                                    }
                                }
                            }
                        }
                    });
                    let _ = rest.await;
                    // Give the server a moment to read it all before the
                    // connection closes.
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    state.cut();
                    return;
                }
                if server_write.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        }
    };
    let down = async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match server_read.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if swallow.load(Ordering::SeqCst) {
                continue;
            }
            if client_write.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    };
    tokio::select! {
        () = token.cancelled() => {}
        () = up => {}
        () = down => {}
    }
}
