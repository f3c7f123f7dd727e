//! PostgreSQL wire protocol v3: startup, simple queries with rows or errors, terminate.

use serde::Serialize;

use super::{push_filler, push_num};
use crate::rng::Rng;

/// What the PostgreSQL traffic of a corpus holds.
#[derive(Debug, Default, Clone, Serialize)]
pub struct PostgresCounts {
    /// Sessions (startup handshakes).
    pub sessions: u64,
    /// Simple queries sent; each gets a complete reply ending in ReadyForQuery.
    pub queries: u64,
    /// Queries answered with an ErrorResponse.
    pub errors: u64,
}

/// Writes the StartupMessage and the server's reply up to ReadyForQuery (trust authentication).
pub(crate) fn startup(request: &mut Vec<u8>, response: &mut Vec<u8>, counts: &mut PostgresCounts) {
    request.clear();
    response.clear();
    let start = begin_untyped(request);
    request.extend_from_slice(&196_608u32.to_be_bytes()); // protocol 3.0
    request.extend_from_slice(b"user\0checkout\0database\0shop\0application_name\0checkout\0\0");
    end(request, start);

    let at = begin(response, b'R');
    response.extend_from_slice(&0u32.to_be_bytes()); // AuthenticationOk
    end(response, at);
    for (name, value) in [
        ("server_version", "16.4"),
        ("client_encoding", "UTF8"),
        ("DateStyle", "ISO, MDY"),
    ] {
        let at = begin(response, b'S');
        push_cstr(response, name.as_bytes());
        push_cstr(response, value.as_bytes());
        end(response, at);
    }
    let at = begin(response, b'K');
    response.extend_from_slice(&4242u32.to_be_bytes());
    response.extend_from_slice(&0x005E_C2E7_u32.to_be_bytes());
    end(response, at);
    push_ready(response);
    counts.sessions += 1;
}

/// Writes one simple Query and its reply (rows, a command tag, or an error), and counts them.
pub(crate) fn exchange(
    rng: &mut Rng,
    request: &mut Vec<u8>,
    response: &mut Vec<u8>,
    counts: &mut PostgresCounts,
) {
    request.clear();
    response.clear();
    let id = rng.below(1_000_000);
    let error = rng.percent(5);
    let at = begin(request, b'Q');
    let tag: &[u8] = match rng.weighted(&[70, 20, 10]) {
        0 => {
            request.extend_from_slice(b"SELECT id, status, note FROM orders WHERE customer_id = ");
            push_num(request, id);
            b"SELECT"
        }
        1 => {
            request.extend_from_slice(b"UPDATE orders SET status = 'paid' WHERE id = ");
            push_num(request, id);
            b"UPDATE 1"
        }
        _ => {
            request.extend_from_slice(b"INSERT INTO orders (customer_id, status) VALUES (");
            push_num(request, id);
            request.extend_from_slice(b", 'new')");
            b"INSERT 0 1"
        }
    };
    request.push(0);
    end(request, at);

    if error {
        let at = begin(response, b'E');
        for (code, value) in [
            (b'S', "ERROR"),
            (b'V', "ERROR"),
            (b'C', "40P01"),
            (b'M', "deadlock detected"),
        ] {
            response.push(code);
            push_cstr(response, value.as_bytes());
        }
        response.push(0);
        end(response, at);
    } else if tag == b"SELECT" {
        push_rows(rng, response);
    } else {
        push_complete(response, tag);
    }
    push_ready(response);
    counts.queries += 1;
    counts.errors += u64::from(error);
}

/// The Terminate message a client sends before closing.
pub(crate) fn terminate(request: &mut Vec<u8>) {
    request.clear();
    let at = begin(request, b'X');
    end(request, at);
}

