//! Cluster export: every agent's PCAP, spooled to a temporary file, merged into one by timestamp
//! (pcapng with one interface per cluster and node when several clusters answer).
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
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};

use super::agents::Agents;
use super::fanout::{Head, NodeFailure, Source};

/// Asks every agent of each source's cluster for its `/v1/export` with the source's request and
/// writes one merged capture to `out`: classic PCAP, or with `pcapng` one interface per
/// cluster and node (named `CLUSTER/NODE`), so Wireshark tells them apart. Returns the packets
/// written and the nodes that failed (with their source's index).
pub async fn export_all(
    sources: &[Source<'_>],
    out: &mut dyn Write,
    pcapng: bool,
) -> anyhow::Result<(u64, Vec<(usize, NodeFailure)>)> {
    let mut readers = Vec::new();
    let mut failures = Vec::new();
    for (index, Source { member, request }) in sources.iter().enumerate() {
        for agent in &member.agents.list {
            let label = member.node_label(&agent.node);
            let opened = spool(&member.agents, agent, request)
                .await
                .and_then(|file| {
                    PcapReader::new(BufReader::new(file))
                        .map_err(|e| format!("unreadable export: {e}"))
                });
            match opened {
                Ok(reader) => readers.push((index, label, reader)),
                Err(reason) => failures.push((
                    index,
                    NodeFailure {
                        node: label,
                        reason,
                    },
                )),
            }
        }
    }
    if pcapng {
        let labels: Vec<String> = readers.iter().map(|(_, label, _)| label.clone()).collect();
        let readers = readers.into_iter().map(|(_, _, r)| r).collect();
        return Ok((merge_ng(readers, &labels, out)?, failures));
    }
    let datalink = readers
        .first()
        .map(|(_, _, r)| r.header().datalink)
        .unwrap_or(pcap_file::DataLink::ETHERNET);
    let (same, other): (Vec<_>, Vec<_>) = readers
        .into_iter()
        .partition(|(_, _, r)| r.header().datalink == datalink);
    for (index, node, reader) in other {
        let reason = format!(
            "its link type {:?} differs from {datalink:?}; export it alone with --agents",
            reader.header().datalink
        );
        failures.push((index, NodeFailure { node, reason }));
    }
    let written = merge(same.into_iter().map(|(_, _, r)| r).collect(), datalink, out)?;
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
    readers: Vec<PcapReader<BufReader<File>>>,
    datalink: pcap_file::DataLink,
    out: &mut dyn Write,
) -> anyhow::Result<u64> {
    let header = PcapHeader {
        datalink,
        ts_resolution: TsResolution::NanoSecond,
        ..PcapHeader::default()
    };
    let mut writer = PcapWriter::with_header(out, header)?;
    merge_with(readers, |_, packet| {
        writer.write_packet(packet)?;
        Ok(())
    })
}

/// K-way merge of spooled PCAPs into `out` as pcapng: reader `i` is interface `i`, named
/// `labels[i]`, with its own link type and nanosecond timestamps; returns packets written.
fn merge_ng(
    readers: Vec<PcapReader<BufReader<File>>>,
    labels: &[String],
    out: &mut dyn Write,
) -> anyhow::Result<u64> {
    let mut writer = PcapNgWriter::new(out)?;
    for (reader, label) in readers.iter().zip(labels) {
        let header = reader.header();
        writer.write_pcapng_block(InterfaceDescriptionBlock {
            linktype: header.datalink,
            snaplen: header.snaplen,
            options: vec![
                InterfaceDescriptionOption::IfName(label.as_str().into()),
                InterfaceDescriptionOption::IfDescription(
                    format!("kubectl-shark agent of {label}").into(),
                ),
                InterfaceDescriptionOption::IfTsResol(9),
            ],
        })?;
    }
    merge_with(readers, |interface, packet| {
        writer.write_pcapng_block(EnhancedPacketBlock {
            interface_id: u32::try_from(interface)?,
            timestamp: packet.timestamp,
            original_len: packet.orig_len,
            data: std::borrow::Cow::Borrowed(&packet.data),
            options: Vec::new(),
        })?;
        Ok(())
    })
}

/// K-way merge of spooled PCAPs by timestamp: `write(reader index, packet)` for each, in order;
/// returns packets written.
fn merge_with(
    mut readers: Vec<PcapReader<BufReader<File>>>,
    mut write: impl FnMut(usize, &PcapPacket<'static>) -> anyhow::Result<()>,
) -> anyhow::Result<u64> {
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
        write(head.index, &head.item)?;
        written += 1;
        if let Some(more) = next(head.index, &mut readers)? {
            heap.push(Reverse(more));
        }
    }
    Ok(written)
}
