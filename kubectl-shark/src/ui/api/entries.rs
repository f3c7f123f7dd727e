//! The entries list (`POST /api/entries`), one entry (`GET /api/entry/[CLUSTER/]NODE/ID`), and
//! PCAP of one exchange, its connection (`…/pcap?wholeFlow=true`) or a whole window
//! (`POST /api/export`).

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query as UrlQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use shark_store::{Order, PageKey, Query, Store};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::{ApiError, Window, blocking, time_json};
use crate::cluster::cluster_filter::for_cluster;
use crate::cluster::fanout::footer;
use crate::cluster::fleet::Fleet;
use crate::ui::cursor::FleetKey;
use crate::ui::rows::{Origin, detail, row};
use crate::ui::{Source, UiState, cluster, cluster_reads};

/// Most rows one call returns.
pub const MAX_ROWS: usize = 1000;

/// `{kfl, from, to, order: "newest"|"oldest", limit ≤ 1000, cursor}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntriesRequest {
    #[serde(flatten)]
    window: Window,
    /// `newest` (the default) or `oldest` first.
    #[serde(default)]
    order: Option<String>,
    /// Rows wanted (default 200).
    #[serde(default)]
    limit: Option<usize>,
    /// The previous answer's `cursor`, for the next page.
    #[serde(default)]
    cursor: Option<String>,
}

/// A page of rows and the cursor to the next one (`null` at the end), plus the nodes that failed
/// to answer. An empty first page also carries `coverage` (the window kept per node), so the page
/// can say whether the window missed the data or the filter matched nothing.
pub async fn entries(
    State(state): State<UiState>,
    Json(request): Json<EntriesRequest>,
) -> Result<Json<Value>, ApiError> {
    let query = request.window.query()?;
    let order = match request.order.as_deref() {
        None | Some("newest") => Order::NewestFirst,
        Some("oldest") => Order::OldestFirst,
        Some(other) => {
            return Err(ApiError::bad(format!(
                "order `{other}`: use newest or oldest"
            )));
        }
    };
    let limit = request.limit.unwrap_or(200);
    if !(1..=MAX_ROWS).contains(&limit) {
        return Err(ApiError::bad(format!(
            "limit {limit}: ask for 1 to {MAX_ROWS} rows"
        )));
    }
    if let Source::Cluster(clusters) = state.source() {
        let fleet = &*clusters.fleet();
        let after: Option<FleetKey> = request
            .cursor
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(ApiError::bad)?;
        let asked = cluster::asked(fleet, query.filter.as_ref());
        let (entries, next, failures) = cluster::page(
            &asked,
            &query,
            &request.window.kfl,
            (order, after.as_ref()),
            limit,
        )
        .await;
        if let Some(error) = cluster::none_answered(&failures) {
            return Err(error);
        }
        let directory = state.directory(fleet).await;
        let rows = entries
            .into_iter()
            .map(|(index, mut entry)| {
                let cluster = &asked.members[index].name;
                let named = directory.name_entry(cluster, &mut entry);
                row(&entry, Origin::Cluster(cluster, &named))
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(ApiError::store)?;
        let cursor = next.map(|k| k.to_string());
        return Ok(Json(json!({"rows": rows, "cursor": cursor,
            "failures": cluster::failures_json(&failures), "labelled": asked.labelled()})));
    }
    let after: Option<PageKey> = request
        .cursor
        .as_deref()
        .map(str::parse)
        .transpose()
        .map_err(ApiError::bad)?;
    let store = state.source().store()?.clone();
    blocking(move || {
        let page = store
            .page(&query, order, after.as_ref(), limit)
            .map_err(ApiError::store)?;
        let rows = page
            .entries
            .iter()
            .map(|entry| row(entry, Origin::Store))
            .collect::<Result<Vec<_>, _>>()
            .map_err(ApiError::store)?;
        let mut answer =
            json!({"rows": rows, "cursor": page.next.map(|k| k.to_string()), "failures": [],
                   "labelled": false});
        if rows_empty(&answer) && after.is_none() {
            answer["coverage"] = coverage(&store)?;
        }
        Ok(Json(answer))
    })
    .await
}

fn rows_empty(answer: &Value) -> bool {
    answer["rows"].as_array().is_none_or(Vec::is_empty)
}

/// The window kept, per node and overall.
fn coverage(store: &Store) -> Result<Value, ApiError> {
    let nodes = store.status().map_err(ApiError::store)?;
    let oldest = nodes.iter().filter_map(|n| n.oldest_ns).min();
    let newest = nodes.iter().filter_map(|n| n.newest_ns).max();
    let per_node: Vec<Value> = nodes
        .iter()
        .map(|n| json!({"node": n.node, "oldest": time_json(n.oldest_ns), "newest": time_json(n.newest_ns), "entries": n.entries}))
        .collect();
    Ok(json!({"oldest": time_json(oldest), "newest": time_json(newest), "nodes": per_node}))
}

/// `/entry/NODE/ID`: [`entry_in`] any cluster (or the local store).
pub async fn entry(
    State(state): State<UiState>,
    Path((node, id)): Path<(String, u64)>,
) -> Result<Json<Value>, ApiError> {
    entry_at(&state, None, node, id).await
}

/// `/entry/CLUSTER/NODE/ID`: the entry, bodies whole (read back from the packets where the
/// index cut them); 404 if none.
pub async fn entry_in(
    State(state): State<UiState>,
    Path((cluster, node, id)): Path<(String, String, u64)>,
) -> Result<Json<Value>, ApiError> {
    entry_at(&state, Some(cluster), node, id).await
}

/// Entry `id` of `node` (of `cluster`, else of any) as the detail shows it.
async fn entry_at(
    state: &UiState,
    cluster: Option<String>,
    node: String,
    id: u64,
) -> Result<Json<Value>, ApiError> {
    if let Source::Cluster(clusters) = state.source() {
        let fleet = &*clusters.fleet();
        let (index, mut entry) = cluster_entry(fleet, cluster.as_deref(), &node, id).await?;
        let name = &fleet.members[index].name;
        let named = state.directory(fleet).await.name_entry(name, &mut entry);
        return detail(&entry, Origin::Cluster(name, &named))
            .map(Json)
            .map_err(ApiError::store);
    }
    if cluster.is_some() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "a local store has no clusters: ask for /api/entry/NODE/ID",
        ));
    }
    let store = state.source().store()?.clone();
    blocking(move || {
        let entry = find(&store, &node, id, true)?;
        detail(&entry, Origin::Store)
            .map(Json)
            .map_err(ApiError::store)
    })
    .await
}

