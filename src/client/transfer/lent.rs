//! A buffer the app lends to a transfer (`CRVideo_SendBufferNoCopy`): the SDK reads it in
//! place, and gives it back through the app's release callback exactly once, when the last
//! reader lets go — the upload's reader has read every byte, the transfer ended first
//! (failed, cancelled), or the call failed.

use std::ffi::c_void;

/// The app's release callback: `(releaseCtx, data, len)`.
pub type Release = unsafe extern "C" fn(*mut c_void, *const u8, usize);

pub struct LentBuffer {
    data: *const u8,
    len: usize,
    release: Option<Release>,
    ctx: *mut c_void,
}

// SAFETY: the app promised (CRVideo_SendBufferNoCopy's contract) that `data..data + len`
// stays valid and unchanged until `release` is called, from any thread; the SDK only reads
// it. `ctx` is the app's, passed back untouched.
unsafe impl Send for LentBuffer {}
unsafe impl Sync for LentBuffer {}

impl LentBuffer {
    /// Takes the app's buffer on loan: from here on, dropping this calls `release` (if
    /// any) exactly once, whatever happens next.
    pub fn new(data: *const u8, len: usize, release: Option<Release>, ctx: *mut c_void) -> Self {
        LentBuffer {
            data,
            len,
            release,
            ctx,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// The bytes; None when the pointer is NULL with a length (the caller's PARAM_ERR).
    pub fn bytes(&self) -> Option<&[u8]> {
        if self.len == 0 {
            return Some(&[]);
        }
        if self.data.is_null() {
            return None;
        }
        // SAFETY: non-null, and valid for `len` bytes until release (see the Send impl).
        Some(unsafe { std::slice::from_raw_parts(self.data, self.len) })
    }

    pub fn has_release(&self) -> bool {
        self.release.is_some()
    }
}

impl Drop for LentBuffer {
    fn drop(&mut self) {
        if let Some(release) = self.release {
            // SAFETY: the app's callback with the values it gave (its contract: callable
            // once from any SDK thread).
            unsafe { release(self.ctx, self.data, self.len) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    static RELEASED: AtomicUsize = AtomicUsize::new(0);

    unsafe extern "C" fn count(ctx: *mut c_void, data: *const u8, len: usize) {
        assert_eq!(ctx as usize, 7);
        assert_eq!(*data, 42);
        assert_eq!(len, 3);
        RELEASED.fetch_add(1, Ordering::SeqCst);
    }

    #[test]
    fn released_once_when_the_last_reader_lets_go() {
        let data = [42u8, 1, 2];
        let lent = std::sync::Arc::new(LentBuffer::new(
            data.as_ptr(),
            data.len(),
            Some(count),
            7 as *mut c_void,
        ));
        let reader = lent.clone();
        assert_eq!(lent.bytes(), Some(&data[..]));
        drop(lent);
        assert_eq!(
            RELEASED.load(Ordering::SeqCst),
            0,
            "a reader still holds it"
        );
        drop(reader);
        assert_eq!(RELEASED.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn null_with_a_length_has_no_bytes() {
        let lent = LentBuffer::new(std::ptr::null(), 5, None, std::ptr::null_mut());
        assert_eq!(lent.bytes(), None);
        let empty = LentBuffer::new(std::ptr::null(), 0, None, std::ptr::null_mut());
        assert_eq!(empty.bytes(), Some(&[][..]));
    }
}
