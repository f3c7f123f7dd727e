//! `replay`: re-read a window's stored packets, re-dissect them (the index is not consulted) and
//! stream the matching entries in time order, paced like the original traffic. The engine is
//! [`shark_pipeline::Replay`] (each node's packets dissected again as the node was written, bodies
//! whole as `query -o json` shows them); this command parses the flags, paces and prints.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use shark_pipeline::Replay;
use shark_store::Store;

use super::follow::{EntryStream, render};
use super::shared::{identities, window_query};
use crate::cli::ReplayArgs;

/// Runs `replay`.
pub fn run(args: &ReplayArgs) -> Result<()> {
    let speed = parse_speed(&args.speed)?;
    let query = window_query(&args.window, None)?;
    let store = Store::open(&args.store.store)?;
    let identities = identities(args.identities.as_deref())?;
    let format = args.output;
    // Entries wait as the lines that will show them, far smaller than entries.
    let show = move |entry: &shark_store::Entry| {
        let mut line = render(format, entry)?;
        // It may wait long: drop the spare capacity rendering left.
        line.shrink_to_fit();
        Ok(line)
    };
    let mut replay = Replay::new(&store, &query, identities, show)?;
    let mut out = EntryStream::new(args.output);
    let mut pacer = Pacer { speed, start: None };
    let mut shown = 0u64;
    while let Some((ts, line)) = replay.next_entry()? {
        pacer.wait(ts);
        out.push_line(&line)?;
        shown += 1;
    }
    if shown == 0 {
        eprintln!("no entries match in the stored packets of that window");
    }
    Ok(())
}

/// `1`, `10`, any positive factor, or `max` (no waiting: `None`).
fn parse_speed(speed: &str) -> Result<Option<f64>> {
    if speed == "max" {
        return Ok(None);
    }
    let factor: f64 = speed.parse().ok().filter(|f: &f64| f.is_finite() && *f > 0.0).with_context(|| {
        format!("--speed {speed} is not a speed: use 1 (real time), 10 (ten times faster), any positive factor, or max")
    })?;
    Ok(Some(factor))
}

/// Sleeps so entries come out at their original spacing divided by the speed.
struct Pacer {
    speed: Option<f64>,
    start: Option<(i64, Instant)>,
}

impl Pacer {
    fn wait(&mut self, ts: i64) {
        let Some(speed) = self.speed else { return };
        let (first_ts, started) = *self.start.get_or_insert((ts, Instant::now()));
        let offset =
            Duration::from_secs_f64(ts.saturating_sub(first_ts).max(0) as f64 / 1e9 / speed);
        std::thread::sleep((started + offset).saturating_duration_since(Instant::now()));
    }
}

#[cfg(test)]
mod tests {
    use super::parse_speed;

    #[test]
    fn speeds() {
        assert_eq!(parse_speed("max").ok(), Some(None));
        assert_eq!(parse_speed("10").ok(), Some(Some(10.0)));
        let err = parse_speed("fast")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("use 1 (real time)"), "{err}");
        assert!(parse_speed("0").is_err() && parse_speed("-1").is_err());
    }
}
