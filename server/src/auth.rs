//! Passwords (argon2id hashing and checking) and user IDs (validation, assignment).
//!
//! Clear-text passwords only ever pass through this module as borrowed bytes; nothing here
//! stores or logs them.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

/// Longest user ID the server accepts, in bytes.
pub const MAX_USER_ID_BYTES: usize = 64;
/// Longest nickname the server accepts, in characters (Unicode scalar values).
pub const MAX_NICKNAME_CHARS: usize = 64;

/// Hashes a password into an argon2id PHC string (`$argon2id$v=19$...`) with a fresh random
/// salt and the argon2 crate's default (OWASP-recommended) cost.
pub fn hash_password(password: &str) -> String {
    let mut salt = [0u8; 16];
    getrandom::getrandom(&mut salt).expect("the OS random source is available");
    let salt = SaltString::encode_b64(&salt).expect("16 bytes always make a valid salt");
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("hashing with default parameters cannot fail")
        .to_string()
}

/// Checks that `hash` is a usable argon2 PHC string. The error says what is wrong with it
/// (never echoes the string itself).
pub fn check_hash(hash: &str) -> Result<(), String> {
    let parsed = PasswordHash::new(hash).map_err(|e| format!("not a PHC hash string ({e})"))?;
    match parsed.algorithm.as_str() {
        "argon2id" | "argon2i" | "argon2d" => {}
        other => {
            return Err(format!(
                "unsupported algorithm {other:?}, expected argon2id"
            ))
        }
    }
    if parsed.hash.is_none() || parsed.salt.is_none() {
        return Err("hash string lacks a salt or an output".into());
    }
    // Rejects bad parameters (e.g. m=0) now rather than at the first login.
    argon2::Params::try_from(&parsed).map_err(|e| format!("bad argon2 parameters ({e})"))?;
    Ok(())
}

