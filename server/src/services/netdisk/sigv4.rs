//! AWS Signature Version 4 for S3 requests: what an S3-compatible server (AWS, MinIO,
//! SeaweedFS, Ceph…) checks on every request. Bodies are sent as `UNSIGNED-PAYLOAD`, so a
//! multi-gigabyte upload streams from its file without being hashed twice.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// Credentials and where they apply.
#[derive(Clone)]
pub struct Signer {
    pub access_key: String,
    pub secret_key: String,
    pub region: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret.
        f.debug_struct("Signer")
            .field("access_key", &self.access_key)
            .field("region", &self.region)
            .finish()
    }
}

/// What is signed of one request.
pub struct Request<'a> {
    pub method: &'a str,
    /// The path, not yet encoded (`/bucket/key`).
    pub path: &'a str,
    /// Query parameters, not yet encoded.
    pub query: &'a [(&'a str, &'a str)],
    /// Headers to sign besides `x-amz-date` (lowercase names), `host` among them.
    pub headers: &'a [(&'a str, &'a str)],
    /// `x-amz-content-sha256`: a hex SHA-256 of the body, or `UNSIGNED-PAYLOAD`.
    pub payload_hash: &'a str,
    /// `YYYYMMDDTHHMMSSZ`.
    pub amz_date: &'a str,
}

pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

impl Signer {
    /// The `Authorization` header's value.
    pub fn authorization(&self, r: &Request<'_>) -> String {
        let date = &r.amz_date[..8];
        let mut headers: Vec<(String, String)> = r
            .headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_owned()))
            .chain([
                ("x-amz-content-sha256".into(), r.payload_hash.into()),
                ("x-amz-date".into(), r.amz_date.into()),
            ])
            .collect();
        headers.sort();
        headers.dedup_by(|a, b| a.0 == b.0);
        let signed: Vec<&str> = headers.iter().map(|(k, _)| k.as_str()).collect();
        let signed = signed.join(";");
        let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
        let canonical_request = format!(
            "{}\n{}\n{}\n{canonical_headers}\n{signed}\n{}",
            r.method,
            uri_encode(r.path, false),
            canonical_query(r.query),
            r.payload_hash
        );
        let scope = format!("{date}/{}/s3/aws4_request", self.region);
        let to_sign = format!(
            "AWS4-HMAC-SHA256\n{}\n{scope}\n{}",
            r.amz_date,
            hex(&Sha256::digest(canonical_request.as_bytes()))
        );
        let key = [date, &self.region, "s3", "aws4_request"].iter().fold(
            format!("AWS4{}", self.secret_key).into_bytes(),
            |key, part| hmac(&key, part.as_bytes()),
        );
        let signature = hex(&hmac(&key, to_sign.as_bytes()));
        format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed}, Signature={signature}",
            self.access_key
        )
    }
}

/// The query string as sent and as signed: sorted, each name and value encoded.
pub fn canonical_query(query: &[(&str, &str)]) -> String {
    let mut pairs: Vec<String> = query
        .iter()
        .map(|(k, v)| format!("{}={}", uri_encode(k, true), uri_encode(v, true)))
        .collect();
    pairs.sort();
    pairs.join("&")
}

/// S3's URI encoding: everything but unreserved characters, and `/` unless `slash`.
pub fn uri_encode(s: &str, slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b'/' if !slash => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    crvideo_proto::hex(bytes)
}

/// `YYYYMMDDTHHMMSSZ` of a time in seconds since 1970 (UTC).
pub fn amz_date(unix_secs: u64) -> String {
    let (days, secs) = (unix_secs / 86_400, unix_secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Seconds since 1970 of an S3 timestamp `YYYY-MM-DDTHH:MM:SS[.fff]Z`.
pub fn parse_iso8601(s: &str) -> Option<u64> {
    let num = |range: std::ops::Range<usize>| s.get(range)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let days = days_from_civil(y, m, d);
    u64::try_from(days * 86_400 + hh * 3600 + mm * 60 + ss).ok()
}

/// Howard Hinnant's civil-calendar algorithms (public domain descriptions).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's published example "GET Object" (Signature Version 4, header-based auth).
    #[test]
    fn signs_aws_documented_example() {
        let signer = Signer {
            access_key: "AKIAIOSFODNN7EXAMPLE".into(),
            secret_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
            region: "us-east-1".into(),
        };
        let empty = hex(&Sha256::digest(b""));
        let auth = signer.authorization(&Request {
            method: "GET",
            path: "/test.txt",
            query: &[],
            headers: &[
                ("host", "examplebucket.s3.amazonaws.com"),
                ("range", "bytes=0-9"),
            ],
            payload_hash: &empty,
            amz_date: "20130524T000000Z",
        });
        assert_eq!(
            auth,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, \
             SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, \
             Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
    }

    #[test]
    fn dates_both_ways() {
        assert_eq!(amz_date(0), "19700101T000000Z");
        assert_eq!(amz_date(1_369_353_600), "20130524T000000Z");
        assert_eq!(amz_date(951_782_400 + 3661), "20000229T010101Z");
        assert_eq!(
            parse_iso8601("2013-05-24T00:00:00.000Z"),
            Some(1_369_353_600)
        );
        assert_eq!(
            parse_iso8601("2000-02-29T01:01:01Z"),
            Some(951_782_400 + 3661)
        );
        assert_eq!(parse_iso8601("garbage"), None);
    }

    #[test]
    fn encodes_as_s3_does() {
        assert_eq!(uri_encode("/b/a b+c~", false), "/b/a%20b%2Bc~");
        assert_eq!(uri_encode("a/b=", true), "a%2Fb%3D");
        assert_eq!(
            canonical_query(&[("prefix", "n/"), ("list-type", "2")]),
            "list-type=2&prefix=n%2F"
        );
    }
}
