//! A full disk fails the write with a clear error, loses nothing stored, and retention frees space.

use std::path::{Path, PathBuf};
use std::process::Command;

use shark_store::{NodeWriter, Query, Store, StoreConfig, StoreError};

use crate::util::{Traffic, segment_files, tshark_count};

/// A 2 MiB tmpfs, unmounted when dropped (even if the test fails).
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount(at: &Path) -> Self {
        std::fs::create_dir_all(at).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=2m", "tmpfs"])
            .arg(at)
            .status()
            .unwrap();
        assert!(ok.success(), "mounting a tmpfs needs root");
        SmallDisk(at.to_path_buf())
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_fails_cleanly_and_retention_frees_it() {
    let dir = tempfile::tempdir().unwrap();
    let disk = SmallDisk::mount(&dir.path().join("disk"));
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
