//! The net disk as a C peer uses it (tests/c/peer_netdisk.h): file IDs, transfers watched
//! through their progress callbacks, listings and summaries.

use std::path::{Path, PathBuf};

use md5::{Digest, Md5};
use serde_json::Value;

use super::peer::Peer;

pub fn write_file(dir: &Path, name: &str, len: usize, seed: u32) -> (PathBuf, Vec<u8>) {
    let path = dir.join(name);
    let data = super::test_bytes(len, u64::from(seed));
    std::fs::write(&path, &data).unwrap();
    (path, data)
}

pub fn md5_hex(data: &[u8]) -> String {
    Md5::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub fn make_id(p: &mut Peer, file_type: i32, name: &str) -> String {
    let id = p.cmd_text(&["nd_make", &file_type.to_string(), name]);
    assert!(!id.starts_with("NULL"), "nd_make: {id}");
    id
}

/// The (percent, isSucceed) progress lines of `id` so far.
pub fn progress(p: &Peer, id: &str) -> Vec<(i32, i32)> {
    let prefix = format!("NotifyNetDiskTransforProgress\t{id}\t");
    p.lines()
        .iter()
        .filter_map(|l| l.strip_prefix(&prefix))
        .map(|rest| {
            let (percent, ok) = rest.split_once('\t').unwrap();
            (percent.parse().unwrap(), ok.parse().unwrap())
        })
        .collect()
}

/// Waits for the end of transfer `id` (a progress line with 100/1 or isSucceed 0) and
/// returns whether it succeeded, checking the series: percents strictly rising, isSucceed 1
/// until the last line, exactly one last line.
pub fn finished(p: &Peer, id: &str) -> bool {
    let prefix = format!("NotifyNetDiskTransforProgress\t{id}\t");
    p.wait_line(|l| {
        l.strip_prefix(&prefix)
            .is_some_and(|rest| rest == "100\t1" || rest.ends_with("\t0"))
    });
    let series = progress(p, id);
    let (last, before) = series.split_last().unwrap();
    assert!(
        before.iter().all(|&(_, ok)| ok == 1),
        "{}: {series:?}",
        p.name
    );
    assert!(
        before.windows(2).all(|w| w[0].0 < w[1].0) && before.iter().all(|&(pc, _)| pc < 100),
        "{}: percents must rise below 100: {series:?}",
        p.name
    );
    last.1 == 1
}

pub fn list(p: &mut Peer) -> Vec<Value> {
    let before = p.count_prefix("GetNetDiskFileListRslt\t");
    assert_eq!(p.cmd(&["nd_list"]), 0);
    let line = p.wait_nth(|l| l.starts_with("GetNetDiskFileListRslt\t"), before + 1);
    let json = line.split_once('\t').unwrap().1;
    serde_json::from_str::<Value>(json)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

pub fn summary(p: &mut Peer) -> (i64, i64) {
    let before = p.count_prefix("GetNetDiskSummaryRslt\t");
    assert_eq!(p.cmd(&["nd_summary"]), 0);
    let line = p.wait_nth(|l| l.starts_with("GetNetDiskSummaryRslt\t"), before + 1);
    let f: Vec<&str> = line.split('\t').collect();
    (f[1].parse().unwrap(), f[2].parse().unwrap())
}
