//! Where a received file lands: its name reduced to a safe base name, in `tmpDir`, never
//! over an existing file.

use std::fs::OpenOptions;
use std::io;
use std::path::{Path, PathBuf};

/// The last component of a sender's file name, safe to use in `tmpDir`: no directories (of
/// either slash kind), no control characters, never `""`, `.` or `..`.
pub fn base_name(sent: &str) -> String {
    let last = sent.rsplit(['/', '\\']).next().unwrap_or("");
    let clean: String = last.chars().filter(|c| !c.is_control()).collect();
    let clean = clean.trim();
    if clean.is_empty() || clean == "." || clean == ".." {
        "file".to_string()
    } else {
        clean.chars().take(200).collect()
    }
}

/// The hidden file a transfer is written to until it is complete and verified. It names
/// this process, so that a later one can tell the partial files of a process that died
/// (see [`remove_stale_partials`]).
pub fn partial_path(dir: &Path, transfer_id: &str) -> PathBuf {
    dir.join(format!(
        ".crvideo-{}-{transfer_id}.part",
        std::process::id()
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

/// Reserves a new file in `dir` named `name`, or `stem (2).ext`, `stem (3).ext`, … when taken.
/// The reservation is an empty file created with `create_new`, so a name is never shared and
/// nothing existing is overwritten; the caller renames its data onto it.
pub fn reserve_unique(dir: &Path, name: &str) -> io::Result<PathBuf> {
    let (stem, ext) = match name.rfind('.') {
        Some(dot) if dot > 0 => (&name[..dot], &name[dot..]),
        _ => (name, ""),
    };
    for n in 1..10_000u32 {
        let candidate = if n == 1 {
            dir.join(name)
        } else {
            dir.join(format!("{stem} ({n}){ext}"))
        };
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
        let mine = partial_path(&dir, "t2");
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
