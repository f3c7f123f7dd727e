//! `fields`: everything a KFL filter can name — each entry field with its type, the protocol
//! words, the functions and the methods — as `tshark -G fields` lists Wireshark's.

use std::io::Write;

use anyhow::Result;
use shark_store::entry_schema;

/// Runs `fields`.
pub fn run() -> Result<()> {
    let schema = entry_schema();
    let fields = schema.fields();
    let width = fields.iter().map(|(path, _)| path.len()).max().unwrap_or(0);
    let mut out = std::io::stdout().lock();
    writeln!(out, "{:width$}  TYPE", "FIELD")?;
    for (path, ty) in &fields {
        writeln!(out, "{path:width$}  {}", ty.describe())?;
    }
    let (functions, methods) = kfl::calls();
    writeln!(out)?;
    writeln!(
        out,
        "protocol words (true for entries of that protocol): {}",
        kfl::PROTOCOL_WORDS.join(" ")
    )?;
    writeln!(out, "functions: {}", functions.join("  "))?;
    writeln!(out, "methods: {}", methods.join("  "))?;
    Ok(())
}
