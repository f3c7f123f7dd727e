//! Opening store files without following symbolic links: a link planted in a node's directory
//! (say a `.pcap.part` pointing at `/etc/shadow`) must never make recovery truncate, or export
//! read, the file it points to. Opening a link fails with `ELOOP`, which callers report or skip.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Options that refuse a symbolic link as the last component of the path.
pub(crate) fn options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.custom_flags(libc::O_NOFOLLOW);
    options
}

/// Opens `path` for reading, refusing a symbolic link.
pub(crate) fn open_read(path: &Path) -> io::Result<File> {
    options().read(true).open(path)
}

/// Reads the whole of `path`, refusing a symbolic link.
pub(crate) fn read(path: &Path) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    io::Read::read_to_end(&mut open_read(path)?, &mut bytes)?;
    Ok(bytes)
}

/// Fails with a clear error when `path` is a symbolic link (a directory the store writes into).
pub(crate) fn refuse_link(path: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => Err(io::Error::other(
            "is a symbolic link; the store does not follow links (use the real directory)",
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        std::fs::write(&target, b"keep me").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(read(&link).is_err());
        assert!(options().write(true).open(&link).is_err());
        assert!(refuse_link(&link).is_err());
        assert_eq!(read(&target).unwrap(), b"keep me");
        assert!(refuse_link(&target).is_ok());
    }
}
