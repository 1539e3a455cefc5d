//! What a request presents, borrowed from its headers: the per-request form of
//! [`SignedHeaders`](super::SignedHeaders) that verification uses without allocating.

use super::SignedHeaders;

/// Decoded signatures kept inline before any spill to the heap; a secret roll sends two.
const INLINE_SIGNATURES: usize = 2;

/// The parsed signature headers of one request, borrowing the header values.
#[derive(Debug)]
pub(crate) struct Presented<'a> {
    /// The signed timestamp in Unix seconds, for schemes that sign one.
    pub(crate) timestamp: Option<i64>,
    /// That timestamp as the sender signs it (`format!("{t}")`), for schemes that sign one.
    pub(crate) timestamp_digits: Option<&'a str>,
    /// The sender's message id, for schemes that send one.
    pub(crate) message_id: Option<&'a str>,
    /// Whether the message id is part of the signed content.
    pub(crate) message_id_signed: bool,
    /// Every decoded signature of a supported version.
    pub(crate) signatures: Candidates,
}

impl Presented<'_> {
    /// What the sender signed before the body, in order: each part is followed by a `.`
    /// (`{id}.{t}.`, `{t}.` or nothing).
    pub(crate) fn prefix_parts(&self) -> impl Iterator<Item = &str> {
        let id = self.message_id.filter(|_| self.message_id_signed);
        id.into_iter().chain(self.timestamp_digits)
    }

    /// The owned form, for [`WebhookScheme::parse_headers`](super::WebhookScheme).
    pub(crate) fn to_signed_headers(&self) -> SignedHeaders {
        let mut signed_prefix = Vec::new();
        for part in self.prefix_parts() {
            signed_prefix.extend_from_slice(part.as_bytes());
            signed_prefix.push(b'.');
        }

        SignedHeaders {
            timestamp: self.timestamp,
            message_id: self.message_id.map(str::to_owned),
            signatures: self.signatures.iter().copied().collect(),
            signed_prefix,
        }
    }
}

/// Decoded 32-byte signatures: the first few inline, any others on the heap.
///
/// A header may list dozens of signatures, but nearly every request has one or two, so
/// the common case allocates nothing.
#[derive(Debug, Default)]
pub(crate) struct Candidates {
    inline: [[u8; 32]; INLINE_SIGNATURES],
    len: usize,
    spilled: Vec<[u8; 32]>,
}

impl Candidates {
    /// Exactly one signature.
    pub(crate) fn one(signature: [u8; 32]) -> Self {
        let mut candidates = Self::default();
        candidates.push(signature);
        candidates
    }

    /// Adds a signature after the others.
    pub(crate) fn push(&mut self, signature: [u8; 32]) {
        match self.inline.get_mut(self.len) {
            Some(slot) => {
                *slot = signature;
                self.len += 1;
            }
            None => self.spilled.push(signature),
        }
    }

    /// Whether no signature was kept.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The signatures in the order they were presented.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &[u8; 32]> {
        self.inline[..self.len].iter().chain(&self.spilled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_keep_their_order_past_the_inline_ones() {
        let mut candidates = Candidates::default();
        assert!(candidates.is_empty());
        for index in 0..7_u8 {
            candidates.push([index; 32]);
        }
        let order: Vec<u8> = candidates.iter().map(|signature| signature[0]).collect();
        assert_eq!(order, [0, 1, 2, 3, 4, 5, 6]);
        assert!(!candidates.is_empty());
    }

    #[test]
    fn the_prefix_has_the_signed_id_then_the_timestamp() {
        let mut presented = Presented {
            timestamp: Some(1_700_000_000),
            timestamp_digits: Some("1700000000"),
            message_id: Some("msg_1"),
            message_id_signed: true,
            signatures: Candidates::default(),
        };
        assert_eq!(
            presented.to_signed_headers().signed_prefix(),
            b"msg_1.1700000000."
        );

        presented.message_id_signed = false;
        assert_eq!(
            presented.to_signed_headers().signed_prefix(),
            b"1700000000."
        );

        presented.timestamp_digits = None;
        assert_eq!(presented.to_signed_headers().signed_prefix(), b"");
    }
}
