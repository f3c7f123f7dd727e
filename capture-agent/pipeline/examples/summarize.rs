//! Prints one summary line per entry found in a capture: `cargo run -p shark-pipeline --example summarize -- FILE`.

use std::process::ExitCode;

use shark_pipeline::{FileSource, OnEntry, Pipeline, PipelineConfig, summary_line};
use shark_store::{Entry, Node};

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let json = args.first().is_some_and(|a| a == "--json");
    if json {
        args.remove(0);
    }
    let Some(path) = args.first() else {
        eprintln!("usage: summarize [--json] FILE");
        return ExitCode::from(2);
    };
    let mut sink = OnEntry::new(|entry: Entry| {
        if json {
            println!("{}", serde_json::to_string(&entry).unwrap_or_default());
        } else {
            println!("{}", summary_line(&entry));
        }
    });
    let mut pipeline = Pipeline::new(PipelineConfig::new(Node {
        name: "local".into(),
        ip: String::new(),
    }));
    let mut status = ExitCode::SUCCESS;
    match FileSource::open(path) {
        Ok(source) => {
            for packet in source {
                match packet {
                    Ok(packet) => {
                        let Ok(()) = pipeline.push(&packet.as_packet(), &mut sink);
                    }
                    Err(e) => {
                        eprintln!("error: {e}");
                        status = ExitCode::FAILURE;
                    }
                }
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    }
    let Ok(stats) = pipeline.finish(&mut sink);
    eprintln!("{stats:?}");
    status
}
