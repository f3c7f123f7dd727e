//! The hand-written lexer: turns KFL source into tokens with byte spans.
//!
//! It feeds the LALRPOP parser as an external lexer (`Iterator<Item = Spanned<Token>>`) and reports
//! its own errors as diagnostics (unterminated strings, bad escapes, bad numbers and durations).

use std::fmt;

use crate::diagnostic::{Code, Diagnostic};
use crate::duration;
use crate::span::Span;

/// A token and its byte range, as LALRPOP's external lexer interface wants it.
pub type Spanned<T> = Result<(usize, T, usize), Diagnostic>;

/// One lexical token of KFL.
#[derive(Debug, Clone, PartialEq)]
pub enum Token<'input> {
    /// A field, function or protocol name.
    Ident(&'input str),
    /// `"…"` with its escapes resolved.
    Str(String),
    /// `r"…"`, the regex text as written.
    Regex(&'input str),
    /// A whole number.
    Int(i64),
    /// A number with a fractional part.
    Float(f64),
    /// A duration literal such as `5m` or `1h30m`, in nanoseconds.
    Duration(i64),
    /// `and`, `&&`
    And,
    /// `or`, `||`
    Or,
    /// `not`, `!`
    Not,
    /// `in`
    In,
    /// `true`
    True,
    /// `false`
    False,
    /// `nil`, `null`
    Nil,
    /// `==`
    EqEq,
    /// `!=`
    NotEq,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `+`
    Plus,
    /// `-`
    Minus,
    /// `*`
    Star,
    /// `/`
    Slash,
    /// `%`
    Percent,
    /// `?`
    Question,
    /// `:`
    Colon,
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `[`
    LBracket,
    /// `]`
    RBracket,
    /// `,`
    Comma,
    /// `.`
    Dot,
}

impl fmt::Display for Token<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Ident(name) => write!(f, "`{name}`"),
            Token::Str(_) => f.write_str("a string"),
            Token::Regex(_) => f.write_str("a regex"),
            Token::Int(_) | Token::Float(_) => f.write_str("a number"),
            Token::Duration(_) => f.write_str("a duration"),
            Token::And => f.write_str("`and`"),
            Token::Or => f.write_str("`or`"),
            Token::Not => f.write_str("`not`"),
            Token::In => f.write_str("`in`"),
            Token::True => f.write_str("`true`"),
            Token::False => f.write_str("`false`"),
            Token::Nil => f.write_str("`nil`"),
            Token::EqEq => f.write_str("`==`"),
            Token::NotEq => f.write_str("`!=`"),
            Token::Lt => f.write_str("`<`"),
            Token::Le => f.write_str("`<=`"),
            Token::Gt => f.write_str("`>`"),
            Token::Ge => f.write_str("`>=`"),
            Token::Plus => f.write_str("`+`"),
            Token::Minus => f.write_str("`-`"),
            Token::Star => f.write_str("`*`"),
            Token::Slash => f.write_str("`/`"),
            Token::Percent => f.write_str("`%`"),
            Token::Question => f.write_str("`?`"),
            Token::Colon => f.write_str("`:`"),
            Token::LParen => f.write_str("`(`"),
            Token::RParen => f.write_str("`)`"),
            Token::LBracket => f.write_str("`[`"),
            Token::RBracket => f.write_str("`]`"),
            Token::Comma => f.write_str("`,`"),
            Token::Dot => f.write_str("`.`"),
        }
    }
}

/// Splits KFL source into tokens.
pub struct Lexer<'input> {
    source: &'input str,
    pos: usize,
}

impl<'input> Lexer<'input> {
    /// A lexer at the start of `source`.
    pub fn new(source: &'input str) -> Self {
        Lexer { source, pos: 0 }
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn peek_second(&self) -> Option<char> {
        self.rest().chars().nth(1)
    }

    fn rest(&self) -> &'input str {
        self.source.get(self.pos..).unwrap_or("")
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn slice(&self, start: usize) -> &'input str {
        self.source.get(start..self.pos).unwrap_or("")
    }

    fn skip_whitespace(&mut self) {
        while let Some(c) = self.peek() {
            if c.is_whitespace() {
                self.bump();
            } else {
                break;
            }
        }
    }

    fn take_while(&mut self, keep: impl Fn(char) -> bool) {
        while let Some(c) = self.peek() {
            if !keep(c) {
                break;
            }
            self.bump();
        }
    }

