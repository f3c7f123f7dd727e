//! Colour for people, never for programs: failed exchanges are red on a terminal; piped or
//! redirected output stays plain text. `NO_COLOR` (any non-empty value) turns colour off and
//! `CLICOLOR_FORCE` (any value but `0`) turns it on, as <https://no-color.org> and
//! <https://bixense.com/clicolors/> describe.

use std::ffi::OsString;
use std::io::IsTerminal;
use std::sync::OnceLock;

/// Whether what goes to stdout is coloured (decided once per run).
pub fn colour() -> bool {
    static COLOUR: OnceLock<bool> = OnceLock::new();
    *COLOUR.get_or_init(|| {
        decide(
            std::env::var_os("NO_COLOR"),
            std::env::var_os("CLICOLOR_FORCE"),
            std::io::stdout().is_terminal(),
        )
    })
}

/// The rule behind [`colour`], given the two variables and whether stdout is a terminal.
fn decide(no_color: Option<OsString>, force: Option<OsString>, terminal: bool) -> bool {
    if no_color.is_some_and(|v| !v.is_empty()) {
        return false;
    }
    force.is_some_and(|v| v != "0") || terminal
}

/// `text` in red (ANSI SGR 31, then reset).
pub fn red(text: &str) -> String {
    format!("\x1b[31m{text}\x1b[0m")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_on_a_terminal_unless_told() {
        let var = |v: &str| Some(OsString::from(v));
        assert!(decide(None, None, true));
        assert!(!decide(None, None, false), "piped: plain");
        assert!(!decide(var("1"), None, true), "NO_COLOR wins");
        assert!(decide(var(""), None, true), "an empty NO_COLOR is unset");
        assert!(
            decide(None, var("1"), false),
            "CLICOLOR_FORCE colours a pipe"
        );
        assert!(!decide(None, var("0"), false));
        assert!(!decide(var("1"), var("1"), true));
    }
}
