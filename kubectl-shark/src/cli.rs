//! Command-line syntax: every subcommand and flag, parsed by clap.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};
use shark_pipeline::dissect::ParserSettings;
use shark_pipeline::spec::{parse_duration, parse_size};

/// Capture, index and query Kubernetes traffic; answer any past window with KFL.
#[derive(Debug, Parser)]
#[command(
    name = "kubectl-shark",
    bin_name = "kubectl shark",
    version,
    about,
    max_term_width = 110
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Capture live traffic into a store (`--local`: on this machine, with libpcap).
    Capture(Box<CaptureArgs>),
    /// Read a capture file (pcap or pcapng), dissect it and add it to a store.
    Import(ImportArgs),
    /// Print the entries of a time window that match a KFL filter.
    Query(QueryArgs),
    /// Write the packets of the matching entries as one PCAP file for Wireshark.
    Export(ExportArgs),
    /// Show, per node, the window kept, segments, entries, bytes and drops.
    Status(StatusArgs),
    /// Delete every object `capture` made in the cluster (and nothing else).
    Clean(ClusterArgs),
    /// Rebuild the index from the stored PCAP segments alone.
    Reindex(ReindexArgs),
    /// Draw who talks to whom in a window: requests, errors, latency and bytes per edge.
    Map(MapArgs),
    /// Re-dissect the stored packets of a window and stream its entries with their original pacing.
    Replay(ReplayArgs),
    /// List every field a KFL filter can name, with its type, and the protocol words, functions
    /// and methods.
    Fields,
    /// Serve the dashboard in a browser: entries to the payload, KFL, any past window, the
    /// service map and status.
    Ui(UiArgs),
}

/// Where the store lives.
#[derive(Debug, Args)]
pub struct StoreArgs {
    /// Store directory (local mode).
    #[arg(long, value_name = "DIR", env = "SHARK_STORE")]
    pub store: PathBuf,
}

/// How to reach the cluster.
#[derive(Debug, Clone, Args)]
pub struct ClusterArgs {
    /// Path to the kubeconfig file (default: $KUBECONFIG, else ~/.kube/config).
    #[arg(long, value_name = "FILE", global = true)]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig contexts to use, comma-separated (default: the current one). Several ask each
    /// cluster and merge their answers; an entry's `cluster` is the context's cluster name, or
    /// NAME with `NAME=CONTEXT`.
    #[arg(
        long,
        value_name = "[NAME=]CONTEXT[,…]",
        value_delimiter = ',',
        global = true
    )]
    pub context: Vec<String>,
    /// Every context in the kubeconfig (each cluster once: name a second context of a cluster
    /// with --context NAME=CONTEXT).
    #[arg(long, global = true, conflicts_with = "context")]
    pub all_contexts: bool,
    /// Namespace the agents run in.
    #[arg(short = 'n', long, value_name = "NAMESPACE", default_value = "shark")]
    pub namespace: String,
}

/// A local store, or the agents of a cluster.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// Store directory: read it locally instead of asking the cluster's agents.
    #[arg(long, value_name = "DIR", env = "SHARK_STORE")]
    pub store: Option<PathBuf>,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Reach agents at these URLs directly instead of through the API server (tests,
    /// port-forwards); `CLUSTER=URL,…` names the cluster of each, for several clusters.
    #[arg(
        long,
        value_name = "[CLUSTER=]URL[,…]",
        value_delimiter = ',',
        conflicts_with = "store"
    )]
    pub agents: Vec<String>,
    /// The agents' API token, with --agents: one for every cluster, or `CLUSTER=TOKEN` per
    /// cluster (comma-separated or repeated); `@FILE` reads the token from FILE.
    #[arg(
        long,
        value_name = "[CLUSTER=]TOKEN|@FILE",
        env = "SHARK_TOKEN",
        hide_env_values = true,
        value_delimiter = ','
    )]
    pub token: Vec<String>,
    /// The CA certificate that signed the agents' TLS certificate, with `--agents https://…`
    /// (the token Secret's `ca.crt`): the only one trusted, the name `shark-agent` verified.
    #[arg(long, value_name = "FILE", env = "SHARK_AGENT_CA")]
    pub agent_ca: Option<PathBuf>,
    /// How long each node may take to answer.
    #[arg(long, value_name = "DURATION", default_value = "10s")]
    pub node_timeout: String,
}

