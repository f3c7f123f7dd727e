//! What every dashboard handler shares: where entries come from, the token, the address bound.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::directories::Directories;
use super::source::Source;

/// What every handler shares.
#[derive(Clone)]
pub struct UiState {
    pub(super) inner: Arc<Inner>,
}

/// The shared state itself.
pub(super) struct Inner {
    pub(super) source: Source,
    /// Who addresses are in each cluster, to name peers a cluster's agents could not.
    pub(super) directories: Directories,
    pub(super) token: String,
    pub(super) bound: SocketAddr,
    /// Set on Ctrl-C or SIGTERM: open streams (follow) end so the server can close.
    pub(super) stop: AtomicBool,
}

impl UiState {
    /// Where entries come from.
    pub(super) fn source(&self) -> &Source {
        &self.inner.source
    }

    /// Who addresses are in each cluster of `fleet` (listed at most every 30 s).
    pub(super) async fn directory(
        &self,
        fleet: &crate::cluster::fleet::Fleet,
    ) -> std::sync::Arc<crate::cluster::directory::Directory> {
        self.inner.directories.of(fleet).await
    }

    /// Whether the server is stopping.
    pub(super) fn stopping(&self) -> bool {
        self.inner.stop.load(Ordering::Relaxed)
    }
}

/// `ip:port` as a URL writes it (IPv6 in brackets).
pub(super) fn host_port(addr: SocketAddr) -> String {
    match addr.ip() {
        IpAddr::V6(ip) => format!("[{ip}]:{}", addr.port()),
        IpAddr::V4(ip) => format!("{ip}:{}", addr.port()),
    }
}
