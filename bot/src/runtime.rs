//! The runtime: opens the store, brings the static groups from the config
//! into it, starts one outbox worker per enabled platform and the platforms
//! themselves, and shuts everything down gracefully on end of input (console),
//! SIGINT or SIGTERM.
//!
//! Graceful shutdown means: no new claims; the delivery in flight is finished
//! (within its grace period); deliveries claimed but not yet started are
//! released so the next start sends them at once. Whatever a crash leaves
//! leased is retaken when its lease runs out and resent under the same
//! idempotency key, which the platform uses to drop the duplicate.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use ipt_core::clock::{Clock, SystemClock};
use ipt_core::engine::{Engine, Sender};
use ipt_core::ids::{GroupRef, MemberRef, Platform};
use ipt_core::model::{GroupSettings, NewGroup};
use ipt_core::outbox::{
    CriticalFirst, DeliverySink, Lane, OutboxWorker, RetryPolicy, WorkerConfig,
};
use ipt_core::scheduler::{Scheduler, SchedulerConfig};
use ipt_core::store::{self, ConnectOptions, Store};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, OutboxConfig};
use crate::console::{Console, SharedOut};
use crate::matrix::MatrixAdapter;

/// A failure the user can fix (bad config, a platform not in this build);
/// `main` exits 1 for these and 2 for everything else.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UserError(pub String);

/// Opens the configured store and applies migrations.
pub async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    let options = ConnectOptions {
        max_connections: config.database.max_connections,
        ..ConnectOptions::default()
    };
    let shown = config.database.redacted_url();
    let store = match store::connect(config.database.url.expose(), &options).await {
        Ok(store) => store,
        // The commonest mistake (nothing listens there) in plain words,
        // without the driver's own wording of it.
        Err(error) if refused(&error) => anyhow::bail!(
            "cannot open the database {shown}: connection refused; is the database server \
             running, and listening at that address and port?"
        ),
        Err(error) => {
            return Err(error).with_context(|| format!("cannot open the database {shown}"));
        }
    };
    store
        .migrate()
        .await
        .with_context(|| format!("cannot migrate the database {shown}"))?;
    Ok(store)
}

/// Whether `error` comes down to a refused TCP connection.
fn refused(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(e) = cause {
        if e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused)
        {
            return true;
        }
        cause = e.source();
    }
    false
}

