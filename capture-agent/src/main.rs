//! `shark-agent`: the node capture agent. Captures live traffic into the node's store and serves
//! the agent API (status, query, export, metrics) to `kubectl shark` behind a bearer token.
//!
//! It runs until SIGTERM or SIGINT, then stops capture, finishes open exchanges, seals the
//! segment, commits the index and exits 0.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Parser;
use shark_agent::api::{ApiState, router};
use shark_agent::capture_loop::run_capture;
use shark_agent::kube_identities::watch_cluster;
use shark_agent::live::{LiveConfig, host_name};
use shark_agent::own_traffic::capture_filter;
use shark_agent::server::connection_cap;
use shark_pipeline::dissect::ParserSettings;
use shark_pipeline::identities::{IdentityHistory, SharedIdentities, load_identities_file};
use shark_pipeline::spec::{parse_duration, parse_size};
use shark_pipeline::{CaptureScope, Ingest};
use shark_store::StoreConfig;

/// The kubectl-shark node agent.
#[derive(Debug, Parser)]
#[command(name = "shark-agent", version, about)]
struct Args {
    /// `probe`: check that the agent on this node answers (the DaemonSet's liveness and readiness probe).
    #[command(subcommand)]
    command: Option<Command>,
    /// Store directory (the DaemonSet mounts /var/lib/shark).
    #[arg(long, value_name = "DIR", default_value = "/var/lib/shark")]
    store: PathBuf,
    /// Node name (default: $NODE_NAME, else the host name).
    #[arg(long, value_name = "NAME", env = "NODE_NAME", value_parser = shark_store::parse_node_name)]
    node: Option<String>,
    /// Interfaces to capture on, comma-separated.
    #[arg(
        short,
        long,
        value_name = "IFACE[,IFACE…]",
        value_delimiter = ',',
        default_value = "any"
    )]
    interface: Vec<String>,
    /// BPF capture filter.
    #[arg(long, value_name = "FILTER")]
    bpf: Option<String>,
    /// Kernel capture buffer per interface: what absorbs a burst before the agent reads it.
    #[arg(long, value_name = "SIZE", default_value = "32MiB")]
    buffer_size: String,
    /// Packets held between capture and the pipeline; past it, packets are dropped and counted.
    #[arg(long, value_name = "SIZE", default_value = "64MiB")]
    queue_size: String,
    /// Do not put the interfaces in promiscuous mode (by default they are, as with tcpdump; `any`,
    /// which libpcap cannot make promiscuous, sees every interface's frames anyway).
    #[arg(long, overrides_with = "promiscuous")]
    no_promiscuous: bool,
    /// Put the interfaces in promiscuous mode (the default; undoes an earlier --no-promiscuous).
    #[arg(long, hide = true, overrides_with = "no_promiscuous")]
    promiscuous: bool,
    /// Address the API listens on (default: the node's address from $NODE_IP, port 8898, else
    /// 0.0.0.0:8898). Its traffic, which carries the token, is never captured.
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Most API connections open at once (fewer when the descriptor limit is lower); past it, a
    /// new connection displaces an idle one of the address holding the most.
    #[arg(long, value_name = "N", default_value_t = shark_agent::server::DEFAULT_MAX_CONNECTIONS)]
    max_connections: usize,
    /// Most follows streaming at once, shared fairly between client addresses; past it, a follow
    /// from an address holding fewer ends the oldest of the address holding the most.
    #[arg(long, value_name = "N", default_value_t = shark_agent::api::DEFAULT_MAX_FOLLOWERS)]
    max_followers: usize,
    /// File holding the API bearer token (the DaemonSet mounts it from a Secret).
    #[arg(long, value_name = "FILE", env = "SHARK_TOKEN_FILE")]
    token_file: Option<PathBuf>,
    /// Serve the API over TLS with this certificate (PEM; `capture` makes it and keeps it in the
    /// token Secret as `tls.crt`). Without it the API is plain HTTP.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key of `--tls-cert` (PEM; the Secret's `tls.key`).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Who is who: a YAML or JSON list of {ip, name, namespace, kind, labels?, node?}.
    #[arg(long, value_name = "FILE", conflicts_with = "kube")]
    identities: Option<PathBuf>,
    /// Name endpoints from the cluster: watch pods, services, nodes and endpointslices (in-cluster config).
    #[arg(long)]
    kube: bool,
    /// Keep only the traffic of pods whose name matches this regular expression.
    #[arg(long, value_name = "REGEX")]
    pods: Option<String>,
    /// Keep only the traffic of pods in these namespaces.
    #[arg(long, value_name = "NS[,NS…]", value_delimiter = ',')]
    namespaces: Vec<String>,
    /// Serve the store without capturing (to read a store kept from earlier).
    #[arg(long)]
    no_capture: bool,
    /// Disk budget for the store, e.g. 10GiB.
    #[arg(long, value_name = "SIZE")]
    storage_limit: Option<String>,
    /// History to keep, e.g. 24h.
    #[arg(long, value_name = "AGE")]
    retention: Option<String>,
    /// Seal a segment at this size.
    #[arg(long, value_name = "SIZE", default_value = "64MiB")]
    segment_size: String,
    /// Seal a segment at this age.
    #[arg(long, value_name = "AGE", default_value = "60s")]
    segment_age: String,
    /// Bytes of each request and response body the index keeps (0: none); the rest of a longer
    /// body stays in the packets and is read back when a filter or a query needs it.
    #[arg(long, value_name = "BYTES", default_value_t = shark_pipeline::DEFAULT_INDEX_BODY)]
    index_body: usize,
    /// Most bytes of each request and response body kept and shown, once its content coding is
    /// undone (e.g. 1MiB to see a large JSON response whole; at most 64MiB). `bodySize` stays
    /// the whole body's size on the wire.
    #[arg(long, value_name = "SIZE", default_value = "64KiB")]
    max_body: String,
    /// Memory the pipeline's flow state may take (flows, parsers, bytes waiting out of order);
    /// past it flows close early, those that never got an answer first, counted as evicted in
    /// /v1/status and /metrics.
    #[arg(long, value_name = "SIZE", default_value = "256MiB")]
    memory_limit: String,
}