/// RowDescription for (id int4, status text, note text), some DataRows, CommandComplete.
fn push_rows(rng: &mut Rng, out: &mut Vec<u8>) {
    let columns: [(&[u8], u32, i16); 3] = [(b"id", 23, 4), (b"status", 25, -1), (b"note", 25, -1)];
    let at = begin(out, b'T');
    out.extend_from_slice(&(columns.len() as u16).to_be_bytes());
    for (attribute, (name, type_oid, type_len)) in columns.iter().enumerate() {
        push_cstr(out, name);
        out.extend_from_slice(&16_384u32.to_be_bytes()); // table oid
        out.extend_from_slice(&(attribute as u16 + 1).to_be_bytes());
        out.extend_from_slice(&type_oid.to_be_bytes());
        out.extend_from_slice(&type_len.to_be_bytes());
        out.extend_from_slice(&(-1i32).to_be_bytes()); // type modifier
        out.extend_from_slice(&0u16.to_be_bytes()); // text format
    }
    end(out, at);
    let rows = rng.between(0, 12);
    for _ in 0..rows {
        let at = begin(out, b'D');
        out.extend_from_slice(&3u16.to_be_bytes());
        let mut id = Vec::new();
        push_num(&mut id, rng.below(1_000_000));
        let status: &[u8] = if rng.percent(50) { b"paid" } else { b"new" };
        let mut note = Vec::new();
        let len = rng.between(0, 200) as usize;
        push_filler(&mut note, rng, len);
        for value in [&id[..], status, &note[..]] {
            out.extend_from_slice(&(value.len() as u32).to_be_bytes());
            out.extend_from_slice(value);
        }
        end(out, at);
    }
    let mut tag = b"SELECT ".to_vec();
    push_num(&mut tag, rows);
    push_complete(out, &tag);
}

fn push_complete(out: &mut Vec<u8>, tag: &[u8]) {
    let at = begin(out, b'C');
    push_cstr(out, tag);
    end(out, at);
}

fn push_ready(out: &mut Vec<u8>) {
    let at = begin(out, b'Z');
    out.push(b'I');
    end(out, at);
}

fn push_cstr(out: &mut Vec<u8>, text: &[u8]) {
    out.extend_from_slice(text);
    out.push(0);
}

/// Starts a typed message; returns where its length field is.
fn begin(out: &mut Vec<u8>, kind: u8) -> usize {
    out.push(kind);
    begin_untyped(out)
}

/// Starts a message without a type byte (StartupMessage); returns where its length field is.
fn begin_untyped(out: &mut Vec<u8>) -> usize {
    let at = out.len();
    out.extend_from_slice(&[0, 0, 0, 0]);
    at
}

/// Fills the length field at `at`: the message's bytes from that field to the end.
fn end(out: &mut [u8], at: usize) {
    let len = (out.len() - at) as u32;
    if let Some(field) = out.get_mut(at..at + 4) {
        field.copy_from_slice(&len.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Walks typed messages, checking each length stays within the buffer; returns their types.
    fn message_types(mut bytes: &[u8]) -> Vec<u8> {
        let mut types = Vec::new();
        while let [kind, a, b, c, d, ..] = bytes {
            let len = u32::from_be_bytes([*a, *b, *c, *d]) as usize;
            types.push(*kind);
            bytes = &bytes[1 + len..];
        }
        assert!(bytes.is_empty());
        types
    }

    #[test]
    fn replies_frame_exactly_and_end_ready() {
        let mut rng = Rng::new(4);
        let (mut req, mut resp) = (Vec::new(), Vec::new());
        let mut counts = PostgresCounts::default();
        startup(&mut req, &mut resp, &mut counts);
        assert_eq!(
            u32::from_be_bytes([req[0], req[1], req[2], req[3]]) as usize,
            req.len()
        );
        assert_eq!(message_types(&resp), b"RSSSKZ");
        for _ in 0..300 {
            exchange(&mut rng, &mut req, &mut resp, &mut counts);
            assert_eq!(message_types(&req), b"Q");
            assert_eq!(message_types(&resp).last(), Some(&b'Z'));
        }
        terminate(&mut req);
        assert_eq!(message_types(&req), b"X");
        assert_eq!(counts.queries, 300);
    }
}
