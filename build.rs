//! Generates `include/CRVideoSDK.h` with cbindgen.
//!
//! The header is always generated into `OUT_DIR`; the test `header_is_current` compares it
//! with the committed `include/CRVideoSDK.h`. Outside CI (env `CI` unset) the committed copy
//! is refreshed when it differs, so a developer only has to commit it; in CI it is left
//! alone, so a stale committed header fails the test.

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

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
    // An executable linked against a library with a SONAME asks for a file of that name at
    // run time, and cargo only creates `libcrvideosdk.so`; so the versioned name is made here
    // as a symlink beside it in target/<profile>/, for programs linked against the build tree
    // (`cc app.c -Ltarget/release -lcrvideosdk`). It dangles until the library is linked.
    // Release builds only: the tests link against the debug library in target/debug/deps/,
    // and without a SONAME it needs no second name there.
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux")
        && std::env::var("PROFILE").as_deref() == Ok("release")
    {
        let soname = format!("libcrvideosdk.so.{}", soversion());
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{soname}");
        link_soname_beside_library(&out_dir, &soname);
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

/// Makes `profile_dir/soname -> libcrvideosdk.so`, where profile_dir is the directory cargo
/// puts the library in: OUT_DIR is `<target>/<profile>/build/crvideosdk-<hash>/out`.
fn link_soname_beside_library(out_dir: &Path, soname: &str) {
    let build_dir = out_dir.ancestors().nth(2);
    let profile_dir = match build_dir {
        Some(build) if build.file_name() == Some(OsStr::new("build")) => build.parent(),
        _ => None,
    };
    let Some(profile_dir) = profile_dir else {
        println!(
            "cargo:warning=unexpected OUT_DIR {}: no {soname} made beside libcrvideosdk.so",
            out_dir.display()
        );
        return;
    };
    let link = profile_dir.join(soname);
    let target = Path::new("libcrvideosdk.so");
    if std::fs::read_link(&link).ok().as_deref() == Some(target) {
        return;
    }
    let _ = std::fs::remove_file(&link);
    #[cfg(unix)]
    let made = std::os::unix::fs::symlink(target, &link);
    #[cfg(not(unix))]
    let made: std::io::Result<()> = Err(std::io::ErrorKind::Unsupported.into());
    if let Err(e) = made {
        println!("cargo:warning=cannot make {}: {e}", link.display());
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