/// Subcommands besides running the agent.
#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Exit 0 when the local agent's /v1/status answers 200 within 3 seconds.
    Probe {
        /// File holding the API bearer token.
        #[arg(long, value_name = "FILE")]
        token_file: PathBuf,
        /// The agent's address (default: $NODE_IP:8898, where the DaemonSet's agent listens, else
        /// 127.0.0.1:8898).
        #[arg(long, value_name = "ADDR")]
        addr: Option<SocketAddr>,
        /// Speak TLS, trusting only the CA certificate in this file (the Secret's `ca.crt`) and
        /// verifying the agent's certificate name; without it, plain HTTP.
        #[arg(long, value_name = "FILE")]
        ca_file: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let args = Args::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("SHARK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    if let Some(Command::Probe {
        token_file,
        addr,
        ca_file,
    }) = &args.command
    {
        let addr = addr.unwrap_or_else(|| node_address(Ipv4Addr::LOCALHOST.into()));
        return match probe(token_file, addr, ca_file.as_deref()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!(
                    "probe failed: {}",
                    shark_store::error_line(err.as_ref()).replace('\n', " ")
                );
                ExitCode::FAILURE
            }
        };
    }
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!(
                "error: {}",
                shark_store::error_line(err.as_ref()).replace('\n', " ")
            );
            ExitCode::from(2)
        }
    }
}

