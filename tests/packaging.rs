//! Packaging: `scripts/install.sh` lays the SDK out under a temporary prefix, and a C
//! application outside the repo (tests/packaging/) is built against that prefix with CMake
//! (`find_package(CRVideoSDK)`) and with pkg-config, and run; so are the examples
//! (examples-c/CMakeLists.txt). The installed library is checked too: the symlink chain, the
//! SONAME, the exported symbols (`CRVideo_*` only) and the libraries it needs (system ones
//! only). And programs linked against the build tree (target/debug, target/release) as
//! README.md shows must start.
//!
//! Under `cargo test` this installs the debug build that cargo just made (the libraries from
//! target/debug/deps, the server from target/debug), which has no SONAME (build.rs gives one
//! to release builds only). Those tests need only what README.md lists (cargo, a C and a C++
//! compiler, with their binutils: `readelf`, `nm`).
//!
//! The tests that need `cmake` or `pkg-config`, and those that make a release build (slow,
//! LTO), are ignored by default; CI (`.ci/run`) runs them with
//! `cargo test --test packaging -- --ignored`, which needs
//! `apt-get install -y cmake pkg-config gcc g++ binutils`. `release_install_end_to_end` runs
//! the full `scripts/install.sh` (a release build) and checks the same as the debug tests,
//! plus the SONAME.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard, OnceLock};

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Libraries the SDK may need at run time: the C runtime and the C++ runtime (OpenH264, the
/// video codec, is C++; every Linux distribution installs libstdc++, apt itself needs it),
/// and nothing else.
const SYSTEM_LIBRARIES: &[&str] = &[
    "libstdc++.so.6",
    "libc.so.6",
    "libm.so.6",
    "libgcc_s.so.1",
    "libpthread.so.0",
    "libdl.so.2",
    "librt.so.1",
    "libutil.so.1",
    "ld-linux-x86-64.so.2",
    "ld-linux-aarch64.so.1",
];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `libcrvideosdk.so.0.MINOR` for 0.x, `libcrvideosdk.so.MAJOR` from 1.0 (as build.rs).
fn expected_soname() -> String {
    let major = env!("CARGO_PKG_VERSION_MAJOR");
    let minor = env!("CARGO_PKG_VERSION_MINOR");
    if major == "0" {
        format!("libcrvideosdk.so.0.{minor}")
    } else {
        format!("libcrvideosdk.so.{major}")
    }
}

/// Fails with what to install when `tool` is missing.
fn require_tool(tool: &str, package: &str) {
    if Command::new(tool).arg("--version").output().is_err() {
        panic!(
            "`{tool}` is not installed; this test needs it: `apt-get install -y {package}` \
             (CI installs cmake, pkg-config, gcc, g++ and binutils)"
        );
    }
}

/// cargo's target directory: this executable is `<target>/<profile>/deps/packaging-<hash>`.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.ancestors().nth(3).unwrap().to_path_buf()
}

/// Held while a test builds into or reads from `<target>/<profile>/` (not deps/): cargo
/// replaces the files there on every build, fresh or not, so a concurrent reader could find
/// one missing.
fn build_tree_lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs `cargo build [--release] --workspace` (README.md's build) into this run's target
/// directory, once per profile and test process; returns `<target>/<profile>`. Call it with
/// [`build_tree_lock`] held.
fn cargo_build(release: bool) -> PathBuf {
    static DEBUG: OnceLock<PathBuf> = OnceLock::new();
    static RELEASE: OnceLock<PathBuf> = OnceLock::new();
    let (once, profile) = if release {
        (&RELEASE, "release")
    } else {
        (&DEBUG, "debug")
    };
    once.get_or_init(|| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.arg("build")
            .args(release.then_some("--release"))
            .arg("--workspace")
            .arg("--target-dir")
            .arg(target_dir())
            .current_dir(repo());
        run(&mut cmd);
        target_dir().join(profile)
    })
    .clone()
}

fn describe(cmd: &Command) -> String {
    let mut text = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        text.push(' ');
        text.push_str(&arg.to_string_lossy());
    }
    text
}

/// Runs `cmd`, panicking with its output unless it succeeds; returns its stdout.
fn run(cmd: &mut Command) -> String {
    let output: Output = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run `{}`: {e}", describe(cmd)));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "`{}` failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{}",
        describe(cmd),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// A directory of its own under CARGO_TARGET_TMPDIR for this test process; those of earlier
/// runs whose process is gone are removed.
fn work_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        if let Ok(entries) = std::fs::read_dir(&tmp) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if let Some(pid) = name.strip_prefix("packaging-") {
                    if !Path::new("/proc").join(pid).exists() {
                        let _ = std::fs::remove_dir_all(entry.path());
                    }
                }
            }
        }
        let root = tmp.join(format!("packaging-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        root
    })
}

