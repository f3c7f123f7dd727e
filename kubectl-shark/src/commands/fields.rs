//! `fields`: everything a KFL filter can name — each entry field with its type, the other names
//! fields go by (KFL2's variables, legacy spellings) with their KFL2 type and what they stand for,
//! the protocol words, the functions and the methods — as `tshark -G fields` lists Wireshark's.

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
    writeln!(out)?;
    let width = schema
        .aliases
        .iter()
        .map(|alias| alias.name.len())
        .max()
        .unwrap_or(0);
    writeln!(out, "{:width$}  KFL2 TYPE  =  FIELD", "KFL2 / LEGACY NAME")?;
    for alias in &schema.aliases {
        writeln!(
            out,
            "{:width$}  {}  =  {}",
            alias.name, alias.ty, alias.target
        )?;
    }
    if !schema.undissected.is_empty() {
        let names: Vec<&str> = schema.undissected.iter().map(|u| u.prefix).collect();
        writeln!(
            out,
            "\nnot dissected here (their flags and `<flag>_*` variables are refused): {}",
            names.join(" ")
        )?;
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