fn run(args: Args) -> Result<()> {
    // The API's queries read their pages on the threads that serve them: the other cores are the
    // capture's.
    shark_store::set_query_threads(0);
    let token = read_token(&args)?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(shark_agent::server::tls::server_config(cert, key)?),
        _ => None,
    };
    let node = args.node.clone().unwrap_or_else(host_name);
    let bodies = ParserSettings::with_max_body(parse_size(&args.max_body).context("--max-body")?)?;
    let config = StoreConfig {
        segment_size: parse_size(&args.segment_size).context("--segment-size")?,
        segment_age: parse_duration(&args.segment_age).context("--segment-age")?,
        storage_limit: args
            .storage_limit
            .as_deref()
            .map(parse_size)
            .transpose()
            .context("--storage-limit")?,
        retention: args
            .retention
            .as_deref()
            .map(parse_duration)
            .transpose()
            .context("--retention")?,
    };
    let history = match &args.identities {
        Some(path) => load_identities_file(path)?,
        None => IdentityHistory::new(),
    };
    let identities = SharedIdentities::new(history);
    let scope = CaptureScope::new(args.pods.as_deref(), &args.namespaces)?;
    if scope.is_some() && !args.kube && args.identities.is_none() {
        bail!(
            "--pods and --namespaces need to know the pods: add --kube (in a cluster) or --identities FILE"
        );
    }
    // Bound before capture starts: the capture filter leaves out the address actually bound.
    let listen = args
        .listen
        .unwrap_or_else(|| node_address(Ipv4Addr::UNSPECIFIED.into()));
    let listener = std::net::TcpListener::bind(listen)
        .with_context(|| format!("cannot listen on {listen}"))?;
    let bound = listener.local_addr().context("listening address")?;
    let stop = Arc::new(AtomicBool::new(false));
    let state = ApiState::new(args.store.clone(), node.clone(), token, Arc::clone(&stop))
        .with_max_followers(args.max_followers);
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .context("cannot install the signal handler")?;
    }
    let capture = if args.no_capture {
        None
    } else {
        let ingest = Ingest::open(
            &args.store,
            &node,
            config,
            identities.clone(),
            args.index_body,
            bodies.max_body,
        )?
        .with_memory_limit(
            usize::try_from(parse_size(&args.memory_limit).context("--memory-limit")?)
                .context("--memory-limit is larger than this machine can address")?,
        )?
        .with_scope(scope)
        .with_redacted(state.token());
        let live = LiveConfig {
            interfaces: args.interface.clone(),
            bpf: Some(capture_filter(args.bpf.as_deref(), bound)),
            buffer_size: i32::try_from(parse_size(&args.buffer_size).context("--buffer-size")?)
                .context("--buffer-size is larger than 2 GiB")?,
            queue_bytes: usize::try_from(parse_size(&args.queue_size).context("--queue-size")?)
                .context("--queue-size is too large")?,
            promiscuous: !args.no_promiscuous,
            ..LiveConfig::default()
        };
        let (stop, state) = (Arc::clone(&stop), state.clone());
        let started = format!("capturing on {} (node {node})", args.interface.join(","));
        Some(std::thread::spawn(move || {
            let on_start = |c| {
                eprintln!("{started}");
                state.set_capture(c);
            };
            let result = run_capture(&live, ingest, &stop, None, on_start, |p| {
                state.set_pipeline(p)
            });
            // However capture ends, the agent ends with it.
            stop.store(true, Ordering::SeqCst);
            result.map(|report| (report.hint(&live), report))
        }))
    };
    let watch = args.kube.then_some(identities);
    let max_connections = connection_cap(args.max_connections);
    serve(
        listener,
        tls,
        max_connections,
        state,
        watch,
        Arc::clone(&stop),
    )?;
    stop.store(true, Ordering::SeqCst);
    if let Some(thread) = capture {
        let (hint, report) = match thread.join() {
            Ok(result) => result?,
            Err(_) => bail!("the capture thread panicked"),
        };
        eprintln!(
            "stopped: {} packets, {} entries, {} dropped",
            report.stats.packets,
            report.stats.entries,
            report.counters.total_dropped()
        );
        if let Some(hint) = hint {
            eprintln!("{hint}");
        }
    }
    Ok(())
}

