//! Where a received file lands: its name reduced to a safe base name, in `tmpDir`, never
//! over an existing file, and short enough for the file system.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// The longest file name (one path component) file systems take, in [`units`]: 255 bytes
/// of UTF-8 on Unix (ext4, XFS, Btrfs, tmpfs, APFS), 255 UTF-16 code units on Windows
/// (NTFS).
const NAME_MAX: usize = 255;

/// The longest extension (its dot included) kept when a name is shortened. What follows
/// the last dot of a longer name is not an extension: it is cut like the rest.
const EXT_MAX: usize = 32;

/// The length of a file name as the file system counts it.
fn units(s: &str) -> usize {
    s.chars().map(char_units).sum()
}

#[cfg(not(windows))]
fn char_units(c: char) -> usize {
    c.len_utf8()
}

#[cfg(windows)]
fn char_units(c: char) -> usize {
    c.len_utf16()
}

/// The longest start of `s` that is at most `max` [`units`] long, cut between characters.
fn cut(s: &str, max: usize) -> &str {
    let mut used = 0;
    for (at, c) in s.char_indices() {
        used += char_units(c);
        if used > max {
            return &s[..at];
        }
    }
    s
}

/// A name's stem and extension (`.txt`; empty when there is none, or when it is longer
/// than [`EXT_MAX`]). A leading dot starts a hidden name, not an extension.
fn split_extension(name: &str) -> (&str, &str) {
    match name.rfind('.') {
        Some(dot) if dot > 0 && units(&name[dot..]) <= EXT_MAX => (&name[..dot], &name[dot..]),
        _ => (name, ""),
    }
}

/// The last component of a sender's file name, safe to use in `tmpDir`: no directories (of
/// either slash kind), no control characters, never `""`, `.` or `..`. Not shortened (it is
/// also what the app is told the file was called); [`reserve_unique`] shortens it on disk.
pub fn base_name(sent: &str) -> String {
    let last = sent.rsplit(['/', '\\']).next().unwrap_or("");
    let clean: String = last.chars().filter(|c| !c.is_control()).collect();
    let clean = clean.trim();
    if clean.is_empty() || clean == "." || clean == ".." {
        "file".to_string()
    } else {
        clean.to_string()
    }
}

/// The `n`th name [`reserve_unique`] tries for base name `name`: `name` itself, then
/// `stem (n).ext`; the stem is cut (between characters) so that the whole fits in
/// [`NAME_MAX`], the extension kept.
fn disk_name(name: &str, n: u32) -> String {
    let (stem, ext) = split_extension(name);
    let suffix = if n == 1 {
        String::new()
    } else {
        format!(" ({n})")
    };
    // At least NAME_MAX - EXT_MAX - " (9999)": never empty.
    let room = NAME_MAX - units(&suffix) - units(ext);
    format!("{}{suffix}{ext}", cut(stem, room))
}

/// Creates the hidden file a transfer is written to until it is complete and verified:
/// `.crvideo-<pid>-<64 random bits>.part` in `dir`. It names this process, so that a later
/// one can tell the partial files of a process that died (see [`remove_stale_partials`]);
/// the random part makes the name unpredictable, and the file is new (`create_new`), so
/// nothing planted at a name (a file, a link) is ever opened, written through or followed.
pub fn create_partial(dir: &Path) -> io::Result<(File, PathBuf)> {
    create_partial_with(dir, || {
        let mut bytes = [0u8; 8];
        getrandom::getrandom(&mut bytes).map_err(|e| io::Error::other(e.to_string()))?;
        Ok(u64::from_le_bytes(bytes))
    })
}

/// [`create_partial`] with the random part from `random`. A name that is taken is skipped.
fn create_partial_with(
    dir: &Path,
    mut random: impl FnMut() -> io::Result<u64>,
) -> io::Result<(File, PathBuf)> {
    for _ in 0..16 {
        let path = dir.join(format!(
            ".crvideo-{}-{:016x}.part",
            std::process::id(),
            random()?
        ));
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(file) => return Ok((file, path)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "no free partial file name",
    ))
}

/// Removes the partial files in `dir` left by processes that no longer run (a receiver
/// that crashed mid-transfer cannot remove its own). Files of live processes, and anything
/// not named like a partial file, are left alone. Returns how many were removed.
pub fn remove_stale_partials(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(partial_owner) else {
            continue;
        };
        if pid != std::process::id()
            && !process_alive(pid)
            && std::fs::remove_file(entry.path()).is_ok()
        {
            tracing::info!(file = %entry.path().display(), "removed the partial file of a process that died");
            removed += 1;
        }
    }
    removed
}