/// An installed SDK.
struct Install {
    prefix: PathBuf,
    /// Where this install's consumers are built.
    work: PathBuf,
    release: bool,
}

impl Install {
    fn lib(&self, name: &str) -> PathBuf {
        self.prefix.join("lib").join(name)
    }

    fn real_library(&self) -> PathBuf {
        self.lib(&format!("libcrvideosdk.so.{VERSION}"))
    }
}

/// Runs scripts/install.sh with `args` (plus --no-ldconfig) into `work/prefix`.
fn install(work: PathBuf, args: &[&str], release: bool) -> Install {
    let prefix = work.join("prefix");
    let _ = std::fs::remove_dir_all(&prefix);
    let mut cmd = Command::new("bash");
    cmd.arg(repo().join("scripts/install.sh"))
        .args(args)
        .args(["--no-ldconfig", "--prefix"])
        .arg(&prefix)
        .env_remove("DESTDIR");
    let out = run(&mut cmd);
    assert!(out.contains("installed:"), "{out}");
    Install {
        prefix,
        work,
        release,
    }
}

/// The debug build cargo made for this test run, installed once for all the tests below.
fn debug_install() -> &'static Install {
    static INSTALL: OnceLock<Install> = OnceLock::new();
    INSTALL.get_or_init(|| {
        // `cargo test` leaves the cdylib and the staticlib in deps/, beside this executable,
        // and the workspace's binaries one level up.
        let deps = std::env::current_exe()
            .unwrap()
            .parent()
            .unwrap()
            .to_path_buf();
        let server = deps.parent().unwrap().join("crvideo-server");
        assert!(
            server.exists(),
            "{} is missing: run the tests with `cargo test --workspace` so the server is built",
            server.display()
        );
        let _tree = build_tree_lock();
        install(
            work_root().join("debug"),
            &[
                "--no-build",
                "--profile",
                "debug",
                "--artifact-dir",
                deps.to_str().unwrap(),
                "--server",
                server.to_str().unwrap(),
            ],
            false,
        )
    })
}

// ---------------------------------------------------------------------------------------
// The checks, shared by the debug tests and the release end-to-end test.

fn check_layout(install: &Install) {
    let p = &install.prefix;
    let real = install.real_library();
    let meta = std::fs::symlink_metadata(&real).unwrap();
    assert!(
        meta.file_type().is_file(),
        "{} is not a file",
        real.display()
    );
    // Relative symlinks, so a copied tree keeps working.
    let soname = expected_soname();
    assert_eq!(
        std::fs::read_link(install.lib(&soname)).unwrap(),
        PathBuf::from(format!("libcrvideosdk.so.{VERSION}"))
    );
    assert_eq!(
        std::fs::read_link(install.lib("libcrvideosdk.so")).unwrap(),
        PathBuf::from(&soname)
    );
    for file in [
        "lib/libcrvideosdk.a",
        "lib/pkgconfig/crvideosdk.pc",
        "lib/cmake/CRVideoSDK/CRVideoSDKConfig.cmake",
        "lib/cmake/CRVideoSDK/CRVideoSDKConfigVersion.cmake",
        "include/CRVideoSDK.h",
        "bin/crvideo-server",
    ] {
        assert!(p.join(file).is_file(), "{file} not installed");
    }
    assert_eq!(
        std::fs::read(p.join("include/CRVideoSDK.h")).unwrap(),
        std::fs::read(repo().join("include/CRVideoSDK.h")).unwrap(),
        "installed header differs from include/CRVideoSDK.h"
    );
    let hpp = repo().join("include/CRVideoSDK.hpp");
    assert_eq!(
        p.join("include/CRVideoSDK.hpp").is_file(),
        hpp.is_file(),
        "CRVideoSDK.hpp is installed exactly when the repo has it"
    );
    let pc = std::fs::read_to_string(p.join("lib/pkgconfig/crvideosdk.pc")).unwrap();
    assert!(pc.contains(&format!("prefix={}\n", p.display())), "{pc}");
    assert!(pc.contains(&format!("Version: {VERSION}\n")), "{pc}");
    assert!(pc.contains("Libs: -L${libdir} -lcrvideosdk\n"), "{pc}");
    for file in [
        "lib/cmake/CRVideoSDK/CRVideoSDKConfig.cmake",
        "lib/cmake/CRVideoSDK/CRVideoSDKConfigVersion.cmake",
        "lib/pkgconfig/crvideosdk.pc",
    ] {
        let text = std::fs::read_to_string(p.join(file)).unwrap();
        assert!(!text.contains("@CRVIDEOSDK_"), "placeholder left in {file}");
    }
    let help = run(Command::new(p.join("bin/crvideo-server")).arg("--help"));
    assert!(!help.is_empty());
}