/// Serves the API on `listener` until `stop` is set; with `watch`, also keeps those identities
/// current from the cluster.
fn serve(
    listener: std::net::TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    max_connections: usize,
    state: ApiState,
    watch: Option<SharedIdentities>,
    stop: Arc<AtomicBool>,
) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(MAX_BLOCKING_THREADS)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        if let Some(identities) = watch {
            let client = kube::Client::try_default()
                .await
                .context("cannot reach the Kubernetes API (--kube)")?;
            tokio::spawn(watch_cluster(client, identities));
        }
        listener.set_nonblocking(true).context("listening socket")?;
        let listener = tokio::net::TcpListener::from_std(listener).context("listening socket")?;
        let bound = listener.local_addr().context("listening address")?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        eprintln!("agent API listening on {scheme}://{bound}");
        shark_agent::server::serve(
            listener,
            router(state),
            tls,
            max_connections,
            stopped(stop),
            SHUTDOWN_GRACE,
        )
        .await;
        Ok(())
    })
}

/// Threads for the store's blocking reads: status, metrics, a follow's poll, and at most
/// [`shark_agent::api::MAX_HEAVY_REQUESTS`] queries, exports and maps at once.
const MAX_BLOCKING_THREADS: usize = 64;

/// How long a stopping agent lets open API requests (an export, a query) finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// `$NODE_IP` (the node's address, which the DaemonSet passes from the downward API) at port
/// 8898; `fallback` at that port without it.
fn node_address(fallback: IpAddr) -> SocketAddr {
    let ip = std::env::var("NODE_IP")
        .ok()
        .and_then(|ip| ip.trim().parse().ok())
        .unwrap_or(fallback);
    SocketAddr::new(ip, API_PORT)
}

/// The API's port.
const API_PORT: u16 = 8898;

/// Resolves once `stop` is set.
async fn stopped(stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The bearer token: from `--token-file`, else `$SHARK_TOKEN`; an agent never runs without one.
fn read_token(args: &Args) -> Result<String> {
    let token = match &args.token_file {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read token file {}", path.display()))?,
        None => std::env::var("SHARK_TOKEN").unwrap_or_default(),
    };
    let token = token.trim().to_string();
    if token.len() < 16 {
        bail!(
            "the API token must be at least 16 characters: give --token-file FILE or set SHARK_TOKEN"
        );
    }
    Ok(token)
}

/// One GET of `/v1/status` with the token, over HTTP/1.1 (in TLS verified against the CA in
/// `ca_file`, when given); Ok when the answer is 200.
fn probe(
    token_file: &std::path::Path,
    addr: SocketAddr,
    ca_file: Option<&std::path::Path>,
) -> Result<()> {
    use std::io::{Read, Write};
    let token = std::fs::read_to_string(token_file)
        .with_context(|| format!("cannot read {}", token_file.display()))?;
    let timeout = Duration::from_secs(3);
    let tcp = std::net::TcpStream::connect_timeout(&addr, timeout)
        .with_context(|| format!("cannot connect to {addr}"))?;
    tcp.set_read_timeout(Some(timeout))?;
    tcp.set_write_timeout(Some(timeout))?;
    let mut stream: Box<dyn ReadWrite> = match ca_file {
        Some(ca_file) => {
            use shark_agent::server::tls;
            let ca = std::fs::read(ca_file)
                .with_context(|| format!("cannot read {}", ca_file.display()))?;
            let connection =
                rustls::ClientConnection::new(tls::client_config(&ca)?, tls::server_name())?;
            Box::new(rustls::StreamOwned::new(connection, tcp))
        }
        None => Box::new(tcp),
    };
    let request = format!(
        "GET /v1/status HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
        token.trim()
    );
    stream.write_all(request.as_bytes())?;
    stream.flush()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).context("no answer")?;
    if head.starts_with(b"HTTP/1.1 200") {
        Ok(())
    } else {
        bail!("answered {}", String::from_utf8_lossy(&head))
    }
}

/// A byte stream both ways: a TCP connection, or TLS over one.
trait ReadWrite: std::io::Read + std::io::Write {}

impl<T: std::io::Read + std::io::Write> ReadWrite for T {}
