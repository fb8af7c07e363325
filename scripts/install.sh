#!/usr/bin/env bash
# Installs the CRVideo SDK as a native library package (Linux):
#
#   PREFIX/include/CRVideoSDK.h                    (+ CRVideoSDK.hpp when the repo has it)
#   PREFIX/lib/libcrvideosdk.so.X.Y.Z              the shared library (SONAME libcrvideosdk.so.0.Y
#   PREFIX/lib/libcrvideosdk.so.0.Y -> .so.X.Y.Z     while the version is 0.x, .so.X from 1.0)
#   PREFIX/lib/libcrvideosdk.so -> .so.0.Y         for `-lcrvideosdk` at link time
#   PREFIX/lib/libcrvideosdk.a                     the static library
#   PREFIX/lib/pkgconfig/crvideosdk.pc
#   PREFIX/lib/cmake/CRVideoSDK/CRVideoSDKConfig.cmake, CRVideoSDKConfigVersion.cmake
#   PREFIX/bin/crvideo-server
#
# Usage: scripts/install.sh [options] [PREFIX]
#   PREFIX                 where to install (default /usr/local; same as --prefix)
#   --prefix DIR           where to install
#   --no-build             install what is already built; by default it first runs
#                          `cargo build --release --workspace` (or the --profile's build)
#   --profile NAME         the cargo build to install: release (default) or debug
#   --target-dir DIR       cargo's target directory (default $CARGO_TARGET_DIR, else ./target)
#   --artifact-dir DIR     take libcrvideosdk.so/.a from DIR instead of TARGET/PROFILE
#                          (the tests pass target/debug/deps)
#   --server FILE          take crvideo-server from FILE instead of TARGET/PROFILE/crvideo-server
#   --libdir NAME          library directory under PREFIX (default lib)
#   --no-ldconfig          do not run ldconfig after installing into /usr or /usr/local as root
#   -h, --help
# DESTDIR is honoured: files go to $DESTDIR$PREFIX, while the installed files name $PREFIX.
# The CMake package is relocatable (its paths are computed from its own location); the .pc
# names PREFIX (`pkg-config --define-prefix` relocates it). See cmake/README.md.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

prefix=/usr/local
build=1
profile=release
target_dir=${CARGO_TARGET_DIR:-}
artifact_dir=
server=
libdir=lib
ldconfig=1

die() {
    echo "install.sh: $*" >&2
    exit 1
}
usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
}
need_arg() {
    [ "$#" -ge 2 ] && [ -n "$2" ] || die "$1 needs a value"
}

while [ "$#" -gt 0 ]; do
    case "$1" in
        --prefix) need_arg "$@"; prefix=$2; shift 2 ;;
        --prefix=*) prefix=${1#*=}; shift ;;
        --no-build) build=0; shift ;;
        --profile) need_arg "$@"; profile=$2; shift 2 ;;
        --profile=*) profile=${1#*=}; shift ;;
        --target-dir) need_arg "$@"; target_dir=$2; shift 2 ;;
        --target-dir=*) target_dir=${1#*=}; shift ;;
        --artifact-dir) need_arg "$@"; artifact_dir=$2; shift 2 ;;
        --artifact-dir=*) artifact_dir=${1#*=}; shift ;;
        --server) need_arg "$@"; server=$2; shift 2 ;;
        --server=*) server=${1#*=}; shift ;;
        --libdir) need_arg "$@"; libdir=$2; shift 2 ;;
        --libdir=*) libdir=${1#*=}; shift ;;
        --no-ldconfig) ldconfig=0; shift ;;
        -h | --help) usage; exit 0 ;;
        -*) die "unknown option $1 (see --help)" ;;
        *) prefix=$1; shift ;;
    esac
done

