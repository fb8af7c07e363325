//! Generates what repeats the C API from the Rust sources:
//!
//! - `include/CRVideoSDK.h`, with cbindgen;
//! - from the one list of callbacks, `CRVideo_Callbacks` in `src/ffi/callbacks.rs` (see
//!   [`callback_table`]): the SDK's `Event` enum and the `invoke` table that calls C (into
//!   `OUT_DIR`, included by `src/event.rs` and `src/ffi/invoke.rs`), the test harness's
//!   recording callbacks (`OUT_DIR`, included by `tests/common`), the C test programs'
//!   recorder `tests/c/recorder.h`, and the C++ layer's callback sections of
//!   `include/CRVideoSDK.hpp` (between `<generated …>` markers).
//!
//! Everything is generated into `OUT_DIR`. The committed copies (the two headers and the C
//! recorder) are compared with it by the tests in `tests/header.rs`; outside CI (env `CI`
//! unset) they are refreshed when they differ, so a developer only has to commit them; in
//! CI they are left alone, so a stale committed copy fails its test.

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

    refresh_committed(&generated, &crate_dir.join("include").join("CRVideoSDK.h"));

    callback_table::generate(&crate_dir, &out_dir);
    warn_without_nasm();
}

/// OpenH264 (built from source by `openh264-sys2`) uses its x86 SIMD code only when `nasm`
/// is on PATH, and quietly goes without otherwise: H.264 encoding is then 2.4–2.7x slower
/// (docs/BENCHMARKS.md). Said here, where a developer sees it.
fn warn_without_nasm() {
    let x86 = matches!(
        std::env::var("CARGO_CFG_TARGET_ARCH").as_deref(),
        Ok("x86_64" | "x86")
    );
    println!("cargo:rerun-if-env-changed=OPENH264_NO_ASM");
    if !x86 || std::env::var_os("OPENH264_NO_ASM").is_some() {
        return;
    }
    let nasm = std::process::Command::new("nasm").arg("-v").output();
    if !nasm.is_ok_and(|out| out.status.success()) {
        println!(
            "cargo:warning=nasm not found: OpenH264 is built without its SIMD code (video \
             encoding about 2.5x slower); install nasm (apt-get install nasm), then \
             `cargo clean -p openh264-sys2`"
        );
    }
}