/// Entry `id` of `node` (of `cluster`, else of any) from whichever agent holds it, with its
/// member's index; 404 naming the nodes that did not answer, when none had it.
async fn cluster_entry(
    fleet: &Fleet,
    cluster: Option<&str>,
    node: &str,
    id: u64,
) -> Result<(usize, shark_store::Entry), ApiError> {
    let (entry, failures) = cluster_reads::entry(fleet, cluster, node, id).await;
    entry.ok_or_else(|| {
        let unanswered: Vec<String> = failures.iter().map(footer).collect();
        let also = if unanswered.is_empty() {
            String::new()
        } else {
            format!("; {}", unanswered.join("; "))
        };
        let place = cluster.map_or(String::new(), |c| format!(" of cluster `{c}`"));
        ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no entry {id} on node `{node}`{place} (retention may have removed it){also}"),
        )
    })
}

/// The KFL that picks out entry `id` of `node` (its instant and node pushed down to the index).
fn entry_filter(node: &str, id: u64) -> Result<String, ApiError> {
    Ok(format!(
        "node.name == {} and id == {id}",
        serde_json::to_string(node).map_err(ApiError::store)?
    ))
}

/// Entry `id` of `node`, or 404.
fn find(
    store: &Store,
    node: &str,
    id: u64,
    whole_bodies: bool,
) -> Result<shark_store::Entry, ApiError> {
    store
        .entry(node, id, whole_bodies)
        .map_err(ApiError::store)?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                format!("no entry {id} on node `{node}` (retention may have removed it)"),
            )
        })
}

/// `?wholeFlow=true`: every packet of the exchange's connection, not only its own.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PcapParams {
    #[serde(default)]
    whole_flow: bool,
}

/// `/entry/NODE/ID/pcap`: [`entry_pcap_in`] any cluster (or the local store).
pub async fn entry_pcap(
    State(state): State<UiState>,
    Path((node, id)): Path<(String, u64)>,
    UrlQuery(params): UrlQuery<PcapParams>,
) -> Result<Response, ApiError> {
    pcap_at(&state, None, node, id, &params).await
}

/// `/entry/CLUSTER/NODE/ID/pcap`: the packets of one exchange (with its connection's
/// handshake), or of its whole connection, as a PCAP download.
pub async fn entry_pcap_in(
    State(state): State<UiState>,
    Path((cluster, node, id)): Path<(String, String, u64)>,
    UrlQuery(params): UrlQuery<PcapParams>,
) -> Result<Response, ApiError> {
    pcap_at(&state, Some(cluster), node, id, &params).await
}

