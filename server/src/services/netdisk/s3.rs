//! Net-disk bodies in S3-compatible object storage (`[netdisk] s3_endpoint`), shared by the
//! nodes of a cluster.
//!
//! An upload is written where it arrives, as a partial file under the node's `data_dir`
//! (one writer, in order, MD5 beside it, exactly as with local storage); [`Storage::commit`]
//! sends the verified file to the bucket (one PUT, or a multipart upload above
//! [`MULTIPART_ABOVE`]) and only then is it recorded and listed. Reads are ranged GETs with
//! a read-ahead window, so a download costs one request per [`READ_AHEAD`] bytes.
//!
//! The client is blocking (ureq): the net disk calls its storage from blocking threads.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Read};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::sigv4::{self, Signer, UNSIGNED_PAYLOAD};
use super::storage::{LocalStorage, PartialObject, Recovered, Storage, StoredObject};

/// Files up to this size go in one PUT; larger ones as a multipart upload of parts this size.
pub const MULTIPART_ABOVE: u64 = 64 << 20;
/// Bytes fetched per ranged GET while a download reads on.
pub const READ_AHEAD: usize = 4 << 20;
/// Objects without a row are deleted at start-up only once this old: another node may have
/// stored one a moment ago and be about to record it.
const ORPHAN_GRACE: Duration = Duration::from_secs(3600);
/// Longest one request may take (a 64 MiB part at ~1 MiB/s).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// Where the bucket is and how to sign for it.
#[derive(Clone)]
pub struct S3Config {
    /// `http://host:port` or `https://host` (path-style requests: `endpoint/bucket/key`).
    pub endpoint: String,
    pub bucket: String,
    pub region: String,
    pub access_key: String,
    pub secret_key: String,
    /// Prepended to every object name (`netdisk/`).
    pub prefix: String,
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret key.
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("access_key", &self.access_key)
            .field("prefix", &self.prefix)
            .finish()
    }
}

/// A blocking S3 client for one bucket.
pub struct S3Client {
    agent: ureq::Agent,
    endpoint: String,
    host: String,
    bucket: String,
    prefix: String,
    signer: Signer,
}

fn s3_error(what: &str, e: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("S3 {what}: {e}"))
}

/// The `HOST[:PORT]` of an endpoint `http(s)://HOST[:PORT]` (without a trailing `/`).
pub fn host_of(endpoint: &str) -> Result<&str, String> {
    endpoint
        .strip_prefix("http://")
        .or_else(|| endpoint.strip_prefix("https://"))
        .filter(|h| !h.is_empty() && !h.contains('/'))
        .ok_or_else(|| "s3_endpoint: expected http://HOST[:PORT] or https://HOST[:PORT]".into())
}

/// What one request answered: its status, and the body if asked for.
struct Answer {
    status: u16,
    etag: Option<String>,
    body: Vec<u8>,
}

