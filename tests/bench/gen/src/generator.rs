//! The schedule: N flow slots, opened in turn and then picked at random, each step advancing one flow by
//! one exchange, with time proportional to the bytes written so the corpus spans the requested duration.

use std::io::Write;
use std::mem;

use crate::app::{dns, http, postgres, redis};
use crate::emit::Emitter;
use crate::error::GenError;
use crate::frame::Endpoint;
use crate::mix::{Mix, Protocol};
use crate::pcap::PcapWriter;
use crate::rng::Rng;
use crate::summary::Summary;
use crate::tcp::{Side, TcpConn};

/// Most concurrent flows: one client address per slot in 10.64.0.0/10.
pub const MAX_FLOWS: u64 = 1 << 22;
/// Client ports are 1024..65535; a slot's next flow takes the next port, so no 5-tuple is reused early.
const PORTS: u64 = 65_536 - 1_024;

/// What to generate.
#[derive(Debug, Clone)]
pub struct Config {
    /// Seed: the same seed and configuration give a byte-identical file.
    pub seed: u64,
    /// Stop starting exchanges once the file reaches this many bytes (open flows are then closed).
    pub size: u64,
    /// Flow slots open at once (clients talking in parallel).
    pub flows: u64,
    /// Protocol proportions.
    pub mix: Mix,
    /// Timestamp of the first frame, nanoseconds since the Unix epoch.
    pub start_ns: u64,
    /// Time the corpus spans: frames are spread over it in proportion to bytes written.
    pub duration_ns: u64,
    /// Mean exchanges per flow (keep-alive requests per connection, queries per DNS client port).
    pub exchanges_per_flow: u64,
}

impl Default for Config {
    /// 64 MB of the default mix over one hour from 2026-11-26T00:00:00Z, 1000 flows, 8 exchanges each.
    fn default() -> Self {
        Config {
            seed: 1,
            size: 64_000_000,
            flows: 1_000,
            mix: Mix::default(),
            start_ns: 1_795_651_200_000_000_000,
            duration_ns: 3_600_000_000_000,
            exchanges_per_flow: 8,
        }
    }
}

/// Writes a corpus to `out` as classic PCAP and returns what it holds.
pub fn generate<W: Write>(config: &Config, out: W) -> Result<Summary, GenError> {
    if config.flows == 0 || config.flows > MAX_FLOWS {
        return Err(GenError::FlowsOutOfRange {
            flows: config.flows,
            max: MAX_FLOWS,
        });
    }
    let end_seconds = config.start_ns.saturating_add(config.duration_ns) / 1_000_000_000;
    if end_seconds >= u64::from(u32::MAX) - 86_400 {
        return Err(GenError::TooLate);
    }
    let mut generator = Generator {
        config,
        rng: Rng::new(config.seed),
        out: Emitter::new(PcapWriter::new(out)?, config.start_ns),
        slots: vec![Slot::default(); config.flows as usize],
        request: Vec::with_capacity(64 * 1024),
        response: Vec::with_capacity(64 * 1024),
        summary: Summary {
            seed: config.seed,
            mix: config.mix.to_string(),
            concurrent_flows: config.flows,
            ..Summary::default()
        },
        open_connections: 0,
    };
    // The first N steps open every slot once, so all N flows are open together; then slots go at random.
    let mut steps = 0u64;
    while generator.out.bytes() < config.size {
        let elapsed = u128::from(config.duration_ns) * u128::from(generator.out.bytes())
            / u128::from(config.size.max(1));
        generator
            .out
            .at_least(config.start_ns.saturating_add(elapsed as u64));
        let index = if steps < config.flows {
            steps
        } else {
            generator.rng.below(config.flows)
        };
        generator.step(index as usize)?;
        steps += 1;
    }
    for index in 0..generator.slots.len() {
        generator.close(index)?;
    }
    let mut summary = generator.summary;
    summary.packets = generator.out.packets();
    summary.bytes = generator.out.bytes();
    if let Some(last) = generator.out.last_stamp() {
        summary.first_ns = config.start_ns;
        summary.last_ns = last;
    }
    generator.out.finish()?;
    Ok(summary)
}