/// The process ID in a partial file's name (`.crvideo-<pid>-<transfer>.part`).
fn partial_owner(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(".crvideo-")?.strip_suffix(".part")?;
    let (pid, transfer) = rest.split_once('-')?;
    if transfer.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    pid.parse().ok()
}

#[cfg(unix)]
fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return true;
    };
    // SAFETY: signal 0 only checks that the process exists; nothing is sent.
    let rc = unsafe { libc::kill(pid, 0) };
    // EPERM: it exists, owned by someone else.
    rc == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

#[cfg(not(unix))]
fn process_alive(_pid: u32) -> bool {
    // Without a cheap check, never remove another process's file.
    true
}

/// Reserves a new file in `dir` named `name`, or `stem (2).ext`, `stem (3).ext`, … when taken,
/// each shortened to what the file system takes (see [`disk_name`]). The reservation is an
/// empty file created with `create_new`, so a name is never shared and nothing existing (a
/// file, a link) is overwritten or followed; the caller renames its data onto it.
pub fn reserve_unique(dir: &Path, name: &str) -> io::Result<PathBuf> {
    for n in 1..10_000u32 {
        let candidate = dir.join(disk_name(name, n));
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&candidate)
        {
            Ok(_) => return Ok(candidate),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "no free file name",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_never_escape_the_directory() {
        assert_eq!(base_name("report.pdf"), "report.pdf");
        assert_eq!(base_name("/home/a/report.pdf"), "report.pdf");
        assert_eq!(base_name("../../etc/passwd"), "passwd");
        assert_eq!(base_name("..\\..\\windows\\win.ini"), "win.ini");
        assert_eq!(base_name("dir/"), "file");
        assert_eq!(base_name(".."), "file");
        assert_eq!(base_name("a/.."), "file");
        assert_eq!(base_name(""), "file");
        assert_eq!(base_name("bad\nname\u{7}.txt"), "badname.txt");
        assert_eq!(base_name("报告.txt"), "报告.txt");
        assert_eq!(base_name(".hidden"), ".hidden");
    }

    /// Checks `disk_name(name, n)`: it fits, ends with ` (n)` and the extension `ext`, and
    /// what is left of the stem is the longest start of it that fits, cut between characters.
    fn check_cut(name: &str, n: u32, ext: &str) -> String {
        let got = disk_name(name, n);
        assert!(units(&got) <= NAME_MAX, "{got:?} is too long");
        let suffix = if n == 1 {
            String::new()
        } else {
            format!(" ({n})")
        };
        let tail = format!("{suffix}{ext}");
        let kept = got.strip_suffix(&tail).expect("suffix and extension kept");
        let stem = name.strip_suffix(ext).unwrap();
        assert!(
            stem.starts_with(kept),
            "{kept:?} is not a start of the stem"
        );
        if let Some(next) = stem[kept.len()..].chars().next() {
            assert!(
                units(&got) + char_units(next) > NAME_MAX,
                "{got:?} was cut shorter than needed"
            );
        }
        got
    }

    #[test]
    fn long_names_are_cut_between_characters_keeping_the_extension() {
        // 200 emoji: 800 bytes of UTF-8 (400 UTF-16 units).
        let emoji = format!("{}.txt", "😀".repeat(200));
        let got = check_cut(&emoji, 1, ".txt");
        #[cfg(not(windows))]
        assert_eq!(got, format!("{}.txt", "😀".repeat(62)));
        // CJK (3 bytes each) and combining accents (a base letter and a 2-byte mark): cut
        // between characters, so the last letter may lose its accent but nothing is split.
        check_cut(&format!("{}.pdf", "报告".repeat(100)), 1, ".pdf");
        check_cut(&format!("{}.txt", "e\u{301}".repeat(150)), 1, ".txt");
        check_cut(&format!("{}.txt", "😀".repeat(200)), 10, ".txt");
        // The whole name fits exactly.
        let ascii = format!("{}.txt", "a".repeat(300));
        assert_eq!(
            check_cut(&ascii, 1, ".txt"),
            format!("{}.txt", "a".repeat(251))
        );
        #[cfg(not(windows))]
        assert_eq!(
            check_cut(&format!("xyz{emoji}"), 1, ".txt").len(),
            255,
            "3 + 62 × 4 + 4 bytes"
        );
        // With the no-overwrite suffix, still within the limit.
        assert_eq!(
            check_cut(&ascii, 2, ".txt"),
            format!("{} (2).txt", "a".repeat(247))
        );
        assert_eq!(units(&check_cut(&ascii, 9999, ".txt")), 255);
        // The longest extension kept; beyond it, the name is cut as a whole.
        let ext = format!(".{}", "e".repeat(EXT_MAX - 1));
        check_cut(&format!("{}{ext}", "s".repeat(300)), 1, &ext);
        let absurd = format!("a.{}", "b".repeat(300));
        assert_eq!(disk_name(&absurd, 1), format!("a.{}", "b".repeat(253)));
        assert_eq!(disk_name(&absurd, 2), format!("a.{} (2)", "b".repeat(249)));
        // Short names are left alone.
        assert_eq!(disk_name("report.pdf", 1), "report.pdf");
        assert_eq!(disk_name("report.pdf", 3), "report (3).pdf");
        assert_eq!(disk_name(".rc", 2), ".rc (2)");
        // The app is still told the whole name.
        assert_eq!(base_name(&format!("dir/{emoji}")), emoji);
    }

    #[test]
    fn long_names_are_created_on_disk() {
        let dir = std::env::temp_dir().join(format!("crvideo-long-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let name = format!("{}.txt", "😀".repeat(200));
        let first = reserve_unique(&dir, &name).unwrap();
        let second = reserve_unique(&dir, &name).unwrap();
        assert_eq!(first, dir.join(disk_name(&name, 1)));
        assert_eq!(second, dir.join(disk_name(&name, 2)));
        assert!(first.is_file() && second.is_file());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn partial_files_are_new_files_under_unpredictable_names() {
        let dir = std::env::temp_dir().join(format!("crvideo-partial-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let named = |tag: u64| dir.join(format!(".crvideo-{}-{tag:016x}.part", std::process::id()));
        // Something already at the first names drawn: skipped, never opened.
        std::fs::write(named(1), b"planted").unwrap();
        #[cfg(unix)]
        let victim = {
            let victim = dir.join("victim");
            std::fs::write(&victim, b"keep").unwrap();
            std::os::unix::fs::symlink(&victim, named(2)).unwrap();
            // A dangling link: following it would create the file it names.
            std::os::unix::fs::symlink(dir.join("created"), named(3)).unwrap();
            victim
        };
        let mut tags = [1u64, 2, 3, 4].into_iter();
        let (mut file, path) = create_partial_with(&dir, || Ok(tags.next().unwrap())).unwrap();
        assert_eq!(path, named(4));
        use std::io::Write;
        file.write_all(b"data").unwrap();
        drop(file);
        assert_eq!(std::fs::read(named(4)).unwrap(), b"data");
        assert_eq!(std::fs::read(named(1)).unwrap(), b"planted");
        #[cfg(unix)]
        {
            assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
            assert!(named(2).symlink_metadata().unwrap().is_symlink());
            assert!(!dir.join("created").exists());
        }
        // Every name taken, or no randomness: an error, not a shared file.
        let err = create_partial_with(&dir, || Ok(1)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert!(create_partial_with(&dir, || Err(io::Error::other("no entropy"))).is_err());
        // Real names: distinct, and they name this process.
        let (_, a) = create_partial(&dir).unwrap();
        let (_, b) = create_partial(&dir).unwrap();
        assert_ne!(a, b);
        for p in [&a, &b] {
            let name = p.file_name().unwrap().to_str().unwrap();
            assert_eq!(partial_owner(name), Some(std::process::id()));
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn clashes_get_new_names() {
        let dir = std::env::temp_dir().join(format!("crvideo-names-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.txt"), b"keep").unwrap();
        assert_eq!(
            reserve_unique(&dir, "a.txt").unwrap(),
            dir.join("a (2).txt")
        );
        assert_eq!(
            reserve_unique(&dir, "a.txt").unwrap(),
            dir.join("a (3).txt")
        );
        assert_eq!(reserve_unique(&dir, "noext").unwrap(), dir.join("noext"));
        assert_eq!(
            reserve_unique(&dir, "noext").unwrap(),
            dir.join("noext (2)")
        );
        assert_eq!(reserve_unique(&dir, ".rc").unwrap(), dir.join(".rc"));
        assert_eq!(std::fs::read(dir.join("a.txt")).unwrap(), b"keep");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn partial_files_of_dead_processes_are_removed() {
        let dir = std::env::temp_dir().join(format!("crvideo-stale-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let stale = dir.join(format!(".crvideo-{dead}-t1.part"));
        let (file, mine) = create_partial(&dir).unwrap();
        drop(file);
        let other = dir.join(".crvideo-notapid-t3.part");
        let unrelated = dir.join("keep.part");
        for f in [&stale, &mine, &other, &unrelated] {
            std::fs::write(f, b"x").unwrap();
        }
        assert_eq!(remove_stale_partials(&dir), 1);
        assert!(!stale.exists());
        assert!(mine.exists() && other.exists() && unrelated.exists());
        assert_eq!(partial_owner(".crvideo-12-ab.part"), Some(12));
        assert_eq!(partial_owner(".crvideo-12-.part"), None);
        assert_eq!(partial_owner(".crvideo-abc.part"), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
