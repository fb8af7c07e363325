//! Building and running the C programs under test, optionally under a memory checker.
//!
//! `CRVIDEO_CHECK=asan` builds them with AddressSanitizer and UndefinedBehaviorSanitizer;
//! `CRVIDEO_CHECK=valgrind` runs them under valgrind memcheck (leaks "definitely lost" and
//! invalid accesses fail the run). `.ci/run` runs the example and C-program tests both ways.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The checker asked for by `CRVIDEO_CHECK`, if any.
pub fn mode() -> Option<String> {
    std::env::var("CRVIDEO_CHECK")
        .ok()
        .filter(|m| !m.is_empty())
}

/// The directory holding this build's libcrvideosdk.so (next to the test executable), with
/// the link named by the library's SONAME (`libcrvideosdk.so.0.1` for 0.1.x) that programs
/// linked against it ask for at run time; an installed copy gets it from the install step.
pub fn lib_dir() -> PathBuf {
    let dir = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let major = env!("CARGO_PKG_VERSION_MAJOR");
    let soname = if major == "0" {
        format!("libcrvideosdk.so.0.{}", env!("CARGO_PKG_VERSION_MINOR"))
    } else {
        format!("libcrvideosdk.so.{major}")
    };
    let link = dir.join(&soname);
    if std::fs::symlink_metadata(&link).is_err() {
        // Several tests may race to create it; whoever wins, the link is right.
        let _ = std::os::unix::fs::symlink("libcrvideosdk.so", &link);
    }
    dir
}

/// Compiles a C (or, by extension, C++) source with `-Wall -Wextra -Werror -pedantic`
/// against the generated header; `link_sdk` links libcrvideosdk (else `-ldl`).
pub fn build(source: &Path, link_sdk: bool) -> PathBuf {
    build_with_header(
        source,
        link_sdk,
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("include"),
        "",
    )
}

/// As [`build`], with the header taken from `include` (e.g. an older version of it); the
/// executable's name gets `suffix`.
pub fn build_with_header(source: &Path, link_sdk: bool, include: &Path, suffix: &str) -> PathBuf {
    let cpp = source.extension().is_some_and(|e| e == "cpp");
    let stem = source.file_stem().unwrap().to_string_lossy().into_owned();
    let asan = mode().as_deref() == Some("asan");
    let out_dir = std::env::temp_dir().join(format!("crvideo-checked-{}", std::process::id()));
    std::fs::create_dir_all(&out_dir).unwrap();
    let exe = out_dir.join(if asan {
        format!("{stem}{suffix}-asan")
    } else {
        format!("{stem}{suffix}")
    });
    let compiler = if cpp {
        std::env::var("CXX").unwrap_or_else(|_| "c++".into())
    } else {
        std::env::var("CC").unwrap_or_else(|_| "cc".into())
    };
    let mut cmd = Command::new(compiler);
    cmd.arg(if cpp { "-std=c++17" } else { "-std=c99" })
        .args(["-Wall", "-Wextra", "-Werror", "-pedantic", "-g"])
        .arg(source)
        .arg("-I")
        .arg(include);
    if asan {
        cmd.args([
            "-fsanitize=address,undefined",
            "-fno-omit-frame-pointer",
            "-fno-sanitize-recover=all",
        ]);
    }
    if link_sdk {
        let lib = lib_dir();
        assert!(
            lib.join("libcrvideosdk.so").exists(),
            "libcrvideosdk.so not built in {}",
            lib.display()
        );
        cmd.arg("-L")
            .arg(&lib)
            .arg(format!("-Wl,-rpath,{}", lib.display()))
            .arg("-lcrvideosdk");
    } else {
        cmd.arg("-ldl");
    }
    let output = cmd
        .args(["-lpthread", "-o"])
        .arg(&exe)
        .output()
        .expect("run the compiler");
    assert!(
        output.status.success(),
        "compiling {} failed:\n{}",
        source.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    exe
}

/// Runs a built program (under valgrind when asked) and returns its output; panics with
/// everything it printed when it fails.
pub fn run(exe: &Path, args: &[&str]) -> Output {
    let mut cmd = if mode().as_deref() == Some("valgrind") {
        let mut c = Command::new("valgrind");
        c.args([
            "--quiet",
            "--error-exitcode=99",
            "--leak-check=full",
            "--errors-for-leak-kinds=definite",
            "--show-leak-kinds=definite",
        ])
        .arg(exe);
        c
    } else {
        Command::new(exe)
    };
    // The rpath names this build's library; cargo's LD_LIBRARY_PATH may name an older one.
    cmd.env_remove("LD_LIBRARY_PATH");
    if mode().as_deref() == Some("asan") {
        cmd.env(
            "ASAN_OPTIONS",
            "detect_leaks=1:abort_on_error=0:exitcode=98",
        )
        .env("UBSAN_OPTIONS", "halt_on_error=1:print_stacktrace=1");
    }
    let output = cmd.args(args).output().expect("run the program");
    assert!(
        output.status.success(),
        "{} {args:?} failed ({}){}:\n--- stdout\n{}\n--- stderr\n{}",
        exe.display(),
        output.status,
        mode().map(|m| format!(" under {m}")).unwrap_or_default(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}
