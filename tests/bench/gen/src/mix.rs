//! Which protocols a corpus carries, and in what proportion of exchanges.

use std::fmt;
use std::str::FromStr;

use crate::error::GenError;

/// An application protocol the generator writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// HTTP/1.1 with keep-alive, port 80.
    Http,
    /// DNS over UDP, port 53.
    Dns,
    /// Redis RESP2, port 6379.
    Redis,
    /// PostgreSQL simple query protocol, port 5432.
    Postgres,
}

impl Protocol {
    /// Every protocol, in the order of [`Mix::weights`].
    pub const ALL: [Protocol; 4] = [
        Protocol::Http,
        Protocol::Dns,
        Protocol::Redis,
        Protocol::Postgres,
    ];

    /// The name used in `--mix`.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Http => "http",
            Protocol::Dns => "dns",
            Protocol::Redis => "redis",
            Protocol::Postgres => "postgres",
        }
    }
}

/// Relative weights of the protocols, written `http=60,dns=15,redis=15,postgres=10`; unnamed ones get 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mix {
    weights: [u64; 4],
}

impl Mix {
    /// Weights in the order of [`Protocol::ALL`].
    pub fn weights(&self) -> &[u64; 4] {
        &self.weights
    }
}

impl Default for Mix {
    /// A service mesh's usual shape: mostly HTTP, some DNS, Redis and PostgreSQL.
    fn default() -> Self {
        Mix {
            weights: [60, 15, 15, 10],
        }
    }
}

impl FromStr for Mix {
    type Err = GenError;

    fn from_str(text: &str) -> Result<Self, GenError> {
        let mut weights = [0u64; 4];
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (name, weight) = match entry.split_once('=') {
                Some((name, weight)) => {
                    let weight = weight.trim().parse().map_err(|_| GenError::BadWeight {
                        entry: entry.to_owned(),
                    })?;
                    (name.trim(), weight)
                }
                None => (entry, 1),
            };
            let index = Protocol::ALL
                .iter()
                .position(|p| p.name().eq_ignore_ascii_case(name))
                .ok_or_else(|| GenError::UnknownProtocol {
                    name: name.to_owned(),
                })?;
            if let Some(slot) = weights.get_mut(index) {
                *slot = weight;
            }
        }
        if weights.iter().all(|w| *w == 0) {
            return Err(GenError::EmptyMix);
        }
        Ok(Mix { weights })
    }
}

impl fmt::Display for Mix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = Protocol::ALL
            .iter()
            .zip(self.weights)
            .filter(|(_, w)| *w > 0)
            .map(|(p, w)| format!("{}={w}", p.name()))
            .collect();
        f.write_str(&parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_weights_and_bare_names() {
        assert_eq!(
            "http=3, dns=1".parse::<Mix>().unwrap().weights(),
            &[3, 1, 0, 0]
        );
        assert_eq!("postgres".parse::<Mix>().unwrap().weights(), &[0, 0, 0, 1]);
        assert_eq!(
            Mix::default().to_string(),
            "http=60,dns=15,redis=15,postgres=10"
        );
        assert_eq!(
            Mix::default().to_string().parse::<Mix>().unwrap(),
            Mix::default()
        );
    }

    #[test]
    fn rejects_what_it_cannot_write() {
        assert!(matches!(
            "kafka=1".parse::<Mix>(),
            Err(GenError::UnknownProtocol { .. })
        ));
        assert!(matches!(
            "http=lots".parse::<Mix>(),
            Err(GenError::BadWeight { .. })
        ));
        assert!(matches!("http=0".parse::<Mix>(), Err(GenError::EmptyMix)));
    }
}
