//! Pages of a node's entries read on other cores. Decoding blocks, filtering and reading bodies
//! back is most of a long query's work, and each page of entries is independent of the others:
//! a cursor past its second page hands the next pages to worker threads (each with its own
//! connection to the index) while it gives out the entries already read, and takes the results
//! back in the order it asked for them. The threads of all queries in the process together take
//! at most one per core (or what [`set_query_threads`] allows); a cursor that gets none reads its
//! pages itself.

use std::collections::VecDeque;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;

use crate::entry::Entry;
use crate::error::StoreError;
use crate::layout::NodeLayout;
use crate::page_reader::PageReader;
use crate::plan::Prepared;
use crate::readback::LostBodies;

/// Most workers one cursor takes: past this, more pages in flight only hold memory.
const PER_CURSOR: usize = 4;

/// Worker threads running in the process, all queries together.
static RUNNING: AtomicUsize = AtomicUsize::new(0);

/// Most worker threads in the process, when set ([`ONE_PER_CORE`] until then).
static MOST: AtomicUsize = AtomicUsize::new(ONE_PER_CORE);

/// [`MOST`] before [`set_query_threads`]: one per core.
const ONE_PER_CORE: usize = usize::MAX;

/// Sets how many threads the process's queries may take, all together, to read pages besides the
/// threads that asked (one per core until set). A capture agent sets none: its queries must not
/// take the cores its capture needs.
pub fn set_query_threads(most: usize) {
    MOST.store(most, Ordering::Release);
}

/// Most worker threads in the process.
fn most_workers() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    match MOST.load(Ordering::Acquire) {
        ONE_PER_CORE => {
            *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, NonZeroUsize::get))
        }
        most => most,
    }
}

/// Takes one worker thread from the process's allowance; whether there was one left.
fn take_one() -> bool {
    RUNNING
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n < most_workers()).then_some(n + 1)
        })
        .is_ok()
}

/// What a worker sends back: one page's kept entries.
type PageResult = Result<Vec<Entry>, StoreError>;

/// A thread reading pages of one node, in the order they are sent.
struct Worker {
    pages: Option<Sender<Vec<i64>>>,
    results: Receiver<PageResult>,
    thread: Option<JoinHandle<()>>,
}

impl Worker {
    /// Starts a worker on its own reader, or `None` when the thread cannot be started.
    fn start(reader: PageReader) -> Option<Self> {
        let (pages, page_rx) = channel::<Vec<i64>>();
        let (result_tx, results) = channel();
        let thread = std::thread::Builder::new()
            .name("shark-pages".into())
            .spawn(move || {
                let mut reader = reader;
                for ids in page_rx {
                    if result_tx.send(reader.read(&ids)).is_err() {
                        break;
                    }
                }
            })
            .ok()?;
        Some(Worker {
            pages: Some(pages),
            results,
            thread: Some(thread),
        })
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // With its queue closed and nobody left to take its results, the thread ends after the
        // page it is reading (the pages queued behind it are not read: nobody wants them).
        self.pages = None;
        self.results = channel().1;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        RUNNING.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The workers of one cursor and the pages they hold, in the order they were sent.
pub(crate) struct PageWorkers {
    path: PathBuf,
    workers: Vec<Worker>,
    /// The worker each page in flight went to, oldest first.
    in_flight: VecDeque<usize>,
    /// The worker the next page goes to.
    next: usize,
}

impl PageWorkers {
    /// No workers yet, for the index at `path`.
    pub fn new(path: PathBuf) -> Self {
        PageWorkers {
            path,
            workers: Vec::new(),
            in_flight: VecDeque::new(),
            next: 0,
        }
    }

    /// Starts as many workers for `layout` and `plan` as the process's allowance gives (up to
    /// [`PER_CURSOR`]). One that cannot open the index or start is not started: the cursor's
    /// own reader meets the same trouble and says what it is.
    pub fn start(&mut self, layout: &NodeLayout, plan: &Prepared, lost: &Arc<LostBodies>) {
        while self.workers.len() < PER_CURSOR && take_one() {
            let started = PageReader::open(layout, plan.clone(), lost)
                .ok()
                .and_then(Worker::start);
            match started {
                Some(worker) => self.workers.push(worker),
                None => {
                    RUNNING.fetch_sub(1, Ordering::AcqRel);
                    break;
                }
            }
        }
    }

    /// Whether another page may be sent: one more than there are workers, so that the worker
    /// whose page the cursor takes has the next one waiting while the cursor gives out entries.
    pub fn has_room(&self) -> bool {
        !self.workers.is_empty() && self.in_flight.len() <= self.workers.len()
    }

    /// Hands the page `ids` to the next worker. The page counts as in flight even if the worker
    /// has stopped (its thread panicked): [`recv`](Self::recv) then answers it with an error,
    /// where leaving it out would have lost its entries without a word.
    pub fn send(&mut self, ids: Vec<i64>) {
        let Some(worker) = self.workers.get(self.next) else {
            return;
        };
        if let Some(pages) = &worker.pages {
            let _ = pages.send(ids);
        }
        self.in_flight.push_back(self.next);
        self.next = (self.next + 1) % self.workers.len();
    }

    /// The oldest page in flight once read, or `None` when none is in flight.
    pub fn recv(&mut self) -> Option<PageResult> {
        let worker = self.in_flight.pop_front()?;
        let received = self.workers.get(worker).map(|w| w.results.recv());
        Some(match received {
            Some(Ok(result)) => result,
            _ => Err(StoreError::ReaderGone(self.path.clone())),
        })
    }

    /// Workers running.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.workers.len()
    }

    /// Whether no page is in flight.
    pub fn idle(&self) -> bool {
        self.in_flight.is_empty()
    }

    /// Stops the workers (once the cursor has read its last page, or failed): a cursor kept
    /// after it is done (a follow's backlog) holds no threads from other queries.
    pub fn stop(&mut self) {
        self.workers.clear();
        self.in_flight.clear();
        self.next = 0;
    }
}
