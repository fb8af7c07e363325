//! The HTTP client every transfer shares: reqwest over the SDK's own rustls configuration
//! (`caFile` from Init, else the system's roots: `client::tls`), HTTP/1.1, at most
//! [`MAX_REDIRECTS`] redirects, no proxy taken from the environment.

use std::fmt::Write as _;

use reqwest::header::{HeaderName, HeaderValue};
use reqwest::redirect::{Attempt, Policy};

use super::outcome::Rslt;
use crate::client::handshake::TlsSettings;

/// Redirects followed in a row; the answer after that is the transfer's end
/// (`1000 + its status`).
pub const MAX_REDIRECTS: usize = 5;

/// The client, verifying certificates with the SDK connection's configuration.
pub fn build(tls: &TlsSettings) -> Result<reqwest::Client, Rslt> {
    let config = tls.config().map_err(|_| Rslt::Internal)?;
    reqwest::Client::builder()
        .use_preconfigured_tls((*config).clone())
        .redirect(Policy::custom(follow))
        .no_proxy()
        .build()
        .map_err(|e| {
            tracing::warn!("cannot build the HTTP client: {e}");
            Rslt::Internal
        })
}

/// `request` with the transfer's `extParams` as headers (checked when it started).
pub fn with_headers(
    mut request: reqwest::RequestBuilder,
    params: &[(String, String)],
) -> reqwest::RequestBuilder {
    for (name, value) in params {
        request = request.header(name, value);
    }
    request
}

/// Follows a redirect unless [`MAX_REDIRECTS`] were followed already; then the redirect
/// itself is the answer.
fn follow(attempt: Attempt) -> reqwest::redirect::Action {
    // `previous` holds the URL of every request made so far: one more than the redirects.
    if attempt.previous().len() > MAX_REDIRECTS {
        attempt.stop()
    } else {
        attempt.follow()
    }
}

/// True when every `extParams` entry can be sent as a header.
pub fn valid_headers(params: &[(String, String)]) -> bool {
    params.iter().all(|(k, v)| {
        HeaderName::from_bytes(k.as_bytes()).is_ok() && HeaderValue::from_str(v).is_ok()
    })
}

/// True when every `extParams` name can be a multipart field name: sent as it is (UTF-8,
/// as browsers send them; RFC 7578 has no `name*=`), so without `"` or a line break.
pub fn valid_field_names(params: &[(String, String)]) -> bool {
    params
        .iter()
        .all(|(k, _)| !k.contains(['"', '\r', '\n', '\0']))
}

/// True when `url` is an absolute http:// or https:// URL.
pub fn supported_url(url: &str) -> bool {
    match reqwest::Url::parse(url) {
        Ok(url) => matches!(url.scheme(), "http" | "https") && url.host().is_some(),
        Err(_) => false,
    }
}

/// The status line and headers of `response`, as `FileHttpRspHeader` gives them: lines
/// ending in CRLF, names in lower case.
pub fn head_text(response: &reqwest::Response) -> String {
    let mut text = format!("{:?} {}\r\n", response.version(), response.status());
    for (name, value) in response.headers() {
        let _ = write!(
            text,
            "{}: {}\r\n",
            name,
            String::from_utf8_lossy(value.as_bytes())
        );
    }
    text
}

/// `(first byte, total)` of a `Content-Range: bytes first-last/total` answer (total 0 when
/// the server says `*`).
pub fn content_range(response: &reqwest::Response) -> Option<(u64, u64)> {
    let value = response
        .headers()
        .get(reqwest::header::CONTENT_RANGE)?
        .to_str()
        .ok()?;
    parse_content_range(value)
}

fn parse_content_range(value: &str) -> Option<(u64, u64)> {
    let rest = value.trim().strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let (first, _last) = range.split_once('-')?;
    let total = match total.trim() {
        "*" => 0,
        t => t.parse().ok()?,
    };
    Some((first.trim().parse().ok()?, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_ranges() {
        assert_eq!(parse_content_range("bytes 100-999/1000"), Some((100, 1000)));
        assert_eq!(parse_content_range("bytes 5-9/*"), Some((5, 0)));
        assert_eq!(parse_content_range("bytes */1000"), None);
        assert_eq!(parse_content_range("items 1-2/3"), None);
    }

    #[test]
    fn only_http_and_https_urls() {
        assert!(supported_url("http://127.0.0.1:8080/a"));
        assert!(supported_url("https://example.com/a?b=c"));
        for bad in [
            "ftp://example.com/a",
            "file:///etc/passwd",
            "example.com/a",
            "http//x",
            "",
        ] {
            assert!(!supported_url(bad), "{bad}");
        }
    }

    #[test]
    fn headers_http_can_carry() {
        assert!(valid_headers(&[("X-Token".into(), "abc".into())]));
        assert!(!valid_headers(&[("Bad Name".into(), "v".into())]));
        assert!(!valid_headers(&[("X-A".into(), "line\nbreak".into())]));
        assert!(valid_field_names(&[("Bad Name é".into(), "v".into())]));
        assert!(!valid_field_names(&[("a\"b".into(), "v".into())]));
        assert!(!valid_field_names(&[("a\r\nb".into(), "v".into())]));
    }
}
