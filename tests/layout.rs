//! The habit "no import cycles between files": in every crate of the workspace, the graph whose
//! nodes are the `.rs` files under `src/` and whose edges are the references between them
//! (`use crate::a::b`, `super::x`, `crate::a::f()` in code, a child module named in a path) has no
//! cycle. A cycle means two files cannot be read, tested or moved one without the other; the fix is
//! to move what both need down into a module that depends on neither.
//!
//! The scanner reads Rust text directly (comments, strings and char literals blanked out) rather
//! than parsing it: paths are all it needs. A path that names an item a module only re-exports
//! (`crate::Value` where `lib.rs` has `pub use value::Value`) counts as a reference to the file
//! that defines it, so a crate's `pub use` block does not tie every file to `lib.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module path inside a crate (`["index", "writer"]`; the crate root is empty).
type ModPath = Vec<String>;

/// What one file says: the modules it declares, what it imports and every path it names.
#[derive(Default)]
struct FileScan {
    /// Child modules declared with `mod name;` (files), by the inline module they appear in.
    children: BTreeSet<(ModPath, String)>,
    /// `use` paths, each with the inline module it appears in (relative to the file's module).
    uses: Vec<(ModPath, UsePath)>,
    /// Paths named in code (at least two segments), with the inline module they appear in.
    paths: Vec<(ModPath, Vec<String>)>,
}

/// One leaf of a `use` tree: the full path and the name it binds (`None` for `*`).
#[derive(Debug, Clone, PartialEq)]
struct UsePath {
    segments: Vec<String>,
    binds: Option<String>,
}

/// The module graph of one crate.
struct CrateGraph {
    /// Each file's module path, and its scan.
    files: BTreeMap<ModPath, (PathBuf, FileScan)>,
}

