//! Choosing a dissector for a flow: the port table first, then content probes in registry order.
//! Until one is chosen, the flow's first bytes are held (bounded); once chosen, the dissector is
//! pinned for the flow's life and the held bytes are replayed into its parser.

use crate::dissect::{
    ChunkMeta, Confidence, Direction, Dissector, Exchange, Parser, ParserSettings,
};

/// Bytes held per flow while no dissector has decided; past this the flow is decided with what is known.
const PROBE_LIMIT: usize = 16 << 10;

/// What a flow's payload is handed to.
pub enum FlowProtocol {
    /// No dissector has decided yet; the first bytes are held.
    Probing(Box<Held>),
    /// A dissector claimed the flow: its parser for this flow.
    Pinned(Box<dyn Parser>),
    /// No dissector claimed the flow: only its connection record tells of it.
    Unclaimed,
}

/// Payload events held while probing.
#[derive(Default)]
pub struct Held {
    events: Vec<HeldEvent>,
    bytes: usize,
    /// The first bytes of each direction (to server, to client), as the probes see them.
    prefix: [Vec<u8>; 2],
}

enum HeldEvent {
    Data(Direction, Vec<u8>, ChunkMeta),
    Gap(Direction),
}

/// The outcome of probing a flow's first bytes.
pub enum Decision {
    /// Wait for more bytes.
    Wait,
    /// Pin this dissector; `flip` when the flow's client and server were the wrong way round.
    Pin {
        /// The dissector.
        dissector: &'static dyn Dissector,
        /// The content says the side labelled server is the client.
        flip: bool,
    },
    /// Nobody claims the flow.
    Unclaimed,
}

impl FlowProtocol {
    /// Feeds payload bytes of direction `dir`, probing if needed.
    pub fn feed(
        &mut self,
        dispatcher: &Dispatcher,
        ports: FlowPorts,
        dir: Direction,
        data: &[u8],
        meta: ChunkMeta,
        out: &mut Vec<Exchange>,
    ) -> Option<bool> {
        match self {
            FlowProtocol::Pinned(parser) => {
                parser.feed(dir, data, meta, out);
                None
            }
            FlowProtocol::Unclaimed => None,
            FlowProtocol::Probing(held) => {
                held.push(HeldEvent::Data(dir, data.to_vec(), meta));
                let full = held.bytes >= PROBE_LIMIT;
                let decision = dispatcher.decide(ports, &held.prefix, full);
                self.apply(dispatcher, decision, out)
            }
        }
    }

    /// Moves the packet spans the flow's parser found carrying state later exchanges need
    /// ([`Parser::take_state_packets`]) into `out`.
    pub fn take_state_packets(&mut self, out: &mut Vec<(u64, u64)>) {
        if let FlowProtocol::Pinned(parser) = self {
            parser.take_state_packets(out);
        }
    }

    /// Bytes were lost in direction `dir`.
    pub fn gap(&mut self, dir: Direction, out: &mut Vec<Exchange>) {
        match self {
            FlowProtocol::Pinned(parser) => parser.gap(dir, out),
            FlowProtocol::Unclaimed => {}
            FlowProtocol::Probing(held) => held.push(HeldEvent::Gap(dir)),
        }
    }

    /// The flow ended: decides with what was seen if still probing, then closes the parser.
    /// Returns `Some(flip)` if a decision was taken now.
    pub fn close(
        &mut self,
        dispatcher: &Dispatcher,
        ports: FlowPorts,
        reason: &str,
        out: &mut Vec<Exchange>,
    ) -> Option<bool> {
        let mut flipped = None;
        if let FlowProtocol::Probing(held) = self {
            let decision = if held.bytes == 0 {
                Decision::Unclaimed
            } else {
                dispatcher.decide(ports, &held.prefix, true)
            };
            flipped = self.apply(dispatcher, decision, out);
        }
        if let FlowProtocol::Pinned(parser) = self {
            parser.close(reason, out);
        }
        flipped
    }

