//! Node names never become paths outside the store, the store follows no symbolic link, and one
//! writer at a time holds a node.

use std::path::Path;

use shark_store::{NodeWriter, Store, StoreConfig, StoreError};

use crate::util::{Traffic, segment_files};

const START: i64 = 1_700_000_000_000_000_000;

fn write_some(root: &Path, node: &str) {
    let mut writer = NodeWriter::open(root, node, StoreConfig::default()).unwrap();
    let mut traffic = Traffic::new(START, 1_000_000, 2, 100);
    for _ in 0..10 {
        traffic.write_next(&mut writer).unwrap();
    }
    writer.finish().unwrap();
}

#[test]
fn a_node_name_that_is_a_path_is_refused_and_writes_nothing() {
    let outer = tempfile::tempdir().unwrap();
    let root = outer.path().join("a/b/store");
    std::fs::create_dir_all(&root).unwrap();
    for name in ["../../x", "/tmp/abs", "a/b", "", ".", "..", "Upper"] {
        match NodeWriter::open(&root, name, StoreConfig::default()) {
            Err(StoreError::BadNodeName { .. }) => {}
            Err(e) => panic!("{name:?}: {e}"),
            Ok(_) => panic!("{name:?} was accepted"),
        }
        assert!(NodeWriter::reindex(&root, name).is_err(), "{name:?}");
    }
    assert!(!outer.path().join("a/x").exists());
    assert_eq!(std::fs::read_dir(&root).unwrap().count(), 0);
}

#[test]
fn a_directory_whose_name_is_no_node_name_is_not_read_as_a_node() {
    let dir = tempfile::tempdir().unwrap();
    write_some(dir.path(), "good");
    std::fs::create_dir_all(dir.path().join("Not A Node/segments")).unwrap();
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.nodes().collect::<Vec<_>>(), ["good"]);
}

/// A capture whose last record is cut: what recovery would truncate.
fn cut_capture(path: &Path) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    write_some(dir.path(), "src");
    let mut bytes = std::fs::read(&segment_files(dir.path(), "src")[0]).unwrap();
    bytes.truncate(bytes.len() - 10);
    std::fs::write(path, &bytes).unwrap();
    bytes
}

#[test]
fn recovery_does_not_follow_a_symlinked_part_segment() {
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim.pcap");
    let before = cut_capture(&victim);
    let root = dir.path().join("store");
    write_some(&root, "n");
    let link = root.join(format!("n/segments/{START}-7.pcap.part"));
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    // Opening the writer recovers what a crash left; it must leave the link's target alone.
    write_some(&root, "n");
    assert!(
        std::fs::read(&victim).unwrap() == before,
        "the link's target was cut"
    );
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let store = Store::open(&root).unwrap();
    assert_eq!(store.status().unwrap()[0].entries, 20);
}

#[test]
fn a_symlinked_index_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    write_some(dir.path(), "real");
    let node = dir.path().join("n");
    std::fs::create_dir_all(node.join("segments")).unwrap();
    std::os::unix::fs::symlink(
        dir.path().join("real/index.sqlite"),
        node.join("index.sqlite"),
    )
    .unwrap();
    assert!(NodeWriter::open(dir.path(), "n", StoreConfig::default()).is_err());
}

#[test]
fn a_second_writer_is_refused_with_the_holder_named_until_the_first_is_done() {
    let dir = tempfile::tempdir().unwrap();
    let first = NodeWriter::open(dir.path(), "n", StoreConfig::default()).unwrap();
    let refused = match NodeWriter::open(dir.path(), "n", StoreConfig::default()) {
        Err(e @ StoreError::Locked { .. }) => e.to_string(),
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("a second writer was let in"),
    };
    assert!(
        refused.contains(&format!("pid {} on host ", std::process::id())),
        "{refused}"
    );
    assert!(!refused.contains('\n'));
    assert!(matches!(
        NodeWriter::reindex(dir.path(), "n"),
        Err(StoreError::Locked { .. })
    ));
    // Readers never need the lock.
    assert_eq!(Store::open(dir.path()).unwrap().status().unwrap().len(), 1);
    first.finish().unwrap();
    write_some(dir.path(), "n");
}