/// The PCAP of entry `id` of `node` (of `cluster`, else of any).
async fn pcap_at(
    state: &UiState,
    cluster: Option<String>,
    node: String,
    id: u64,
    params: &PcapParams,
) -> Result<Response, ApiError> {
    let name = format!(
        "entry-{id}{}.pcap",
        if params.whole_flow { "-flow" } else { "" }
    );
    if let Source::Cluster(clusters) = state.source() {
        let fleet = &*clusters.fleet();
        let (index, entry) = cluster_entry(fleet, cluster.as_deref(), &node, id).await?;
        // Only the entry's own cluster is asked: another may hold the same node and id.
        let holder = Fleet {
            members: vec![fleet.members[index].clone()],
            down: Vec::new(),
        };
        let request = json!({"kfl": entry_filter(&node, id)?, "from": entry.timestamp,
                             "to": entry.timestamp + 1, "wholeFlows": params.whole_flow});
        let (file, _) = cluster_reads::export(&holder, |_| request.clone()).await?;
        return Ok(file_download(file, &name));
    }
    if cluster.is_some() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "a local store has no clusters: ask for /api/entry/NODE/ID/pcap",
        ));
    }
    let store = state.source().store()?.clone();
    let query = blocking(move || {
        let entry = find(&store, &node, id, false)?;
        // The entry's own instant and node are pushed down to the index; its id picks it out.
        let kfl = entry_filter(&node, id)?;
        let filter = kfl::compile(&kfl, &shark_store::entry_schema()).map_err(ApiError::store)?;
        Ok((
            store,
            Query {
                from: Some(entry.timestamp),
                to: Some(entry.timestamp + 1),
                filter: Some(filter),
                limit: None,
            },
        ))
    })
    .await?;
    let (store, query) = query;
    Ok(pcap_stream(store, query, params.whole_flow, &name))
}

/// `{kfl, from, to, wholeFlows}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportRequest {
    #[serde(flatten)]
    window: Window,
    #[serde(default)]
    whole_flows: bool,
}

/// The window's matching exchanges as one PCAP, as `export` writes it.
pub async fn export(
    State(state): State<UiState>,
    Json(request): Json<ExportRequest>,
) -> Result<Response, ApiError> {
    let query = request.window.query()?;
    if let Source::Cluster(clusters) = state.source() {
        let fleet = &*clusters.fleet();
        let asked = cluster::asked(fleet, query.filter.as_ref());
        let (file, failures) = cluster_reads::export(&asked, |member| {
            json!({"kfl": for_cluster(&request.window.kfl, &member.name), "from": query.from,
                   "to": query.to, "wholeFlows": request.whole_flows})
        })
        .await?;
        // Several clusters: pcapng, each packet's interface naming its cluster and node.
        let name = if asked.labelled() {
            "shark-export.pcapng"
        } else {
            "shark-export.pcap"
        };
        let mut response = file_download(file, name);
        // The download is partial: say which clusters and nodes are missing from it.
        let missing = failures.footers();
        if let Ok(value) = HeaderValue::from_str(&missing.join("; "))
            && !missing.is_empty()
        {
            response.headers_mut().insert("x-shark-failures", value);
        }
        return Ok(response);
    }
    let store = state.source().store()?.clone();
    Ok(pcap_stream(
        store,
        query,
        request.whole_flows,
        "shark-export.pcap",
    ))
}

/// Streams `store.export(query)` as a download named `name`; a failure midway cuts the stream
/// (the browser reports the download failed) and is logged.
fn pcap_stream(store: Store, query: Query, whole_flows: bool, name: &str) -> Response {
    download(name, move |out| {
        store
            .export(&query, whole_flows, out)
            .map(drop)
            .map_err(|e| std::io::Error::other(e.to_string()))
    })
}

/// Streams a PCAP spooled in `file` as a download named `name`.
fn file_download(mut file: std::fs::File, name: &str) -> Response {
    download(name, move |out| std::io::copy(&mut file, out).map(drop))
}

/// A PCAP download named `name` of what `write` writes on a blocking thread; a failure midway
/// cuts the stream (the browser reports the download failed) and is logged.
fn download(
    name: &str,
    write: impl FnOnce(&mut ChannelWriter) -> std::io::Result<()> + Send + 'static,
) -> Response {
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(16);
    tokio::task::spawn_blocking(move || {
        let mut out = ChannelWriter {
            tx: tx.clone(),
            buf: Vec::new(),
        };
        let written = write(&mut out);
        let finished = written.and_then(|()| std::io::Write::flush(&mut out));
        if let Err(e) = finished {
            tracing::warn!("PCAP download cut short: {e}");
            let _ = tx.blocking_send(Err(e));
        }
    });
    let mut response = Body::from_stream(ReceiverStream::new(rx)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/vnd.tcpdump.pcap"),
    );
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// Bytes written on a blocking thread, sent to the response in chunks.
struct ChannelWriter {
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
    buf: Vec<u8>,
}

/// Bytes gathered before a chunk goes out.
const CHUNK: usize = 64 * 1024;

impl std::io::Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::take(&mut self.buf));
        self.tx.blocking_send(Ok(chunk)).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the browser went away")
        })
    }
}