impl S3Client {
    pub fn new(config: &S3Config) -> Result<S3Client, String> {
        let endpoint = config.endpoint.trim_end_matches('/').to_owned();
        let host = host_of(&endpoint)?.to_owned();
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(REQUEST_TIMEOUT))
            .build()
            .new_agent();
        Ok(S3Client {
            agent,
            endpoint,
            host,
            bucket: config.bucket.clone(),
            prefix: config.prefix.clone(),
            signer: Signer {
                access_key: config.access_key.clone(),
                secret_key: config.secret_key.clone(),
                region: config.region.clone(),
            },
        })
    }

    /// One signed request; `body` is sent with its length, `range` asked for.
    fn request(
        &self,
        method: &str,
        key: Option<&str>,
        query: &[(&str, &str)],
        range: Option<String>,
        body: Option<(&mut dyn Read, u64)>,
        read_limit: u64,
    ) -> io::Result<Answer> {
        let path = match key {
            Some(key) => format!("/{}/{}{key}", self.bucket, self.prefix),
            None => format!("/{}", self.bucket),
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let amz_date = sigv4::amz_date(now);
        let mut signed: Vec<(&str, &str)> = vec![("host", &self.host)];
        if let Some(range) = &range {
            signed.push(("range", range));
        }
        let authorization = self.signer.authorization(&sigv4::Request {
            method,
            path: &path,
            query,
            headers: &signed,
            payload_hash: UNSIGNED_PAYLOAD,
            amz_date: &amz_date,
        });
        let query = sigv4::canonical_query(query);
        let mut url = format!("{}{}", self.endpoint, sigv4::uri_encode(&path, false));
        if !query.is_empty() {
            url = format!("{url}?{query}");
        }
        let request = ureq::http::Request::builder()
            .method(method)
            .uri(&url)
            .header("x-amz-date", &amz_date)
            .header("x-amz-content-sha256", UNSIGNED_PAYLOAD)
            .header("authorization", authorization);
        let request = match &range {
            Some(range) => request.header("range", range),
            None => request,
        };
        let result = match body {
            Some((reader, len)) => {
                let request = request
                    .header("content-length", len.to_string())
                    .body(ureq::SendBody::from_reader(reader))
                    .map_err(|e| s3_error(method, e))?;
                self.agent.run(request)
            }
            None => {
                let request = request.body(()).map_err(|e| s3_error(method, e))?;
                self.agent.run(request)
            }
        };
        let mut response = result.map_err(|e| s3_error(method, e))?;
        let status = response.status().as_u16();
        let etag = (response.headers().get("etag"))
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response
            .body_mut()
            .with_config()
            .limit(read_limit)
            .read_to_vec()
            .map_err(|e| s3_error(method, e))?;
        Ok(Answer { status, etag, body })
    }

    /// Fails unless the bucket answers to these credentials.
    pub fn check_bucket(&self) -> io::Result<()> {
        let answer = self.request("HEAD", None, &[], None, None, 0)?;
        match answer.status {
            200 => Ok(()),
            404 => Err(s3_error("bucket", format!("no bucket {:?}", self.bucket))),
            403 => Err(s3_error("bucket", "access denied (check the keys)")),
            status => Err(s3_error("bucket", format!("HTTP {status}"))),
        }
    }

    fn expect(answer: Answer, what: &str, ok: &[u16]) -> io::Result<Answer> {
        if ok.contains(&answer.status) {
            return Ok(answer);
        }
        let detail =
            String::from_utf8_lossy(&answer.body[..answer.body.len().min(300)]).replace('\n', " ");
        Err(s3_error(what, format!("HTTP {}: {detail}", answer.status)))
    }

    /// Stores the `len` bytes of `file` as `key`.
    pub fn put_file(&self, key: &str, file: &mut File, len: u64) -> io::Result<()> {
        if len <= MULTIPART_ABOVE {
            let answer = self.request("PUT", Some(key), &[], None, Some((file, len)), 4096)?;
            return Self::expect(answer, "PUT", &[200]).map(drop);
        }
        let answer = self.request("POST", Some(key), &[("uploads", "")], None, None, 65536)?;
        let answer = Self::expect(answer, "multipart start", &[200])?;
        let body = String::from_utf8_lossy(&answer.body);
        let upload_id = xml_values(&body, "UploadId")
            .next()
            .ok_or_else(|| s3_error("multipart start", "no UploadId"))?
            .to_owned();
        let parts = self.put_parts(key, &upload_id, file, len);
        let completed = parts.and_then(|etags| {
            let mut xml = String::from("<CompleteMultipartUpload>");
            for (i, etag) in etags.iter().enumerate() {
                xml.push_str(&format!(
                    "<Part><PartNumber>{}</PartNumber><ETag>{etag}</ETag></Part>",
                    i + 1
                ));
            }
            xml.push_str("</CompleteMultipartUpload>");
            let mut body = xml.as_bytes();
            let len = body.len() as u64;
            let query = [("uploadId", upload_id.as_str())];
            let answer = self.request(
                "POST",
                Some(key),
                &query,
                None,
                Some((&mut body, len)),
                65536,
            )?;
            let answer = Self::expect(answer, "multipart complete", &[200])?;
            // A 200 may still carry an error (S3 says so in the body).
            if String::from_utf8_lossy(&answer.body).contains("<Error>") {
                return Err(s3_error(
                    "multipart complete",
                    "the server reported an error",
                ));
            }
            Ok(())
        });
        if completed.is_err() {
            let _ = self.request(
                "DELETE",
                Some(key),
                &[("uploadId", &upload_id)],
                None,
                None,
                4096,
            );
        }
        completed
    }

    fn put_parts(
        &self,
        key: &str,
        upload_id: &str,
        file: &mut File,
        len: u64,
    ) -> io::Result<Vec<String>> {
        let mut etags = Vec::new();
        let mut sent = 0;
        while sent < len {
            let part = (len - sent).min(MULTIPART_ABOVE);
            let number = (etags.len() + 1).to_string();
            let query = [("partNumber", number.as_str()), ("uploadId", upload_id)];
            let mut reader = Read::by_ref(file).take(part);
            let answer = self.request(
                "PUT",
                Some(key),
                &query,
                None,
                Some((&mut reader, part)),
                4096,
            )?;
            let answer = Self::expect(answer, "multipart part", &[200])?;
            etags.push(
                answer
                    .etag
                    .ok_or_else(|| s3_error("multipart part", "no ETag"))?,
            );
            sent += part;
        }
        Ok(etags)
    }

    /// Up to `len` bytes of `key` from `offset`; fewer only at its end (none past it).
    pub fn get_range(&self, key: &str, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        if len == 0 {
            return Ok(Vec::new());
        }
        let range = format!("bytes={offset}-{}", offset + len as u64 - 1);
        let answer = self.request("GET", Some(key), &[], Some(range), None, len as u64 + 1)?;
        match answer.status {
            206 => Ok(answer.body),
            // A server that ignores ranges sends it all: keep the part asked for.
            200 => Ok(answer
                .body
                .get(offset as usize..)
                .map(|rest| rest[..rest.len().min(len)].to_vec())
                .unwrap_or_default()),
            416 => Ok(Vec::new()),
            404 => Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("S3: no object {key}"),
            )),
            _ => Self::expect(answer, "GET", &[]).map(|a| a.body),
        }
    }

    /// Deletes `key` (absent is fine).
    pub fn delete(&self, key: &str) -> io::Result<()> {
        let answer = self.request("DELETE", Some(key), &[], None, None, 4096)?;
        Self::expect(answer, "DELETE", &[200, 204, 404]).map(drop)
    }

    /// Every object under the prefix: its name (without the prefix) and when it was stored
    /// (seconds since 1970).
    pub fn list(&self) -> io::Result<Vec<(String, u64)>> {
        let mut objects = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut query = vec![("list-type", "2"), ("prefix", self.prefix.as_str())];
            if let Some(token) = &token {
                query.push(("continuation-token", token));
            }
            let answer = self.request("GET", None, &query, None, None, 64 << 20)?;
            let answer = Self::expect(answer, "LIST", &[200])?;
            let body = String::from_utf8_lossy(&answer.body).into_owned();
            for contents in xml_values(&body, "Contents") {
                let key = xml_values(contents, "Key").next();
                let stored = xml_values(contents, "LastModified")
                    .next()
                    .and_then(sigv4::parse_iso8601);
                if let (Some(key), Some(stored)) = (key, stored) {
                    if let Some(name) = key.strip_prefix(&self.prefix) {
                        objects.push((name.to_owned(), stored));
                    }
                }
            }
            let truncated = xml_values(&body, "IsTruncated").next() == Some("true");
            token = xml_values(&body, "NextContinuationToken")
                .next()
                .map(str::to_owned);
            if !truncated || token.is_none() {
                return Ok(objects);
            }
        }
    }
}