    /// Acts on a decision; returns `Some(flip)` when the flow was pinned or given up now.
    fn apply(
        &mut self,
        dispatcher: &Dispatcher,
        decision: Decision,
        out: &mut Vec<Exchange>,
    ) -> Option<bool> {
        match decision {
            Decision::Wait => None,
            Decision::Unclaimed => {
                *self = FlowProtocol::Unclaimed;
                Some(false)
            }
            Decision::Pin { dissector, flip } => {
                let held = match std::mem::replace(self, FlowProtocol::Unclaimed) {
                    FlowProtocol::Probing(held) => held,
                    other => {
                        *self = other;
                        return None;
                    }
                };
                let mut parser = dissector.parser(&dispatcher.settings);
                let turn = |dir: Direction| if flip { dir.opposite() } else { dir };
                for event in held.events {
                    match event {
                        HeldEvent::Data(dir, bytes, meta) => {
                            parser.feed(turn(dir), &bytes, meta, out)
                        }
                        HeldEvent::Gap(dir) => parser.gap(turn(dir), out),
                    }
                }
                *self = FlowProtocol::Pinned(parser);
                Some(flip)
            }
        }
    }
}

impl Held {
    fn push(&mut self, event: HeldEvent) {
        if let HeldEvent::Data(dir, bytes, _) = &event {
            self.bytes += bytes.len();
            let prefix = &mut self.prefix[dir.slot()];
            // Only the start of a direction is probed; after a gap there is no start to see.
            let room = PROBE_LIMIT.saturating_sub(prefix.len());
            prefix.extend_from_slice(bytes.get(..room.min(bytes.len())).unwrap_or_default());
        }
        self.events.push(event);
    }
}

/// The flow's ports as currently labelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowPorts {
    /// The client's port.
    pub client: u16,
    /// The server's port.
    pub server: u16,
    /// Client and server are known (a SYN was seen): probes never turn them round.
    pub direction_known: bool,
}

/// The dissectors to choose from, in probe order, and the settings every parser is made with.
pub struct Dispatcher {
    dissectors: &'static [&'static dyn Dissector],
    settings: ParserSettings,
}

impl Dispatcher {
    /// A dispatcher over these dissectors (usually [`crate::dissect::registry`]) whose parsers
    /// keep what `settings` allow.
    pub fn new(dissectors: &'static [&'static dyn Dissector], settings: ParserSettings) -> Self {
        Dispatcher {
            dissectors,
            settings,
        }
    }

    /// Decides from the first bytes of each direction; `last_chance` when no more will come.
    pub fn decide(&self, ports: FlowPorts, prefix: &[Vec<u8>; 2], last_chance: bool) -> Decision {
        let [to_server, to_client] = prefix;
        let probe = |d: &dyn Dissector, flip: bool| -> Confidence {
            let (as_request, as_response) = if flip {
                (to_client, to_server)
            } else {
                (to_server, to_client)
            };
            let request =
                (!as_request.is_empty()).then(|| d.probe(as_request, Direction::ToServer));
            let response =
                (!as_response.is_empty()).then(|| d.probe(as_response, Direction::ToClient));
            match (request, response) {
                (Some(a), Some(b)) => a.max(b),
                (Some(a), None) | (None, Some(a)) => a,
                (None, None) => Confidence::NeedMore,
            }
        };
        let mut waiting = false;
        // 1. The port table: a dissector registered for the server port (then the client port,
        //    when the labelling may be the wrong way round) wins unless its probe says No.
        let flips: &[bool] = if ports.direction_known {
            &[false]
        } else {
            &[false, true]
        };
        for (port, flip) in [(ports.server, false), (ports.client, true)] {
            if flip && ports.direction_known {
                continue;
            }
            for &d in self.dissectors.iter().filter(|d| d.ports().contains(&port)) {
                match probe(d, flip) {
                    Confidence::Yes | Confidence::Maybe => {
                        return Decision::Pin { dissector: d, flip };
                    }
                    Confidence::NeedMore => waiting = true,
                    Confidence::No => {}
                }
            }
        }
        // 2. Content probes in registry order, as labelled and then the other way round.
        let mut maybe = None;
        for &d in self.dissectors {
            for &flip in flips {
                match probe(d, flip) {
                    Confidence::Yes => return Decision::Pin { dissector: d, flip },
                    Confidence::Maybe => maybe = maybe.or(Some((d, flip))),
                    Confidence::NeedMore => waiting = true,
                    Confidence::No => {}
                }
            }
        }
        if waiting && !last_chance {
            return Decision::Wait;
        }
        match maybe {
            Some((dissector, flip)) => Decision::Pin { dissector, flip },
            None => Decision::Unclaimed,
        }
    }
}