/// True if `password` matches `hash` (a string [`check_hash`] accepted). Slow on purpose:
/// call it off the async workers (`spawn_blocking`).
pub fn verify_password(hash: &str, password: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Spends about as long as a real check, for a tenant that does not exist (so response times
/// do not tell which tenant accounts exist). Always false.
pub fn verify_against_dummy(password: &str) -> bool {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let hash = DUMMY.get_or_init(|| hash_password("no tenant has this password"));
    let _ = verify_password(hash, password);
    false
}

/// Remembers, per tenant, a keyed digest of the password that last passed the argon2 check.
///
/// Every user of a tenant presents the same tenant password, so without this each login
/// would pay a full argon2 verification (tens of milliseconds of CPU); with it, one does.
/// Only successes are remembered, so a wrong password always pays argon2. The digest is a
/// BLAKE2s MAC under a random per-process key: never the clear text, and worthless outside
/// this process.
pub struct VerifiedPasswords {
    key: [u8; 32],
    digests: std::sync::Mutex<std::collections::HashMap<String, [u8; 32]>>,
}

impl Default for VerifiedPasswords {
    fn default() -> Self {
        let mut key = [0u8; 32];
        getrandom::getrandom(&mut key).expect("the OS random source is available");
        VerifiedPasswords {
            key,
            digests: Default::default(),
        }
    }
}

impl VerifiedPasswords {
    fn digest(&self, tenant: &str, password: &str) -> [u8; 32] {
        use blake2::digest::{KeyInit, Mac};
        let mut mac =
            <blake2::Blake2sMac256 as KeyInit>::new_from_slice(&self.key).expect("32-byte key");
        mac.update(tenant.as_bytes());
        mac.update(&[0]);
        mac.update(password.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// True if `password` is the one that last passed the check for `tenant`
    /// (constant-time comparison).
    pub fn is_verified(&self, tenant: &str, password: &str) -> bool {
        let presented = self.digest(tenant, password);
        let digests = self.digests.lock().unwrap();
        digests.get(tenant).is_some_and(|known| {
            known
                .iter()
                .zip(presented.iter())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
        })
    }

    /// Records that `password` passed the argon2 check for `tenant`.
    pub fn remember(&self, tenant: &str, password: &str) {
        let digest = self.digest(tenant, password);
        self.digests
            .lock()
            .unwrap()
            .insert(tenant.to_owned(), digest);
    }
}

/// The version tag user tokens start with.
pub const TOKEN_VERSION: &str = "v1";

fn token_mac(secret: &str, tenant: &str, user_id: &str, expiry: &str) -> hmac::Hmac<sha2::Sha256> {
    use hmac::Mac;
    let mut mac = <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes keys of any length");
    for part in [TOKEN_VERSION, tenant, user_id] {
        mac.update(part.as_bytes());
        mac.update(b"\n");
    }
    mac.update(expiry.as_bytes());
    mac
}

/// A user token (the `privAuthCode` of a tenant with a `token_secret`):
///
/// ```text
/// v1.<expiry>.<signature>
/// expiry    = Unix time in seconds, decimal, no leading zeros: the token is valid until then
/// signature = base64url without padding of
///             HMAC-SHA256(key = token_secret, message = "v1\n" + tenant + "\n" + user_id + "\n" + expiry)
/// ```
///
/// (strings as UTF-8 bytes, `\n` one byte 0x0A, `expiry` the same decimal text as in the
/// token).
pub fn mint_token(secret: &str, tenant: &str, user_id: &str, expiry: u64) -> String {
    use base64::Engine;
    use hmac::Mac;
    let expiry = expiry.to_string();
    let signature = token_mac(secret, tenant, user_id, &expiry)
        .finalize()
        .into_bytes();
    let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(signature);
    format!("{TOKEN_VERSION}.{expiry}.{signature}")
}

/// Checks a user token (see [`mint_token`]) for (`tenant`, `user_id`) at Unix time `now`:
/// `CUSTOMAUTH_FAILED` if it is malformed, its signature is wrong (another user's token, or
/// another tenant's, or another secret's) or the user ID is empty; then `TOKEN_TIMEOUT` if it
/// expired (`expiry < now`). The signature is compared in constant time.
pub fn check_token(
    secret: &str,
    tenant: &str,
    user_id: &str,
    token: &str,
    now: u64,
) -> Result<(), crvideo_proto::ErrorCode> {
    use base64::Engine;
    use crvideo_proto::ErrorCode;
    use hmac::Mac;
    let failed = ErrorCode::CustomAuthFailed;
    if user_id.is_empty() {
        return Err(failed);
    }
    let mut parts = token.split('.');
    let (Some(version), Some(expiry), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(failed);
    };
    let canonical = !expiry.is_empty()
        && expiry.len() <= 20
        && expiry.bytes().all(|b| b.is_ascii_digit())
        && (expiry == "0" || !expiry.starts_with('0'));
    if version != TOKEN_VERSION || !canonical {
        return Err(failed);
    }
    let expires_at: u64 = expiry.parse().map_err(|_| failed)?;
    let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| failed)?;
    token_mac(secret, tenant, user_id, expiry)
        .verify_slice(&signature)
        .map_err(|_| failed)?;
    if expires_at < now {
        return Err(ErrorCode::TokenTimeout);
    }
    Ok(())
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A fresh random user ID: `usr_` + 16 lowercase hex digits.
pub fn random_user_id() -> String {
    let mut bytes = [0u8; 8];
    getrandom::getrandom(&mut bytes).expect("the OS random source is available");
    let mut id = String::with_capacity(20);
    id.push_str("usr_");
    for b in bytes {
        id.push_str(&format!("{b:02x}"));
    }
    id
}

/// Validates a client-chosen user ID (an empty one means "assign me one" and is valid).
pub fn validate_user_id(user_id: &str) -> Result<(), &'static str> {
    if user_id.len() > MAX_USER_ID_BYTES {
        return Err("user_id longer than 64 bytes");
    }
    if user_id.chars().any(char::is_control) {
        return Err("user_id contains control characters");
    }
    Ok(())
}

/// Validates a nickname.
pub fn validate_nickname(nickname: &str) -> Result<(), &'static str> {
    if nickname.chars().count() > MAX_NICKNAME_CHARS {
        return Err("nickname longer than 64 characters");
    }
    if nickname.chars().any(char::is_control) {
        return Err("nickname contains control characters");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verified_passwords_remember_only_what_they_were_told() {
        let cache = VerifiedPasswords::default();
        assert!(!cache.is_verified("t", "pw"));
        cache.remember("t", "pw");
        assert!(cache.is_verified("t", "pw"));
        assert!(!cache.is_verified("t", "pw2"));
        assert!(!cache.is_verified("u", "pw"), "per tenant");
        assert!(
            !cache.is_verified("t\0p", "w"),
            "tenant and password are separated"
        );
        // Another process (another key) knows nothing.
        assert!(!VerifiedPasswords::default().is_verified("t", "pw"));
    }

    /// A cheap hash (m=8 KiB, t=1) of "pw", so the test does not spend seconds in argon2.
    const CHEAP_HASH_OF_PW: &str =
        "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHRzYWx0$F8bBQbTgL5fO3QK0XHaH8G3TAO/bdx5JpDaweDAe4I0";

    #[test]
    fn hash_and_verify_round_trip() {
        let hash = hash_password("s3cret");
        assert!(hash.starts_with("$argon2id$v=19$"), "{hash}");
        assert!(!hash.contains("s3cret"));
        check_hash(&hash).unwrap();
        assert!(verify_password(&hash, "s3cret"));
        assert!(!verify_password(&hash, "s3cret "));
        // Fresh salt each time.
        assert_ne!(hash, hash_password("s3cret"));
    }

    #[test]
    fn cheap_hash_verifies() {
        check_hash(CHEAP_HASH_OF_PW).unwrap();
        assert!(verify_password(CHEAP_HASH_OF_PW, "pw"));
        assert!(!verify_password(CHEAP_HASH_OF_PW, "PW"));
    }

    #[test]
    fn bad_hash_strings_are_rejected() {
        for bad in [
            "",
            "s3cret",
            "$argon2id$v=19$m=19456,t=2,p=1",
            "$pbkdf2-sha256$i=1000$c2FsdA$aGFzaA",
            "$argon2id$v=19$m=0,t=2,p=1$c2FsdHNhbHRzYWx0$F8bBQbTgL5fO3QK0XHaH8G3TAO/bdx5JpDaweDAe4I0",
        ] {
            assert!(check_hash(bad).is_err(), "{bad:?} accepted");
        }
        assert!(!verify_password("garbage", "pw"));
    }

    #[test]
    fn tokens() {
        use crvideo_proto::ErrorCode;
        let secret = "0123456789abcdef0123456789abcdef";
        let token = mint_token(secret, "acme", "alice", 1_900_000_000);
        assert!(token.starts_with("v1.1900000000."), "{token}");
        assert_eq!(token.len(), "v1.1900000000.".len() + 43);
        let now = 1_800_000_000;
        assert_eq!(check_token(secret, "acme", "alice", &token, now), Ok(()));
        assert_eq!(
            check_token(secret, "acme", "alice", &token, 1_900_000_000),
            Ok(()),
            "valid until its expiry second"
        );
        assert_eq!(
            check_token(secret, "acme", "alice", &token, 1_900_000_001),
            Err(ErrorCode::TokenTimeout)
        );
        let failed = Err(ErrorCode::CustomAuthFailed);
        assert_eq!(check_token(secret, "acme", "bob", &token, now), failed);
        assert_eq!(check_token(secret, "globex", "alice", &token, now), failed);
        assert_eq!(
            check_token("another secret!!", "acme", "alice", &token, now),
            failed
        );
        assert_eq!(check_token(secret, "acme", "", &token, now), failed);
        let forged_expiry = token.replace("1900000000", "1900000001");
        assert_eq!(
            check_token(secret, "acme", "alice", &forged_expiry, now),
            failed
        );
        let sig = token.rsplit('.').next().unwrap();
        for bad in [
            String::new(),
            "v1".into(),
            "v1..".into(),
            format!("v2.1900000000.{sig}"),
            format!("v1.01900000000.{sig}"),
            format!("v1.+1900000000.{sig}"),
            format!("v1.1900000000.{sig}="),
            format!("v1.1900000000.{sig}.x"),
            format!("v1.1900000000.{}", &sig[1..]),
        ] {
            assert_eq!(
                check_token(secret, "acme", "alice", &bad, now),
                failed,
                "{bad}"
            );
        }
        // A forged token that is also expired is a failure, not a timeout.
        let old = mint_token("guessed secret!!", "acme", "alice", 1);
        assert_eq!(check_token(secret, "acme", "alice", &old, now), failed);
        let old = mint_token(secret, "acme", "alice", 1);
        assert_eq!(
            check_token(secret, "acme", "alice", &old, now),
            Err(ErrorCode::TokenTimeout)
        );
    }

    /// The worked example of the documentation (docs/SECURITY.md), computed independently.
    #[test]
    fn token_worked_example() {
        let token = mint_token("k7Qz-example-secret-2024", "acme", "alice", 1767225600);
        assert_eq!(token, TOKEN_EXAMPLE);
    }

    const TOKEN_EXAMPLE: &str = "v1.1767225600.LcQp-ONc7m7zDtoMgusPvzaK6mBdlXVszY2WrXdmwZM";

    #[test]
    fn user_ids() {
        let a = random_user_id();
        assert_eq!(a.len(), 20);
        assert!(a.starts_with("usr_"));
        assert!(a[4..].chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, random_user_id());

        validate_user_id("").unwrap();
        validate_user_id("alice").unwrap();
        validate_user_id(&"x".repeat(64)).unwrap();
        validate_user_id("用户").unwrap();
        assert!(validate_user_id(&"x".repeat(65)).is_err());
        assert!(validate_user_id(&"é".repeat(33)).is_err()); // 66 bytes
        assert!(validate_user_id("a\nb").is_err());
        assert!(validate_user_id("a\u{0}").is_err());

        validate_nickname(&"é".repeat(64)).unwrap();
        assert!(validate_nickname(&"é".repeat(65)).is_err());
        assert!(validate_nickname("tab\there").is_err());
    }
}