/// Blanks comments, string and char literals (keeping line breaks), so that only code is left.
fn strip(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
        } else if (c == 'r' || (c == 'b' && next == Some('r')))
            && !chars
                .get(i.wrapping_sub(1))
                .is_some_and(|p| p.is_alphanumeric() || *p == '_')
            && raw_string_start(&chars, i + usize::from(c == 'b') + 1).is_some()
        {
            let start = i + usize::from(c == 'b') + 1;
            let hashes = raw_string_start(&chars, start).unwrap_or(0);
            let mut j = start + hashes + 1;
            while j < chars.len() {
                if chars[j] == '"' && (1..=hashes).all(|k| chars.get(j + k) == Some(&'#')) {
                    j += hashes + 1;
                    break;
                }
                j += 1;
            }
            for &skipped in &chars[i..j.min(chars.len())] {
                out.push(blank(skipped));
            }
            i = j;
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < chars.len() {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
            out.push(' ');
            i += 1;
        } else if c == '\'' {
            // A char literal ('x', '\n', '\u{1F600}') or a lifetime ('a).
            if next == Some('\\') {
                let mut j = i + 3;
                while j < chars.len() && chars[j] != '\'' {
                    j += 1;
                }
                for _ in i..=j.min(chars.len() - 1) {
                    out.push(' ');
                }
                i = j + 1;
            } else if chars.get(i + 2) == Some(&'\'') {
                out.push_str("   ");
                i += 3;
            } else {
                out.push(' ');
                i += 1;
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// The number of `#`s of a raw string opening at `at` (`#…#"`), if one does.
fn raw_string_start(chars: &[char], at: usize) -> Option<usize> {
    let hashes = chars[at.min(chars.len())..]
        .iter()
        .take_while(|c| **c == '#')
        .count();
    (chars.get(at + hashes) == Some(&'"')).then_some(hashes)
}

/// Splits code into identifiers (keywords included), `::` and single punctuation characters.
fn tokens(code: &str) -> Vec<String> {
    let chars: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(chars[start..i].iter().collect());
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            out.push("::".into());
            i += 2;
        } else if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() {
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
        } else {
            out.push(c.to_string());
            i += 1;
        }
    }
    out
}

fn is_ident(token: &str) -> bool {
    token
        .chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
}

/// Parses the `use` tree starting at `tokens[i]` (after `use`); returns its leaves and the index
/// after the closing `;`.
fn parse_use(tokens: &[String], mut i: usize) -> (Vec<UsePath>, usize) {
    fn tree(tokens: &[String], i: &mut usize, prefix: &[String], out: &mut Vec<UsePath>) {
        let mut path = prefix.to_vec();
        while let Some(token) = tokens.get(*i) {
            match token.as_str() {
                "::" => *i += 1,
                "{" => {
                    *i += 1;
                    while tokens.get(*i).is_some_and(|t| t != "}") {
                        tree(tokens, i, &path, out);
                        if tokens.get(*i).is_some_and(|t| t == ",") {
                            *i += 1;
                        }
                    }
                    *i += 1;
                    return;
                }
                "*" => {
                    *i += 1;
                    out.push(UsePath {
                        segments: path,
                        binds: None,
                    });
                    return;
                }
                "as" => {
                    *i += 1;
                    let alias = tokens.get(*i).cloned();
                    *i += 1;
                    if path.last().is_some_and(|last| last == "self") {
                        path.pop();
                    }
                    out.push(UsePath {
                        segments: path,
                        binds: alias.filter(|a| a != "_"),
                    });
                    return;
                }
                "," | "}" | ";" => {
                    if path.last().is_some_and(|last| last == "self") && path.len() > 1 {
                        path.pop();
                    }
                    let binds = path.last().cloned();
                    if !path.is_empty() {
                        out.push(UsePath {
                            segments: path,
                            binds,
                        });
                    }
                    return;
                }
                ident if is_ident(ident) => {
                    path.push(ident.to_string());
                    *i += 1;
                }
                _ => *i += 1,
            }
        }
    }
    let mut out = Vec::new();
    tree(tokens, &mut i, &[], &mut out);
    while tokens.get(i).is_some_and(|t| t != ";") {
        i += 1;
    }
    (out, i + 1)
}

/// Reads one file: module declarations, `use` trees and code paths, each with the inline module
/// (`mod tests { … }`) it appears in.
fn scan(text: &str) -> FileScan {
    let tokens = tokens(&strip(text));
    let mut scan = FileScan::default();
    // Open inline modules: (name, brace depth inside them).
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    let here = |inline: &[(String, usize)]| -> ModPath {
        inline.iter().map(|(name, _)| name.clone()).collect()
    };
    while i < tokens.len() {
        let token = tokens[i].as_str();
        let prev = i.checked_sub(1).map(|p| tokens[p].as_str());
        match token {
            "{" => depth += 1,
            "}" => {
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
            }
            "mod" if tokens.get(i + 1).is_some_and(|t| is_ident(t)) => {
                let name = tokens[i + 1].clone();
                match tokens.get(i + 2).map(String::as_str) {
                    Some(";") => {
                        scan.children.insert((here(&inline), name));
                        i += 3;
                        continue;
                    }
                    Some("{") => {
                        depth += 1;
                        inline.push((name, depth));
                        i += 3;
                        continue;
                    }
                    _ => {}
                }
            }
            "use" if prev != Some("::") => {
                let (leaves, next) = parse_use(&tokens, i + 1);
                let at = here(&inline);
                scan.uses
                    .extend(leaves.into_iter().map(|leaf| (at.clone(), leaf)));
                i = next;
                continue;
            }
            ident if is_ident(ident) && prev != Some("::") => {
                let mut path = vec![ident.to_string()];
                let mut j = i + 1;
                while tokens.get(j).is_some_and(|t| t == "::")
                    && tokens.get(j + 1).is_some_and(|t| is_ident(t))
                {
                    path.push(tokens[j + 1].clone());
                    j += 2;
                }
                if path.len() > 1 {
                    scan.paths.push((here(&inline), path));
                    i = j;
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    scan
}

/// The module path of `file` (relative to `src/`): `index/writer.rs` is `index::writer`,
/// `index/mod.rs` is `index`, `lib.rs` the root.
fn module_of(relative: &Path) -> ModPath {
    let mut parts: Vec<String> = relative
        .iter()
        .map(|part| part.to_string_lossy().into_owned())
        .collect();
    if let Some(last) = parts.pop() {
        let stem = last.trim_end_matches(".rs").to_string();
        if !(stem == "mod" || (parts.is_empty() && (stem == "lib" || stem == "main"))) {
            parts.push(stem);
        }
    }
    parts
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

impl CrateGraph {
    /// Reads every `.rs` file under `src` (a binary's `main.rs` beside a `lib.rs` is its own crate
    /// that only uses the library by name, so it is left out).
    fn read(src: &Path) -> Result<CrateGraph, String> {
        let mut paths = Vec::new();
        rust_files(src, &mut paths);
        let has_lib = src.join("lib.rs").exists();
        let mut files = BTreeMap::new();
        for path in paths {
            let relative = path.strip_prefix(src).unwrap_or(&path).to_path_buf();
            if has_lib && relative == Path::new("main.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("reading {}: {e}", path.display()))?;
            files.insert(module_of(&relative), (relative, scan(&text)));
        }
        Ok(CrateGraph { files })
    }

    /// The file module `path` lies in: the longest prefix that is a file, and the rest.
    fn file_of<'p>(&self, path: &'p [String]) -> Option<(&ModPath, &'p [String])> {
        (0..=path.len()).rev().find_map(|n| {
            self.files
                .get_key_value(&path[..n])
                .map(|(k, _)| (k, &path[n..]))
        })
    }

    /// Whether `module` (a file module plus inline modules) declares or contains a module `name`.
    fn has_child(&self, module: &[String], name: &str) -> bool {
        let mut child = module.to_vec();
        child.push(name.to_string());
        if self.files.contains_key(&child) {
            return true;
        }
        self.file_of(module).is_some_and(|(file, inline)| {
            self.files[file]
                .1
                .children
                .contains(&(inline.to_vec(), name.to_string()))
        })
    }

    /// The absolute module path `path` names from inside `module`, if it is a path into this crate.
    fn absolute(&self, module: &[String], path: &[String]) -> Option<Vec<String>> {
        let (first, rest) = path.split_first()?;
        match first.as_str() {
            "crate" => Some(rest.to_vec()),
            "self" => Some([module, rest].concat()),
            "super" => {
                let mut base = module.to_vec();
                base.pop();
                let mut rest = rest;
                while let Some(("super", tail)) = rest.split_first().map(|(h, t)| (h.as_str(), t)) {
                    base.pop();
                    rest = tail;
                }
                Some([base.as_slice(), rest].concat())
            }
            name if self.has_child(module, name) => Some([module, path].concat()),
            _ => None,
        }
    }

    /// The file that defines what the absolute `path` names, looking through re-exports.
    fn target(&self, path: &[String], hops: usize) -> Option<&ModPath> {
        let (file, rest) = self.file_of(path)?;
        if let (Some(name), true) = (rest.first(), hops < 16) {
            let scan = &self.files[file].1;
            let reexport = scan.uses.iter().find(|(inline, leaf)| {
                inline.is_empty() && leaf.binds.as_deref() == Some(name.as_str())
            });
            if let Some(source) = reexport.and_then(|(_, leaf)| self.absolute(file, &leaf.segments))
            {
                let source = [source.as_slice(), &rest[1..]].concat();
                return self.target(&source, hops + 1).or(Some(file));
            }
        }
        Some(file)
    }

    /// Every edge between two different files, with one path that makes it.
    fn edges(&self) -> BTreeMap<(ModPath, ModPath), String> {
        let mut edges = BTreeMap::new();
        for (module, (_, scan)) in &self.files {
            let named = scan
                .uses
                .iter()
                .map(|(inline, leaf)| (inline, &leaf.segments))
                .chain(scan.paths.iter().map(|(inline, path)| (inline, path)));
            for (inline, path) in named {
                let here = [module.as_slice(), inline].concat();
                let Some(absolute) = self.absolute(&here, path) else {
                    continue;
                };
                if let Some(target) = self.target(&absolute, 0).filter(|t| *t != module) {
                    edges
                        .entry((module.clone(), target.clone()))
                        .or_insert_with(|| path.join("::"));
                }
            }
        }
        edges
    }

    /// Every cycle (a strongly connected set of files), each as one closed walk through it with
    /// the path that makes each step: `a.rs → b.rs (crate::b::f) → a.rs (super::x)`.
    fn cycles(&self) -> Vec<String> {
        let edges = self.edges();
        let mut next: BTreeMap<&ModPath, Vec<&ModPath>> = BTreeMap::new();
        for (from, to) in edges.keys() {
            next.entry(from).or_default().push(to);
        }
        let nodes: Vec<&ModPath> = self.files.keys().collect();
        let reach = |from: &ModPath| -> BTreeSet<&ModPath> {
            let mut seen = BTreeSet::new();
            let mut stack = vec![from];
            while let Some(node) = stack.pop() {
                for &to in next.get(node).into_iter().flatten() {
                    if seen.insert(to) {
                        stack.push(to);
                    }
                }
            }
            seen
        };
        let reachable: BTreeMap<&ModPath, BTreeSet<&ModPath>> =
            nodes.iter().map(|n| (*n, reach(n))).collect();
        let mut reported = BTreeSet::new();
        let mut out = Vec::new();
        for &node in &nodes {
            if reported.contains(node) || !reachable[node].contains(node) {
                continue;
            }
            let component: BTreeSet<&ModPath> = nodes
                .iter()
                .copied()
                .filter(|other| reachable[node].contains(other) && reachable[other].contains(node))
                .collect();
            reported.extend(component.iter().copied());
            out.push(self.describe_cycle(node, &component, &next, &edges));
        }
        out
    }

    /// A shortest closed walk from `start` through its component, as text.
    fn describe_cycle(
        &self,
        start: &ModPath,
        component: &BTreeSet<&ModPath>,
        next: &BTreeMap<&ModPath, Vec<&ModPath>>,
        edges: &BTreeMap<(ModPath, ModPath), String>,
    ) -> String {
        // Breadth-first from start back to start, inside the component.
        let mut came_from: BTreeMap<&ModPath, &ModPath> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([start]);
        let mut closing = None;
        while let Some(node) = queue.pop_front() {
            for &to in next.get(node).into_iter().flatten() {
                if !component.contains(to) {
                    continue;
                }
                if to == start {
                    closing = Some(node);
                    break;
                }
                if !came_from.contains_key(to) {
                    came_from.insert(to, node);
                    queue.push_back(to);
                }
            }
            if closing.is_some() {
                break;
            }
        }
        let mut walk = vec![start];
        let mut node = closing.unwrap_or(start);
        while node != start {
            walk.push(node);
            node = came_from.get(node).copied().unwrap_or(start);
        }
        walk[1..].reverse();
        walk.push(start);
        let mut text = self.name(start);
        for pair in walk.windows(2) {
            let via = edges
                .get(&(pair[0].clone(), pair[1].clone()))
                .cloned()
                .unwrap_or_default();
            text.push_str(&format!(" → {} ({via})", self.name(pair[1])));
        }
        let others: Vec<String> = component
            .iter()
            .filter(|m| !walk.contains(m))
            .map(|m| self.name(m))
            .collect();
        if !others.is_empty() {
            text.push_str(&format!("; also tied in: {}", others.join(", ")));
        }
        text
    }

    fn name(&self, module: &ModPath) -> String {
        self.files
            .get(module)
            .map(|(path, _)| path.display().to_string())
            .unwrap_or_else(|| module.join("::"))
    }
}

/// The workspace members, from the root `Cargo.toml`.
fn members(root: &Path) -> Vec<PathBuf> {
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap_or_default();
    let Some(start) = manifest.find("members") else {
        return Vec::new();
    };
    let list = &manifest[start..];
    let list = &list[list.find('[').unwrap_or(0) + 1..list.find(']').unwrap_or(0)];
    list.split(',')
        .map(|item| item.trim().trim_matches('"'))
        .filter(|item| !item.is_empty())
        .map(|item| root.join(item))
        .collect()
}

#[test]
fn no_crate_has_an_import_cycle_between_files() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let members = members(&root);
    for expected in ["kfl", "store", "capture-agent", "kubectl-shark"] {
        assert!(
            members.iter().any(|m| m.ends_with(expected)),
            "the workspace members no longer list `{expected}`: {members:?}"
        );
    }
    let mut found = Vec::new();
    let mut checked = 0;
    for member in &members {
        let src = member.join("src");
        if !src.is_dir() {
            continue;
        }
        let graph = CrateGraph::read(&src).unwrap_or_else(|e| panic!("{e}"));
        checked += graph.files.len();
        let name = member
            .strip_prefix(&root)
            .unwrap_or(member)
            .display()
            .to_string();
        for cycle in graph.cycles() {
            found.push(format!("{name}/src/{cycle}"));
        }
    }
    assert!(
        checked > 100,
        "only {checked} files read: is the workspace where it was?"
    );
    assert!(
        found.is_empty(),
        "import cycles between files (move what both sides need into a module below them):\n{}",
        found.join("\n")
    );
}

/// A crate in a temporary directory: `(relative path, text)` pairs.
fn fake_crate(files: &[(&str, &str)]) -> (tempfile::TempDir, CrateGraph) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    for (path, text) in files {
        let path = dir.path().join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
        }
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    }
    let graph = CrateGraph::read(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    (dir, graph)
}

#[test]
fn cycles_through_use_super_and_code_paths_are_found() {
    let (_dir, graph) = fake_crate(&[
        ("lib.rs", "mod a;\nmod b;\nmod c;\nmod e;\n"),
        ("a.rs", "use crate::b::{self, B};\npub fn f() { b::g() }\n"),
        ("b.rs", "pub struct B;\npub fn g() { crate::c::h() }\n"),
        ("c/mod.rs", "mod d;\npub fn h() { d::k() }\n"),
        ("c/d.rs", "pub fn k() { super::super::a::f() }\n"),
        ("e.rs", "pub fn user() { crate::a::f() }\n"),
    ]);
    let cycles = graph.cycles();
    assert_eq!(cycles.len(), 1, "{cycles:?}");
    assert!(
        cycles[0].starts_with("a.rs → b.rs (crate::b) → c/mod.rs (crate::c::h) → c/d.rs (d::k) → a.rs (super::super::a::f)"),
        "{cycles:?}"
    );
    // e.rs and a.rs use each other only one way each: e.rs is not on the cycle.
    assert!(!cycles[0].contains("e.rs"), "{cycles:?}");
}

#[test]
fn reexports_tests_comments_and_strings_make_no_cycle() {
    let (_dir, graph) = fake_crate(&[
        (
            "lib.rs",
            "pub use value::Value;\nmod record;\nmod value;\nfn f() -> record::R { todo!() }\n",
        ),
        ("record.rs", "use crate::Value;\npub struct R(Value);\n"),
        (
            "value.rs",
            "// crate::record::R\npub struct Value;\nconst S: &str = \"crate::record::R\";\n\
             const C: char = '\"'; fn g<'a>(x: &'a str) {}\n\
             #[cfg(test)]\nmod tests {\n    use super::*;\n}\n",
        ),
    ]);
    assert_eq!(graph.cycles(), Vec::<String>::new());
    let edges = graph.edges();
    assert!(
        edges.contains_key(&(vec!["record".into()], vec!["value".into()])),
        "`crate::Value` is value.rs's: {edges:?}"
    );
}

#[test]
fn a_cycle_through_an_inline_test_module_is_found() {
    let (_dir, graph) = fake_crate(&[
        ("lib.rs", "mod a;\nmod b;\n"),
        (
            "a.rs",
            "pub fn f() {}\n#[cfg(test)]\nmod tests {\n    use crate::b::helper;\n}\n",
        ),
        ("b.rs", "pub fn helper() { super::a::f() }\n"),
    ]);
    assert_eq!(graph.cycles().len(), 1);
}