    fn ident_or_keyword(&mut self, start: usize) -> Token<'input> {
        self.take_while(|c| c.is_ascii_alphanumeric() || c == '_');
        match self.slice(start) {
            "and" => Token::And,
            "or" => Token::Or,
            "not" => Token::Not,
            "in" => Token::In,
            "true" => Token::True,
            "false" => Token::False,
            "nil" | "null" => Token::Nil,
            name => Token::Ident(name),
        }
    }

    fn number(&mut self, start: usize) -> Result<Token<'input>, Diagnostic> {
        self.take_while(|c| c.is_ascii_digit());
        let is_float =
            self.peek() == Some('.') && self.peek_second().is_some_and(|c| c.is_ascii_digit());
        if is_float {
            self.bump();
            self.take_while(|c| c.is_ascii_digit());
        }
        if self
            .peek()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == 'µ')
        {
            // A number glued to letters is a duration (`5m`, `1h30m`) or a mistake.
            self.take_while(|c| c.is_ascii_alphanumeric() || c == '_' || c == 'µ');
            let text = self.slice(start);
            if is_float {
                return Err(Diagnostic::new(
                    Code::InvalidDuration,
                    Span::new(start, self.pos),
                    format!("invalid duration `{text}`"),
                )
                .with_label("durations take whole numbers")
                .with_help("use a smaller unit, e.g. `90m` rather than `1.5h`"));
            }
            return duration::parse(text)
                .map(Token::Duration)
                .map_err(|reason| {
                    Diagnostic::new(
                        Code::InvalidDuration,
                        Span::new(start, self.pos),
                        format!("invalid duration `{text}`"),
                    )
                    .with_label(reason.to_string())
                    .with_help(
                        "write a duration as whole numbers with units, e.g. `500ms`, `5m`, `1h30m`",
                    )
                });
        }
        let text = self.slice(start);
        let span = Span::new(start, self.pos);
        if is_float {
            text.parse::<f64>()
                .ok()
                .filter(|number| number.is_finite())
                .map(Token::Float)
                .ok_or_else(|| {
                    Diagnostic::new(
                        Code::InvalidNumber,
                        span,
                        format!("number `{text}` is too large"),
                    )
                })
        } else {
            text.parse::<i64>().map(Token::Int).map_err(|_| {
                Diagnostic::new(
                    Code::InvalidNumber,
                    span,
                    format!("number `{text}` is too large"),
                )
                .with_label("does not fit in a 64-bit integer")
            })
        }
    }

    /// Lexes `"…"` (or CEL's `'…'`) after the opening `quote`, resolving escapes.
    fn string(&mut self, start: usize, quote: char) -> Result<Token<'input>, Diagnostic> {
        let mut text = String::new();
        loop {
            let Some(c) = self.bump() else {
                return Err(unterminated(start, self.pos, "string"));
            };
            match c {
                c if c == quote => return Ok(Token::Str(text)),
                '\\' => text.push(self.escape()?),
                c => text.push(c),
            }
        }
    }

    /// Resolves one escape after its backslash.
    fn escape(&mut self) -> Result<char, Diagnostic> {
        let start = self.pos - 1;
        let Some(c) = self.bump() else {
            return Err(unterminated(start, self.pos, "string"));
        };
        match c {
            '"' => Ok('"'),
            '\'' => Ok('\''),
            '\\' => Ok('\\'),
            'n' => Ok('\n'),
            't' => Ok('\t'),
            'r' => Ok('\r'),
            '0' => Ok('\0'),
            'u' => self.unicode_escape(start),
            other => Err(Diagnostic::new(
                Code::InvalidEscape,
                Span::new(start, self.pos),
                format!("unknown escape `\\{other}` in a string"),
            )
            .with_help(
                "valid escapes are \\\" \\\\ \\n \\t \\r \\0 \\u{…}; for a regex write r\"…\"",
            )),
        }
    }

    fn unicode_escape(&mut self, start: usize) -> Result<char, Diagnostic> {
        let bad = |lexer: &Self| {
            Diagnostic::new(
                Code::InvalidEscape,
                Span::new(start, lexer.pos),
                "invalid unicode escape",
            )
            .with_help("write a unicode escape as \\u{1F600}")
        };
        if self.peek() != Some('{') {
            return Err(bad(self));
        }
        self.bump();
        let digits_start = self.pos;
        self.take_while(|c| c.is_ascii_hexdigit());
        let digits = self.slice(digits_start);
        if self.peek() != Some('}') {
            return Err(bad(self));
        }
        self.bump();
        u32::from_str_radix(digits, 16)
            .ok()
            .and_then(char::from_u32)
            .ok_or_else(|| bad(self))
    }

    /// Lexes `r"…"` after the opening quote: no escapes, except that `\"` does not end it.
    fn regex(&mut self, start: usize) -> Result<Token<'input>, Diagnostic> {
        let body_start = self.pos;
        loop {
            let body_end = self.pos;
            let Some(c) = self.bump() else {
                return Err(unterminated(start, self.pos, "regex"));
            };
            match c {
                '"' => {
                    return Ok(Token::Regex(
                        self.source.get(body_start..body_end).unwrap_or(""),
                    ));
                }
                // An escaped character, `\"` included, belongs to the regex.
                '\\' => {
                    self.bump()
                        .ok_or_else(|| unterminated(start, self.pos, "regex"))?;
                }
                _ => {}
            }
        }
    }

    fn punct(&mut self, start: usize, c: char) -> Result<Token<'input>, Diagnostic> {
        let next = self.peek();
        let (token, glued) = match (c, next) {
            ('=', Some('=')) => (Token::EqEq, true),
            ('!', Some('=')) => (Token::NotEq, true),
            ('<', Some('=')) => (Token::Le, true),
            ('>', Some('=')) => (Token::Ge, true),
            ('&', Some('&')) => (Token::And, true),
            ('|', Some('|')) => (Token::Or, true),
            ('!', _) => (Token::Not, false),
            ('<', _) => (Token::Lt, false),
            ('>', _) => (Token::Gt, false),
            ('+', _) => (Token::Plus, false),
            ('-', _) => (Token::Minus, false),
            ('*', _) => (Token::Star, false),
            ('/', _) => (Token::Slash, false),
            ('%', _) => (Token::Percent, false),
            ('?', _) => (Token::Question, false),
            (':', _) => (Token::Colon, false),
            ('(', _) => (Token::LParen, false),
            (')', _) => (Token::RParen, false),
            ('[', _) => (Token::LBracket, false),
            (']', _) => (Token::RBracket, false),
            (',', _) => (Token::Comma, false),
            ('.', _) => (Token::Dot, false),
            ('=', _) => {
                return Err(Diagnostic::new(
                    Code::UnexpectedCharacter,
                    Span::new(start, self.pos),
                    "unexpected `=`",
                )
                .with_label("a single `=` is not an operator")
                .with_help("compare with `==`"));
            }
            ('&', _) | ('|', _) => {
                return Err(Diagnostic::new(
                    Code::UnexpectedCharacter,
                    Span::new(start, self.pos),
                    format!("unexpected `{c}`"),
                )
                .with_help(if c == '&' {
                    "write `and` or `&&`"
                } else {
                    "write `or` or `||`"
                }));
            }
            (other, _) => {
                return Err(Diagnostic::new(
                    Code::UnexpectedCharacter,
                    Span::new(start, self.pos),
                    format!("unexpected character `{}`", other.escape_debug()),
                ));
            }
        };
        if glued {
            self.bump();
        }
        Ok(token)
    }
}