/// Flags of `status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Output format: a table with sizes in KiB/MiB/GiB, or one JSON object per node per line
    /// with the exact numbers (bytes, nanosecond timestamps).
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

/// Flags of `reindex`.
#[derive(Debug, Args)]
pub struct ReindexArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Who is who while re-dissecting: a YAML or JSON list of {ip, name, namespace, kind, labels?, node?}.
    #[arg(long, value_name = "FILE")]
    pub identities: Option<PathBuf>,
    /// Keep the secret in FILE out of the rebuilt index, as the agent that wrote the store did
    /// with its token: give the agents' token file for a store an agent wrote.
    #[arg(long, value_name = "FILE")]
    pub redact_file: Option<PathBuf>,
}

/// Flags of `import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Capture file to read (pcap or pcapng).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    #[command(flatten)]
    pub store: StoreArgs,
    /// Node name to file the packets under.
    #[arg(long, value_name = "NAME", default_value = "local", value_parser = shark_store::parse_node_name)]
    pub node: String,
    /// Who is who: a YAML or JSON list of {ip, name, namespace, kind, labels?, node?}.
    #[arg(long, value_name = "FILE")]
    pub identities: Option<PathBuf>,
    #[command(flatten)]
    pub retention: RetentionArgs,
}

/// Flags of `capture`.
#[derive(Debug, Args)]
pub struct CaptureArgs {
    /// Capture on this machine, in-process (without it: deploy node agents to the cluster).
    #[arg(long, requires = "store")]
    pub local: bool,
    /// Interfaces to capture on, comma-separated (`any`: all of them).
    #[arg(
        short,
        long,
        value_name = "IFACE[,IFACE…]",
        value_delimiter = ',',
        default_value = "any"
    )]
    pub interface: Vec<String>,
    /// Store directory (with --local).
    #[arg(long, value_name = "DIR", env = "SHARK_STORE")]
    pub store: Option<PathBuf>,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Agent image (cluster mode): one the nodes can pull. Build it with `capture-agent/image.sh`
    /// (or the Dockerfile) and push it to your registry (README: "The agent image").
    #[arg(long, value_name = "IMAGE", default_value = concat!("ghcr.io/kubectl-shark/shark-agent:", env!("CARGO_PKG_VERSION")))]
    pub image: String,
    /// Run agents only on nodes with this label (cluster mode), e.g. `kubernetes.io/os=linux`.
    #[arg(long, value_name = "KEY=VALUE")]
    pub node_selector: Vec<String>,
    /// Keep only the traffic of pods whose name matches this regular expression.
    #[arg(long, value_name = "REGEX")]
    pub pods: Option<String>,
    /// Keep only the traffic of pods in these namespaces.
    #[arg(long, value_name = "NS[,NS…]", value_delimiter = ',')]
    pub namespaces: Vec<String>,
    /// Print the objects instead of applying them (cluster mode; with `-o yaml`).
    #[arg(long)]
    pub dry_run: bool,
    /// Output format of --dry-run.
    #[arg(short, long, value_name = "FORMAT", value_parser = ["yaml"], default_value = "yaml")]
    pub output: String,
    /// How long to wait for the agents to be ready (cluster mode).
    #[arg(long, value_name = "DURATION", default_value = "5m")]
    pub timeout: String,
    /// Node name to file the packets under (default: this machine's host name).
    #[arg(long, value_name = "NAME", value_parser = shark_store::parse_node_name)]
    pub node: Option<String>,
    /// BPF capture filter, e.g. 'tcp port 80 or udp port 53' (in cluster mode, passed to the agents).
    #[arg(long, value_name = "FILTER")]
    pub bpf: Option<String>,
    /// Stop after this long (default: until Ctrl-C or SIGTERM).
    #[arg(long, value_name = "DURATION")]
    pub duration: Option<String>,
    /// Who is who: a YAML or JSON list of {ip, name, namespace, kind, labels?, node?}.
    #[arg(long, value_name = "FILE")]
    pub identities: Option<PathBuf>,
    /// Bytes kept of each packet.
    #[arg(long, value_name = "BYTES", default_value_t = 262_144)]
    pub snaplen: i32,
    /// Kernel capture buffer per interface [default: 32MiB]. In cluster mode it is passed to the
    /// agents only when given, and it raises their memory limit: see --queue-size.
    #[arg(long, value_name = "SIZE")]
    pub buffer_size: Option<String>,
    /// Packets held between capture and the pipeline; past it, packets are dropped and counted
    /// [default: 64MiB]. In cluster mode, when --queue-size plus --buffer-size exceed their defaults
    /// (96MiB), the agents' memory limit (1Gi) is raised by the excess so a full queue is not
    /// OOM-killed; the memory request stays 256Mi.
    #[arg(long, value_name = "SIZE")]
    pub queue_size: Option<String>,
    /// Do not put the interfaces in promiscuous mode. By default they are, as tcpdump and
    /// Wireshark do: without it, a capture on a bridge sees only the frames addressed to the bridge,
    /// not those it forwards between pods (`any`, which cannot be promiscuous, sees them anyway).
    /// In cluster mode it is passed to the agents.
    #[arg(long, overrides_with = "promiscuous")]
    pub no_promiscuous: bool,
    /// Put the interfaces in promiscuous mode (the default; undoes an earlier --no-promiscuous).
    #[arg(long, hide = true, overrides_with = "no_promiscuous")]
    pub promiscuous: bool,
    #[command(flatten)]
    pub retention: RetentionArgs,
}