/// The store, engine and outbox workers of one bot process.
pub struct Runtime {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    engine: Engine,
    scheduler: Arc<Scheduler>,
    wake: Arc<Notify>,
    /// Shared by the engine and the workers: support gives way to alerts.
    critical_first: Arc<CriticalFirst>,
    outbox: OutboxConfig,
    sinks: Vec<(Platform, Arc<dyn DeliverySink>)>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let platforms: Vec<_> = self.sinks.iter().map(|(p, _)| *p).collect();
        f.debug_struct("Runtime")
            .field("store", &self.store)
            .field("outbox", &self.outbox)
            .field("platforms", &platforms)
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// A runtime over an open store.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, outbox: OutboxConfig) -> Self {
        let wake = Arc::new(Notify::new());
        let critical_first = Arc::new(CriticalFirst::default());
        let engine = Engine::new(store.clone(), clock.clone())
            .with_wake(wake.clone())
            .with_critical_first(critical_first.clone());
        let scheduler = Arc::new(Scheduler::new(
            store.clone(),
            clock.clone(),
            SchedulerConfig::default(),
        ));
        Self {
            store,
            clock,
            engine,
            scheduler,
            wake,
            critical_first,
            outbox,
            sinks: Vec::new(),
        }
    }

    /// Reads messages with `detector`.
    pub fn with_detector(mut self, detector: ipt_core::crisis::Detector) -> Self {
        self.engine = self.engine.with_detector(detector);
        self
    }

    /// The engine adapters hand events to.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The check-in scheduler (ticked by `start`; tests tick it by hand).
    pub fn scheduler(&self) -> &Arc<Scheduler> {
        &self.scheduler
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Notified after anything is enqueued, so workers deliver at once.
    pub fn wake(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Registers the platform that delivers `platform`'s outbox rows.
    pub fn add_sink(&mut self, platform: Platform, sink: Arc<dyn DeliverySink>) {
        self.sinks.push((platform, sink));
    }

    fn worker(&self, platform: Platform, lane: Lane, sink: &Arc<dyn DeliverySink>) -> OutboxWorker {
        let config = WorkerConfig {
            batch: self.outbox.batch_size,
            lease: self.outbox.lease,
            retry: RetryPolicy {
                max_attempts: self.outbox.max_attempts,
                ..RetryPolicy::default()
            },
            ..WorkerConfig::new(platform, lane)
        };
        OutboxWorker::new(
            self.store.clone(),
            sink.clone(),
            self.clock.clone(),
            self.wake.clone(),
            config,
        )
        .with_critical_first(self.critical_first.clone())
    }

    /// Starts two outbox workers per registered platform, one per lane, so
    /// crisis messages never queue behind ordinary ones.
    pub fn start(&self) -> Running {
        let shutdown = CancellationToken::new();
        let mut tasks = Vec::new();
        for (platform, sink) in &self.sinks {
            for lane in Lane::ALL {
                let worker = self.worker(*platform, *lane, sink);
                tasks.push(tokio::spawn(worker.run(shutdown.clone())));
            }
        }
        tasks.push(tokio::spawn(escalation_loop(
            self.store.clone(),
            self.clock.clone(),
            self.wake.clone(),
            shutdown.clone(),
        )));
        tasks.push(tokio::spawn(prune_loop(
            self.store.clone(),
            self.clock.clone(),
            self.outbox.delivered_retention,
            shutdown.clone(),
        )));
        tasks.push(tokio::spawn(scheduler_loop(
            self.scheduler.clone(),
            self.wake.clone(),
            shutdown.clone(),
        )));
        Running { shutdown, tasks }
    }

    /// Delivers everything due now for every platform, crisis lane first,
    /// then returns.
    pub async fn drain(&self) -> anyhow::Result<()> {
        for (platform, sink) in &self.sinks {
            for lane in Lane::ALL {
                self.worker(*platform, *lane, sink).drain().await?;
            }
        }
        Ok(())
    }
}

/// How often unclaimed alerts are checked for escalation.
const ESCALATION_CHECK: Duration = Duration::from_secs(15);

/// Job "escalations": every 15 seconds (and at start), re-sends alerts that
/// nobody claimed in time. A failing run is logged and the loop goes on.
async fn escalation_loop(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    wake: Arc<Notify>,
    shutdown: CancellationToken,
) {
    loop {
        match ipt_core::alerts::run_escalations(store.as_ref(), clock.now()).await {
            Ok(0) => {}
            Ok(_) => wake.notify_waiters(),
            Err(error) => tracing::error!(job = "escalations", %error, "job failed; will retry"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(ESCALATION_CHECK) => {}
        }
    }
}

/// How often settled deliveries are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(60);
/// How long a given-up (dead) delivery stays listed for moderators.
const DEAD_RETENTION_DAYS: i64 = 30;

/// Job "prune-deliveries": every minute (and at start), deletes delivered
/// messages older than `[outbox] delivered_retention` (they may name or
/// quote a member) and given-up ones after 30 days. A failing run is
/// logged and the loop goes on.
async fn prune_loop(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    retention: Duration,
    shutdown: CancellationToken,
) {
    let retention = chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::hours(1));
    loop {
        let now = clock.now();
        let dead_before = now - chrono::Duration::days(DEAD_RETENTION_DAYS);
        match store.prune_deliveries(now - retention, dead_before).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(
                job = "prune-deliveries",
                pruned = n,
                "settled deliveries deleted"
            ),
            Err(error) => {
                tracing::error!(job = "prune-deliveries", %error, "job failed; will retry")
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(PRUNE_EVERY) => {}
        }
    }
}

/// How often the scheduler looks for due check-ins.
const SCHEDULER_TICK: Duration = Duration::from_secs(20);

/// Job "check-ins": every 20 seconds (and at start), sends the check-ins
/// that have come due. A failing run is logged and the loop goes on; the
/// next tick picks the run up again (claims make that safe).
async fn scheduler_loop(scheduler: Arc<Scheduler>, wake: Arc<Notify>, shutdown: CancellationToken) {
    loop {
        match scheduler.tick().await {
            Ok(tick) if tick.deliveries > 0 => {
                tracing::debug!(?tick, "check-ins enqueued");
                wake.notify_waiters();
                wake.notify_one();
            }
            Ok(_) => {}
            Err(error) => tracing::error!(job = "check-ins", %error, "job failed; will retry"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(SCHEDULER_TICK) => {}
        }
    }
}

/// Workers that are running.
#[derive(Debug)]
pub struct Running {
    shutdown: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl Running {
    /// Graceful stop: in-flight deliveries finish, claimed ones are released.
    pub async fn stop(self) {
        self.shutdown.cancel();
        for task in self.tasks {
            if let Err(error) = task.await {
                tracing::error!(%error, "outbox worker ended abnormally");
            }
        }
    }

    /// Stops at once, as a crash would: nothing is finished or released.
    pub async fn abort(self) {
        for task in &self.tasks {
            task.abort();
        }
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// Brings `[[groups]]` from the config into the store, and makes sure the
/// console's demo group exists.
async fn sync_groups(config: &Config, store: &dyn Store, clock: &dyn Clock) -> anyhow::Result<()> {
    let now = clock.now();
    for g in &config.groups {
        // What the file names wins; what it leaves out (a moderator
        // channel, a check-in) keeps what moderators set with `setup`.
        let stored = store
            .group(g.platform, &g.id)
            .await
            .context("cannot read a configured group")?;
        let (timezone, checkin_cron) = match (&g.checkin, &stored) {
            (Some(c), _) => (g.timezone().to_owned(), Some(c.cron.clone())),
            (None, Some(s)) => (s.timezone.clone(), s.checkin_cron.clone()),
            (None, None) => (g.timezone().to_owned(), None),
        };
        let group = NewGroup {
            platform: g.platform,
            external_id: g.id.clone(),
            moderator_channel: g
                .moderator_channel
                .clone()
                .or_else(|| stored.as_ref().and_then(|s| s.moderator_channel.clone())),
            region: g.region.clone(),
            timezone,
            checkin_cron,
            settings: g.settings.clone(),
        };
        store
            .upsert_group(&group, now)
            .await
            .context("cannot store a configured group")?;
    }
    if let Some(console) = &config.console
        && store
            .group(Platform::Console, &console.group)
            .await?
            .is_none()
    {
        let group = NewGroup {
            platform: Platform::Console,
            external_id: console.group.clone(),
            moderator_channel: Some("moderators".into()),
            region: "US".into(),
            timezone: "UTC".into(),
            checkin_cron: None,
            settings: GroupSettings::default(),
        };
        store
            .upsert_group(&group, now)
            .await
            .context("cannot create the console group")?;
    }
    Ok(())
}

/// Threads that run the crisis model. One is enough: candle spreads each
/// batch's matrix products over the cores, and waiting messages are read
/// together in a batch.
const MODEL_THREADS: usize = 1;

/// The crisis detector the config asks for. The learned layer is on unless
/// the config turns it off; if its files are missing or altered, this
/// fails (and `run` stops) rather than run on the rules alone unasked.
pub async fn load_detector(
    config: &crate::config::CrisisConfig,
) -> anyhow::Result<ipt_core::crisis::Detector> {
    if !config.model {
        tracing::warn!("{}", crate::config::MODEL_OFF_WARNING);
        return Ok(ipt_core::crisis::Detector::rules_only());
    }
    let dir = config.model_dir();
    let started = std::time::Instant::now();
    let learned =
        tokio::task::spawn_blocking(move || ipt_core::crisis::learned::Learned::load(&dir))
            .await
            .context("loading the crisis model")??;
    tracing::info!(elapsed = ?started.elapsed(), "crisis model loaded (hashes verified)");
    Ok(ipt_core::crisis::Detector::with_model(
        learned,
        MODEL_THREADS,
    ))
}

/// `ipt-bot run`: runs every platform enabled in the config until end of
/// console input or a signal.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let mut signals = ShutdownSignals::listen().context("cannot listen for SIGINT/SIGTERM")?;
    let stop = CancellationToken::new();
    let on_signal = stop.clone();
    tokio::spawn(async move {
        signals.recv().await;
        on_signal.cancel();
    });
    run_until(config, stop).await
}

/// Runs every platform enabled in the config until end of console input,
/// `stop` is cancelled, or a platform fails for good. Tests run the bot
/// in-process through this.
pub async fn run_until(config: Config, stop: CancellationToken) -> anyhow::Result<()> {
    if let Some(reason) = config.not_runnable() {
        return Err(UserError(reason.into()).into());
    }
    let detector = load_detector(&config.crisis).await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = open_store(&config).await?;
    sync_groups(&config, store.as_ref(), clock.as_ref()).await?;
    let mut runtime =
        Runtime::new(store.clone(), clock, config.outbox.clone()).with_detector(detector);

    let console = config.console.as_ref().map(|c| {
        let out = SharedOut::stdout();
        let console = Console::new(
            runtime.engine().clone(),
            GroupRef::new(Platform::Console, &c.group),
            Sender {
                member: MemberRef::new(Platform::Console, &c.member),
                display_name: c.member.clone(),
                // The console shows both sides: you are member and moderator.
                moderator: true,
            },
            out,
        );
        runtime.add_sink(Platform::Console, console.sink());
        console
    });

    let matrix = match &config.matrix {
        Some(m) => {
            let adapter = MatrixAdapter::connect(m, runtime.engine().clone()).await?;
            let rooms: Vec<String> = config
                .groups
                .iter()
                .filter(|g| g.platform == Platform::Matrix)
                .flat_map(|g| std::iter::once(g.id.clone()).chain(g.moderator_channel.clone()))
                .collect();
            adapter.prepare(&rooms).await?;
            runtime.add_sink(Platform::Matrix, adapter.sink());
            Some(adapter)
        }
        None => None,
    };

    let running = runtime.start();
    tracing::info!(database = %config.database.redacted_url(), "ipt-bot running");
    let platforms = CancellationToken::new();
    let mut matrix_task = matrix.map(|adapter| {
        let token = platforms.clone();
        tokio::spawn(async move { adapter.run(token).await })
    });
    // Resolves when the Matrix adapter ends on its own (it only does for
    // good reason, e.g. the homeserver revoked the session).
    let matrix_done = async |task: &mut Option<JoinHandle<anyhow::Result<()>>>| match task {
        Some(handle) => {
            let result = match handle.await {
                Ok(result) => result,
                Err(error) => Err(anyhow::anyhow!("the Matrix adapter crashed: {error}")),
            };
            *task = None;
            result
        }
        None => std::future::pending().await,
    };
    let ended = match &console {
        Some(console) => {
            console.banner();
            tokio::select! {
                result = console.run(tokio::io::BufReader::new(tokio::io::stdin())) => {
                    result.map(|()| true).context("reading the console input failed")
                }
                () = stop.cancelled() => Ok(false),
                result = matrix_done(&mut matrix_task) => result.map(|()| false),
            }
        }
        None => tokio::select! {
            () = stop.cancelled() => Ok(false),
            result = matrix_done(&mut matrix_task) => result.map(|()| false),
        },
    };
    platforms.cancel();
    // The adapter finishes the event in hand before the store closes.
    if let Some(task) = matrix_task
        && tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .is_err()
    {
        tracing::warn!("the Matrix adapter did not stop within 10 s");
    }
    // Stop the workers first whatever happened, so claimed rows are released.
    running.stop().await;
    let ended_by_input = ended?;
    if ended_by_input {
        // A scripted run should see every message its input caused before
        // the process exits.
        tokio::time::timeout(Duration::from_secs(30), runtime.drain())
            .await
            .context("delivering the last messages took too long")??;
    }
    store.close().await;
    Ok(())
}

/// SIGINT and SIGTERM, listened for from the moment this is created (so a
/// signal that arrives while the bot is still starting is not lost).
#[derive(Debug)]
pub struct ShutdownSignals {
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
}

impl ShutdownSignals {
    /// Starts listening.
    pub fn listen() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                int: signal(SignalKind::interrupt())?,
                term: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    /// Resolves on the next SIGINT or SIGTERM.
    pub async fn recv(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.int.recv() => tracing::info!("SIGINT: shutting down"),
            _ = self.term.recv() => tracing::info!("SIGTERM: shutting down"),
        }
        #[cfg(not(unix))]
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
