//! The order entries are read in: oldest or newest first.

/// Which entries come first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Order {
    /// By (timestamp, node, id) ascending, as `query` prints them.
    #[default]
    OldestFirst,
    /// By (timestamp, node, id) descending, as a dashboard lists them.
    NewestFirst,
}
