//! Reading one header value safely: present once, short, printable; timestamps; ids.

use http::HeaderMap;

use crate::WebhookRejection;

/// The longest header value looked at, in bytes. Longer values are refused unparsed.
///
/// Standard Webhooks allows several signatures in one header; 4 KiB holds dozens.
pub const MAX_HEADER_BYTES: usize = 4096;

/// The longest message id accepted, in bytes.
pub const MAX_MESSAGE_ID_BYTES: usize = 256;

/// The most digits a timestamp may have: enough for any date in the next millennia.
const MAX_TIMESTAMP_DIGITS: usize = 12;

/// The value of header `name`, if present exactly once and not longer than
/// [`MAX_HEADER_BYTES`].
///
/// # Errors
///
/// [`WebhookRejection::DuplicateHeader`] when it appears twice;
/// `malformed` when it is too long or not printable ASCII.
fn optional<'a>(
    headers: &'a HeaderMap,
    name: &'static str,
    malformed: fn(&'static str) -> WebhookRejection,
) -> Result<Option<&'a str>, WebhookRejection> {
    let mut values = headers.get_all(name).iter();
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
    name: &'static str,
    malformed: fn(&'static str) -> WebhookRejection,
) -> Result<&'a str, WebhookRejection> {
    optional(headers, name, malformed)?.ok_or(WebhookRejection::MissingSignature(name))
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

/// Decodes exactly 64 hex digits (either case) into a 32-byte tag.
pub(crate) fn decode_hex_tag(value: &str) -> Option<[u8; 32]> {
    let mut tag = [0_u8; 32];
    hex::decode_to_slice(value, &mut tag).ok()?;
    Some(tag)
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
    fn duplicated_long_and_binary_headers_are_refused() {
        let mut headers = HeaderMap::new();
        headers.append("x-a", HeaderValue::from_static("1"));
        headers.append("x-a", HeaderValue::from_static("2"));
        let long = "a".repeat(10 * 1024);
        headers.insert("x-b", HeaderValue::from_str(&long).expect("ascii"));
        headers.insert("x-c", HeaderValue::from_bytes(b"\xff\xfe").expect("opaque"));

        let malformed = WebhookRejection::MalformedSignature;
        assert_eq!(
            optional(&headers, "x-a", malformed),
            Err(WebhookRejection::DuplicateHeader("x-a"))
        );
        assert_eq!(optional(&headers, "x-b", malformed), Err(malformed("x-b")));
        assert_eq!(optional(&headers, "x-c", malformed), Err(malformed("x-c")));
        assert_eq!(
            required(&headers, "x-d", malformed),
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
    }
}