fn unterminated(start: usize, end: usize, what: &str) -> Diagnostic {
    Diagnostic::new(
        Code::UnterminatedString,
        Span::new(start, end),
        format!("unterminated {what}"),
    )
    .with_label(format!("this {what} is never closed"))
    .with_help("add the closing `\"`")
}

impl<'input> Iterator for Lexer<'input> {
    type Item = Spanned<Token<'input>>;

    fn next(&mut self) -> Option<Self::Item> {
        self.skip_whitespace();
        let start = self.pos;
        let c = self.bump()?;
        let token = match c {
            'r' if self.peek() == Some('"') => {
                self.bump();
                self.regex(start)
            }
            c if c.is_ascii_alphabetic() || c == '_' => Ok(self.ident_or_keyword(start)),
            c if c.is_ascii_digit() => self.number(start),
            '"' | '\'' => self.string(start, c),
            c => self.punct(start, c),
        };
        Some(token.map(|token| (start, token, self.pos)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(source: &str) -> Vec<Token<'_>> {
        Lexer::new(source)
            .map(|t| t.map(|(_, token, _)| token))
            .collect::<Result<_, _>>()
            .unwrap_or_default()
    }

    #[test]
    fn lexes_operators_both_spellings() {
        assert_eq!(tokens("a && b || !c"), tokens("a and b or not c"));
        assert_eq!(
            tokens("<= >= == != < >"),
            vec![
                Token::Le,
                Token::Ge,
                Token::EqEq,
                Token::NotEq,
                Token::Lt,
                Token::Gt
            ]
        );
    }

    #[test]
    fn lexes_literals() {
        assert_eq!(
            tokens(r#"42 4.5 "a\"b\n" r"Token.*" 1h30m nil null"#),
            vec![
                Token::Int(42),
                Token::Float(4.5),
                Token::Str("a\"b\n".into()),
                Token::Regex("Token.*"),
                Token::Duration(90 * 60 * 1_000_000_000),
                Token::Nil,
                Token::Nil
            ]
        );
    }

    #[test]
    fn spans_are_byte_offsets() {
        let spans: Vec<_> = Lexer::new("http and x")
            .filter_map(Result::ok)
            .map(|(start, _, end)| (start, end))
            .collect();
        assert_eq!(spans, vec![(0, 4), (5, 8), (9, 10)]);
    }

    #[test]
    fn unterminated_string_is_reported_from_its_quote() {
        let error = Lexer::new(r#"a == "abc"#).find_map(Result::err);
        assert_eq!(
            error.map(|e| (e.code, e.span)),
            Some((Code::UnterminatedString, Span::new(5, 9)))
        );
    }

    #[test]
    fn escaped_quote_does_not_end_a_regex() {
        assert_eq!(
            tokens(r#"r"a\"b" == x"#),
            vec![Token::Regex(r#"a\"b"#), Token::EqEq, Token::Ident("x")]
        );
    }

    #[test]
    fn integer_followed_by_dot_and_ident_is_not_a_float() {
        assert_eq!(
            tokens("x[0].y"),
            vec![
                Token::Ident("x"),
                Token::LBracket,
                Token::Int(0),
                Token::RBracket,
                Token::Dot,
                Token::Ident("y")
            ]
        );
    }
}
