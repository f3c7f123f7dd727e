//! Helpers shared by the integration tests: a `Vec`-backed sink, running a capture file, the
//! bundled demo capture and reading a store's index back whole.

use std::convert::Infallible;
use std::path::{Path, PathBuf};

use rusqlite::types::Value;

use shark_pipeline::{
    FileSource, Packet, Pipeline, PipelineConfig, PipelineStats, Sink, SourceError,
};
use shark_store::{Entry, Node};

/// Keeps everything the pipeline produces.
#[derive(Default)]
pub struct VecSink {
    /// Per packet: its number and stream.
    pub packets: Vec<(u64, Option<u64>)>,
    /// Streams allocated.
    pub streams: u64,
    /// Entries in the order produced.
    pub entries: Vec<Entry>,
}

impl Sink for VecSink {
    type Error = Infallible;
    fn packet(&mut self, _packet: &Packet<'_>, stream: Option<u64>) -> Result<u64, Infallible> {
        let number = self.packets.len() as u64 + 1;
        self.packets.push((number, stream));
        Ok(number)
    }
    fn alloc_stream(&mut self) -> u64 {
        self.streams += 1;
        self.streams
    }
    fn handshake(&mut self, _: u64, _: u64, _: u64) -> Result<(), Infallible> {
        Ok(())
    }
    fn state_packets(&mut self, _: u64, _: u64, _: u64) -> Result<(), Infallible> {
        Ok(())
    }
    fn entry(&mut self, entry: Entry) -> Result<(), Infallible> {
        self.entries.push(entry);
        Ok(())
    }
}

/// What running one capture gave.
pub struct Run {
    /// The sink's contents.
    pub sink: VecSink,
    /// The pipeline's counters.
    pub stats: PipelineStats,
    /// The source error that stopped reading, if any (packets before it were processed).
    pub error: Option<SourceError>,
}

/// The public captures the tests read (`tests/fixtures/public`, with their licenses and inventory).
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/public"
    ))
}

/// Runs the pipeline over a capture file; a file that cannot be opened gives an empty run with the error.
pub fn run_file(path: &Path) -> Run {
    let mut sink = VecSink::default();
    let mut pipeline = Pipeline::new(PipelineConfig::new(Node {
        name: "test-node".into(),
        ip: String::new(),
    }));
    let mut error = None;
    match FileSource::open(path) {
        Ok(source) => {
            for packet in source {
                match packet {
                    Ok(packet) => match pipeline.push(&packet.as_packet(), &mut sink) {
                        Ok(()) => {}
                        Err(never) => match never {},
                    },
                    Err(e) => error = Some(e),
                }
            }
        }
        Err(e) => error = Some(e),
    }
    let stats = match pipeline.finish(&mut sink) {
        Ok(stats) => stats,
        Err(never) => match never {},
    };
    Run { sink, stats, error }
}

/// The README's bundled capture: HTTP/1 (bodies of a few hundred bytes), gRPC, DNS, Redis,
/// PostgreSQL, TLS and Kafka.
pub fn demo_capture() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/data/demo.pcap"
    ))
}

/// Every row of every table of node `n`'s index, table by table, in a fixed order.
pub fn index_rows(root: &Path) -> Vec<(String, Vec<Vec<Value>>)> {
    let conn = rusqlite::Connection::open(root.join("n").join("index.sqlite")).expect("index");
    let mut tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .expect("tables");
    tables.sort();
    tables
        .into_iter()
        .map(|table| {
            let mut select = conn
                .prepare(&format!("SELECT * FROM {table} ORDER BY 1, 2"))
                .expect("select");
            let columns = select.column_count();
            let rows = select
                .query_map([], |row| {
                    (0..columns).map(|i| row.get::<_, Value>(i)).collect()
                })
                .and_then(|rows| rows.collect::<Result<Vec<Vec<Value>>, _>>())
                .expect("rows");
            (table, rows)
        })
        .collect()
}
