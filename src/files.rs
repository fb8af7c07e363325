//! Files the SDK writes for the app (HTTP and net-disk downloads, recordings) grow under a
//! hidden name beside their target and get the target's name only once complete, never
//! replacing a file that is there.

use std::io;
use std::path::{Path, PathBuf};

/// The hidden name beside `target` a file grows under: `.<name>.<suffix>`.
pub fn hidden_beside(target: &Path, suffix: &str) -> PathBuf {
    let name = target.file_name().unwrap_or_default().to_string_lossy();
    target.with_file_name(format!(".{name}.{suffix}"))
}

/// Gives the complete file at `partial` the name `target`; `AlreadyExists` when something
/// is at `target` (it is never replaced). A hard link then the partial name goes, so a
/// file that appears meanwhile is not replaced either; on a file system without hard
/// links, a check and a rename (the window is the app's own doing).
pub fn place_without_replacing(partial: &Path, target: &Path) -> io::Result<()> {
    match std::fs::hard_link(partial, target) {
        Ok(()) => {
            let _ = std::fs::remove_file(partial);
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(e),
        Err(_) if target.symlink_metadata().is_err() => std::fs::rename(partial, target),
        Err(_) => Err(io::Error::from(io::ErrorKind::AlreadyExists)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_placed_once_and_never_replaces_one() {
        let dir = std::env::temp_dir().join(format!("crvideo-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let target = dir.join("a.bin");
        let partial = hidden_beside(&target, "part");
        assert_eq!(partial, dir.join(".a.bin.part"));
        std::fs::write(&partial, b"one").unwrap();
        place_without_replacing(&partial, &target).unwrap();
        assert!(!partial.exists());
        std::fs::write(&partial, b"two").unwrap();
        let e = place_without_replacing(&partial, &target).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&target).unwrap(), b"one");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
