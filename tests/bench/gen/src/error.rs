//! Everything that can go wrong while configuring or writing a corpus.

use std::io;

/// Why a corpus could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum GenError {
    /// `--mix` names a protocol this generator does not write.
    #[error("unknown protocol `{name}` in the mix; expected http, dns, redis or postgres")]
    UnknownProtocol {
        /// The name given.
        name: String,
    },
    /// A `--mix` entry is not `NAME=WEIGHT` with a whole-number weight.
    #[error("`{entry}` in the mix is not NAME=WEIGHT with a whole-number weight, e.g. http=60")]
    BadWeight {
        /// The entry given.
        entry: String,
    },
    /// Every protocol of the mix has weight 0.
    #[error("the mix gives every protocol weight 0; give at least one a positive weight")]
    EmptyMix,
    /// A size is not a number with an optional unit.
    #[error("`{text}` is not a size; write e.g. 64MB, 5GiB or 1000000")]
    BadSize {
        /// The text given.
        text: String,
    },
    /// A duration is not a number with a unit.
    #[error("`{text}` is not a duration; write e.g. 90s, 30m, 6h or 2d")]
    BadDuration {
        /// The text given.
        text: String,
    },
    /// The number of concurrent flows is 0 or more than the address plan holds.
    #[error("{flows} concurrent flows is out of range; choose 1 to {max}")]
    FlowsOutOfRange {
        /// The number asked for.
        flows: u64,
        /// The most the client address range holds.
        max: u64,
    },
    /// The corpus would end after 2106, which classic PCAP cannot timestamp.
    #[error(
        "the corpus would end after the year 2106, which classic PCAP cannot timestamp; choose an earlier start"
    )]
    TooLate,
    /// Writing the capture failed.
    #[error("cannot write the capture")]
    Write(#[from] io::Error),
}
