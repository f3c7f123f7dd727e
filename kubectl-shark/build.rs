//! Embeds the dashboard's built assets (`ui/dist`, committed; `npm run build` in `ui/` makes it)
//! in the binary, so `cargo build`, `cargo install` and the krew archive need no Node.

use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let dist = manifest.join("../ui/dist");
    println!("cargo:rerun-if-changed={}", dist.display());
    let mut files = Vec::new();
    collect(&dist, &dist, &mut files);
    files.sort();
    if files.is_empty() {
        println!(
            "cargo:warning=ui/dist is empty: `kubectl shark ui` will serve no page (run `npm ci && npm run build` in ui/)"
        );
    }
    let mut table = String::from(
        "/// The dashboard's files: URL path and contents.\npub(crate) static ASSETS: &[(&str, &[u8])] = &[\n",
    );
    for (url, path) in &files {
        table.push_str(&format!(
            "    ({url:?}, include_bytes!({:?})),\n",
            path.display().to_string()
        ));
    }
    table.push_str("];\n");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default()).join("ui_assets.rs");
    if let Err(e) = std::fs::write(&out, table) {
        panic!("cannot write {}: {e}", out.display());
    }
}

/// Every file under `dir`, as (`/relative/path`, absolute path).
fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(root, &path, out);
        } else if let Ok(relative) = path.strip_prefix(root) {
            let url = format!("/{}", relative.to_string_lossy().replace('\\', "/"));
            let absolute = path.canonicalize().unwrap_or(path);
            out.push((url, absolute));
        }
    }
}
