//! ULID request ids on every request and every response.

use std::fmt;
use std::str::FromStr;
use std::task::{Context, Poll};

use http::{HeaderName, HeaderValue, Request, Response};
use tower::{Layer, Service};
use tower_http::request_id::{
    MakeRequestId, PropagateRequestId, PropagateRequestIdLayer, SetRequestId, SetRequestIdLayer,
};
use ulid::Ulid;

/// The header that carries the request id, in both directions.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// A request's id: a ULID, so ids sort by the time they were made.
///
/// [`RequestIdLayer`] puts one into every request's extensions.
///
/// # Example
///
/// ```
/// use auren_core::RequestId;
///
/// let id = RequestId::new();
/// let parsed: RequestId = id.to_string().parse().unwrap();
/// assert_eq!(id, parsed);
/// assert!("not-a-ulid".parse::<RequestId>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(Ulid);

impl RequestId {
    /// A fresh id for the current instant.
    pub fn new() -> Self {
        Self(Ulid::new())
    }

    /// The ULID inside.
    pub fn ulid(&self) -> Ulid {
        self.0
    }

    /// The id that [`RequestIdLayer`] stored in these extensions, if any.
    ///
    /// ```
    /// use auren_core::RequestId;
    ///
    /// let mut extensions = http::Extensions::new();
    /// assert_eq!(RequestId::from_extensions(&extensions), None);
    /// let id = RequestId::new();
    /// extensions.insert(id);
    /// assert_eq!(RequestId::from_extensions(&extensions), Some(id));
    /// ```
    pub fn from_extensions(extensions: &http::Extensions) -> Option<Self> {
        extensions.get::<RequestId>().copied()
    }
}

impl Default for RequestId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for RequestId {
    type Err = ulid::DecodeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ulid::from_string(s).map(Self)
    }
}

/// The ULID generator that tower-http's request-id layers use here.
///
/// ```
/// use auren_core::UlidRequestIds;
/// use tower_http::request_id::MakeRequestId;
///
/// let request = http::Request::new(());
/// let id = UlidRequestIds.make_request_id(&request).unwrap();
/// assert_eq!(id.header_value().len(), 26);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct UlidRequestIds;

impl MakeRequestId for UlidRequestIds {
    fn make_request_id<B>(
        &mut self,
        _request: &Request<B>,
    ) -> Option<tower_http::request_id::RequestId> {
        let value = HeaderValue::from_str(&Ulid::new().to_string()).ok()?;
        Some(tower_http::request_id::RequestId::new(value))
    }
}

/// Gives every request a ULID request id and returns it on every response.
///
/// An incoming `x-request-id` is kept only when it is a valid ULID; anything else is
/// replaced by a fresh id and never echoed. The id is stored in the request's extensions
/// as a [`RequestId`] and sent back as `x-request-id` on every response, errors included.
/// Place this layer outermost so that everything inside can see the id.
///
/// # Example
///
/// ```
/// use auren_core::{RequestId, RequestIdLayer};
/// use tower::{service_fn, Layer, ServiceExt};
///
/// # tokio_test();
/// # fn tokio_test() {
/// # let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// # rt.block_on(async {
/// let service = RequestIdLayer::new().layer(service_fn(|request: http::Request<()>| async move {
///     let id = RequestId::from_extensions(request.extensions()).unwrap();
///     Ok::<_, std::convert::Infallible>(http::Response::new(id.to_string()))
/// }));
///
/// let request = http::Request::builder()
///     .header("x-request-id", "not-a-ulid")
///     .body(())
///     .unwrap();
/// let response = service.oneshot(request).await.unwrap();
/// let header = response.headers()["x-request-id"].to_str().unwrap().to_owned();
/// assert_ne!(header, "not-a-ulid");
/// assert_eq!(&header, response.body());
/// # });
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestIdLayer {
    _private: (),
}

impl RequestIdLayer {
    /// A layer with the standard `x-request-id` header.
    pub fn new() -> Self {
        Self { _private: () }
    }
}

impl<S> Layer<S> for RequestIdLayer {
    type Service = RequestIdService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        let propagate = PropagateRequestIdLayer::new(REQUEST_ID_HEADER).layer(inner);
        let set = SetRequestIdLayer::new(REQUEST_ID_HEADER, UlidRequestIds).layer(propagate);
        RequestIdService { inner: set }
    }
}

/// The service made by [`RequestIdLayer`].
#[derive(Debug, Clone)]
pub struct RequestIdService<S> {
    inner: SetRequestId<PropagateRequestId<S>, UlidRequestIds>,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RequestIdService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future =
        <SetRequestId<PropagateRequestId<S>, UlidRequestIds> as Service<Request<ReqBody>>>::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let id = accepted_incoming_id(&request).unwrap_or_default();

        // A fresh or re-encoded header means tower-http keeps it as it is, so the header,
        // the extension and the response all carry the same canonical ULID.
        let headers = request.headers_mut();
        headers.remove(&REQUEST_ID_HEADER);
        if let Ok(value) = HeaderValue::from_str(&id.to_string()) {
            headers.insert(REQUEST_ID_HEADER, value);
        }
        request.extensions_mut().insert(id);

        self.inner.call(request)
    }
}

/// The incoming id, when there is exactly one header and it is a valid ULID.
fn accepted_incoming_id<B>(request: &Request<B>) -> Option<RequestId> {
    let mut values = request.headers().get_all(&REQUEST_ID_HEADER).iter();
    let value = values.next()?;
    if values.next().is_some() {
        return None;
    }
    let text = value.to_str().ok()?;
    if text.len() != ulid::ULID_LEN {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;
    use tower::{service_fn, ServiceExt};

    async fn round_trip(incoming: &[&str]) -> (String, RequestId) {
        let service = RequestIdLayer::new().layer(service_fn(|request: Request<()>| async move {
            let id = RequestId::from_extensions(request.extensions()).expect("id is set");
            Ok::<_, Infallible>(Response::new(id))
        }));
        let mut builder = Request::builder();
        for value in incoming {
            builder = builder.header("x-request-id", *value);
        }
        let response = service
            .oneshot(builder.body(()).expect("request"))
            .await
            .expect("infallible");
        let header = response.headers()["x-request-id"]
            .to_str()
            .expect("ascii")
            .to_owned();
        (header, *response.body())
    }

    #[tokio::test]
    async fn fresh_ulid_when_header_is_absent() {
        let (header, id) = round_trip(&[]).await;
        assert_eq!(header, id.to_string());
        assert!(header.parse::<RequestId>().is_ok());
    }

    #[tokio::test]
    async fn valid_incoming_ulid_is_kept() {
        let incoming = Ulid::new().to_string();
        let (header, id) = round_trip(&[&incoming]).await;
        assert_eq!(header, incoming);
        assert_eq!(id.to_string(), incoming);
    }

    #[tokio::test]
    async fn invalid_or_duplicated_headers_are_replaced_never_echoed() {
        let ulid = Ulid::new().to_string();
        let cases: [&[&str]; 5] = [
            &["not-a-ulid"],
            &[""],
            &["ZZZZZZZZZZZZZZZZZZZZZZZZZZ"],
            &["01ARZ3NDEKTSV4RRFFQ69G5FAV<script>"],
            &[&ulid, &ulid],
        ];
        for incoming in cases {
            let (header, id) = round_trip(incoming).await;
            assert_eq!(header, id.to_string());
            assert!(
                !incoming.contains(&header.as_str()),
                "{incoming:?} was echoed"
            );
        }
    }
}
