//! The regex budget of one filter: how many regexes it may hold and how long they may be, checked
//! on the tokens before any regex is compiled.
//!
//! Each regex may compile to at most 1 MiB (see `operators::compile_regex`), but a filter of a few
//! thousand of them costs seconds of CPU and gigabytes to compile, and an agent compiles every
//! filter a client sends. Counting the regex literals (`r"…"`, and the text given to `.matches(…)`)
//! on the token stream refuses such a filter in microseconds, with one diagnostic.

use crate::diagnostic::{Code, Diagnostic};
use crate::lex::{Lexer, Token};
use crate::span::Span;

/// The most regexes one filter may hold: with each compiled to at most 1 MiB (and its lazy DFA
/// cache to its default 2 MiB), what one filter's regexes take stays under 50 MiB.
pub const MAX_REGEXES: usize = 16;

/// The most bytes of regex text one filter may hold, all its regexes together.
pub const MAX_REGEX_BYTES: usize = 4 * 1024;

/// Refuses `source` when its regexes exceed [`MAX_REGEXES`] or [`MAX_REGEX_BYTES`]; the
/// diagnostic points at the first regex past the budget. Tokens the lexer rejects are left for
/// the parser to report.
pub fn check(source: &str) -> Result<(), Diagnostic> {
    let mut count = 0usize;
    let mut bytes = 0usize;
    // The last two tokens, to see the string argument of `.matches(`.
    let mut after_matches = (false, false);
    for (start, token, end) in Lexer::new(source).map_while(Result::ok) {
        let regex_len = match &token {
            Token::Regex(text) => Some(text.len()),
            Token::Str(text) if after_matches.1 => Some(text.len()),
            _ => None,
        };
        after_matches = (
            matches!(token, Token::Ident("matches")),
            after_matches.0 && token == Token::LParen,
        );
        let Some(len) = regex_len else { continue };
        count += 1;
        bytes = bytes.saturating_add(len);
        if count > MAX_REGEXES || bytes > MAX_REGEX_BYTES {
            return Err(Diagnostic::new(
                Code::TooLong,
                Span::new(start, end),
                format!(
                    "too many regexes: a filter may hold at most {MAX_REGEXES} regexes of \
                     {MAX_REGEX_BYTES} bytes in all"
                ),
            )
            .with_label("past the regex budget")
            .with_help("match many values with `x in [..]`, or split the query"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_counts_regex_literals_and_matches_arguments_only() {
        let within = vec![r#"request.path == r"a.*""#; MAX_REGEXES].join(" or ");
        assert!(check(&within).is_ok());
        let over = format!("{within} or request.path.matches(\"b\")");
        assert!(check(&over).is_err());
        // Plain strings are not regexes, however many.
        let strings = vec![r#"request.path == "a.*""#; 100].join(" or ");
        assert!(check(&strings).is_ok());
    }

    #[test]
    fn the_budget_counts_regex_bytes() {
        let long = format!(r#"request.path == r"{}""#, "a".repeat(MAX_REGEX_BYTES));
        assert!(check(&long).is_ok());
        let longer = format!(r#"request.path == r"{}""#, "a".repeat(MAX_REGEX_BYTES + 1));
        assert!(check(&longer).is_err());
    }
}