/// How much the store keeps; flags shared by everything that writes it.
#[derive(Debug, Args)]
pub struct RetentionArgs {
    /// Disk budget for PCAP segments and index (e.g. 10GiB); oldest segments go first.
    #[arg(long, value_name = "SIZE")]
    pub storage_limit: Option<String>,
    /// Keep this much history (e.g. 24h); older segments go.
    #[arg(long, value_name = "AGE")]
    pub retention: Option<String>,
    /// Seal a segment when it reaches this size [default: 64MiB].
    #[arg(long, value_name = "SIZE")]
    pub segment_size: Option<String>,
    /// Seal a segment when it is this old [default: 60s].
    #[arg(long, value_name = "AGE")]
    pub segment_age: Option<String>,
    /// Bytes of each request and response body the index keeps (0: none) [default: 32]; the rest
    /// of a longer body stays in the packets and is read back when a filter or `-o json` needs it.
    #[arg(long, value_name = "BYTES", allow_hyphen_values = true)]
    pub index_body: Option<String>,
    /// Most bytes of each request and response body kept and shown, once its content coding is
    /// undone (e.g. 1MiB to see a large JSON response whole; at most 64MiB) [default: 64KiB];
    /// `bodySize` stays the whole body's size on the wire.
    #[arg(long, value_name = "SIZE")]
    pub max_body: Option<String>,
    /// Memory the pipeline's flow state may take: flows, their parsers and bytes waiting out of
    /// order [default: 256MiB]. Past it flows close early and are counted as evicted: those that
    /// never got an answer (a SYN flood, a scan, unanswered queries) first, so answered traffic
    /// keeps being dissected.
    #[arg(long, value_name = "SIZE")]
    pub memory_limit: Option<String>,
}

