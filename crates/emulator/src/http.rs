//! Small HTTP helpers over hyper: response builders, request bodies read with
//! limits and throttles, and response bodies that can be slowed or cut off.

use std::convert::Infallible;
use std::io;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::stream;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{HeaderValue, CONTENT_LENGTH, CONTENT_TYPE};
use hyper::{HeaderMap, StatusCode};

pub type Body = BoxBody<Bytes, io::Error>;
pub type Request = hyper::Request<Incoming>;
pub type Response = hyper::Response<Body>;

/// What a route decided: an answer, or dropping the connection unanswered.
pub enum Outcome {
    Respond(Response),
    /// Close the connection now (a reset, as the client sees it).
    Reset,
}

impl From<Response> for Outcome {
    fn from(response: Response) -> Self {
        Outcome::Respond(response)
    }
}

pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).map_err(|never: Infallible| match never {}).boxed()
}

pub fn response(status: u16, content_type: Option<&str>, body: impl Into<Bytes>) -> Response {
    let mut response = hyper::Response::new(full(body));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Some(ct) = content_type {
        response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_str(ct).expect("valid content type"));
    }
    response
}

pub fn json(status: u16, value: &impl serde::Serialize) -> Response {
    response(status, Some("application/json"), serde_json::to_vec(value).expect("JSON serialises"))
}

pub fn text(status: u16, body: impl Into<String>) -> Response {
    response(status, Some("text/plain;charset=utf-8"), body.into())
}

pub fn html(status: u16, body: impl Into<String>) -> Response {
    response(status, Some("text/html;charset=utf-8"), body.into())
}

pub fn no_content(status: u16) -> Response {
    response(status, None, Bytes::new())
}

/// The declared body length, or `None` for chunked / missing.
pub fn content_length(headers: &HeaderMap) -> Option<u64> {
    if headers.contains_key(hyper::header::TRANSFER_ENCODING) {
        return None;
    }
    headers.get(CONTENT_LENGTH)?.to_str().ok()?.trim().parse().ok()
}

pub fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Paces a body to a byte rate, measured from when the pacer was made.
pub struct Pacer {
    rate: u64,
    started: Instant,
    bytes: u64,
}

impl Pacer {
    pub fn new(rate: u64) -> Pacer {
        Pacer { rate: rate.max(1), started: Instant::now(), bytes: 0 }
    }

    /// Accounts for `n` more bytes and sleeps until the rate allows them.
    pub async fn pace(&mut self, n: usize) {
        self.bytes += n as u64;
        let due = Duration::from_secs_f64(self.bytes as f64 / self.rate as f64);
        let elapsed = self.started.elapsed();
        if due > elapsed {
            tokio::time::sleep(due - elapsed).await;
        }
    }
}

/// Why a body could not be read whole.
#[derive(Debug)]
pub enum BodyError {
    /// The connection broke or the client stopped sending.
    Broken,
    TooLarge,
}

/// Reads a whole (small) request body, at most `limit` bytes, optionally paced.
pub async fn read_body(body: &mut Incoming, limit: usize, pace: Option<u64>) -> Result<Bytes, BodyError> {
    let mut pacer = pace.map(Pacer::new);
    let mut collected = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| BodyError::Broken)?;
        if let Ok(data) = frame.into_data() {
            if collected.len() + data.len() > limit {
                return Err(BodyError::TooLarge);
            }
            collected.extend_from_slice(&data);
            if let Some(p) = pacer.as_mut() {
                p.pace(data.len()).await;
            }
        }
    }
    Ok(Bytes::from(collected))
}

/// Reads and discards up to `n` bytes of a body (`None`: all of it).
pub async fn drain(body: &mut Incoming, n: Option<u64>) -> u64 {
    let mut read = 0u64;
    while n.is_none_or(|n| read < n) {
        match body.frame().await {
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    read += data.len() as u64;
                }
            }
            _ => break,
        }
    }
    read
}

/// Re-bodies a response so it trickles out at `rate` bytes per second.
pub async fn slow_response(response: Response, rate: u64) -> Response {
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.map(|c| c.to_bytes()).unwrap_or_default();
    let step = (rate / 10).max(1) as usize;
    let chunks: Vec<Bytes> =
        (0..bytes.len()).step_by(step).map(|i| bytes.slice(i..(i + step).min(bytes.len()))).collect();
    let interval = Duration::from_secs_f64(step as f64 / rate.max(1) as f64);
    let frames = stream::unfold((chunks.into_iter(), false), move |(mut it, started)| async move {
        let chunk = it.next()?;
        if started {
            tokio::time::sleep(interval).await;
        }
        Some((Ok::<_, io::Error>(Frame::data(chunk)), (it, true)))
    });
    hyper::Response::from_parts(parts, StreamBody::new(frames).boxed())
}

/// Re-bodies a response so the connection breaks halfway through its body.
pub async fn truncated_response(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let mut bytes = body.collect().await.map(|c| c.to_bytes()).unwrap_or_default();
    if bytes.len() < 2 {
        bytes = Bytes::from_static(b"{}");
    }
    parts.headers.insert(CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    let half = bytes.slice(..bytes.len() / 2);
    let frames = stream::iter(vec![
        Ok(Frame::data(half)),
        Err(io::Error::new(io::ErrorKind::ConnectionReset, "injected reset mid-body")),
    ]);
    hyper::Response::from_parts(parts, StreamBody::new(frames).boxed())
}

/// Percent-decodes a URL path into UTF-8 (`None` for invalid UTF-8).
pub fn decode_path(path: &str) -> Option<String> {
    percent_encoding::percent_decode_str(path).decode_utf8().ok().map(|s| s.into_owned())
}

/// Encodes each segment of a DAM path for use in a URL.
pub fn encode_path(path: &str) -> String {
    const SEGMENT: &percent_encoding::AsciiSet =
        &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
    path.split('/').map(|s| percent_encoding::utf8_percent_encode(s, SEGMENT).to_string()).collect::<Vec<_>>().join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_round_trip() {
        let path = "/content/dam/My Folder/ünï #1.jpg";
        let encoded = encode_path(path);
        assert_eq!(encoded, "/content/dam/My%20Folder/%C3%BCn%C3%AF%20%231.jpg");
        assert_eq!(decode_path(&encoded).as_deref(), Some(path));
        assert_eq!(decode_path("/%FF"), None);
    }

    #[test]
    fn content_length_ignores_chunked() {
        let mut h = HeaderMap::new();
        h.insert(CONTENT_LENGTH, HeaderValue::from_static("12"));
        assert_eq!(content_length(&h), Some(12));
        h.insert(hyper::header::TRANSFER_ENCODING, HeaderValue::from_static("chunked"));
        assert_eq!(content_length(&h), None);
    }
}