/// `readelf -d` of `file`: (SONAME, NEEDED entries, has RPATH/RUNPATH).
fn dynamic_section(file: &Path) -> (Option<String>, Vec<String>, bool) {
    let out = run(Command::new("readelf")
        .arg("-d")
        .arg(file)
        .env("LC_ALL", "C"));
    let bracketed = |line: &str| {
        let start = line.find('[')? + 1;
        let end = line.rfind(']')?;
        Some(line[start..end].to_string())
    };
    let mut soname = None;
    let mut needed = Vec::new();
    let mut rpath = false;
    for line in out.lines() {
        if line.contains("(SONAME)") {
            soname = bracketed(line);
        } else if line.contains("(NEEDED)") {
            needed.extend(bracketed(line));
        } else if line.contains("(RPATH)") || line.contains("(RUNPATH)") {
            rpath = true;
        }
    }
    (soname, needed, rpath)
}

fn check_soname(install: &Install) {
    let (soname, _, _) = dynamic_section(&install.real_library());
    if install.release {
        assert_eq!(
            soname.as_deref(),
            Some(expected_soname().as_str()),
            "release library's SONAME"
        );
    } else if let Some(soname) = soname {
        assert_eq!(soname, expected_soname());
    }
}

fn check_runtime_dependencies(install: &Install) {
    let lib = install.real_library();
    let (_, needed, rpath) = dynamic_section(&lib);
    assert!(!needed.is_empty());
    for dep in &needed {
        assert!(
            SYSTEM_LIBRARIES.contains(&dep.as_str()),
            "libcrvideosdk needs {dep}, which is not a system library (NEEDED: {needed:?})"
        );
    }
    assert!(!rpath, "libcrvideosdk carries an RPATH/RUNPATH");
    let ldd = run(Command::new("ldd").arg(&lib));
    assert!(!ldd.contains("not found"), "{ldd}");
}

/// The functions the header declares: the `CRVideo_*` name before `(` on a declaration line.
fn header_functions() -> Vec<String> {
    let header = std::fs::read_to_string(repo().join("include/CRVideoSDK.h")).unwrap();
    let mut names = Vec::new();
    for line in header.lines() {
        let starts_declaration = line.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && !line.starts_with("typedef")
            && !line.starts_with("struct")
            && !line.starts_with("extern");
        if !starts_declaration {
            continue;
        }
        let Some(paren) = line.find('(') else {
            continue;
        };
        let before = &line[..paren];
        let name_start = before
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(0, |i| i + 1);
        let name = &before[name_start..];
        if name.starts_with("CRVideo_") {
            names.push(name.to_string());
        }
    }
    names.sort();
    names
}

fn check_exported_symbols(install: &Install) {
    let out = run(Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(install.real_library()));
    let mut exported: Vec<String> = out
        .lines()
        .filter_map(|line| line.split_whitespace().last())
        .map(|name| name.split('@').next().unwrap().to_string())
        .collect();
    exported.sort();
    exported.dedup();
    let foreign: Vec<&String> = exported
        .iter()
        .filter(|name| !name.starts_with("CRVideo_"))
        .collect();
    assert!(
        foreign.is_empty(),
        "libcrvideosdk exports symbols outside the C API: {foreign:?}"
    );
    let declared = header_functions();
    assert!(declared.len() > 10, "header parse found {declared:?}");
    assert_eq!(
        exported, declared,
        "the exported symbols and the functions in include/CRVideoSDK.h differ"
    );
}

/// Configures and builds the CMake project `source` in `build` with `defines`.
fn cmake_build(source: &Path, build: &Path, defines: &[String]) -> String {
    let _ = std::fs::remove_dir_all(build);
    let configure = run(Command::new("cmake")
        .arg("-S")
        .arg(source)
        .arg("-B")
        .arg(build)
        .args(defines)
        .env_remove("CMAKE_PREFIX_PATH")
        .env_remove("CRVideoSDK_DIR"));
    run(Command::new("cmake")
        .arg("--build")
        .arg(build)
        .args(["--parallel", "2"]));
    configure
}

