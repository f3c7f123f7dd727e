//! HTTP message bodies as an entry shows them, for HTTP/1 and HTTP/2 alike: content codings
//! undone (`gzip`, `x-gzip`, `deflate`; `br` and others are left as sent, marked), the decoded
//! size bounded by the body cap ([`ParserSettings::max_body`](super::ParserSettings::max_body), `--max-body`) whatever the
//! compression ratio (a zip bomb costs no more memory than a plain body), and bytes kept
//! faithfully: text when they are text, else base64.
//!
//! Fields written on the message (KFL names):
//! - `body`: the text, or the bytes in standard base64 (with padding) when they are not text;
//! - `bodyEncoding`: `"base64"` when `body` is base64, absent when it is text;
//! - `bodyDecodeError`: why a content coding could not be undone (unsupported coding, corrupt
//!   data); `body` then holds the bytes as sent.
//!
//! A base64 body is cut by the index at a multiple of 4 characters (see `shark_store::cut_inline`),
//! so a cut prefix decodes to a prefix of the bytes and the whole body read back extends it.

use std::borrow::Cow;
use std::io::{ErrorKind, Read};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use shark_store::{BODY_ENCODING, Message};

/// Field saying why the content coding could not be undone.
pub const BODY_DECODE_ERROR: &str = "bodyDecodeError";

/// Writes `body`, and `bodyEncoding` / `bodyDecodeError` where they apply, on `message`.
///
/// `kept` is the start of the body as sent (at most `max_body` bytes); `complete` says whether
/// it is the whole body (a cut one decodes as far as it goes, without an error); `coding` is the
/// `Content-Encoding` header, if any. The decoded body is cut at `max_body` bytes too. A body
/// handed over owned, with no coding to undo, becomes the text without being copied.
pub fn write_body<'k>(
    message: &mut Message,
    kept: impl Into<Cow<'k, [u8]>>,
    complete: bool,
    coding: Option<&str>,
    max_body: usize,
) {
    let kept = kept.into();
    let (bytes, complete) = match decode(&kept, complete, coding, max_body) {
        Ok(Some(decoded)) => decoded,
        Ok(None) => (kept.into_owned(), complete),
        Err(why) => {
            message.insert(BODY_DECODE_ERROR.into(), Value::String(why));
            (kept.into_owned(), complete)
        }
    };
    match text(bytes, complete) {
        Ok(text) => {
            message.insert("body".into(), Value::String(text));
        }
        Err(bytes) => {
            message.insert("body".into(), Value::String(STANDARD.encode(bytes)));
            message.insert(BODY_ENCODING.into(), Value::String("base64".into()));
        }
    }
}

/// The body with `coding` undone, at most `max_body` bytes, and whether it is whole (`None`:
/// there was no coding to undo); or why it could not be decoded.
fn decode(
    kept: &[u8],
    complete: bool,
    coding: Option<&str>,
    max_body: usize,
) -> Result<Option<(Vec<u8>, bool)>, String> {
    let Some(coding) = coding else {
        return Ok(None);
    };
    // Codings are listed in the order they were applied: undo them last first.
    let codings = coding
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty() && !c.eq_ignore_ascii_case("identity"))
        .rev();
    let mut decoded: Option<(Vec<u8>, bool)> = None;
    for coding in codings {
        let (input, whole) = decoded.as_ref().map_or((kept, complete), |(bytes, whole)| {
            (bytes.as_slice(), *whole)
        });
        decoded = Some(undo(input, whole, coding, max_body)?);
    }
    Ok(decoded)
}

/// One coding undone: the decoded bytes (bounded) and whether they are the whole body.
fn undo(
    input: &[u8],
    complete: bool,
    coding: &str,
    max_body: usize,
) -> Result<(Vec<u8>, bool), String> {
    let coding = coding.to_ascii_lowercase();
    let bound = Bound { complete, max_body };
    match coding.as_str() {
        "gzip" | "x-gzip" => inflate(flate2::read::GzDecoder::new(input), bound, "gzip"),
        // "deflate" is zlib-wrapped by the standard, raw deflate from some servers.
        "deflate" => {
            inflate(flate2::read::ZlibDecoder::new(input), bound, "deflate").or_else(|zlib| {
                inflate(flate2::read::DeflateDecoder::new(input), bound, "deflate")
                    .map_err(|_| zlib)
            })
        }
        other => Err(format!(
            "content-encoding {other} not decoded: body shown as sent"
        )),
    }
}