/// The texts of every `<tag>…</tag>` in `xml`, in order (S3's answers are flat enough that
/// this is all the XML they need; names here are hex, so no entities to decode).
fn xml_values<'a>(xml: &'a str, tag: &str) -> impl Iterator<Item = &'a str> + 'a {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut rest = xml;
    std::iter::from_fn(move || {
        let start = rest.find(&open)? + open.len();
        let len = rest[start..].find(&close)?;
        let value = &rest[start..start + len];
        rest = &rest[start + len + close.len()..];
        Some(value)
    })
}

/// Bodies in a bucket, partial uploads in local files.
pub struct S3Storage {
    client: std::sync::Arc<S3Client>,
    partials: LocalStorage,
}

impl S3Storage {
    /// Checks the bucket answers; `partials` is where uploads are written until committed.
    pub fn open(config: &S3Config, partials: LocalStorage) -> Result<S3Storage, String> {
        let client = S3Client::new(config)?;
        client.check_bucket().map_err(|e| {
            format!(
                "cannot use bucket {:?} at {}: {e}",
                config.bucket, config.endpoint
            )
        })?;
        Ok(S3Storage {
            client: std::sync::Arc::new(client),
            partials,
        })
    }
}

impl Storage for S3Storage {
    fn create_partial(&self, name: &str) -> io::Result<Box<dyn PartialObject>> {
        self.partials.create_partial(name)
    }

