//! BSON built by hand for the MongoDB tests: a document of typed elements and a string value.

/// A document of `elements` (type, name, value bytes each), in order.
pub(super) fn doc(elements: &[(u8, &str, Vec<u8>)]) -> Vec<u8> {
    let mut body = Vec::new();
    for (kind, name, value) in elements {
        body.push(*kind);
        body.extend_from_slice(name.as_bytes());
        body.push(0);
        body.extend_from_slice(value);
    }
    body.push(0);
    let mut out = ((body.len() + 4) as i32).to_le_bytes().to_vec();
    out.extend(body);
    out
}

/// A string value: its length with the terminating NUL, the bytes, the NUL.
pub(super) fn string(text: &str) -> Vec<u8> {
    let mut out = ((text.len() + 1) as i32).to_le_bytes().to_vec();
    out.extend_from_slice(text.as_bytes());
    out.push(0);
    out
}
