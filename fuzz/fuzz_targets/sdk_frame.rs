//! The SDK's decoding of a text frame from the server (`ServerFrame`).
//!
//! Invariants:
//! - a decoded frame encodes to text that decodes to the same frame: equal, except that a
//!   float in a reply's free-form `data` may come back one unit in the last place off
//!   (serde_json parses floats fast, not exactly, without its `float_roundtrip` feature; no
//!   protocol field is a float);
//! - `Reply::into_result`: success only for code 0; a failure keeps a non-zero code, and
//!   data of the wrong shape under code 0 is `RSPDAT_ERR`.
#![no_main]

use crvideo_proto::{decode, encode, ErrorCode, HelloOk, ServerFrame};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// Equal, floats within two units in the last place.
fn nearly_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_f64() && y.is_f64() => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            let ulp = (f64::EPSILON * x.abs().max(y.abs())).max(f64::MIN_POSITIVE * f64::EPSILON);
            (x - y).abs() <= 2.0 * ulp
        }
        (Value::Array(xs), Value::Array(ys)) => {
            xs.len() == ys.len() && xs.iter().zip(ys).all(|(x, y)| nearly_equal(x, y))
        }
        (Value::Object(xs), Value::Object(ys)) => {
            xs.len() == ys.len()
                && xs
                    .iter()
                    .all(|(k, x)| ys.get(k).is_some_and(|y| nearly_equal(x, y)))
        }
        _ => a == b,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(frame) = decode::<ServerFrame>(text) else {
        return;
    };
    let wire = encode(&frame);
    let again: ServerFrame = decode(&wire).expect("an encoded frame decodes");
    match (&frame, &again) {
        (ServerFrame::Reply(a), ServerFrame::Reply(b)) => {
            assert_eq!((a.re, a.code), (b.re, b.code));
            assert!(nearly_equal(&a.data, &b.data), "{a:?}\n{b:?}");
        }
        _ => {
            assert_eq!(again, frame);
            assert_eq!(encode(&again), wire);
        }
    }
    if let ServerFrame::Reply(reply) = frame {
        let code = reply.code;
        match reply.into_result::<HelloOk>() {
            Ok(_) => assert_eq!(code, 0),
            Err(c) if code == 0 => assert_eq!(c, ErrorCode::RspDatErr.code()),
            Err(c) => assert_eq!(c, code),
        }
    }
});