    fn commit(&self, name: &str) -> io::Result<()> {
        let path = self.partials.partial_path(name);
        let mut file = File::open(&path)?;
        let len = file.metadata()?.len();
        self.client.put_file(name, &mut file, len)?;
        self.partials.discard_partial(name);
        Ok(())
    }

    fn discard_partial(&self, name: &str) {
        self.partials.discard_partial(name);
    }

    fn open(&self, name: &str) -> io::Result<Box<dyn StoredObject>> {
        // Fetch the first window now: a missing object is an error here, as with a file.
        let first = self.client.get_range(name, 0, READ_AHEAD)?;
        Ok(Box::new(S3Object {
            client: self.client.clone(),
            name: name.to_owned(),
            window: Mutex::new((0, first)),
        }))
    }

    fn delete(&self, name: &str) -> io::Result<()> {
        self.client.delete(name)
    }

    fn recover(&self, keep: &HashSet<String>) -> io::Result<(Recovered, Vec<String>)> {
        // This node's interrupted uploads are its own files; the bucket is everyone's.
        let (mut recovered, _) = self.partials.recover(&HashSet::new())?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut present = HashSet::new();
        for (name, stored) in self.client.list()? {
            if keep.contains(&name) {
                present.insert(name);
            } else if now.saturating_sub(stored) >= ORPHAN_GRACE.as_secs() {
                self.client.delete(&name)?;
                recovered.orphans += 1;
            }
        }
        let missing = keep.difference(&present).cloned().collect();
        Ok((recovered, missing))
    }
}

/// A stored object read through a window of [`READ_AHEAD`] bytes.
struct S3Object {
    client: std::sync::Arc<S3Client>,
    name: String,
    /// The window's offset and bytes (shorter than asked: the object ends there).
    window: Mutex<(u64, Vec<u8>)>,
}

impl StoredObject for S3Object {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let mut window = self.window.lock().unwrap();
        let (start, bytes) = &*window;
        let end = start + bytes.len() as u64;
        let covered = offset >= *start
            && (offset + buf.len() as u64 <= end || bytes.len() < READ_AHEAD.max(buf.len()));
        if !covered {
            let fetched = self
                .client
                .get_range(&self.name, offset, READ_AHEAD.max(buf.len()))?;
            *window = (offset, fetched);
        }
        let (start, bytes) = &*window;
        let from = ((offset - start) as usize).min(bytes.len());
        let n = buf.len().min(bytes.len() - from);
        buf[..n].copy_from_slice(&bytes[from..from + n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_values_of_a_listing() {
        let xml = "<ListBucketResult><IsTruncated>true</IsTruncated>\
            <Contents><Key>netdisk/ab</Key><LastModified>2026-12-05T20:00:00.000Z</LastModified></Contents>\
            <Contents><Key>netdisk/cd</Key><LastModified>2026-12-05T20:00:01Z</LastModified></Contents>\
            <NextContinuationToken>t=1</NextContinuationToken></ListBucketResult>";
        let keys: Vec<&str> = xml_values(xml, "Contents")
            .flat_map(|c| xml_values(c, "Key"))
            .collect();
        assert_eq!(keys, ["netdisk/ab", "netdisk/cd"]);
        assert_eq!(xml_values(xml, "IsTruncated").next(), Some("true"));
        assert_eq!(xml_values(xml, "NextContinuationToken").next(), Some("t=1"));
        assert_eq!(xml_values(xml, "Missing").next(), None);
    }

    #[test]
    fn an_endpoint_is_a_scheme_and_a_host() {
        let config = |endpoint: &str| S3Config {
            endpoint: endpoint.into(),
            bucket: "b".into(),
            region: "us-east-1".into(),
            access_key: "a".into(),
            secret_key: "s".into(),
            prefix: "netdisk/".into(),
        };
        assert!(S3Client::new(&config("http://127.0.0.1:8333")).is_ok());
        assert!(S3Client::new(&config("https://s3.example.com/")).is_ok());
        assert!(S3Client::new(&config("ftp://x")).is_err());
        assert!(S3Client::new(&config("http://x/y")).is_err());
    }
}
