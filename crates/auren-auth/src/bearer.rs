//! Reading the bearer token from the `Authorization` header.

use http::header::AUTHORIZATION;
use http::HeaderMap;

use crate::AuthRejection;

/// The token of the one `Authorization: Bearer <token>` header of a request.
///
/// Strict on purpose: exactly one header, the scheme spelled `Bearer`, one space, and a
/// token of visible ASCII characters only.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Result<&str, AuthRejection> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Err(AuthRejection::MissingCredentials);
    };
    if values.next().is_some() {
        return Err(AuthRejection::MalformedHeader(
            "more than one Authorization header",
        ));
    }

    let bytes = value.as_bytes();
    if bytes.is_empty() {
        return Err(AuthRejection::MissingCredentials);
    }
    let token = bytes
        .strip_prefix(b"Bearer ")
        .ok_or(AuthRejection::MalformedHeader(
            "the scheme is not `Bearer `",
        ))?;
    if token.is_empty() || !token.iter().all(|b| b.is_ascii_graphic()) {
        return Err(AuthRejection::MalformedHeader(
            "the token is empty or not visible ASCII",
        ));
    }

    std::str::from_utf8(token).map_err(|_| AuthRejection::MalformedHeader("not ASCII"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn token(values: &[&[u8]]) -> Result<String, AuthRejection> {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(
                AUTHORIZATION,
                HeaderValue::from_bytes(value).expect("header value"),
            );
        }
        bearer_token(&headers).map(str::to_owned)
    }

    #[test]
    fn only_one_exact_bearer_header_is_accepted() {
        assert_eq!(token(&[b"Bearer abc"]), Ok("abc".to_owned()));
        assert_eq!(token(&[]), Err(AuthRejection::MissingCredentials));
        assert_eq!(token(&[b""]), Err(AuthRejection::MissingCredentials));
        for bad in [
            &b"Bearer"[..],
            b"Bearer ",
            b"bearer abc",
            b"Bearer\tabc",
            b"Bearer  abc",
            b"Bearer abc def",
            b"Basic abc",
            b"Bearer \xc3\xa9",
        ] {
            assert!(
                matches!(token(&[bad]), Err(AuthRejection::MalformedHeader(_))),
                "{bad:?}"
            );
        }
        assert!(matches!(
            token(&[b"Bearer abc", b"Bearer abc"]),
            Err(AuthRejection::MalformedHeader(_))
        ));
    }
}
