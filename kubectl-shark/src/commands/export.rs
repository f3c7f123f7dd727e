//! `export`: the packets of the matching entries as one PCAP file.

use std::fs::File;
use std::io::{BufWriter, Write};

use anyhow::{Context, Result};
use shark_store::Store;

use super::window_query;
use crate::cli::ExportArgs;

/// Runs `export`.
pub fn run(args: &ExportArgs) -> Result<()> {
    let query = window_query(&args.window, None)?;
    let store = Store::open(&args.store.store)?;
    let to_stdout = args.output.as_os_str() == "-";
    let summary = if to_stdout {
        let mut out = BufWriter::new(std::io::stdout().lock());
        let summary = store.export(&query, args.whole_flows, &mut out)?;
        out.flush()?;
        summary
    } else {
        let path = &args.output;
        let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        let mut out = BufWriter::new(file);
        let summary = store.export(&query, args.whole_flows, &mut out)?;
        out.flush().with_context(|| format!("cannot write {}", path.display()))?;
        summary
    };
    let target = if to_stdout { "stdout".to_string() } else { args.output.display().to_string() };
    eprintln!("exported {} packets of {} entries to {target}", summary.packets, summary.entries);
    Ok(())
}
