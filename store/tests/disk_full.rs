//! A full disk fails the write with a clear error, loses nothing stored, and retention frees space.

use shark_store::{NodeWriter, Query, Store, StoreConfig, StoreError};

use crate::util::{Tmpfs, Traffic, segment_files, tshark_count};

#[test]
fn a_read_only_store_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let disk = Tmpfs::mount(&dir.path().join("ro"), "ro,size=1m");
    let err = NodeWriter::open(&disk.0.join("store"), "n", StoreConfig::default())
        .err()
        .unwrap();
    assert!(matches!(err, StoreError::NotWritable { .. }), "{err:?}");
    let message = err.to_string();
    let root = format!("store {}", disk.0.join("store").display());
    assert!(
        message.starts_with(&root) && message.contains(" is not writable: Read-only file system"),
        "{message}"
    );
}

#[test]
fn a_full_disk_fails_cleanly_and_retention_frees_it() {
    let dir = tempfile::tempdir().unwrap();
    let disk = Tmpfs::mount(&dir.path().join("disk"), "size=2m");
    let root = disk.0.join("store");
    let config = StoreConfig {
        segment_size: 128 * 1024,
        ..StoreConfig::default()
    };
    let mut writer = NodeWriter::open(&root, "n", config).unwrap();
    let mut traffic = Traffic::new(1_700_000_000_000_000_000, 1_000_000, 8, 1400);
    let mut flushed = 0;
    let err = loop {
        if let Err(e) = traffic.write_next(&mut writer) {
            break e;
        }
        if traffic.next.is_multiple_of(200) {
            match writer.flush() {
                Ok(()) => flushed = traffic.next,
                Err(e) => break e,
            }
        }
        assert!(traffic.next < 100_000, "a 2 MiB disk never filled");
    };
    assert!(matches!(err, StoreError::DiskFull(_)), "{err:?}");
    let message = err.to_string();
    assert!(
        message.starts_with("disk full while writing ")
            && message.contains(&*root.to_string_lossy()),
        "{message}"
    );
    drop(writer);

    // Nothing already stored is lost: sealed segments open in tshark, flushed entries answer.
    let store = Store::open(&root).unwrap();
    assert!(store.query(&Query::default()).unwrap().count() >= flushed as usize);
    for f in segment_files(&root, "n")
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "pcap"))
    {
        assert!(tshark_count(f, "") > 0);
    }

    // Retention makes room, and writing works again.
    let limited = StoreConfig {
        storage_limit: Some(1024 * 1024),
        ..config
    };
    let mut writer = NodeWriter::open(&root, "n", limited).unwrap();
    for i in 0..200 {
        if let Err(e) = traffic.write_next(&mut writer) {
            panic!("write {i} after retention: {e}");
        }
    }
    writer.finish().unwrap();
    let newest = store.status().unwrap()[0].newest_ns;
    assert_eq!(newest, Some(traffic.ts(traffic.next - 1) + 1000));
}
