//! Reading one header value safely: present once, short, printable; timestamps; ids.

use http::{HeaderMap, HeaderName};

use crate::WebhookRejection;

/// The longest header value looked at, in bytes. Longer values are refused unparsed.
///
/// Standard Webhooks allows several signatures in one header; 4 KiB holds dozens.
pub const MAX_HEADER_BYTES: usize = 4096;

/// The longest message id accepted, in bytes.
pub const MAX_MESSAGE_ID_BYTES: usize = 256;

/// The most digits a timestamp may have: enough for any date in the next millennia.
pub(crate) const MAX_TIMESTAMP_DIGITS: usize = 12;

/// The value of header `name`, if present exactly once and not longer than
/// [`MAX_HEADER_BYTES`].
///
/// `header` is a prepared [`HeaderName`]: looking a header up by `&str` would validate and
/// lowercase the name again on every request.
///
/// # Errors
///
/// [`WebhookRejection::DuplicateHeader`] when it appears twice;
/// `malformed` when it is too long or not printable ASCII.
fn optional<'a>(
    headers: &'a HeaderMap,
    header: &'static HeaderName,
    malformed: fn(&'static str) -> WebhookRejection,
) -> Result<Option<&'a str>, WebhookRejection> {
    let name = header.as_str();
    let mut values = headers.get_all(header).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(WebhookRejection::DuplicateHeader(name));
    }

    if value.len() > MAX_HEADER_BYTES {
        return Err(malformed(name));
    }
    value.to_str().map(Some).map_err(|_| malformed(name))
}

/// Like [`optional`], but a missing header is [`WebhookRejection::MissingSignature`].
pub(crate) fn required<'a>(
    headers: &'a HeaderMap,
    header: &'static HeaderName,
    malformed: fn(&'static str) -> WebhookRejection,
) -> Result<&'a str, WebhookRejection> {
    optional(headers, header, malformed)?
        .ok_or_else(|| WebhookRejection::MissingSignature(header.as_str()))
}

/// Parses a Unix timestamp in whole seconds: 1 to 12 ASCII digits, nothing else.
///
/// Signs, spaces, fractions and leading `+` are refused, so one timestamp has one spelling.
///
/// ```
/// use auren_webhook::scheme::parse_timestamp;
///
/// assert_eq!(parse_timestamp("1614265330"), Some(1_614_265_330));
/// assert_eq!(parse_timestamp("-5"), None);
/// assert_eq!(parse_timestamp("1e9"), None);
/// assert_eq!(parse_timestamp(""), None);
/// ```
pub fn parse_timestamp(value: &str) -> Option<i64> {
    let digits_only = value.bytes().all(|byte| byte.is_ascii_digit());
    if value.is_empty() || value.len() > MAX_TIMESTAMP_DIGITS || !digits_only {
        return None;
    }
    value.parse().ok()
}

/// The decimal text of a timestamp that [`parse_timestamp`] accepted, as the sender signs
/// it: `format!("{t}")` of the parsed value, which only drops leading zeros.
pub(crate) fn canonical_digits(valid: &str) -> &str {
    match valid.trim_start_matches('0') {
        "" => "0",
        digits => digits,
    }
}

/// Checks a message id: 1 to [`MAX_MESSAGE_ID_BYTES`] printable ASCII characters, no space.
///
/// ```
/// use auren_webhook::scheme::is_valid_message_id;
///
/// assert!(is_valid_message_id("msg_p5jXN8AQM9LWM0D4loKWxJek"));
/// assert!(!is_valid_message_id(""));
/// assert!(!is_valid_message_id("two words"));
/// ```
pub fn is_valid_message_id(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= MAX_MESSAGE_ID_BYTES
        && value.bytes().all(|byte| byte.is_ascii_graphic())
}

/// The value of each hex digit (either case); [`NOT_HEX`] for every other byte.
const HEX_VALUES: [u8; 256] = {
    let mut values = [NOT_HEX; 256];
    let mut digit = 0;
    while digit < 16 {
        let lower = b"0123456789abcdef"[digit];
        let upper = b"0123456789ABCDEF"[digit];
        values[lower as usize] = digit as u8;
        values[upper as usize] = digit as u8;
        digit += 1;
    }
    values
};

/// Marks a byte that is not a hex digit; any value above 15 would do.
const NOT_HEX: u8 = 0xff;