[ "$(uname -s)" = Linux ] || die "only Linux is supported for now"
case "$prefix" in
    /*) ;;
    *) die "PREFIX must be an absolute path, not '$prefix'" ;;
esac
prefix=${prefix%/}
[ -n "$prefix" ] || prefix=/
case "$libdir" in
    /* | "" | *..*) die "--libdir must be a relative directory such as lib or lib64" ;;
esac
libdir=${libdir%/}
case "$profile" in
    release) cargo_profile=release ;;
    debug | dev) profile=debug; cargo_profile=dev ;;
    *) die "--profile must be release or debug, not '$profile'" ;;
esac

target_dir=${target_dir:-$repo/target}
case "$target_dir" in
    /*) ;;
    *) target_dir=$PWD/$target_dir ;;
esac
out=$target_dir/$profile
artifact_dir=${artifact_dir:-$out}
server=${server:-$out/crvideo-server}

if [ "$build" = 1 ]; then
    echo "== cargo build --profile $cargo_profile --workspace"
    (cd "$repo" && CARGO_TARGET_DIR=$target_dir "${CARGO:-cargo}" build \
        --profile "$cargo_profile" --workspace)
fi

shared=$artifact_dir/libcrvideosdk.so
static=$artifact_dir/libcrvideosdk.a
header=$repo/include/CRVideoSDK.h
hpp=$repo/include/CRVideoSDK.hpp
for f in "$shared" "$static" "$server" "$header"; do
    [ -f "$f" ] || die "$f is missing: build first (cargo build --release --workspace), or drop --no-build"
done

# The version, from the header that cbindgen generated out of Cargo.toml.
version=$(sed -n 's/^#define CRVIDEOSDK_VERSION_STRING "\(.*\)"$/\1/p' "$header")
[[ "$version" =~ ^([0-9]+)\.([0-9]+)\.([0-9]+)$ ]] || die "no version in $header"
major=${BASH_REMATCH[1]}
minor=${BASH_REMATCH[2]}
if [ "$major" = 0 ]; then
    soversion=0.$minor
else
    soversion=$major
fi

# The SONAME the library really carries (build.rs sets it on release builds).
if command -v readelf >/dev/null; then
    soname=$(LC_ALL=C readelf -d "$shared" | sed -n 's/.*(SONAME).*\[\(.*\)\]$/\1/p')
elif command -v objdump >/dev/null; then
    soname=$(LC_ALL=C objdump -p "$shared" | awk '$1 == "SONAME" { print $2 }')
else
    soname=$(grep -ao 'libcrvideosdk\.so\.[0-9][0-9.]*' "$shared" | head -n1 || true)
fi
if [ -n "$soname" ] && [ "$soname" != "libcrvideosdk.so.$soversion" ]; then
    die "$shared has SONAME $soname, expected libcrvideosdk.so.$soversion for version $version"
fi
[ -n "$soname" ] || echo "install.sh: note: $shared has no SONAME (a $profile build); executables will record libcrvideosdk.so" >&2

# System libraries the static library needs: `cargo rustc --lib -- --print native-static-libs`
# (minus -lc, which every link has). Kept in step with cmake/CRVideoSDKConfig.cmake.
static_libs="stdc++ gcc_s util rt pthread m dl"
static_flags=$(printf -- '-l%s ' $static_libs)
static_flags=${static_flags% }
static_cmake=$(echo "$static_libs" | tr ' ' ';')

# lib/cmake/CRVideoSDK -> the prefix: one ".." per component of libdir, plus cmake/CRVideoSDK.
up=../..
IFS=/ read -r -a parts <<<"$libdir"
for part in "${parts[@]}"; do
    [ -z "$part" ] || [ "$part" = . ] || up=$up/..
done

dest=${DESTDIR:-}$prefix
[ "$prefix" = / ] && dest=${DESTDIR:-}
real=libcrvideosdk.so.$version
link_major=libcrvideosdk.so.$soversion
echo "== installing CRVideo SDK $version into ${DESTDIR:+$DESTDIR (DESTDIR) + }$prefix"

install -d "$dest/include" "$dest/$libdir/pkgconfig" "$dest/$libdir/cmake/CRVideoSDK" "$dest/bin"
install -m 0644 "$header" "$dest/include/CRVideoSDK.h"
[ -f "$hpp" ] && install -m 0644 "$hpp" "$dest/include/CRVideoSDK.hpp"
install -m 0755 "$shared" "$dest/$libdir/$real"
ln -sfn "$real" "$dest/$libdir/$link_major"
ln -sfn "$link_major" "$dest/$libdir/libcrvideosdk.so"
install -m 0644 "$static" "$dest/$libdir/libcrvideosdk.a"
install -m 0755 "$server" "$dest/bin/crvideo-server"

subst() {
    sed -e "s|@CRVIDEOSDK_VERSION@|$version|g" \
        -e "s|@CRVIDEOSDK_PREFIX@|$prefix|g" \
        -e "s|@CRVIDEOSDK_LIBDIR@|$libdir|g" \
        -e "s|@CRVIDEOSDK_SONAME@|$soname|g" \
        -e "s|@CRVIDEOSDK_CONFIG_TO_PREFIX@|$up|g" \
        -e "s|@CRVIDEOSDK_STATIC_LIBS@|$static_cmake|g" \
        -e "s|@CRVIDEOSDK_STATIC_LIBS_FLAGS@|$static_flags|g" \
        "$1" >"$2"
    chmod 0644 "$2"
    if grep -n '@CRVIDEOSDK_[A-Z_]*@' "$2" >&2; then
        die "unsubstituted placeholder in $2"
    fi
}
subst "$repo/cmake/crvideosdk.pc.in" "$dest/$libdir/pkgconfig/crvideosdk.pc"
subst "$repo/cmake/CRVideoSDKConfig.cmake.in" "$dest/$libdir/cmake/CRVideoSDK/CRVideoSDKConfig.cmake"
subst "$repo/cmake/CRVideoSDKConfigVersion.cmake.in" \
    "$dest/$libdir/cmake/CRVideoSDK/CRVideoSDKConfigVersion.cmake"

# Into the system's own library directories as root: refresh the dynamic linker's cache, or
# the new SONAME is not found at run time until someone does.
case "$prefix" in
    /usr | /usr/local)
        if [ "$ldconfig" = 1 ] && [ -z "${DESTDIR:-}" ] && [ "$(id -u)" = 0 ] &&
            command -v ldconfig >/dev/null; then
            ldconfig || echo "install.sh: ldconfig failed; run it by hand" >&2
        fi
        ;;
esac

echo "installed:"
(cd "$dest" && find include/CRVideoSDK.h* "$libdir/libcrvideosdk"* "$libdir/pkgconfig/crvideosdk.pc" \
    "$libdir/cmake/CRVideoSDK" bin/crvideo-server \( -type f -o -type l \) | sort |
    while read -r f; do
        if [ -L "$f" ]; then echo "  $prefix/$f -> $(readlink "$f")"; else echo "  $prefix/$f"; fi
    done) | sed 's|//|/|g'