/// Runs an executable with no LD_LIBRARY_PATH: it must find the library on its own.
fn run_consumer(exe: &Path, expect: &str) {
    let out = run(Command::new(exe).env_remove("LD_LIBRARY_PATH"));
    assert!(out.contains(expect), "{}: {out}", exe.display());
}

fn check_cmake_consumer(install: &Install, prefix: &Path, build: &Path) {
    let configure = cmake_build(
        &repo().join("tests/packaging"),
        build,
        &[format!("-DCMAKE_PREFIX_PATH={}", prefix.display())],
    );
    let include = prefix.join("include");
    assert!(
        configure.contains(&format!("CRVideoSDK {VERSION} "))
            && configure.contains(&format!("in {}", include.display())),
        "find_package did not pick the SDK in {}:\n{configure}",
        prefix.display()
    );
    let ok = format!("CRVideo SDK {VERSION} ok");
    // CMake gives the shared consumers a RUNPATH to PREFIX/lib.
    run_consumer(&build.join("consumer"), &ok);
    run_consumer(&build.join("consumer_cpp"), &ok);
    run_consumer(&build.join("consumer_static"), &ok);

    let (_, needed, _) = dynamic_section(&build.join("consumer"));
    let wanted = if install.release {
        expected_soname()
    } else {
        dynamic_section(&install.real_library())
            .0
            .unwrap_or_else(|| "libcrvideosdk.so".into())
    };
    assert!(
        needed.contains(&wanted),
        "consumer should need {wanted}: {needed:?}"
    );
    let (_, needed, _) = dynamic_section(&build.join("consumer_static"));
    assert!(
        !needed.iter().any(|n| n.starts_with("libcrvideosdk")),
        "consumer_static needs the shared library: {needed:?}"
    );
}

fn pkg_config(install: &Install, args: &[&str]) -> Vec<String> {
    let out = run(Command::new("pkg-config")
        .args(args)
        .arg("crvideosdk")
        .env("PKG_CONFIG_PATH", install.prefix.join("lib/pkgconfig"))
        .env_remove("PKG_CONFIG_LIBDIR"));
    out.split_whitespace().map(str::to_string).collect()
}

fn check_pkg_config_consumer(install: &Install) {
    assert_eq!(pkg_config(install, &["--modversion"]), vec![VERSION]);
    let dir = install.work.join("pkg-config");
    std::fs::create_dir_all(&dir).unwrap();
    let source = repo().join("tests/packaging/consumer.c");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let flags = pkg_config(install, &["--cflags", "--libs"]);
    assert!(flags.contains(&"-lcrvideosdk".to_string()), "{flags:?}");

    // Shared, as `cc app.c $(pkg-config --cflags --libs crvideosdk)`; no rpath, so it runs
    // with LD_LIBRARY_PATH=PREFIX/lib as with any library outside the linker's default path.
    let exe = dir.join("consumer");
    run(Command::new(&cc)
        .args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"])
        .arg(&source)
        .args(&flags)
        .arg("-o")
        .arg(&exe));
    let out = run(Command::new(&exe).env("LD_LIBRARY_PATH", install.prefix.join("lib")));
    assert!(out.contains(&format!("CRVideo SDK {VERSION} ok")), "{out}");

    // Static: Libs.private must be all the static library needs.
    let static_flags: Vec<String> = pkg_config(install, &["--cflags", "--libs", "--static"])
        .into_iter()
        .map(|f| {
            if f == "-lcrvideosdk" {
                "-l:libcrvideosdk.a".to_string()
            } else {
                f
            }
        })
        .collect();
    let exe = dir.join("consumer_static");
    run(Command::new(&cc)
        .args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"])
        .arg(&source)
        .args(&static_flags)
        .arg("-o")
        .arg(&exe));
    let out = run(Command::new(&exe).env_remove("LD_LIBRARY_PATH"));
    assert!(out.contains(&format!("CRVideo SDK {VERSION} ok")), "{out}");
}

