//! A WebSocket frame header (RFC 6455 §5.2): FIN, RSV1 (permessage-deflate's "compressed"),
//! opcode, mask bit, a 7-bit length extended to 16 or 64 bits, and the masking key.

/// Continuation of a fragmented message.
pub(super) const CONTINUATION: u8 = 0;
/// A close frame.
pub(super) const CLOSE: u8 = 8;
/// Longest header: 2 bytes, 8 of extended length, 4 of masking key.
pub(super) const MAX_HEADER: usize = 14;

/// What a frame header says.
#[derive(Debug, Clone, Copy)]
pub(super) struct FrameHeader {
    /// The last frame of its message.
    pub fin: bool,
    /// RSV1: the message is compressed (permessage-deflate), set on its first frame.
    pub rsv1: bool,
    /// The opcode.
    pub opcode: u8,
    /// The masking key (frames from the client are masked).
    pub mask: Option<[u8; 4]>,
    /// Payload bytes.
    pub len: u64,
    /// Header bytes.
    pub header_len: usize,
}

/// The header at the start of `bytes`: `Ok(None)` when more bytes are needed, `Err` when the
/// bytes cannot start a frame (a 64-bit length with its top bit set).
pub(super) fn read_header(bytes: &[u8]) -> Result<Option<FrameHeader>, &'static str> {
    let (Some(&b0), Some(&b1)) = (bytes.first(), bytes.get(1)) else {
        return Ok(None);
    };
    let masked = b1 & 0x80 != 0;
    let (len, at) = match b1 & 0x7f {
        126 => match bytes.get(2..4) {
            Some(ext) => (u64::from(u16::from_be_bytes([ext[0], ext[1]])), 4),
            None => return Ok(None),
        },
        127 => match bytes
            .get(2..10)
            .and_then(|ext| <[u8; 8]>::try_from(ext).ok())
        {
            Some(ext) if ext[0] & 0x80 != 0 => return Err("a frame length with its top bit set"),
            Some(ext) => (u64::from_be_bytes(ext), 10),
            None => return Ok(None),
        },
        short => (u64::from(short), 2),
    };
    let (mask, header_len) = if masked {
        match bytes
            .get(at..at + 4)
            .and_then(|key| <[u8; 4]>::try_from(key).ok())
        {
            Some(key) => (Some(key), at + 4),
            None => return Ok(None),
        }
    } else {
        (None, at)
    };
    Ok(Some(FrameHeader {
        fin: b0 & 0x80 != 0,
        rsv1: b0 & 0x40 != 0,
        opcode: b0 & 0x0f,
        mask,
        len,
        header_len,
    }))
}

/// The name of an opcode as the entry shows it.
pub(super) fn opcode_name(opcode: u8) -> &'static str {
    match opcode {
        CONTINUATION => "continuation",
        1 => "text",
        2 => "binary",
        CLOSE => "close",
        9 => "ping",
        10 => "pong",
        _ => "reserved",
    }
}

/// Unmasks `payload`, whose first byte is byte `offset` of its frame's payload, in place.
pub(super) fn unmask(payload: &mut [u8], key: [u8; 4], offset: u64) {
    for (i, byte) in payload.iter_mut().enumerate() {
        *byte ^= key[((offset + i as u64) % 4) as usize];
    }
}
