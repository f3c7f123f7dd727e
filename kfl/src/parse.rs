//! Runs the generated LALRPOP parser over the hand-written lexer and turns its errors into diagnostics.

use lalrpop_util::{ParseError, lalrpop_mod};

use crate::ast::{Expr, Node};
use crate::diagnostic::{Code, Diagnostic};
use crate::lex::{Lexer, Token};
use crate::span::Span;

lalrpop_mod!(
    #[allow(
        clippy::all,
        clippy::pedantic,
        missing_docs,
        unused_qualifications,
        dead_code
    )]
    grammar
);

/// Parses a non-empty filter into its syntax tree.
pub fn parse(source: &str) -> Result<Node<Expr>, Diagnostic> {
    grammar::FilterParser::new()
        .parse(Lexer::new(source))
        .map_err(|error| into_diagnostic(error, source.len()))
}

fn into_diagnostic(error: ParseError<usize, Token<'_>, Diagnostic>, end: usize) -> Diagnostic {
    match error {
        ParseError::User { error } => error,
        ParseError::InvalidToken { location } => Diagnostic::new(
            Code::UnexpectedCharacter,
            Span::new(location, location + 1),
            "unexpected character",
        ),
        ParseError::UnrecognizedEof { location, expected } => {
            let location = location.min(end);
            Diagnostic::new(
                Code::UnexpectedEnd,
                Span::new(location, location),
                "unexpected end of filter",
            )
            .with_label(expected_text(&expected))
        }
        ParseError::UnrecognizedToken {
            token: (start, token, stop),
            expected,
        } => {
            let diagnostic = Diagnostic::new(
                Code::UnexpectedToken,
                Span::new(start, stop),
                format!("unexpected {token}"),
            )
            .with_label(expected_text(&expected));
            let closes = |bracket: &str| !expected.iter().any(|e| e.trim_matches('"') == bracket);
            match token {
                Token::Ident(word) if expected.iter().any(|e| e == "\"and\"") => diagnostic
                    .with_help(format!("join conditions with `and` or `or`; `{word}` alone cannot follow an expression")),
                Token::RParen if closes(")") => diagnostic.with_label("no `(` opens it").with_help("remove it or add the missing `(`"),
                Token::RBracket if closes("]") => diagnostic.with_label("no `[` opens it").with_help("remove it or add the missing `[`"),
                _ => diagnostic,
            }
        }
        ParseError::ExtraToken {
            token: (start, token, stop),
        } => Diagnostic::new(
            Code::UnexpectedToken,
            Span::new(start, stop),
            format!("unexpected {token}"),
        )
        .with_label("expected the end of the filter"),
    }
}

/// "expected one of `==`, `and`, …" from LALRPOP's quoted terminal names.
fn expected_text(expected: &[String]) -> String {
    let names: Vec<String> = expected
        .iter()
        .map(|name| {
            let bare = name.trim_matches('"');
            match bare {
                "identifier" | "string" | "regex" | "integer" | "float" | "duration" => {
                    format!("a {bare}")
                }
                _ => format!("`{bare}`"),
            }
        })
        .collect();
    match names.as_slice() {
        [] => "expected nothing more".to_string(),
        // At the top level only `or` can continue a complete filter.
        [only] if only == "`or`" => "expected an operator or the end of the filter".to_string(),
        [only] => format!("expected {only}"),
        _ if names.len() > 8 && names.iter().any(|name| name == "`and`") => {
            "expected an operator (`and`, `or`, `==`, …)".to_string()
        }
        _ if names.len() > 8 => "expected an expression".to_string(),
        _ => format!("expected one of {}", names.join(", ")),
    }
}