fn check_examples(install: &Install) {
    let build = install.work.join("examples");
    let configure = cmake_build(
        &repo().join("examples-c"),
        &build,
        &[format!("-DCMAKE_PREFIX_PATH={}", install.prefix.display())],
    );
    assert!(
        configure.contains(&format!("CRVideoSDK {VERSION}")),
        "{configure}"
    );
    let mut built = 0;
    for entry in std::fs::read_dir(repo().join("examples-c")).unwrap() {
        let path = entry.unwrap().path();
        let ext = path.extension().and_then(|e| e.to_str());
        if !matches!(ext, Some("c") | Some("cpp")) {
            continue;
        }
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        let exe = build.join(&name);
        assert!(exe.is_file(), "example {name} was not built");
        let (_, needed, _) = dynamic_section(&exe);
        let links_sdk = needed.iter().any(|n| n.starts_with("libcrvideosdk"));
        assert_eq!(
            links_sdk,
            name != "dlopen_demo",
            "{name} NEEDED: {needed:?} (dlopen_demo must not link the SDK, the others must)"
        );
        built += 1;
    }
    assert!(built >= 1);
}

// ---------------------------------------------------------------------------------------

/// A program linked against the build tree as README.md and docs/GETTING_STARTED.md show,
/// from the repository: `cc app.c -Iinclude -L<out> -lcrvideosdk -lpthread`, started with
/// `LD_LIBRARY_PATH=<out>`; and the same linked with `-Wl,-rpath,<out>`, started without
/// it. `needs` is the library name the executables must record.
fn check_build_tree_program(out: &Path, needs: &str) {
    let ok = format!("CRVideo SDK {VERSION} ok");
    let profile = out.file_name().unwrap().to_str().unwrap();
    let dir = work_root().join(format!("build-tree-{profile}"));
    std::fs::create_dir_all(&dir).unwrap();
    let source = repo().join("tests/packaging/consumer.c");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let link = |exe: &Path, rpath: bool| {
        let mut cmd = Command::new(&cc);
        cmd.current_dir(repo())
            .arg(&source)
            .arg("-Iinclude")
            .arg(format!("-L{}", out.display()));
        if rpath {
            cmd.arg(format!("-Wl,-rpath,{}", out.display()));
        }
        run(cmd.args(["-lcrvideosdk", "-lpthread", "-o"]).arg(exe));
        let (_, needed, _) = dynamic_section(exe);
        assert!(
            needed.iter().any(|n| n == needs),
            "{} should need {needs}: {needed:?}",
            exe.display()
        );
    };

    let exe = dir.join("app");
    link(&exe, false);
    let started = run(Command::new(&exe).env("LD_LIBRARY_PATH", out));
    assert!(started.contains(&ok), "{started}");

    let exe = dir.join("app-rpath");
    link(&exe, true);
    run_consumer(&exe, &ok);
}

fn binutils() {
    require_tool("readelf", "binutils");
    require_tool("nm", "binutils");
}

fn cmake() {
    binutils();
    require_tool("cmake", "cmake");
}

#[test]
fn install_lays_out_headers_libraries_server_and_package_files() {
    binutils();
    check_layout(debug_install());
}

#[test]
fn installed_library_soname_matches_the_version() {
    binutils();
    let install = debug_install();
    check_soname(install);
}

#[test]
fn installed_library_exports_only_the_c_api() {
    binutils();
    check_exported_symbols(debug_install());
}

#[test]
fn installed_library_needs_only_system_libraries() {
    binutils();
    check_runtime_dependencies(debug_install());
}

#[test]
#[ignore = "needs cmake; CI runs it: cargo test --test packaging -- --ignored"]
fn cmake_consumer_builds_and_runs_against_the_installed_prefix() {
    cmake();
    let install = debug_install();
    check_cmake_consumer(install, &install.prefix, &install.work.join("cmake"));
}

#[test]
#[ignore = "needs cmake; CI runs it: cargo test --test packaging -- --ignored"]
fn cmake_package_is_relocatable() {
    cmake();
    let install = debug_install();
    // A copy of the installed tree elsewhere (hard links: same files, new paths).
    let copy = install.work.join("moved/opt/sdk");
    let _ = std::fs::remove_dir_all(install.work.join("moved"));
    std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
    run(Command::new("cp")
        .arg("-al")
        .arg(&install.prefix)
        .arg(&copy));
    check_cmake_consumer(install, &copy, &install.work.join("cmake-moved"));
}

#[test]
#[ignore = "needs pkg-config; CI runs it: cargo test --test packaging -- --ignored"]
fn pkg_config_consumer_builds_and_runs_against_the_installed_prefix() {
    binutils();
    require_tool("pkg-config", "pkg-config");
    check_pkg_config_consumer(debug_install());
}