/// `--segment-size` when not given.
const DEFAULT_SEGMENT_SIZE: &str = "64MiB";
/// `--segment-age` when not given.
const DEFAULT_SEGMENT_AGE: &str = "60s";
/// `--max-body` when not given.
const DEFAULT_MAX_BODY: &str = "64KiB";
/// The smallest `--memory-limit`: room for the 1,024 flows the pipeline always keeps.
const MIN_MEMORY_LIMIT: usize = 4 << 20;
/// `--memory-limit` when not given.
const DEFAULT_MEMORY_LIMIT: &str = "256MiB";
/// `--buffer-size` when not given.
const DEFAULT_BUFFER_SIZE: &str = "32MiB";
/// `--queue-size` when not given.
const DEFAULT_QUEUE_SIZE: &str = "64MiB";

// Each flag is read by one method, with its default when not given: `capture --local`, `import`
// and the agents' DaemonSet args are all checked by these, so a value one accepts, all accept.
// They mirror how `shark-agent` reads the same flags (same parsers, same limits, same defaults).
impl RetentionArgs {
    /// `--segment-size` in bytes.
    pub fn segment_size(&self) -> anyhow::Result<u64> {
        parse_size(self.segment_size.as_deref().unwrap_or(DEFAULT_SEGMENT_SIZE))
            .context("--segment-size")
    }

    /// `--segment-age`.
    pub fn segment_age(&self) -> anyhow::Result<Duration> {
        parse_duration(self.segment_age.as_deref().unwrap_or(DEFAULT_SEGMENT_AGE))
            .context("--segment-age")
    }

    /// `--index-body` in bytes: a whole number, as the agent takes it.
    pub fn index_body(&self) -> anyhow::Result<usize> {
        let Some(text) = &self.index_body else {
            return Ok(shark_pipeline::DEFAULT_INDEX_BODY);
        };
        text.trim().parse().map_err(|_| {
            anyhow::anyhow!(
                "--index-body `{text}` is not a number of bytes: use e.g. 1024, or 0 for none"
            )
        })
    }

    /// `--memory-limit` in bytes.
    pub fn memory_limit(&self) -> anyhow::Result<usize> {
        let bytes = parse_size(self.memory_limit.as_deref().unwrap_or(DEFAULT_MEMORY_LIMIT))
            .context("--memory-limit")?;
        match usize::try_from(bytes) {
            Ok(bytes) if bytes >= MIN_MEMORY_LIMIT => Ok(bytes),
            _ => anyhow::bail!("--memory-limit {bytes} bytes is too small: give at least 4MiB"),
        }
    }

    /// `--max-body` in bytes, refused when it is not a size or above the limit.
    pub fn max_body(&self) -> anyhow::Result<usize> {
        let bytes = parse_size(self.max_body.as_deref().unwrap_or(DEFAULT_MAX_BODY))
            .context("--max-body")?;
        Ok(ParserSettings::with_max_body(bytes)?.max_body)
    }
}

impl CaptureArgs {
    /// `--buffer-size` in bytes, refused when it does not fit libpcap's `int`.
    pub fn buffer_size(&self) -> anyhow::Result<i32> {
        let bytes = parse_size(self.buffer_size.as_deref().unwrap_or(DEFAULT_BUFFER_SIZE))
            .context("--buffer-size")?;
        i32::try_from(bytes).map_err(|_| {
            anyhow::anyhow!("--buffer-size {bytes} bytes is more than libpcap's 2 GiB")
        })
    }

    /// `--queue-size` in bytes.
    pub fn queue_size(&self) -> anyhow::Result<usize> {
        let bytes = parse_size(self.queue_size.as_deref().unwrap_or(DEFAULT_QUEUE_SIZE))
            .context("--queue-size")?;
        usize::try_from(bytes).map_err(|_| {
            anyhow::anyhow!("--queue-size {bytes} bytes is more than this machine can address")
        })
    }

    /// `--bpf` for the agents, compiled by libpcap for the `any` interface they capture on, so a
    /// filter it refuses is refused here rather than by every agent. (`--local` needs no such
    /// check: libpcap compiles the filter for each interface as it opens it.)
    pub fn agent_bpf(&self) -> anyhow::Result<Option<&str>> {
        let Some(filter) = self.bpf.as_deref() else {
            return Ok(None);
        };
        let any = pcap::Capture::dead(pcap::Linktype::LINUX_SLL)
            .context("--bpf: libpcap is not usable")?;
        any.compile(filter, true)
            .map_err(|e| anyhow::anyhow!("--bpf `{filter}` is not valid BPF: {e}"))?;
        Ok(Some(filter))
    }
}

