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

/// The hidden file a transfer is written to until it is complete and verified.
pub fn partial_path(dir: &Path, transfer_id: &str) -> PathBuf {
    dir.join(format!(".crvideo-{transfer_id}.part"))
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
}
