//! Diagnostics: a stable code, a message, a span with a label, help; rendered with the source line
//! and a caret under the span.

use std::fmt::{self, Write as _};

use crate::span::Span;

/// The stable code of each kind of error, printed as `error[E101]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    /// E001: a character that starts no token.
    UnexpectedCharacter,
    /// E002: a string or regex without its closing quote.
    UnterminatedString,
    /// E003: an unknown escape in a string.
    InvalidEscape,
    /// E004: a number that cannot be read or does not fit.
    InvalidNumber,
    /// E005: a duration literal with a bad unit or shape.
    InvalidDuration,
    /// E010: a token where the grammar does not allow it.
    UnexpectedToken,
    /// E011: the filter ends too early.
    UnexpectedEnd,
    /// E012: `a < b < c`.
    ChainedComparison,
    /// E013: a condition nested more deeply than the checker allows.
    TooDeep,
    /// E014: a filter longer than the parser accepts.
    TooLong,
    /// E101: a field the schema does not have.
    UnknownField,
    /// E102: a function that does not exist.
    UnknownFunction,
    /// E103: a method that does not exist.
    UnknownMethod,
    /// E104: a function or method called with the wrong number of arguments.
    WrongArgumentCount,
    /// E105: a regex the regex engine rejects.
    InvalidRegex,
    /// E106: operands whose types cannot be compared or combined.
    TypeMismatch,
    /// E107: a literal that cannot be converted to the type it is compared with.
    InvalidConversion,
    /// E108: an argument of the wrong type or with an unreadable value.
    InvalidArgument,
    /// E109: a non-boolean where a condition is expected.
    NotABoolean,
    /// E110: `limit()` somewhere other than a top-level `and`.
    MisplacedLimit,
    /// E111: a selector that does not apply to the value (`["k"]` on a structure, `[0]` on text, …).
    InvalidSelector,
    /// E112: a name of a protocol the host does not dissect (`mysql_query`).
    NotDissected,
    /// W001 (a warning): a word that means something else in another dialect (`tls`).
    DialectWord,
}

impl Code {
    /// The code as printed, e.g. `E101`.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::UnexpectedCharacter => "E001",
            Code::UnterminatedString => "E002",
            Code::InvalidEscape => "E003",
            Code::InvalidNumber => "E004",
            Code::InvalidDuration => "E005",
            Code::UnexpectedToken => "E010",
            Code::UnexpectedEnd => "E011",
            Code::ChainedComparison => "E012",
            Code::TooDeep => "E013",
            Code::TooLong => "E014",
            Code::UnknownField => "E101",
            Code::UnknownFunction => "E102",
            Code::UnknownMethod => "E103",
            Code::WrongArgumentCount => "E104",
            Code::InvalidRegex => "E105",
            Code::TypeMismatch => "E106",
            Code::InvalidConversion => "E107",
            Code::InvalidArgument => "E108",
            Code::NotABoolean => "E109",
            Code::MisplacedLimit => "E110",
            Code::InvalidSelector => "E111",
            Code::NotDissected => "E112",
            Code::DialectWord => "W001",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem in a filter.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    /// Which kind of problem.
    pub code: Code,
    /// Where in the source.
    pub span: Span,
    /// The headline, e.g. "unknown field `respnse`".
    pub message: String,
    /// Text printed after the caret, e.g. "did you mean `response`?".
    pub label: Option<String>,
    /// Advice printed below, e.g. how to write it instead.
    pub help: Option<String>,
}

