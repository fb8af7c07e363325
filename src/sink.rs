//! Where a media file's bytes go (a WAV tap, an MP4 recording): a [`std::fs::File`], or in
//! the tests memory or a disk that fills up. Both writers go back to fix a header and may
//! cut the file short, hence `Seek` and [`Sink::set_len`].

use std::fs::File;
use std::io::{Cursor, Seek, Write};

pub trait Sink: Write + Seek {
    fn set_len(&mut self, len: u64) -> std::io::Result<()>;
}

impl Sink for File {
    fn set_len(&mut self, len: u64) -> std::io::Result<()> {
        File::set_len(self, len)
    }
}

impl Sink for Cursor<Vec<u8>> {
    fn set_len(&mut self, len: u64) -> std::io::Result<()> {
        self.get_mut().truncate(len as usize);
        Ok(())
    }
}
