//! gRPC over HTTP/2: the fields a gRPC call adds on top of its HTTP/2 stream.
//!
//! gRPC is not a separate [`Dissector`](super::Dissector): on the wire it is HTTP/2, and one
//! connection may carry gRPC calls next to plain HTTP/2 requests. The HTTP/2 parser therefore labels
//! each stream: one whose `content-type` is `application/grpc*` becomes a `grpc` exchange (version
//! `2`) filled by [`request_fields`] and [`response_fields`]; every other stream stays `http`.
//! A streaming call is one stream, so one exchange, with its message counts.

use serde_json::{Value, json};
use shark_store::{Message, grpc_status_name};

/// Keeps at most this many per-message sizes; counts and totals go on past it.
const MAX_LISTED_SIZES: usize = 32;
/// Bytes in a gRPC length prefix: a compressed flag and a big-endian u32 length.
const PREFIX_LEN: usize = 5;

/// Whether a `content-type` value marks a gRPC call (`application/grpc`, `application/grpc+proto`, …).
pub(crate) fn is_grpc(content_type: &str) -> bool {
    content_type
        .get(..16)
        .is_some_and(|head| head.eq_ignore_ascii_case("application/grpc"))
}

/// Counts the length-prefixed messages of one direction of a call, fed DATA payloads in order.
#[derive(Debug, Default)]
pub(crate) struct MessageCounter {
    prefix: [u8; PREFIX_LEN],
    prefix_have: usize,
    body_left: u64,
    messages: u64,
    sizes: Vec<u64>,
}

impl MessageCounter {
    /// Bytes were lost: assume the next DATA bytes start a message (gRPC writers start a DATA
    /// frame at each message, so this is right more often than carrying a broken count on).
    pub(crate) fn resync(&mut self) {
        self.prefix_have = 0;
        self.body_left = 0;
    }

    /// Consumes the next DATA bytes of the direction.
    pub(crate) fn feed(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            if self.body_left > 0 {
                let take =
                    usize::try_from(self.body_left).map_or(data.len(), |n| n.min(data.len()));
                self.body_left -= take as u64;
                data = data.get(take..).unwrap_or_default();
                continue;
            }
            let take = (PREFIX_LEN - self.prefix_have).min(data.len());
            if let (Some(dst), Some(src)) = (
                self.prefix
                    .get_mut(self.prefix_have..self.prefix_have + take),
                data.get(..take),
            ) {
                dst.copy_from_slice(src);
            }
            self.prefix_have += take;
            data = data.get(take..).unwrap_or_default();
            if self.prefix_have == PREFIX_LEN {
                let [_, a, b, c, d] = self.prefix;
                let len = u64::from(u32::from_be_bytes([a, b, c, d]));
                self.messages += 1;
                if self.sizes.len() < MAX_LISTED_SIZES {
                    self.sizes.push(len);
                }
                self.body_left = len;
                self.prefix_have = 0;
            }
        }
    }
}

/// `service` and `method` from a gRPC `:path` such as `/pkg.Service/Method`.
pub(crate) fn service_and_method(path: &str) -> Option<(&str, &str)> {
    let (service, method) = path.strip_prefix('/')?.split_once('/')?;
    (!service.is_empty() && !method.is_empty()).then_some((service, method))
}

/// Adds the gRPC request fields (`service`, `grpcMethod`, `messages`, `messageSizes`) to
/// `request`, which already holds the HTTP/2 ones (`method`, `path`, `headers`, `size`). As in
/// Kubeshark, `method` stays the HTTP method (POST) and the RPC has its own fields.
pub(crate) fn request_fields(request: &mut Message, path: Option<&str>, counter: &MessageCounter) {
    if let Some((service, method)) = path.and_then(service_and_method) {
        request.insert("service".into(), json!(service));
        request.insert("grpcMethod".into(), json!(method));
    }
    message_fields(request, counter);
}

/// Adds the gRPC response fields: `status` and `statusText` from `grpc-status`/`grpc-message`
/// (found in the trailers, or in the headers of a trailers-only response), and the message counts.
/// The HTTP status moves to `httpStatus` (its reason phrase is dropped).
pub(crate) fn response_fields(
    response: &mut Message,
    grpc_status: Option<&str>,
    grpc_message: Option<&str>,
    counter: &MessageCounter,
) {
    if let Some(http_status) = response.remove("status") {
        response.insert("httpStatus".into(), http_status);
    }
    response.remove("statusText");
    if let Some(code) = grpc_status.and_then(|s| s.trim().parse::<u32>().ok()) {
        response.insert("status".into(), json!(code));
        let text = match grpc_message.map(percent_decode) {
            Some(text) if !text.is_empty() => text,
            _ => grpc_status_name(code).to_owned(),
        };
        response.insert("statusText".into(), Value::String(text));
    }
    message_fields(response, counter);
}

fn message_fields(message: &mut Message, counter: &MessageCounter) {
    message.insert("messages".into(), json!(counter.messages));
    message.insert("messageSizes".into(), json!(counter.sizes));
}

/// Decodes percent-encoding (gRPC's `grpc-message`, URL query parameters); invalid escapes are
/// kept as they are.
pub(super) fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let escaped = (b == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(decoded) => {
                out.push(decoded);
                i += 3;
            }
            None => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_messages_split_across_data_frames() {
        let mut counter = MessageCounter::default();
        // two messages: 3 bytes and 0 bytes, cut at awkward places
        let wire = [0, 0, 0, 0, 3, b'a', b'b', b'c', 0, 0, 0, 0, 0];
        for piece in wire.chunks(2) {
            counter.feed(piece);
        }
        assert_eq!(counter.messages, 2);
        assert_eq!(counter.sizes, vec![3, 0]);
    }

    #[test]
    fn resync_starts_over_at_a_message_boundary() {
        let mut counter = MessageCounter::default();
        counter.feed(&[0, 0, 0, 0, 9, b'a']);
        counter.resync();
        counter.feed(&[0, 0, 0, 0, 1, b'b']);
        assert_eq!(counter.sizes, vec![9, 1]);
    }

    #[test]
    fn service_and_method_from_path() {
        assert_eq!(
            service_and_method("/agent.Synchronizer/Sync"),
            Some(("agent.Synchronizer", "Sync"))
        );
        assert_eq!(service_and_method("/"), None);
        assert_eq!(service_and_method("no-slash"), None);
    }

    #[test]
    fn trailers_become_status_and_text() {
        let mut response = Message::new();
        response.insert("status".into(), json!(200));
        response_fields(
            &mut response,
            Some("5"),
            Some("no%20such%20key"),
            &MessageCounter::default(),
        );
        assert_eq!(response["httpStatus"], json!(200));
        assert_eq!(response["status"], json!(5));
        assert_eq!(response["statusText"], json!("no such key"));
        let mut ok = Message::new();
        response_fields(&mut ok, Some("0"), Some(""), &MessageCounter::default());
        assert_eq!(ok["statusText"], json!("OK"));
    }

    #[test]
    fn grpc_content_types() {
        assert!(is_grpc("application/grpc"));
        assert!(is_grpc("application/grpc+proto"));
        assert!(!is_grpc("application/json"));
        assert!(!is_grpc("application/grp"));
    }
}