/// One flow slot: the flow it carries now, and how many flows it carried before (for fresh ports).
#[derive(Debug, Clone, Default)]
struct Slot {
    generation: u64,
    flow: Flow,
}

/// A flow between exchanges.
#[derive(Debug, Clone, Default)]
enum Flow {
    /// No flow; the next step opens one.
    #[default]
    Idle,
    /// An open TCP connection with `remaining` exchanges to go before it closes.
    Tcp {
        protocol: Protocol,
        conn: TcpConn,
        remaining: u64,
    },
    /// A DNS client port with `remaining` queries to go.
    Dns {
        client: Endpoint,
        server: Endpoint,
        ip_id: u16,
        remaining: u64,
    },
}

struct Generator<'c, W: Write> {
    config: &'c Config,
    rng: Rng,
    out: Emitter<W>,
    slots: Vec<Slot>,
    request: Vec<u8>,
    response: Vec<u8>,
    summary: Summary,
    open_connections: u64,
}

impl<W: Write> Generator<'_, W> {
    /// Advances the flow of slot `index` by one step: open, one exchange, or close.
    fn step(&mut self, index: usize) -> Result<(), GenError> {
        let Some(slot) = self.slots.get_mut(index) else {
            return Ok(());
        };
        let flow = mem::take(&mut slot.flow);
        let next = match flow {
            Flow::Idle => {
                slot.generation += 1;
                let generation = slot.generation;
                self.open(index, generation)?
            }
            Flow::Tcp {
                protocol,
                mut conn,
                remaining: 0,
            } => {
                self.close_tcp(protocol, &mut conn)?;
                Flow::Idle
            }
            Flow::Tcp {
                protocol,
                mut conn,
                remaining,
            } => {
                self.tcp_exchange(protocol, &mut conn)?;
                Flow::Tcp {
                    protocol,
                    conn,
                    remaining: remaining - 1,
                }
            }
            Flow::Dns {
                client,
                server,
                ip_id,
                remaining,
            } => {
                let ip_id = self.dns_exchange(client, server, ip_id)?;
                if remaining > 1 {
                    Flow::Dns {
                        client,
                        server,
                        ip_id,
                        remaining: remaining - 1,
                    }
                } else {
                    Flow::Idle
                }
            }
        };
        if let Some(slot) = self.slots.get_mut(index) {
            slot.flow = next;
        }
        Ok(())
    }

    /// Opens a new flow in slot `index`: a handshake for TCP, the first query for DNS.
    fn open(&mut self, index: usize, generation: u64) -> Result<Flow, GenError> {
        let protocol = Protocol::ALL
            .get(self.rng.weighted(self.config.mix.weights()))
            .copied()
            .unwrap_or(Protocol::Http);
        let slot = index as u64;
        let client = Endpoint {
            ip: [10, 64 + (slot >> 16) as u8, (slot >> 8) as u8, slot as u8],
            port: 1_024 + ((slot * 37 + generation) % PORTS) as u16,
        };
        let mean = self.config.exchanges_per_flow.max(1);
        let exchanges = self.rng.between(1, 2 * mean - 1);
        let server = match protocol {
            Protocol::Http => Endpoint {
                ip: [10, 96, 0, 10 + self.rng.below(4) as u8],
                port: 80,
            },
            Protocol::Dns => Endpoint {
                ip: [10, 96, 0, 53],
                port: 53,
            },
            Protocol::Redis => Endpoint {
                ip: [10, 96, 0, 20],
                port: 6379,
            },
            Protocol::Postgres => Endpoint {
                ip: [10, 96, 0, 30],
                port: 5432,
            },
        };
        if protocol == Protocol::Dns {
            let first_ip_id = self.rng.below(1 << 16) as u16;
            let ip_id = self.dns_exchange(client, server, first_ip_id)?;
            return Ok(if exchanges > 1 {
                Flow::Dns {
                    client,
                    server,
                    ip_id,
                    remaining: exchanges - 1,
                }
            } else {
                Flow::Idle
            });
        }
        let rtt = self.rng.between(40_000, 400_000) as u32;
        let mut conn = TcpConn::new(
            client,
            server,
            self.rng.next_u64() as u32,
            self.rng.next_u64() as u32,
            rtt,
        );
        conn.open(&mut self.out)?;
        self.summary.tcp_connections += 1;
        self.open_connections += 1;
        self.summary.peak_open_connections = self
            .summary
            .peak_open_connections
            .max(self.open_connections);
        if protocol == Protocol::Postgres {
            postgres::startup(
                &mut self.request,
                &mut self.response,
                &mut self.summary.postgres,
            );
            self.request_response(&mut conn)?;
        }
        Ok(Flow::Tcp {
            protocol,
            conn,
            remaining: exchanges,
        })
    }

    fn tcp_exchange(&mut self, protocol: Protocol, conn: &mut TcpConn) -> Result<(), GenError> {
        let (rng, request, response) = (&mut self.rng, &mut self.request, &mut self.response);
        match protocol {
            Protocol::Http => http::exchange(rng, request, response, &mut self.summary.http),
            Protocol::Redis => redis::exchange(rng, request, response, &mut self.summary.redis),
            Protocol::Postgres => {
                postgres::exchange(rng, request, response, &mut self.summary.postgres)
            }
            Protocol::Dns => dns::exchange(rng, request, response, &mut self.summary.dns),
        }
        self.request_response(conn)
    }

    /// Sends the prepared request, the server's reply after its think time, and the client's ACK.
    fn request_response(&mut self, conn: &mut TcpConn) -> Result<(), GenError> {
        conn.send(&mut self.out, Side::Client, &self.request)?;
        let think = self.think_time();
        self.out.wait(think);
        conn.send(&mut self.out, Side::Server, &self.response)?;
        self.out.wait(conn.rtt_ns() / 2);
        conn.ack(&mut self.out, Side::Client)?;
        Ok(())
    }

    /// One DNS query and its response; returns the client's next IP id.
    fn dns_exchange(
        &mut self,
        client: Endpoint,
        server: Endpoint,
        ip_id: u16,
    ) -> Result<u16, GenError> {
        dns::exchange(
            &mut self.rng,
            &mut self.request,
            &mut self.response,
            &mut self.summary.dns,
        );
        self.out.udp(client, server, ip_id, &self.request)?;
        let think = self.think_time();
        self.out.wait(think);
        self.out
            .udp(server, client, ip_id ^ 0x5A5A, &self.response)?;
        Ok(ip_id.wrapping_add(1))
    }

    /// How long a server takes to answer: mostly fast, with a slow tail.
    fn think_time(&mut self) -> u64 {
        if self.rng.percent(95) {
            self.rng.between(30_000, 900_000)
        } else {
            self.rng.between(900_000, 20_000_000)
        }
    }

    fn close_tcp(&mut self, protocol: Protocol, conn: &mut TcpConn) -> Result<(), GenError> {
        if protocol == Protocol::Postgres {
            postgres::terminate(&mut self.request);
            conn.send(&mut self.out, Side::Client, &self.request)?;
        }
        conn.close(&mut self.out)?;
        self.open_connections -= 1;
        Ok(())
    }

    /// Closes whatever slot `index` holds, at the end of the corpus.
    fn close(&mut self, index: usize) -> Result<(), GenError> {
        let Some(slot) = self.slots.get_mut(index) else {
            return Ok(());
        };
        if let Flow::Tcp {
            protocol, mut conn, ..
        } = mem::take(&mut slot.flow)
        {
            self.close_tcp(protocol, &mut conn)?;
        }
        Ok(())
    }
}
