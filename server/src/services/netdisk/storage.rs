//! Where net-disk file bodies live, behind a small interface: an object is written as a
//! partial one, made durable and visible in one step ([`Storage::commit`]), read at offsets,
//! deleted. [`LocalStorage`] keeps them as files under `data_dir/netdisk/`; an
//! S3-compatible backend ([`super::s3`]) keeps partial objects here and commits to a bucket.
//!
//! Object names are made by [`object_name`] from the tenant and the file's key, never from
//! what a user typed.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io;
use std::path::PathBuf;

use blake2::{Blake2s256, Digest};
use crvideo_proto::writeback::{start_writeback, WRITEBACK_EVERY};

/// A partial object being written, in order.
pub trait PartialObject: Send {
    /// Writes `data` at `offset` (the bytes written so far: writes come in order).
    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()>;
}

/// A stored object, read at offsets.
pub trait StoredObject: Send + Sync {
    /// Fills `buf` from `offset`; fewer bytes only at the end of the object.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize>;
}

/// What [`Storage::recover`] cleaned up.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Recovered {
    /// Partial objects deleted (uploads cut by a crash).
    pub partials: usize,
    /// Stored objects deleted because no listed file names them (a crash between storing
    /// and recording).
    pub orphans: usize,
}

pub trait Storage: Send + Sync {
    /// Starts (or restarts from nothing) partial object `name`.
    fn create_partial(&self, name: &str) -> io::Result<Box<dyn PartialObject>>;
    /// Makes partial object `name` durable and stored under the same name.
    fn commit(&self, name: &str) -> io::Result<()>;
    /// Deletes partial object `name` (absent is fine).
    fn discard_partial(&self, name: &str);
    fn open(&self, name: &str) -> io::Result<Box<dyn StoredObject>>;
    /// Deletes stored object `name` (absent is fine).
    fn delete(&self, name: &str) -> io::Result<()>;
    /// At start-up: deletes every partial object and every stored one not in `keep`;
    /// returns the names of `keep` that have no stored object.
    fn recover(&self, keep: &HashSet<String>) -> io::Result<(Recovered, Vec<String>)>;
}

/// The object name of `key` of `tenant`: a hash, so tenants cannot collide or name paths.
pub fn object_name(tenant: &str, key: &str) -> String {
    let mut hash = Blake2s256::new();
    hash.update(tenant.as_bytes());
    hash.update([0]);
    hash.update(key.as_bytes());
    crvideo_proto::hex(&hash.finalize())
}

/// Objects as files: `root/partial/<name>` while written, `root/files/<name>` once stored.
pub struct LocalStorage {
    partial: PathBuf,
    files: PathBuf,
}

impl LocalStorage {
    /// Storage under `root`, creating its directories.
    pub fn open(root: PathBuf) -> io::Result<LocalStorage> {
        let storage = LocalStorage {
            partial: root.join("partial"),
            files: root.join("files"),
        };
        std::fs::create_dir_all(&storage.partial)?;
        std::fs::create_dir_all(&storage.files)?;
        Ok(storage)
    }
}

struct LocalPartial {
    file: File,
    /// Bytes before this offset were handed to writeback (so that the `fsync` of
    /// [`Storage::commit`] finds little left to wait for).
    handed: u64,
}

impl PartialObject for LocalPartial {
    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        write_all_at(&self.file, data, offset)?;
        let end = offset + data.len() as u64;
        if end >= self.handed + WRITEBACK_EVERY {
            start_writeback(&self.file, self.handed, end - self.handed);
            self.handed = end;
        }
        Ok(())
    }
}

struct LocalStored(File);

impl StoredObject for LocalStored {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let mut done = 0;
        while done < buf.len() {
            match read_at(&self.0, &mut buf[done..], offset + done as u64) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(done)
    }
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

#[cfg(windows)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, offset)
}

#[cfg(unix)]
fn write_all_at(file: &File, data: &[u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, data, offset)
}

