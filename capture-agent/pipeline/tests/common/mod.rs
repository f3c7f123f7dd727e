//! Helpers shared by the integration tests: a `Vec`-backed sink and running a capture file.

use std::convert::Infallible;
use std::path::{Path, PathBuf};

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