impl Diagnostic {
    /// A diagnostic without label or help.
    pub fn new(code: Code, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            span,
            message: message.into(),
            label: None,
            help: None,
        }
    }

    /// Adds the text printed after the caret.
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Adds advice printed below the source line.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Renders the diagnostic against `source`:
    ///
    /// ```text
    /// error[E101]: unknown field `respnse`
    ///   │ http and respnse.status == 200
    ///   │          ^^^^^^^ did you mean `response`?
    /// ```
    pub fn render(&self, source: &str, out: &mut String) {
        let severity = if self.code.as_str().starts_with('W') {
            "warning"
        } else {
            "error"
        };
        let _ = writeln!(out, "{severity}[{}]: {}", self.code, self.message);
        let start = self.span.start.min(source.len());
        let line_start = source
            .get(..start)
            .and_then(|before| before.rfind('\n'))
            .map_or(0, |i| i + 1);
        let line_end = source
            .get(start..)
            .and_then(|after| after.find('\n'))
            .map_or(source.len(), |i| start + i);
        let line = source.get(line_start..line_end).unwrap_or("");
        if source.contains('\n') {
            let line_number = source
                .get(..line_start)
                .map_or(0, |before| before.matches('\n').count())
                + 1;
            let column = source
                .get(line_start..start)
                .map_or(0, |s| s.chars().count())
                + 1;
            let _ = writeln!(out, "  ┌─ line {line_number}, column {column}");
        }
        let pad = source
            .get(line_start..start)
            .map_or(0, |s| s.chars().count());
        let end = self.span.end.clamp(start, line_end);
        let width = source
            .get(start..end)
            .map_or(0, |s| s.chars().count())
            .max(1);
        let (shown, pad, width) = window(line, pad, width);
        let _ = writeln!(out, "  │ {shown}");
        let _ = write!(out, "  │ {}{}", " ".repeat(pad), "^".repeat(width));
        if let Some(label) = &self.label {
            let _ = write!(out, " {label}");
        }
        out.push('\n');
        if let Some(help) = &self.help {
            let _ = writeln!(out, "  = help: {help}");
        }
    }
}

/// Characters of context kept on each side of a span in a long source line.
const CONTEXT: usize = 40;

/// Characters of a span underlined at most.
const MAX_UNDERLINE: usize = 80;

/// The part of `line` to print around a span at char column `pad` of `width` chars: all of it when
/// it is short, else a window with `…` marking what is cut. Returns the text and the span's
/// column and width within it.
fn window(line: &str, pad: usize, width: usize) -> (String, usize, usize) {
    let chars: Vec<char> = line
        .chars()
        .map(|c| if c == '\t' { ' ' } else { c })
        .collect();
    let width = width.min(MAX_UNDERLINE);
    if chars.len() <= 2 * CONTEXT + MAX_UNDERLINE {
        return (chars.into_iter().collect(), pad, width);
    }
    let from = pad.saturating_sub(CONTEXT);
    let to = (pad + width + CONTEXT).min(chars.len());
    let mut shown = String::new();
    if from > 0 {
        shown.push('…');
    }
    shown.extend(chars.get(from..to).unwrap_or_default());
    if to < chars.len() {
        shown.push('…');
    }
    (shown, pad - from + usize::from(from > 0), width)
}

/// The edit distance between two names, for "did you mean" suggestions.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(!ca.eq_ignore_ascii_case(cb));
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

/// The candidate closest to `name`, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).clamp(1, 3);
    candidates
        .into_iter()
        .map(|candidate| (edit_distance(name, candidate), candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_caret_under_span_with_label() {
        let diagnostic = Diagnostic::new(
            Code::UnknownField,
            Span::new(9, 16),
            "unknown field `respnse`",
        )
        .with_label("did you mean `response`?");
        let mut out = String::new();
        diagnostic.render("http and respnse.status == 200", &mut out);
        assert_eq!(
            out,
            "error[E101]: unknown field `respnse`\n  │ http and respnse.status == 200\n  │          ^^^^^^^ did you mean `response`?\n"
        );
    }

    #[test]
    fn long_lines_are_cut_around_the_span() {
        let source = format!(
            "{} and respnse.status == 200 and {}",
            "http and ".repeat(30),
            "dns or ".repeat(30)
        );
        let start = source.find("respnse").unwrap_or_default();
        let diagnostic = Diagnostic::new(
            Code::UnknownField,
            Span::new(start, start + 7),
            "unknown field `respnse`",
        );
        let mut out = String::new();
        diagnostic.render(&source, &mut out);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines.get(1).map(|l| l.chars().count()),
            Some(4 + 1 + CONTEXT + 7 + CONTEXT + 1)
        );
        let caret = lines
            .get(2)
            .and_then(|l| l.chars().position(|c| c == '^'))
            .unwrap_or_default();
        let under: String = lines
            .get(1)
            .map(|l| l.chars().skip(caret).take(7).collect())
            .unwrap_or_default();
        assert_eq!(under, "respnse");
    }

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(
            did_you_mean("respnse", ["request", "response", "src"]),
            Some("response")
        );
        assert_eq!(did_you_mean("zzz", ["request", "response"]), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
