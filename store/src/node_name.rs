//! Node names become directory names under the store root, so only names that cannot leave it
//! or hide from it are accepted: RFC 1123 subdomains, as Kubernetes node names are.

use crate::error::StoreError;

/// Longest node name (a DNS subdomain).
const MAX_NAME: usize = 253;
/// Longest dot-separated label in it.
const MAX_LABEL: usize = 63;

/// Checks that `name` is a valid node name: 1 to 253 characters of lowercase letters, digits, `-`
/// and `.`, in dot-separated labels of at most 63 that start and end with a letter or digit (an
/// RFC 1123 subdomain, what Kubernetes accepts as a node name). So `..`, `a/b`, an absolute path,
/// `.` and `""` are refused before they become a path.
pub fn check_node_name(name: &str) -> Result<(), StoreError> {
    match problem(name) {
        None => Ok(()),
        Some(reason) => Err(StoreError::BadNodeName {
            name: name.escape_debug().to_string(),
            reason,
        }),
    }
}

/// `name`, owned, once [`check_node_name`] accepts it: the value parser of every `--node` flag.
pub fn parse_node_name(name: &str) -> Result<String, StoreError> {
    check_node_name(name)?;
    Ok(name.to_owned())
}

/// What is wrong with `name`, if anything.
fn problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        return Some("it is empty");
    }
    if name.len() > MAX_NAME {
        return Some("it is longer than 253 characters");
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '.'))
    {
        return Some(if c == '/' || c == '\\' {
            "it holds a path separator"
        } else if c.is_ascii_uppercase() {
            "it holds an uppercase letter"
        } else {
            "it holds a character other than a-z, 0-9, '-' and '.'"
        });
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Some("it has an empty label (a leading, trailing or doubled '.')");
        }
        if label.len() > MAX_LABEL {
            return Some("a label is longer than 63 characters");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Some("a label starts or ends with '-'");
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubernetes_node_names_pass() {
        for name in [
            "worker-1",
            "node-a",
            "ip-10-0-1-23.eu-west-1.compute.internal",
            "a",
            "0",
            &"a".repeat(63),
        ] {
            assert!(check_node_name(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn names_that_are_paths_or_hide_are_refused() {
        for (name, reason) in [
            ("../../x", "it holds a path separator"),
            ("/etc", "it holds a path separator"),
            ("a/b", "it holds a path separator"),
            ("", "it is empty"),
            (
                ".",
                "it has an empty label (a leading, trailing or doubled '.')",
            ),
            (
                "..",
                "it has an empty label (a leading, trailing or doubled '.')",
            ),
            (
                "a..b",
                "it has an empty label (a leading, trailing or doubled '.')",
            ),
            ("-a", "a label starts or ends with '-'"),
            ("a-.b", "a label starts or ends with '-'"),
            ("Worker", "it holds an uppercase letter"),
            (
                "a b",
                "it holds a character other than a-z, 0-9, '-' and '.'",
            ),
            (
                "a\0b",
                "it holds a character other than a-z, 0-9, '-' and '.'",
            ),
        ] {
            assert_eq!(problem(name), Some(reason), "{name:?}");
        }
        assert_eq!(
            problem(&"a".repeat(64)),
            Some("a label is longer than 63 characters")
        );
        let long = vec!["a".repeat(63); 4].join(".");
        assert_eq!(problem(&long), Some("it is longer than 253 characters"));
        assert!(
            check_node_name("a/b")
                .unwrap_err()
                .to_string()
                .contains("\"a/b\"")
        );
    }
}
