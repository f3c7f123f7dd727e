//! Just enough of a GraphQL document (<https://spec.graphql.org/October2021/#sec-Language>) to
//! name its operations: the top-level definitions, each an operation (`query`, `mutation`,
//! `subscription`, or a bare selection set, a query) with its optional name, or a fragment.
//! Strings, block strings and comments are skipped so braces inside them do not count.

/// An operation defined in a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Operation {
    /// `query`, `mutation` or `subscription`.
    pub kind: String,
    /// Its name; empty when anonymous.
    pub name: String,
}

/// The operations of `document`, in order; `None` when it is not a GraphQL document (no
/// definition, a word that starts none, unbalanced braces).
pub(super) fn operations(document: &str) -> Option<Vec<Operation>> {
    let mut cursor = Cursor {
        bytes: document.as_bytes(),
        at: 0,
    };
    let mut found = Vec::new();
    let mut definitions = 0;
    loop {
        cursor.skip_ignored();
        let Some(first) = cursor.peek() else {
            break;
        };
        definitions += 1;
        if first == b'{' {
            found.push(Operation {
                kind: "query".into(),
                name: String::new(),
            });
        } else {
            let keyword = cursor.name()?;
            match keyword {
                "query" | "mutation" | "subscription" => {
                    cursor.skip_ignored();
                    let name = if cursor.peek().is_some_and(is_name_start) {
                        cursor.name()?.to_string()
                    } else {
                        String::new()
                    };
                    found.push(Operation {
                        kind: keyword.to_string(),
                        name,
                    });
                }
                "fragment" => {}
                _ => return None,
            }
        }
        cursor.skip_definition()?;
    }
    (definitions > 0).then_some(found)
}

fn is_name_start(byte: u8) -> bool {
    byte.is_ascii_alphabetic() || byte == b'_'
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    /// Skips white space, commas, byte order marks and `#` comments.
    fn skip_ignored(&mut self) {
        while let Some(byte) = self.peek() {
            match byte {
                b' ' | b'\t' | b'\n' | b'\r' | b',' | 0xEF | 0xBB | 0xBF => self.at += 1,
                b'#' => {
                    while self.peek().is_some_and(|b| b != b'\n') {
                        self.at += 1;
                    }
                }
                _ => return,
            }
        }
    }

    /// A name token.
    fn name(&mut self) -> Option<&'a str> {
        let start = self.at;
        if !self.peek().is_some_and(is_name_start) {
            return None;
        }
        while self
            .peek()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            self.at += 1;
        }
        std::str::from_utf8(self.bytes.get(start..self.at)?).ok()
    }

    /// Skips the rest of a definition: up to and including its selection set's closing brace
    /// (variable definitions, directives and a fragment's type condition come before it).
    fn skip_definition(&mut self) -> Option<()> {
        let mut depth = 0usize;
        while let Some(byte) = self.peek() {
            match byte {
                b'"' => self.skip_string()?,
                b'#' => self.skip_ignored(),
                b'{' => {
                    depth += 1;
                    self.at += 1;
                }
                b'}' => {
                    depth = depth.checked_sub(1)?;
                    self.at += 1;
                    if depth == 0 {
                        return Some(());
                    }
                }
                _ => self.at += 1,
            }
        }
        None
    }

    /// Skips a string or block string starting at the cursor.
    fn skip_string(&mut self) -> Option<()> {
        let rest = self.bytes.get(self.at..)?;
        if rest.starts_with(b"\"\"\"") {
            let end = rest
                .get(3..)?
                .windows(3)
                .enumerate()
                .find(|(i, w)| *w == b"\"\"\"" && rest.get(2 + i) != Some(&b'\\'))?
                .0;
            self.at += 3 + end + 3;
            return Some(());
        }
        self.at += 1;
        while let Some(byte) = self.peek() {
            self.at += 1;
            match byte {
                b'\\' => self.at += 1,
                b'"' => return Some(()),
                b'\n' => return None,
                _ => {}
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ops(document: &str) -> Option<Vec<(String, String)>> {
        operations(document).map(|ops| ops.into_iter().map(|o| (o.kind, o.name)).collect())
    }

    #[test]
    fn operations_are_named_with_their_kind() {
        let pair = |k: &str, n: &str| (k.to_string(), n.to_string());
        assert_eq!(ops("{ me { id } }"), Some(vec![pair("query", "")]));
        assert_eq!(
            ops("query GetUser($id: ID!) @cached { user(id: $id) { name } }"),
            Some(vec![pair("query", "GetUser")])
        );
        assert_eq!(
            ops(
                "# hi {\nfragment F on User { id }\nmutation Add { add(s: \"}{\") { ...F } }\nsubscription { ticks }"
            ),
            Some(vec![pair("mutation", "Add"), pair("subscription", "")])
        );
        assert_eq!(
            ops("query Q { f(text: \"\"\"a \"} block\"\"\") }"),
            Some(vec![pair("query", "Q")])
        );
    }

    #[test]
    fn what_is_not_a_document_is_refused() {
        for text in ["", "   ", "select * from t", "query Q { unclosed", "}"] {
            assert_eq!(ops(text), None, "{text:?}");
        }
    }
}
