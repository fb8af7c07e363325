//! Early writeback for files that end with an `fsync`: the server's net-disk objects and the
//! SDK's downloads are made durable before they are listed or named, and that `fsync` of a
//! whole file is a long wait (0.5 s per GiB on the benchmark VM) unless the kernel has been
//! writing the bytes out while they arrived.

use std::fs::File;

/// A writer hands what it wrote to writeback at least every this many bytes.
pub const WRITEBACK_EVERY: u64 = 8 * 1024 * 1024;

/// Starts writing `len` bytes from `offset` of `file` to the disk without waiting for it
/// (Linux's `sync_file_range`). Elsewhere it does nothing and the final `fsync` does all.
#[cfg(target_os = "linux")]
pub fn start_writeback(file: &File, offset: u64, len: u64) {
    use std::os::fd::AsRawFd;
    // SAFETY: `file` owns a valid descriptor for the call; the kernel only reads the range.
    // A failure only means the final fsync has more to do.
    unsafe {
        libc::sync_file_range(
            file.as_raw_fd(),
            offset as libc::off64_t,
            len as libc::off64_t,
            libc::SYNC_FILE_RANGE_WRITE,
        );
    }
}

#[cfg(not(target_os = "linux"))]
pub fn start_writeback(_file: &File, _offset: u64, _len: u64) {}