/// Decodes exactly 64 hex digits (either case) into a 32-byte tag.
///
/// A table lookup per digit, in less than half the instructions of the `hex` crate's
/// general decoder. The digits are the sender's, not a secret, so nothing needs to be
/// hidden about them.
pub(crate) fn decode_hex_tag(value: &str) -> Option<[u8; 32]> {
    let digits: &[u8; 64] = value.as_bytes().try_into().ok()?;
    let (pairs, _) = digits.as_chunks::<2>();

    let mut tag = [0_u8; 32];
    let mut invalid = 0_u8;
    for (byte, &[high, low]) in tag.iter_mut().zip(pairs) {
        let (high, low) = (HEX_VALUES[usize::from(high)], HEX_VALUES[usize::from(low)]);
        invalid |= high | low;
        *byte = (high << 4) | low;
    }
    (invalid & 0xf0 == 0).then_some(tag)
}

/// Lowercase hex of a 32-byte tag, appended to `out`.
pub(crate) fn push_hex(out: &mut String, tag: &[u8; 32]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = [0_u8; 64];
    for (pair, byte) in text.chunks_exact_mut(2).zip(tag) {
        pair[0] = DIGITS[usize::from(byte >> 4)];
        pair[1] = DIGITS[usize::from(byte & 0x0f)];
    }
    // Every byte is an ASCII hex digit, so this cannot fail.
    out.push_str(std::str::from_utf8(&text).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn timestamps_have_one_spelling() {
        assert_eq!(parse_timestamp("0"), Some(0));
        assert_eq!(parse_timestamp("999999999999"), Some(999_999_999_999));
        for bad in ["+1", " 1", "1 ", "1.5", "9999999999999", "١٢٣", "0x10"] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }

    #[test]
    fn canonical_digits_match_the_parsed_value() {
        for text in [
            "0",
            "000",
            "7",
            "0042",
            "1700000000",
            "000000000001",
            "999999999999",
        ] {
            let parsed = parse_timestamp(text).expect("digits");
            assert_eq!(canonical_digits(text), parsed.to_string(), "{text}");
        }
    }

    #[test]
    fn duplicated_long_and_binary_headers_are_refused() {
        static X_A: HeaderName = HeaderName::from_static("x-a");
        static X_B: HeaderName = HeaderName::from_static("x-b");
        static X_C: HeaderName = HeaderName::from_static("x-c");
        static X_D: HeaderName = HeaderName::from_static("x-d");
        let mut headers = HeaderMap::new();
        headers.append("x-a", HeaderValue::from_static("1"));
        headers.append("x-a", HeaderValue::from_static("2"));
        let long = "a".repeat(10 * 1024);
        headers.insert("x-b", HeaderValue::from_str(&long).expect("ascii"));
        headers.insert("x-c", HeaderValue::from_bytes(b"\xff\xfe").expect("opaque"));

        let malformed = WebhookRejection::MalformedSignature;
        assert_eq!(
            optional(&headers, &X_A, malformed),
            Err(WebhookRejection::DuplicateHeader("x-a"))
        );
        assert_eq!(optional(&headers, &X_B, malformed), Err(malformed("x-b")));
        assert_eq!(optional(&headers, &X_C, malformed), Err(malformed("x-c")));
        assert_eq!(
            required(&headers, &X_D, malformed),
            Err(WebhookRejection::MissingSignature("x-d"))
        );
    }

    #[test]
    fn hex_tags_are_exactly_32_bytes() {
        assert!(decode_hex_tag(&"ab".repeat(32)).is_some());
        assert!(decode_hex_tag(&"AB".repeat(32)).is_some());
        assert!(decode_hex_tag(&"ab".repeat(31)).is_none());
        assert!(decode_hex_tag(&"ab".repeat(33)).is_none());
        assert!(decode_hex_tag("").is_none());
        assert!(decode_hex_tag(&"zz".repeat(32)).is_none());
        assert!(decode_hex_tag(&format!("{}g", "a".repeat(63))).is_none());
        assert!(decode_hex_tag(&"\u{e9}".repeat(32)).is_none());
    }

    #[test]
    fn hex_tags_decode_and_encode_like_the_hex_crate() {
        let tag: [u8; 32] = std::array::from_fn(|index| (index as u8).wrapping_mul(37));
        let lower = hex::encode(tag);
        assert_eq!(decode_hex_tag(&lower), Some(tag));
        assert_eq!(decode_hex_tag(&lower.to_uppercase()), Some(tag));

        let mut encoded = String::from("sig:");
        push_hex(&mut encoded, &tag);
        assert_eq!(encoded, format!("sig:{lower}"));
    }
}