/// What a decoder's input is and how far its output may go.
#[derive(Debug, Clone, Copy)]
struct Bound {
    /// The input is the whole body as sent.
    complete: bool,
    /// Most decoded bytes kept.
    max_body: usize,
}

/// Reads `decoder` to its end or to `bound.max_body` bytes. A body cut short (by the capture's
/// cap, or by a connection that ended mid-body: the exchange's `error` says so) decodes as far as
/// it goes; a body that does not decode is an error.
fn inflate(decoder: impl Read, bound: Bound, name: &str) -> Result<(Vec<u8>, bool), String> {
    let Bound { complete, max_body } = bound;
    let mut decoded = Vec::new();
    let mut bounded = decoder.take((max_body as u64).saturating_add(1));
    match bounded.read_to_end(&mut decoded) {
        Ok(_) if decoded.len() > max_body => {
            decoded.truncate(max_body);
            Ok((decoded, false))
        }
        Ok(_) => Ok((decoded, complete)),
        Err(e) if e.kind() == ErrorKind::UnexpectedEof && !decoded.is_empty() => {
            Ok((decoded, false))
        }
        Err(_) if !complete && !decoded.is_empty() => Ok((decoded, false)),
        Err(e) => Err(format!(
            "{name} body does not decode ({e}): body shown as sent"
        )),
    }
}

/// `bytes` as text when they are UTF-8 without control characters other than tab and line
/// breaks; a character cut by the end of an incomplete body is dropped. Else the bytes back.
fn text(bytes: Vec<u8>, complete: bool) -> Result<String, Vec<u8>> {
    if has_control(&bytes) {
        return Err(bytes);
    }
    match String::from_utf8(bytes) {
        Ok(text) => Ok(text),
        Err(e) if !complete && e.utf8_error().error_len().is_none() => {
            let valid = e.utf8_error().valid_up_to();
            let mut bytes = e.into_bytes();
            bytes.truncate(valid);
            String::from_utf8(bytes).map_err(|e| e.into_bytes())
        }
        Err(e) => Err(e.into_bytes()),
    }
}

