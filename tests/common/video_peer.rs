//! Video as a C peer sees it (tests/c/peer.c): custom cameras fed with a moving test
//! pattern, and the pictures a receiver decodes, compared with what was sent (PSNR).

use super::peer::Peer;

pub fn camera(p: &mut Peer, name: &str, format: i32, w: u32, h: u32) -> i32 {
    assert_eq!(
        p.cmd(&[
            "cam",
            name,
            &format.to_string(),
            &w.to_string(),
            &h.to_string(),
            ""
        ]),
        0
    );
    p.last_fields("VideoID\t")[0].parse().unwrap()
}

/// What `img` reported: (width, height, frameTime, PSNR).
#[derive(Debug, Clone, Copy)]
pub struct Shown {
    pub width: u32,
    pub height: u32,
    pub time: i64,
    pub psnr: f64,
}

/// A camera of the pattern test: its owner, ID, pattern seed and size.
#[derive(Debug, Clone, Copy)]
pub struct Video {
    pub user: &'static str,
    pub id: i32,
    pub seed: u32,
    pub width: u32,
    pub height: u32,
}

/// Takes the newest picture of `v` as `format` (written to `ppm` unless "-").
pub fn take(p: &mut Peer, v: Video, format: i32, ppm: &str) -> Result<Shown, i32> {
    let fields = [
        "img".to_string(),
        v.user.to_string(),
        v.id.to_string(),
        format.to_string(),
        "0".into(),
        "0".into(),
        v.seed.to_string(),
        v.width.to_string(),
        v.height.to_string(),
        ppm.to_string(),
    ];
    let rc = p.cmd(&fields.iter().map(|s| &**s).collect::<Vec<&str>>());
    if rc != 0 {
        return Err(rc);
    }
    let f = p.last_fields("Img\t");
    Ok(Shown {
        width: f[0].parse().unwrap(),
        height: f[1].parse().unwrap(),
        time: f[2].parse().unwrap(),
        psnr: f[3].parse().unwrap(),
    })
}

/// The frame times of `p`'s NotifyVideoData for `v`, in order.
pub fn notified(p: &Peer, v: Video) -> Vec<i64> {
    let prefix = format!("NotifyVideoData\t{}\t{}\t", v.user, v.id);
    p.lines()
        .iter()
        .filter_map(|l| l.strip_prefix(&prefix)?.parse().ok())
        .collect()
}

/// Takes the picture there is (re-arming NotifyVideoData), waits for `p`'s next
/// NotifyVideoData of `v` and takes that picture; returns it.
pub fn next_picture(p: &mut Peer, v: Video, format: i32, ppm: &str) -> Shown {
    // Counted first: a notification arriving after the count is for a picture after the
    // one taken here, and one arriving before is re-armed by the taking.
    let seen = notified(p, v).len();
    let _ = take(p, v, format, "-");
    let prefix = format!("NotifyVideoData\t{}\t{}\t", v.user, v.id);
    p.wait_nth(|l| l.starts_with(&prefix), seen + 1);
    take(p, v, format, ppm).expect("a picture after NotifyVideoData")
}
