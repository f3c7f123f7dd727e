//! Cluster export: every agent's PCAP, spooled to a temporary file, merged into one by timestamp.
//!
//! Spooling keeps memory flat whatever the export size, and lets a slow node's answer arrive in
//! full before merging. One PCAP has one link type: a node whose export has another link type
//! than the first node's is left out and reported as failed (agents capturing on `any` all write
//! Linux cooked headers, so this happens only with hand-picked interfaces).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufReader, Write};

use futures::AsyncReadExt;
use pcap_file::TsResolution;
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapReader, PcapWriter};

use super::agents::Agents;
use super::fanout::{Head, NodeFailure};

/// Asks every agent's `/v1/export` with `request` and writes one merged PCAP to `out`.
/// Returns the packets written and the nodes that failed.
pub async fn export_all(
    agents: &Agents,
    request: serde_json::Value,
    out: &mut dyn Write,
) -> anyhow::Result<(u64, Vec<NodeFailure>)> {
    let mut readers = Vec::new();
    let mut failures = Vec::new();
    for agent in &agents.list {
        let opened = spool(agents, agent, &request).await.and_then(|file| {
            PcapReader::new(BufReader::new(file)).map_err(|e| format!("unreadable export: {e}"))
        });
        match opened {
            Ok(reader) => readers.push((agent.node.clone(), reader)),
            Err(reason) => failures.push(NodeFailure {
                node: agent.node.clone(),
                reason,
            }),
        }
    }
    let datalink = readers
        .first()
        .map(|(_, r)| r.header().datalink)
        .unwrap_or(pcap_file::DataLink::ETHERNET);
    let (same, other): (Vec<_>, Vec<_>) = readers
        .into_iter()
        .partition(|(_, r)| r.header().datalink == datalink);
    for (node, reader) in other {
        let reason = format!(
            "its link type {:?} differs from {datalink:?}; export it alone with --agents",
            reader.header().datalink
        );
        failures.push(NodeFailure { node, reason });
    }
    let written = merge(same.into_iter().map(|(_, r)| r).collect(), datalink, out)?;
    Ok((written, failures))
}

/// Copies one agent's export into a temporary file.
async fn spool(
    agents: &Agents,
    agent: &super::agents::Agent,
    request: &serde_json::Value,
) -> Result<File, String> {
    let mut body = agents.post(agent, "/v1/export", request).await?;
    let mut file = tempfile::tempfile().map_err(|e| format!("cannot spool: {e}"))?;
    let mut chunk = vec![0u8; 64 << 10];
    loop {
        let n = body
            .read(&mut chunk)
            .await
            .map_err(|e| format!("connection lost: {e}"))?;
        if n == 0 {
            break;
        }
        file.write_all(chunk.get(..n).unwrap_or_default())
            .map_err(|e| format!("cannot spool: {e}"))?;
    }
    use std::io::Seek;
    file.rewind().map_err(|e| format!("cannot spool: {e}"))?;
    Ok(file)
}

/// K-way merge of spooled PCAPs of one link type into `out` (nanosecond classic PCAP); returns packets written.
fn merge(
    mut readers: Vec<PcapReader<BufReader<File>>>,
    datalink: pcap_file::DataLink,
    out: &mut dyn Write,
) -> anyhow::Result<u64> {
    let header = PcapHeader {
        datalink,
        ts_resolution: TsResolution::NanoSecond,
        ..PcapHeader::default()
    };
    let mut writer = PcapWriter::with_header(out, header)?;
    let mut heap = BinaryHeap::new();
    let next = |node: usize,
                readers: &mut Vec<PcapReader<BufReader<File>>>|
     -> anyhow::Result<Option<Head<std::time::Duration, PcapPacket<'static>>>> {
        let Some(reader) = readers.get_mut(node) else {
            return Ok(None);
        };
        match reader.next_packet() {
            Some(packet) => {
                let packet = packet?.into_owned();
                Ok(Some(Head {
                    key: packet.timestamp,
                    index: node,
                    item: packet,
                }))
            }
            None => Ok(None),
        }
    };
    for node in 0..readers.len() {
        if let Some(head) = next(node, &mut readers)? {
            heap.push(Reverse(head));
        }
    }
    let mut written = 0;
    while let Some(Reverse(head)) = heap.pop() {
        writer.write_packet(&head.item)?;
        written += 1;
        if let Some(more) = next(head.index, &mut readers)? {
            heap.push(Reverse(more));
        }
    }
    Ok(written)
}
