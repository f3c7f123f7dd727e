//! Kafka's primitive types (<https://kafka.apache.org/protocol#protocol_types>) read with
//! bounds checks: a short or hostile message gives `None`, never a panic.

/// A bounds-checked cursor over Kafka primitive types.
pub(super) struct Reader<'a> {
    data: &'a [u8],
    /// Bytes read so far.
    pub(super) pos: usize,
}

impl<'a> Reader<'a> {
    /// A cursor at the start of `data`.
    pub(super) fn new(data: &'a [u8]) -> Self {
        Reader { data, pos: 0 }
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let bytes = self.data.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(bytes)
    }

    /// Passes over `n` bytes.
    pub(super) fn skip(&mut self, n: usize) -> Option<()> {
        self.take(n).map(|_| ())
    }

    /// A big-endian INT16.
    pub(super) fn i16(&mut self) -> Option<i16> {
        Some(i16::from_be_bytes(self.take(2)?.try_into().ok()?))
    }

    /// A big-endian INT32.
    pub(super) fn i32(&mut self) -> Option<i32> {
        Some(i32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }

    /// Unsigned varint (at most 5 bytes for a 32-bit value).
    pub(super) fn uvarint(&mut self) -> Option<u32> {
        let mut value = 0u32;
        for shift in (0..35).step_by(7) {
            let byte = *self.take(1)?.first()?;
            value |= u32::from(byte & 0x7f).checked_shl(shift)?;
            if byte & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }

    /// Length of a compact (varint N+1) string, bytes or array; 0 for null.
    pub(super) fn compact_len(&mut self) -> Option<usize> {
        Some(usize::try_from(self.uvarint()?).ok()?.saturating_sub(1))
    }

    fn text(&mut self, len: usize) -> Option<String> {
        Some(String::from_utf8_lossy(self.take(len)?).into_owned())
    }

    /// A NULLABLE_STRING (INT16 length, -1 for null).
    pub(super) fn nullable_string(&mut self) -> Option<Option<String>> {
        match self.i16()? {
            -1 => Some(None),
            len => self.text(usize::try_from(len).ok()?).map(Some),
        }
    }

    /// A COMPACT_NULLABLE_STRING (varint length + 1, 0 for null).
    pub(super) fn compact_nullable_string(&mut self) -> Option<Option<String>> {
        match self.uvarint()? {
            0 => Some(None),
            len => self.text(usize::try_from(len - 1).ok()?).map(Some),
        }
    }

    /// A (compact when `flexible`) non-null string.
    pub(super) fn any_string(&mut self, flexible: bool) -> Option<String> {
        if flexible {
            self.compact_nullable_string()?
        } else {
            self.nullable_string()?
        }
    }

    /// Element count of a (compact when `flexible`) array, at most the bytes left (every element
    /// takes at least one), so a hostile count cannot drive a long loop.
    pub(super) fn array_len(&mut self, flexible: bool) -> Option<usize> {
        let count = if flexible {
            self.compact_len()?
        } else {
            usize::try_from(self.i32()?).unwrap_or(0)
        };
        (count <= self.data.len().saturating_sub(self.pos)).then_some(count)
    }

    /// Passes over a tagged-field section (KIP-482).
    pub(super) fn tagged_fields(&mut self) -> Option<()> {
        let count = self.uvarint()?;
        for _ in 0..count {
            self.uvarint()?; // tag
            let size = usize::try_from(self.uvarint()?).ok()?;
            self.skip(size)?;
        }
        Some(())
    }
}
