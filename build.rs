//! Generates `include/CRVideoSDK.h` with cbindgen.
//!
//! The header is always generated into `OUT_DIR`; the test `header_is_current` compares it
//! with the committed `include/CRVideoSDK.h`. Outside CI (env `CI` unset) the committed copy
//! is refreshed when it differs, so a developer only has to commit it; in CI it is left
//! alone, so a stale committed header fails the test.

use std::fmt::Write as _;
use std::path::PathBuf;

use crvideo_proto::ErrorCode;

fn main() {
    let crate_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-env-changed=CI");

    // The cdylib's SONAME, so that installed copies can be versioned (see cmake/README.md):
    // `libcrvideosdk.so.0.MINOR` while the version is 0.x (Cargo's semver treats 0.1 -> 0.2
    // as breaking; cargo-c names 0.x libraries the same way), `libcrvideosdk.so.MAJOR` from 1.0.
    // Release builds only: an executable linked against a library with a SONAME looks for a
    // file of that name at run time, which cargo does not create, so the tests and the demo,
    // which link against target/debug directly, would no longer start.
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux")
        && std::env::var("PROFILE").as_deref() == Ok("release")
    {
        println!(
            "cargo:rustc-cdylib-link-arg=-Wl,-soname,libcrvideosdk.so.{}",
            soversion()
        );
    }

    let mut config =
        cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml");
    config.after_includes = Some(macros());
    let generated = out_dir.join("CRVideoSDK.h");
    cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen could not generate the header")
        .write_to_file(&generated);
    println!(
        "cargo:rustc-env=CRVIDEOSDK_GENERATED_HEADER={}",
        generated.display()
    );

    if std::env::var_os("CI").is_none() {
        let committed = crate_dir.join("include").join("CRVideoSDK.h");
        let fresh = std::fs::read(&generated).unwrap();
        if std::fs::read(&committed).ok().as_deref() != Some(fresh.as_slice()) {
            std::fs::write(&committed, fresh).expect("write include/CRVideoSDK.h");
        }
    }
}

/// The SONAME's version: `0.MINOR` for 0.x versions, `MAJOR` from 1.0 on.
fn soversion() -> String {
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap();
    let minor = std::env::var("CARGO_PKG_VERSION_MINOR").unwrap();
    if major == "0" {
        format!("0.{minor}")
    } else {
        major
    }
}

/// Version macros from Cargo.toml and one `#define` per error code of the shared table.
fn macros() -> String {
    let version = std::env::var("CARGO_PKG_VERSION").unwrap();
    let part = |name: &str| std::env::var(name).unwrap();
    let mut text = String::new();
    writeln!(text).unwrap();
    writeln!(
        text,
        "/** Version of the SDK this header belongs to (see CRVideo_GetVersion()). */"
    )
    .unwrap();
    writeln!(
        text,
        "#define CRVIDEOSDK_VERSION_MAJOR {}",
        part("CARGO_PKG_VERSION_MAJOR")
    )
    .unwrap();
    writeln!(
        text,
        "#define CRVIDEOSDK_VERSION_MINOR {}",
        part("CARGO_PKG_VERSION_MINOR")
    )
    .unwrap();
    writeln!(
        text,
        "#define CRVIDEOSDK_VERSION_PATCH {}",
        part("CARGO_PKG_VERSION_PATCH")
    )
    .unwrap();
    writeln!(text, "#define CRVIDEOSDK_VERSION_STRING \"{version}\"").unwrap();
    writeln!(text).unwrap();
    writeln!(
        text,
        "/* Error codes (sdkErr), with the values of the original SDK. */"
    )
    .unwrap();
    for &code in ErrorCode::ALL {
        writeln!(text, "/** {} */", code.description()).unwrap();
        writeln!(text, "#define CRVIDEOSDK_{} {}", code.name(), code.code()).unwrap();
    }
    for (comment, names) in MEETING_CONSTANTS {
        writeln!(text).unwrap();
        writeln!(text, "/* {comment} */").unwrap();
        for (value, name) in names.iter().enumerate() {
            writeln!(text, "#define CRVIDEOSDK_{name} {value}").unwrap();
        }
    }
    text
}

/// The meeting room's constants (API.md section 8), each group numbered from 0.
const MEETING_CONSTANTS: &[(&str, &[&str])] = &[
    (
        "Audio status (ASTATUS) of AudioStatusChanged and MemberInfo.audioStatus.",
        &["AUNKNOWN", "ANULL", "ACLOSE", "AOPEN", "AOPENING"],
    ),
    (
        "Video status (VSTATUS) of VideoStatusChanged and MemberInfo.videoStatus.",
        &["VUNKNOWN", "VNULL", "VCLOSE", "VOPEN", "VOPENING"],
    ),
    (
        "Main page of CRVideo_SwitchToPage / NotifySwitchToPage.",
        &[
            "MAINPAGE_VIDEOWALL",
            "MAINPAGE_SHARE",
            "MAINPAGE_WHITEBOARD",
        ],
    ),
];