/// Outside CI, makes the committed copy `committed` equal to the fresh `generated` one.
fn refresh_committed(generated: &Path, committed: &Path) {
    if std::env::var_os("CI").is_some() {
        return;
    }
    let fresh = std::fs::read(generated).unwrap();
    if std::fs::read(committed).ok().as_deref() != Some(fresh.as_slice()) {
        std::fs::write(committed, fresh)
            .unwrap_or_else(|e| panic!("write {}: {e}", committed.display()));
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
    (
        "Image formats (VFMT) of the video and screen functions: I420; B,G,R,A bytes; R,G,B,A bytes.",
        &["VFMT_YUV420P", "VFMT_ARGB32", "VFMT_RGBA32"],
    ),
];

/// Everything generated from `CRVideo_Callbacks`, the one list of callbacks. Adding a
/// callback is adding a member there (with its doc comment); the rest follows.
mod callback_table {
    use std::fmt::Write as _;
    use std::path::Path;

    /// A member of `CRVideo_Callbacks`.
    pub struct Callback {
        pub name: String,
        /// Its doc comment, line by line.
        pub doc: Vec<String>,
        /// The `// heading` line comment above it in the source, if any (a group of
        /// callbacks in the C++ layer).
        pub heading: Option<String>,
        /// Its arguments after `userData`.
        pub params: Vec<Param>,
    }

    pub struct Param {
        /// The name in C (`usrID`).
        pub c_name: String,
        pub kind: Kind,
    }

    #[derive(Clone, Copy, PartialEq, Eq)]
    pub enum Kind {
        /// `const char *`: UTF-8, never NULL.
        Text,
        /// `int`.
        Int,
        /// `int64_t`.
        I64,
        /// `const uint8_t *name, size_t len`: two C arguments, one value.
        Bytes,
    }

    impl Param {
        /// The name in Rust (`usr_id`).
        pub fn rust_name(&self) -> String {
            snake_case(&self.c_name)
        }
    }

    /// `usrID` → `usr_id`, `elementIDs` → `element_ids`, `sourceUserId` → `source_user_id`.
    pub fn snake_case(name: &str) -> String {
        let name = name.replace("IDs", "Ids").replace("ID", "Id");
        let mut out = String::new();
        let mut prev_lower = false;
        for c in name.chars() {
            if c.is_ascii_uppercase() && prev_lower {
                out.push('_');
            }
            prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
            out.push(c.to_ascii_lowercase());
        }
        out
    }

    pub fn generate(crate_dir: &Path, out_dir: &Path) {
        let source = crate_dir.join("src/ffi/callbacks.rs");
        let text = std::fs::read_to_string(&source).expect("src/ffi/callbacks.rs");
        let callbacks = read(&text);
        let write = |name: &str, text: String| {
            std::fs::write(out_dir.join(name), text).unwrap_or_else(|e| panic!("{name}: {e}"));
        };
        write("event.rs", rust_event(&callbacks));
        write("invoke.rs", rust_invoke(&callbacks));
        write("recording_callbacks.rs", rust_recorder(&callbacks));
        write("recorder.h", c_recorder(&callbacks));
        super::refresh_committed(
            &out_dir.join("recorder.h"),
            &crate_dir.join("tests/c/recorder.h"),
        );
        let hpp_path = crate_dir.join("include/CRVideoSDK.hpp");
        let hpp = std::fs::read_to_string(&hpp_path).expect("include/CRVideoSDK.hpp");
        write("CRVideoSDK.hpp", cpp_layer(&hpp, &callbacks));
        super::refresh_committed(&out_dir.join("CRVideoSDK.hpp"), &hpp_path);
        for (var, file) in [
            ("CRVIDEOSDK_GENERATED_HPP", "CRVideoSDK.hpp"),
            ("CRVIDEOSDK_GENERATED_C_RECORDER", "recorder.h"),
        ] {
            println!("cargo:rustc-env={var}={}", out_dir.join(file).display());
        }
    }

    /// The members of `CRVideo_Callbacks` after `size`, in order.
    pub fn read(text: &str) -> Vec<Callback> {
        let file = syn::parse_file(text).expect("src/ffi/callbacks.rs parses");
        let table = file
            .items
            .iter()
            .find_map(|item| match item {
                syn::Item::Struct(s) if s.ident == "CRVideo_Callbacks" => Some(s),
                _ => None,
            })
            .expect("struct CRVideo_Callbacks");
        let headings = headings(text);
        let mut callbacks = Vec::new();
        for field in &table.fields {
            let name = field.ident.as_ref().expect("named members").to_string();
            if name == "size" {
                continue;
            }
            let function = option_fn(&field.ty)
                .unwrap_or_else(|| panic!("{name}: not an Option<unsafe extern \"C\" fn(..)>"));
            let mut args = function.inputs.iter().map(|arg| {
                let c_name = arg.name.as_ref().expect("named arguments").0.to_string();
                (c_name, type_name(&arg.ty))
            });
            let first = args.next();
            assert!(
                matches!(&first, Some((n, t)) if n == "userData" && t == "*mut c_void"),
                "{name}: the first argument must be `userData: *mut c_void`"
            );
            let mut params = Vec::new();
            while let Some((c_name, ty)) = args.next() {
                let kind = match ty.as_str() {
                    "*const c_char" => Kind::Text,
                    "c_int" => Kind::Int,
                    "i64" => Kind::I64,
                    "*const u8" => {
                        let len = args.next().map(|(_, t)| t);
                        assert_eq!(len.as_deref(), Some("usize"), "{name}: data without length");
                        Kind::Bytes
                    }
                    other => panic!("{name}: argument {c_name} of unsupported type {other}"),
                };
                params.push(Param { c_name, kind });
            }
            let doc = field
                .attrs
                .iter()
                .filter_map(|attr| match &attr.meta {
                    syn::Meta::NameValue(nv) if nv.path.is_ident("doc") => match &nv.value {
                        syn::Expr::Lit(syn::ExprLit {
                            lit: syn::Lit::Str(s),
                            ..
                        }) => Some(s.value().trim().to_owned()),
                        _ => None,
                    },
                    _ => None,
                })
                .collect();
            let heading = headings
                .iter()
                .find(|(member, _)| *member == name)
                .map(|(_, h)| h.clone());
            callbacks.push(Callback {
                name,
                doc,
                heading,
                params,
            });
        }
        callbacks
    }

    /// (member, heading) for each `// heading` line comment directly above a member's doc.
    fn headings(text: &str) -> Vec<(String, String)> {
        let mut found = Vec::new();
        let mut pending: Option<String> = None;
        for line in text.lines().map(str::trim) {
            if let Some(comment) = line.strip_prefix("// ") {
                pending = Some(comment.to_owned());
            } else if let Some(rest) = line.strip_prefix("pub ") {
                let member = rest.split(':').next().unwrap_or("").trim().to_owned();
                if let Some(heading) = pending.take() {
                    found.push((member, heading));
                }
            } else if line.is_empty() {
                pending = None;
            }
        }
        found
    }

    fn option_fn(ty: &syn::Type) -> Option<&syn::TypeBareFn> {
        let syn::Type::Path(path) = ty else {
            return None;
        };
        let last = path.path.segments.last()?;
        if last.ident != "Option" {
            return None;
        }
        let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
            return None;
        };
        match args.args.first()? {
            syn::GenericArgument::Type(syn::Type::BareFn(f)) => Some(f),
            _ => None,
        }
    }

    /// `*const c_char`, `c_int`, … (the last path segment, with the pointer kind).
    fn type_name(ty: &syn::Type) -> String {
        match ty {
            syn::Type::Ptr(p) => {
                let kind = if p.mutability.is_some() {
                    "*mut"
                } else {
                    "*const"
                };
                format!("{kind} {}", type_name(&p.elem))
            }
            syn::Type::Path(p) => p
                .path
                .segments
                .last()
                .map(|s| s.ident.to_string())
                .unwrap_or_default(),
            _ => "?".into(),
        }
    }

    const HEADER: &str = "// Generated by build.rs from CRVideo_Callbacks (src/ffi/callbacks.rs).";

    fn rust_type(kind: Kind) -> &'static str {
        match kind {
            Kind::Text => "String",
            Kind::Int => "i32",
            Kind::I64 => "i64",
            Kind::Bytes => "Vec<u8>",
        }
    }

    /// `Name { a, b }` or `Name`.
    fn rust_pattern(cb: &Callback) -> String {
        if cb.params.is_empty() {
            return cb.name.clone();
        }
        let fields: Vec<String> = cb.params.iter().map(Param::rust_name).collect();
        format!("{} {{ {} }}", cb.name, fields.join(", "))
    }

    fn rust_doc(out: &mut String, doc: &[String], indent: &str) {
        for line in doc {
            writeln!(
                out,
                "{indent}///{}{line}",
                if line.is_empty() { "" } else { " " }
            )
            .unwrap();
        }
    }

    fn rust_event(callbacks: &[Callback]) -> String {
        let mut out = format!("{HEADER}\n\n");
        out.push_str(
            "/// Something the app is told about, in Rust form: one variant per member of\n\
             /// `CRVideo_Callbacks`, its fields the member's arguments.\n\
             #[derive(Debug, Clone, PartialEq)]\npub enum Event {\n",
        );
        for cb in callbacks {
            rust_doc(&mut out, &cb.doc, "    ");
            if cb.params.is_empty() {
                writeln!(out, "    {},", cb.name).unwrap();
                continue;
            }
            writeln!(out, "    {} {{", cb.name).unwrap();
            for p in &cb.params {
                writeln!(out, "        {}: {},", p.rust_name(), rust_type(p.kind)).unwrap();
            }
            out.push_str("    },\n");
        }
        out.push_str(
            "    /// Several events from one outcome; queued as its members, in order.\n    \
             Batch(Vec<Event>),\n}\n",
        );
        out
    }

    fn rust_invoke(callbacks: &[Callback]) -> String {
        let mut out = format!("{HEADER}\n\n");
        out.push_str(
            "/// Calls the member of `table` that `event` is for, if set, with `user_data` and the\n\
             /// event's fields as C arguments.\n///\n/// # Safety\n\
             /// The members of `table` must be functions with the signatures of the header.\n\
             pub(crate) unsafe fn invoke(\n    table: &CRVideo_Callbacks,\n    \
             user_data: *mut c_void,\n    event: &Event,\n) {\n    match event {\n",
        );
        for cb in callbacks {
            let mut args = vec!["user_data".to_owned()];
            for p in &cb.params {
                let name = p.rust_name();
                args.push(match p.kind {
                    Kind::Text => format!("c_str({name}).as_ptr()"),
                    Kind::Int | Kind::I64 => format!("*{name}"),
                    Kind::Bytes => format!("{name}.as_ptr(), {name}.len()"),
                });
            }
            writeln!(
                out,
                "        Event::{} => {{\n            if let Some(f) = table.{} {{\n                \
                 f({});\n            }}\n        }}",
                rust_pattern(cb),
                cb.name,
                args.join(", ")
            )
            .unwrap();
        }
        out.push_str("        // Split up when queued: never delivered as such.\n        Event::Batch(_) => {}\n    }\n}\n");
        out
    }

    /// For the tests: `recording_callbacks()`, a table whose every member calls
    /// `record(member, event)`; the includer defines `record`, `arg_text(*const c_char)` and
    /// `arg_bytes(*const u8, usize)`.
    fn rust_recorder(callbacks: &[Callback]) -> String {
        let mut out = format!("{HEADER}\n\n");
        for cb in callbacks {
            let mut params = vec!["_user_data: *mut c_void".to_owned()];
            let mut fields = Vec::new();
            for p in &cb.params {
                let (c, rust) = (&p.c_name, p.rust_name());
                match p.kind {
                    Kind::Text => {
                        params.push(format!("{c}: *const c_char"));
                        fields.push(format!("{rust}: arg_text({c})"));
                    }
                    Kind::Int | Kind::I64 => {
                        let ty = if p.kind == Kind::Int { "c_int" } else { "i64" };
                        params.push(format!("{c}: {ty}"));
                        fields.push(match rust == *c {
                            true => rust,
                            false => format!("{rust}: {c}"),
                        });
                    }
                    Kind::Bytes => {
                        params.push(format!("{c}: *const u8, len: usize"));
                        fields.push(format!("{rust}: arg_bytes({c}, len)"));
                    }
                }
            }
            let value = if fields.is_empty() {
                format!("crvideosdk::Event::{}", cb.name)
            } else {
                format!("crvideosdk::Event::{} {{ {} }}", cb.name, fields.join(", "))
            };
            writeln!(
                out,
                "#[allow(non_snake_case)]\nunsafe extern \"C\" fn record_{}({}) {{\n    \
                 record(\"{}\", {value});\n}}\n",
                cb.name,
                params.join(", "),
                cb.name
            )
            .unwrap();
        }
        out.push_str(
            "/// A table with every member set to a function that records its event.\n\
             pub fn recording_callbacks() -> CRVideo_Callbacks {\n    CRVideo_Callbacks {\n        \
             size: std::mem::size_of::<CRVideo_Callbacks>(),\n",
        );
        for cb in callbacks {
            writeln!(out, "        {0}: Some(record_{0}),", cb.name).unwrap();
        }
        out.push_str("    }\n}\n");
        out
    }

    fn c_recorder(callbacks: &[Callback]) -> String {
        let mut out = String::from(
            "/* recorder.h: one function per member of CRVideo_Callbacks that prints its event as\n \
             * a line: the member's name, then each argument, TAB-separated (text as is, numbers in\n \
             * decimal, data as its length and its 64-bit FNV-1a hash in 16 hex digits).\n \
             * Generated by build.rs from CRVideo_Callbacks (src/ffi/callbacks.rs); do not edit.\n \
             * The including file defines emit(fmt, ...), fnv1a(data, len) and\n \
             * before_callback(name) first. */\n\n",
        );
        for cb in callbacks {
            let mut params = vec!["void *ud".to_owned()];
            let mut format = cb.name.clone();
            let mut values = Vec::new();
            for p in &cb.params {
                let c = &p.c_name;
                match p.kind {
                    Kind::Text => {
                        params.push(format!("const char *{c}"));
                        format.push_str("\\t%s");
                        values.push(c.clone());
                    }
                    Kind::Int => {
                        params.push(format!("int {c}"));
                        format.push_str("\\t%d");
                        values.push(c.clone());
                    }
                    Kind::I64 => {
                        params.push(format!("int64_t {c}"));
                        format.push_str("\\t%lld");
                        values.push(format!("(long long){c}"));
                    }
                    Kind::Bytes => {
                        params.push(format!("const uint8_t *{c}, size_t len"));
                        format.push_str("\\t%lu\\t%016llx");
                        values.push("(unsigned long)len".into());
                        values.push(format!("fnv1a({c}, len)"));
                    }
                }
            }
            let values: String = values.iter().map(|v| format!(", {v}")).collect();
            writeln!(
                out,
                "static void rec_{name}({params}) {{\n    (void)ud;\n    \
                 before_callback(\"{name}\");\n    emit(\"{format}\"{values});\n}}",
                name = cb.name,
                params = params.join(", ")
            )
            .unwrap();
        }
        out.push_str("\n/* Sets every member of `cbs` to its recording function. */\n");
        out.push_str("static void recorder_register(CRVideo_Callbacks *cbs) {\n");
        for cb in callbacks {
            writeln!(out, "    cbs->{0} = rec_{0};", cb.name).unwrap();
        }
        out.push_str("}\n");
        out
    }

    /// `hpp` with its three generated regions made anew.
    fn cpp_layer(hpp: &str, callbacks: &[Callback]) -> String {
        let mut out = hpp.to_owned();
        for (region, body) in [
            ("virtual methods", cpp_virtuals(callbacks)),
            ("trampolines", cpp_trampolines(callbacks)),
            ("table", cpp_table(callbacks)),
        ] {
            out = replace_region(&out, region, &body);
        }
        out
    }

    /// Replaces the lines between `// <generated: REGION>` and `// </generated>`.
    fn replace_region(text: &str, region: &str, body: &str) -> String {
        let open = format!("// <generated: {region}>");
        let start = text
            .find(&open)
            .unwrap_or_else(|| panic!("CRVideoSDK.hpp: no `{open}` marker"));
        let body_start = start + text[start..].find('\n').expect("a line") + 1;
        let end = body_start
            + text[body_start..]
                .find("// </generated>")
                .unwrap_or_else(|| panic!("CRVideoSDK.hpp: `{open}` is not closed"));
        let end = text[..end].rfind('\n').map_or(end, |i| i + 1);
        format!("{}{body}{}", &text[..body_start], &text[end..])
    }

    fn cpp_doc(out: &mut String, doc: &[String]) {
        for line in doc {
            writeln!(
                out,
                "    ///{}{line}",
                if line.is_empty() { "" } else { " " }
            )
            .unwrap();
        }
    }

    fn cpp_virtuals(callbacks: &[Callback]) -> String {
        let mut out = String::new();
        for cb in callbacks {
            if let Some(heading) = &cb.heading {
                let gap = if out.is_empty() { "" } else { "\n" };
                writeln!(out, "{gap}    // {heading}").unwrap();
            }
            cpp_doc(&mut out, &cb.doc);
            let params: Vec<String> = cb
                .params
                .iter()
                .map(|p| {
                    let c = &p.c_name;
                    match p.kind {
                        Kind::Text => format!("std::string_view /*{c}*/"),
                        Kind::Int => format!("int /*{c}*/"),
                        Kind::I64 => format!("int64_t /*{c}*/"),
                        Kind::Bytes => format!("const uint8_t* /*{c}*/, size_t /*len*/"),
                    }
                })
                .collect();
            writeln!(
                out,
                "    virtual void {}({}) {{}}",
                cb.name,
                params.join(", ")
            )
            .unwrap();
        }
        out
    }

    fn cpp_trampolines(callbacks: &[Callback]) -> String {
        let mut out = String::new();
        for cb in callbacks {
            let mut params = vec!["void* ud".to_owned()];
            let mut args = Vec::new();
            for p in &cb.params {
                let c = &p.c_name;
                match p.kind {
                    Kind::Text => {
                        params.push(format!("const char* {c}"));
                        args.push(format!("view({c})"));
                    }
                    Kind::Int => {
                        params.push(format!("int {c}"));
                        args.push(c.clone());
                    }
                    Kind::I64 => {
                        params.push(format!("int64_t {c}"));
                        args.push(c.clone());
                    }
                    Kind::Bytes => {
                        params.push(format!("const uint8_t* {c}, size_t len"));
                        args.push(c.clone());
                        args.push("len".into());
                    }
                }
            }
            writeln!(
                out,
                "    static void {name}({params}) {{\n        \
                 deliver(ud, [&](Callbacks& c) {{ c.{name}({args}); }});\n    }}",
                name = cb.name,
                params = params.join(", "),
                args = args.join(", ")
            )
            .unwrap();
        }
        out
    }

    fn cpp_table(callbacks: &[Callback]) -> String {
        let mut out = String::new();
        for cb in callbacks {
            writeln!(out, "        t.{0} = &{0};", cb.name).unwrap();
        }
        out
    }
}
