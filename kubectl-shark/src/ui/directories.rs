//! Who addresses are in the clusters the dashboard reads (the CLI's [`Directory`]: each API
//! server's pods and load-balanced services), so a peer one cluster's agents could not name is
//! named after the other cluster that knows it, as `query` names it. Listed at most every
//! [`FRESH_FOR`] and shared by every view: listing every pod of every cluster per page would cost
//! more than the page.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use crate::cluster::directory::Directory;
use crate::cluster::fleet::Fleet;

/// How long one listing names peers.
const FRESH_FOR: Duration = Duration::from_secs(30);

/// The last listing, and when it was made.
#[derive(Default)]
pub struct Directories {
    held: Mutex<Option<(Instant, Arc<Directory>)>>,
}

impl Directories {
    /// The addresses `fleet`'s API servers list (none with one cluster), listed again once the
    /// last listing is older than [`FRESH_FOR`]; one listing at a time.
    pub async fn of(&self, fleet: &Fleet) -> Arc<Directory> {
        let mut held = self.held.lock().await;
        if let Some((at, directory)) = held.as_ref()
            && at.elapsed() < FRESH_FOR
        {
            return directory.clone();
        }
        let directory = Arc::new(fleet.directory().await);
        *held = Some((Instant::now(), directory.clone()));
        directory
    }
}