/// The time window and filter every read command takes.
#[derive(Debug, Args)]
pub struct WindowArgs {
    /// Start of the window, inclusive: RFC3339, `2026-11-26 14:02:00`, `14:02`, `@UNIX`, `-15m`, `now`.
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub from: Option<String>,
    /// End of the window, exclusive (same forms as --from).
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub to: Option<String>,
    /// KFL filter, e.g. 'http and response.status >= 500'. Empty: everything.
    #[arg(value_name = "KFL", default_value = "")]
    pub filter: String,
}

/// Flags of `query`.
#[derive(Debug, Args)]
pub struct QueryArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub window: WindowArgs,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
    /// At most this many entries (a table stops at 10000 unless set).
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Print how the filter splits into index predicates and a residual, and stop.
    #[arg(long)]
    pub explain: bool,
    /// Replace these request/response fields with `[REDACTED]` in what is printed, e.g.
    /// `request.headers.Authorization,response.body` (as a filter's `redact("…")` does).
    #[arg(long, value_name = "PATH,…", value_delimiter = ',')]
    pub redact: Vec<String>,
    /// Keep streaming matching entries as they are stored, until Ctrl-C (from now, or from --from).
    #[arg(short, long, conflicts_with_all = ["to", "explain"])]
    pub follow: bool,
}

/// Flags of `map`.
#[derive(Debug, Args)]
pub struct MapArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub window: WindowArgs,
    /// What a box stands for.
    #[arg(long, value_name = "GROUP", default_value = "workload",
          value_parser = ["pod", "workload", "service", "namespace", "node", "cluster"])]
    pub by: String,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = MapFormat::Table)]
    pub output: MapFormat,
    /// Redraw the table every --interval, like `top` (the window's times are resolved anew each time).
    #[arg(short, long)]
    pub watch: bool,
    /// How often --watch redraws.
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "2s",
        requires = "watch"
    )]
    pub interval: String,
}

/// Output formats of `map`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MapFormat {
    /// Tables of edges and peers.
    Table,
    /// Graphviz DOT (`| dot -Tpng -o map.png`).
    Dot,
    /// A Mermaid flowchart for Markdown.
    Mermaid,
    /// The map as JSON, with its mergeable latency sketches.
    Json,
}

/// Flags of `replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub window: WindowArgs,
    /// Pacing: 1 replays in real time, 10 ten times faster, `max` without waiting.
    #[arg(long, value_name = "1|10|max", default_value = "1")]
    pub speed: String,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
    /// Who is who while re-dissecting: a YAML or JSON list of {ip, name, namespace, kind, labels?, node?}.
    #[arg(long, value_name = "FILE")]
    pub identities: Option<PathBuf>,
}

/// Output formats of `query`, `replay` and `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// A table for people.
    Table,
    /// One JSON object per line (NDJSON): per entry, or per node for `status`.
    Json,
}

/// Flags of `export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub window: WindowArgs,
    /// Output PCAP file, or `-` for stdout (`| tshark -r -`).
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// Include the whole flows of the matching entries (handshakes and all), not only their packets.
    #[arg(long)]
    pub whole_flows: bool,
}

/// Flags of `ui`.
#[derive(Debug, Args)]
pub struct UiArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Port to listen on (0: any free port).
    #[arg(long, value_name = "PORT", default_value_t = 8899)]
    pub port: u16,
    /// Address to listen on. The default keeps the dashboard to this machine; another address
    /// serves it to the network (still behind its token).
    #[arg(long, value_name = "IP", default_value = "127.0.0.1")]
    pub address: std::net::IpAddr,
    /// Open the dashboard in the default browser (xdg-open); without one, only the URL is printed.
    #[arg(long)]
    pub open: bool,
}