/// Whether `bytes` hold a control character other than tab and line breaks. Each 64-byte chunk
/// is looked at whole, without stopping at the first hit, which the compiler turns into vector
/// instructions: a byte-at-a-time scan was a tenth of dissecting HTTP with bodies.
fn has_control(bytes: &[u8]) -> bool {
    bytes.chunks(64).any(|chunk| {
        chunk.iter().fold(false, |seen, &b| {
            seen | (b < 0x20) & (b != b'\t') & (b != b'\n') & (b != b'\r') | (b == 0x7f)
        })
    })
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use serde_json::json;

    use super::super::DEFAULT_MAX_BODY;
    use super::*;

    fn shown(kept: &[u8], complete: bool, coding: Option<&str>) -> Message {
        shown_with_cap(kept, complete, coding, DEFAULT_MAX_BODY)
    }

    fn shown_with_cap(kept: &[u8], complete: bool, coding: Option<&str>, cap: usize) -> Message {
        let mut message = Message::new();
        write_body(&mut message, kept, complete, coding, cap);
        message
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(data).expect("write to memory");
        gz.finish().expect("compress in memory")
    }

    #[test]
    fn every_control_byte_but_tab_and_line_breaks_makes_a_body_binary_wherever_it_is() {
        for byte in 0..=u8::MAX {
            let control = (byte < 0x20 && !matches!(byte, b'\t' | b'\n' | b'\r')) || byte == 0x7f;
            for at in [0, 63, 64, 130] {
                let mut body = vec![b'a'; 131];
                body[at] = byte;
                assert_eq!(has_control(&body), control, "byte {byte:#x} at {at}");
            }
        }
        assert!(!has_control(b""));
    }

    #[test]
    fn a_control_character_anywhere_in_a_long_body_makes_it_binary() {
        let mut body = "{\"line\": 1}\t\r\n".repeat(20).into_bytes();
        assert!(!shown(&body, true, None).contains_key(BODY_ENCODING));
        for (at, bad) in [(0, 0x00), (130, 0x1b), (body.len() - 1, 0x7f)] {
            let mut binary = body.clone();
            binary[at] = bad;
            let message = shown(&binary, true, None);
            assert_eq!(message[BODY_ENCODING], "base64", "{bad:#x} at {at}");
        }
        body.truncate(70);
        assert!(!shown(&body, true, None).contains_key(BODY_ENCODING));
    }

    #[test]
    fn text_stays_text_and_binary_becomes_base64() {
        let message = shown(b"{\"a\": 1}\r\n", true, None);
        assert_eq!(message["body"], json!("{\"a\": 1}\r\n"));
        assert!(!message.contains_key(BODY_ENCODING));
        let png = [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff];
        let message = shown(&png, true, None);
        assert_eq!(message["bodyEncoding"], "base64");
        let decoded = STANDARD
            .decode(message["body"].as_str().unwrap_or_default())
            .unwrap_or_default();
        assert_eq!(decoded, png, "base64 gives the exact bytes back");
    }

    #[test]
    fn a_character_cut_by_the_cap_is_dropped_but_a_bad_one_in_a_whole_body_is_binary() {
        assert_eq!(
            shown("ok é".as_bytes().get(..4).unwrap_or_default(), false, None)["body"],
            "ok "
        );
        assert_eq!(shown(b"ok \xc3", true, None)["bodyEncoding"], "base64");
    }

    #[test]
    fn gzip_and_deflate_are_undone_in_reverse_order_of_application() {
        assert_eq!(shown(&gzip(b"hello"), true, Some("gzip"))["body"], "hello");
        let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        zlib.write_all(&gzip(b"twice")).expect("write to memory");
        let both = zlib.finish().expect("compress in memory");
        assert_eq!(shown(&both, true, Some("gzip, deflate"))["body"], "twice");
        let mut raw =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        raw.write_all(b"raw deflate").expect("write to memory");
        let raw = raw.finish().expect("compress in memory");
        assert_eq!(shown(&raw, true, Some("Deflate"))["body"], "raw deflate");
    }

    #[test]
    fn a_zip_bomb_decodes_to_the_cap_only_whatever_the_cap() {
        let bomb = gzip(&vec![b'a'; 32 << 20]);
        assert!(
            bomb.len() < DEFAULT_MAX_BODY,
            "32 MiB of one byte compresses below the default cap"
        );
        for cap in [1 << 10, DEFAULT_MAX_BODY, 1 << 20] {
            let message = shown_with_cap(&bomb, true, Some("gzip"), cap);
            assert_eq!(message["body"].as_str().map(str::len), Some(cap));
            assert!(!message.contains_key(BODY_DECODE_ERROR));
        }
    }

    #[test]
    fn a_compressed_body_below_a_raised_cap_decodes_whole() {
        let text: String = (0..40_000).map(|i| format!("{i} ")).collect();
        assert!(text.len() > DEFAULT_MAX_BODY && text.len() < 1 << 20);
        let zipped = gzip(text.as_bytes());
        let default = shown(&zipped, true, Some("gzip"));
        let cut = default["body"].as_str().unwrap_or_default();
        assert_eq!(cut.len(), DEFAULT_MAX_BODY);
        assert!(text.starts_with(cut));
        let raised = shown_with_cap(&zipped, true, Some("gzip"), 1 << 20);
        assert_eq!(raised["body"].as_str(), Some(text.as_str()));
    }

    #[test]
    fn a_body_that_does_not_decode_is_shown_as_sent_with_the_reason() {
        let message = shown(b"not gzip at all", true, Some("gzip"));
        assert_eq!(message["body"], "not gzip at all");
        assert!(
            message[BODY_DECODE_ERROR]
                .as_str()
                .is_some_and(|e| e.starts_with("gzip body does not decode"))
        );
        let message = shown(b"\x1b\x03\x00", true, Some("br"));
        assert_eq!(message["bodyEncoding"], "base64");
        assert_eq!(message["body"], "GwMA");
        assert_eq!(
            message[BODY_DECODE_ERROR],
            "content-encoding br not decoded: body shown as sent"
        );
    }

    #[test]
    fn a_gzip_body_cut_short_decodes_as_far_as_it_goes() {
        let text: String = (0..20_000).map(|i| format!("{i} ")).collect();
        let whole = gzip(text.as_bytes());
        let cut = whole.get(..whole.len() / 2).unwrap_or_default();
        // Cut by the capture's cap, or by the connection's end (all the bytes there were).
        for complete in [false, true] {
            let message = shown(cut, complete, Some("gzip"));
            let body = message["body"].as_str().unwrap_or_default();
            assert!(!body.is_empty() && text.starts_with(body), "{body}");
            assert!(!message.contains_key(BODY_DECODE_ERROR));
        }
    }
}