#[cfg(windows)]
fn write_all_at(file: &File, mut data: &[u8], mut offset: u64) -> io::Result<()> {
    while !data.is_empty() {
        let n = std::os::windows::fs::FileExt::seek_write(file, data, offset)?;
        data = &data[n..];
        offset += n as u64;
    }
    Ok(())
}

impl LocalStorage {
    /// Where partial object `name` is written.
    pub fn partial_path(&self, name: &str) -> PathBuf {
        self.partial.join(name)
    }
}

impl Storage for LocalStorage {
    fn create_partial(&self, name: &str) -> io::Result<Box<dyn PartialObject>> {
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(self.partial.join(name))?;
        Ok(Box::new(LocalPartial { file, handed: 0 }))
    }

    fn commit(&self, name: &str) -> io::Result<()> {
        let from = self.partial.join(name);
        // The bytes are on disk before the name says they are there, and the name before
        // the caller records the file.
        File::open(&from)?.sync_all()?;
        std::fs::rename(&from, self.files.join(name))?;
        sync_dir(&self.files)
    }

    fn discard_partial(&self, name: &str) {
        let _ = std::fs::remove_file(self.partial.join(name));
    }

    fn open(&self, name: &str) -> io::Result<Box<dyn StoredObject>> {
        Ok(Box::new(LocalStored(File::open(self.files.join(name))?)))
    }

    fn delete(&self, name: &str) -> io::Result<()> {
        match std::fs::remove_file(self.files.join(name)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    fn recover(&self, keep: &HashSet<String>) -> io::Result<(Recovered, Vec<String>)> {
        let mut recovered = Recovered::default();
        for entry in std::fs::read_dir(&self.partial)? {
            std::fs::remove_file(entry?.path())?;
            recovered.partials += 1;
        }
        let mut present = HashSet::new();
        for entry in std::fs::read_dir(&self.files)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if keep.contains(&name) {
                present.insert(name);
            } else {
                std::fs::remove_file(entry.path())?;
                recovered.orphans += 1;
            }
        }
        let missing = keep.difference(&present).cloned().collect();
        Ok((recovered, missing))
    }
}

#[cfg(unix)]
fn sync_dir(dir: &std::path::Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &std::path::Path) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_are_written_committed_read_and_recovered() {
        let root = std::env::temp_dir().join(format!("crvideo-storage-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let storage = LocalStorage::open(root.clone()).unwrap();
        let (a, b, c) = (
            object_name("t", "a"),
            object_name("t", "b"),
            object_name("u", "a"),
        );
        assert_ne!(a, c, "tenants do not share objects");
        let mut partial = storage.create_partial(&a).unwrap();
        partial.write_at(0, b"hello ").unwrap();
        partial.write_at(6, b"world").unwrap();
        assert!(storage.open(&a).is_err(), "not readable before commit");
        storage.commit(&a).unwrap();
        let mut buf = [0u8; 16];
        let n = storage.open(&a).unwrap().read_at(6, &mut buf).unwrap();
        assert_eq!(&buf[..n], b"world");
        storage
            .create_partial(&b)
            .unwrap()
            .write_at(0, b"cut")
            .unwrap();
        storage.create_partial(&c).unwrap();
        storage.commit(&c).unwrap();

        // After a crash: `a` is listed, `c` is not (orphan), `b` was partial, `d` is missing.
        let keep: HashSet<String> = [a.clone(), "d".to_string()].into();
        let (recovered, missing) = storage.recover(&keep).unwrap();
        assert_eq!(
            recovered,
            Recovered {
                partials: 1,
                orphans: 1
            }
        );
        assert_eq!(missing, vec!["d".to_string()]);
        assert!(storage.open(&a).is_ok());
        assert!(storage.open(&c).is_err());
        assert_eq!(std::fs::read_dir(root.join("partial")).unwrap().count(), 0);
        let _ = std::fs::remove_dir_all(&root);
    }
}