#[test]
#[ignore = "needs cmake; CI runs it: cargo test --test packaging -- --ignored"]
fn examples_build_against_the_installed_prefix() {
    cmake();
    check_examples(debug_install());
}

/// `cmake -DCRVideoSDK_DIR=<repo>/cmake` with cargo's `profile` output; `needs`: what the
/// consumer must record (the build-tree package links it in the consumer's build directory).
fn check_cmake_build_tree(profile: &str, needs: &str) {
    let build = work_root().join(format!("cmake-build-tree-{profile}"));
    let configure = cmake_build(
        &repo().join("tests/packaging"),
        &build,
        &[
            format!("-DCRVideoSDK_DIR={}", repo().join("cmake").display()),
            format!("-DCRVideoSDK_TARGET_DIR={}", target_dir().display()),
            format!("-DCRVideoSDK_PROFILE={profile}"),
        ],
    );
    assert!(
        configure.contains(&format!("in {}", repo().join("include").display())),
        "{configure}"
    );
    let ok = format!("CRVideo SDK {VERSION} ok");
    run_consumer(&build.join("consumer"), &ok);
    run_consumer(&build.join("consumer_static"), &ok);
    let (_, needed, _) = dynamic_section(&build.join("consumer"));
    assert!(
        needed.iter().any(|n| n == needs),
        "consumer should need {needs}: {needed:?}"
    );
}

#[test]
#[ignore = "needs cmake; CI runs it: cargo test --test packaging -- --ignored"]
fn cmake_consumer_builds_from_the_build_tree() {
    cmake();
    let _tree = build_tree_lock();
    check_cmake_build_tree("debug", "libcrvideosdk.so");
}

/// README.md's `cc app.c -Iinclude -Ltarget/debug -lcrvideosdk -lpthread` after
/// `cargo build --workspace`: the debug library has no SONAME, so programs ask for
/// `libcrvideosdk.so`.
#[test]
#[ignore = "runs cargo build --workspace itself; CI runs it: cargo test --test packaging -- --ignored"]
fn program_linked_against_the_debug_build_tree_starts() {
    binutils();
    let _tree = build_tree_lock();
    let out = cargo_build(false);
    assert_eq!(dynamic_section(&out.join("libcrvideosdk.so")).0, None);
    check_build_tree_program(&out, "libcrvideosdk.so");
}

/// The same after `cargo build --release --workspace`: the release library's SONAME is
/// `libcrvideosdk.so.0.1`, which build.rs links beside it in target/release.
#[test]
#[ignore = "makes a release build (minutes); CI runs it: cargo test --test packaging -- --ignored"]
fn program_linked_against_the_release_build_tree_starts() {
    binutils();
    let _tree = build_tree_lock();
    let out = cargo_build(true);
    let soname = expected_soname();
    assert_eq!(
        dynamic_section(&out.join("libcrvideosdk.so")).0.as_deref(),
        Some(soname.as_str())
    );
    // Relative, so a moved or copied target directory keeps working.
    assert_eq!(
        std::fs::read_link(out.join(&soname)).unwrap(),
        PathBuf::from("libcrvideosdk.so")
    );
    check_build_tree_program(&out, &soname);
}

#[test]
#[ignore = "needs cmake and makes a release build; CI runs it: cargo test --test packaging -- --ignored"]
fn cmake_consumer_builds_from_the_release_build_tree() {
    cmake();
    let _tree = build_tree_lock();
    cargo_build(true);
    check_cmake_build_tree("release", &expected_soname());
}

/// The real thing: `scripts/install.sh` builds the release workspace and installs it; then
/// every check above, with the SONAME required.
#[test]
#[ignore = "makes a release build and needs cmake and pkg-config; CI runs it: cargo test --test packaging -- --ignored"]
fn release_install_end_to_end() {
    cmake();
    require_tool("pkg-config", "pkg-config");
    let _tree = build_tree_lock();
    let install = install(
        work_root().join("release"),
        &["--target-dir", target_dir().to_str().unwrap()],
        true,
    );
    check_layout(&install);
    check_soname(&install);
    check_exported_symbols(&install);
    check_runtime_dependencies(&install);
    check_cmake_consumer(&install, &install.prefix, &install.work.join("cmake"));
    check_pkg_config_consumer(&install);
    check_examples(&install);
    let size = std::fs::metadata(install.real_library()).unwrap().len();
    println!(
        "release libcrvideosdk.so.{VERSION}: {size} bytes ({:.2} MiB)",
        size as f64 / 1048576.0
    );
}
