//! A recording's layout (`CRVideo_SetRecordVideos`): what is drawn where, and drawing it
//! onto one I420 picture.
//!
//! Regions are drawn in the order given (a later one covers an earlier one); each source is
//! scaled to its region, keeping its aspect ratio (centred, black around it) when asked.
//! Positions and sizes are rounded down to even numbers (I420 has one chroma sample per
//! 2×2 pixels) and clipped to the picture.

use std::sync::Arc;

use serde_json::Value;

use super::font;
use crate::video::picture::{Picture, VFMT_RGBA32};
use crate::ErrorCode;

/// What a region shows.
#[derive(Clone)]
pub enum Source {
    /// A member's camera (`"camid":"bob.1"`).
    Camera { user_id: String, video_id: u8 },
    /// A picture file, decoded when the layout was set.
    Picture(Arc<Picture>),
    /// The meeting's shared screen.
    Screen,
    /// The media a member plays to the meeting.
    Media,
    /// The local date and time, `YYYY-MM-DD HH:MM:SS`.
    Timestamp,
}

#[derive(Clone)]
pub struct Region {
    pub left: usize,
    pub top: usize,
    pub width: usize,
    pub height: usize,
    pub keep_aspect: bool,
    pub source: Source,
}

/// Where the composer gets the live pictures.
pub trait Pictures {
    fn camera(&self, user_id: &str, video_id: u8) -> Option<Arc<Picture>>;
    fn screen(&self) -> Option<Arc<Picture>>;
    fn media(&self) -> Option<Arc<Picture>>;
}

/// Parses a layout: a JSON array of regions. `PARAM_ERR` for anything malformed, an
/// unknown type, a camera ID that is not `user.videoID`, or a picture file that is missing
/// or not a PNG/JPEG.
pub fn parse(json: &str) -> Result<Vec<Region>, ErrorCode> {
    let Ok(Value::Array(items)) = serde_json::from_str::<Value>(json) else {
        return Err(ErrorCode::ParamErr);
    };
    items.iter().map(region).collect()
}

fn region(item: &Value) -> Result<Region, ErrorCode> {
    let size = |key: &str| -> Result<usize, ErrorCode> {
        match item.get(key).and_then(Value::as_i64) {
            Some(v) if (0..=8192).contains(&v) => Ok(v as usize),
            _ => Err(ErrorCode::ParamErr),
        }
    };
    let param = item.get("param").ok_or(ErrorCode::ParamErr)?;
    let source = match param.get("type").and_then(Value::as_i64) {
        Some(0) => {
            let camid = param.get("camid").and_then(Value::as_str);
            let (user, id) = camid
                .and_then(|c| c.rsplit_once('.'))
                .ok_or(ErrorCode::ParamErr)?;
            let video_id = id.parse::<u8>().map_err(|_| ErrorCode::ParamErr)?;
            if user.is_empty() {
                return Err(ErrorCode::ParamErr);
            }
            Source::Camera {
                user_id: user.to_owned(),
                video_id,
            }
        }
        Some(1) => {
            let path = param.get("resourceid").and_then(Value::as_str);
            Source::Picture(Arc::new(load_picture(path.ok_or(ErrorCode::ParamErr)?)?))
        }
        Some(2) => Source::Screen,
        Some(3) => Source::Media,
        Some(4) => Source::Timestamp,
        _ => return Err(ErrorCode::ParamErr),
    };
    Ok(Region {
        left: size("left")? & !1,
        top: size("top")? & !1,
        width: size("width")? & !1,
        height: size("height")? & !1,
        keep_aspect: item.get("keepAspectRatio").and_then(Value::as_i64) != Some(0),
        source,
    })
}

/// A PNG or JPEG file as an I420 picture (an odd last row or column dropped).
fn load_picture(path: &str) -> Result<Picture, ErrorCode> {
    let decoded = image::open(path).map_err(|_| ErrorCode::ParamErr)?;
    let rgba = decoded.to_rgba8();
    let (w, h) = (rgba.width() as usize & !1, rgba.height() as usize & !1);
    if w < 2 || h < 2 {
        return Err(ErrorCode::ParamErr);
    }
    let stride = rgba.width() as usize * 4;
    let mut data = Vec::with_capacity(w * h * 4);
    for row in rgba.as_raw().chunks_exact(stride).take(h) {
        data.extend_from_slice(&row[..w * 4]);
    }
    Ok(Picture::from_image(VFMT_RGBA32, w, h, &data, 0))
}

/// A black I420 picture.
pub fn black(width: usize, height: usize) -> Picture {
    let y = width * height;
    let mut i420 = vec![16u8; y + y / 2];
    i420[y..].fill(128);
    Picture {
        width,
        height,
        i420,
        time_ms: 0,
    }
}

/// Draws `regions` onto `canvas` (cleared to black first); `clock` is the timestamp's text.
pub fn compose(canvas: &mut Picture, regions: &[Region], pictures: &dyn Pictures, clock: &str) {
    // Cleared in place: a new picture each time would be a fresh allocation (and its
    // pages faulted in) per frame.
    let luma = canvas.width * canvas.height;
    canvas.i420[..luma].fill(16);
    canvas.i420[luma..].fill(128);
    for region in regions {
        let picture = match &region.source {
            Source::Camera { user_id, video_id } => pictures.camera(user_id, *video_id),
            Source::Picture(p) => Some(p.clone()),
            Source::Screen => pictures.screen(),
            Source::Media => pictures.media(),
            Source::Timestamp => {
                let rect = (region.left, region.top, region.width, region.height);
                font::draw_text(canvas, rect, clock);
                continue;
            }
        };
        if let Some(picture) = picture {
            draw_picture(canvas, region, &picture);
        }
    }
}

/// `picture` scaled into `region` of `canvas`.
fn draw_picture(canvas: &mut Picture, region: &Region, picture: &Picture) {
    let (mut w, mut h) = (region.width, region.height);
    if region.keep_aspect && picture.width > 0 && picture.height > 0 {
        let scale = (w as f64 / picture.width as f64).min(h as f64 / picture.height as f64);
        w = ((picture.width as f64 * scale) as usize) & !1;
        h = ((picture.height as f64 * scale) as usize) & !1;
    }
    if w < 2 || h < 2 {
        return;
    }
    let left = region.left + (((region.width - w) / 2) & !1);
    let top = region.top + (((region.height - h) / 2) & !1);
    if (w, h) == (picture.width, picture.height) {
        blit(canvas, picture, left, top); // no copy when it fits as it is
    } else {
        blit(canvas, &picture.scaled(w, h), left, top);
    }
}

/// Copies `src` onto `dst` at (`left`, `top`) (even), clipped to `dst`.
pub fn blit(dst: &mut Picture, src: &Picture, left: usize, top: usize) {
    if left >= dst.width || top >= dst.height {
        return;
    }
    let (dw, dh) = (dst.width, dst.height);
    let cols = src.width.min(dw - left);
    let rows = src.height.min(dh - top);
    let (dy, rest) = dst.i420.split_at_mut(dw * dh);
    let (du, dv) = rest.split_at_mut(dw * dh / 4);
    let (sy, su, sv) = src.planes();
    for r in 0..rows {
        let d = (top + r) * dw + left;
        let s = r * src.width;
        dy[d..d + cols].copy_from_slice(&sy[s..s + cols]);
    }
    let (cw, scw) = (dw / 2, src.width / 2);
    for r in 0..rows / 2 {
        let d = (top / 2 + r) * cw + left / 2;
        let s = r * scw;
        du[d..d + cols / 2].copy_from_slice(&su[s..s + cols / 2]);
        dv[d..d + cols / 2].copy_from_slice(&sv[s..s + cols / 2]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Flat(u8);

    impl Pictures for Flat {
        fn camera(&self, user_id: &str, video_id: u8) -> Option<Arc<Picture>> {
            (user_id == "bob" && video_id == 1).then(|| Arc::new(flat(64, 48, self.0)))
        }
        fn screen(&self) -> Option<Arc<Picture>> {
            None
        }
        fn media(&self) -> Option<Arc<Picture>> {
            None
        }
    }

    fn flat(w: usize, h: usize, luma: u8) -> Picture {
        let mut p = black(w, h);
        p.i420[..w * h].fill(luma);
        p
    }

    fn luma(p: &Picture, x: usize, y: usize) -> u8 {
        p.i420[y * p.width + x]
    }

    #[test]
    fn a_camera_is_drawn_in_its_region_with_its_aspect_kept() {
        let regions = parse(
            r#"[{"left":10,"top":20,"width":200,"height":100,"keepAspectRatio":1,
                "param":{"type":0,"camid":"bob.1"}},
               {"left":0,"top":0,"width":40,"height":40,"param":{"type":0,"camid":"eve.1"}}]"#,
        )
        .unwrap();
        let mut canvas = black(320, 240);
        compose(&mut canvas, &regions, &Flat(200), "");
        // 64×48 into 200×100 keeping 4:3 is 132×100, centred: x 10+34 .. 10+34+132.
        assert_eq!(luma(&canvas, 50, 70), 200);
        assert_eq!(luma(&canvas, 12, 70), 16, "left of the picture stays black");
        assert_eq!(
            luma(&canvas, 190, 70),
            16,
            "right of the picture stays black"
        );
        assert_eq!(luma(&canvas, 50, 10), 16, "above the region");
        // A camera without a picture draws nothing.
        assert_eq!(luma(&canvas, 5, 5), 16);
    }

    #[test]
    fn stretching_fills_the_region_and_clips_at_the_edge() {
        let regions = parse(
            r#"[{"left":300,"top":200,"width":100,"height":100,"keepAspectRatio":0,
                "param":{"type":0,"camid":"bob.1"}}]"#,
        )
        .unwrap();
        let mut canvas = black(320, 240);
        compose(&mut canvas, &regions, &Flat(90), "");
        assert_eq!(luma(&canvas, 300, 200), 90);
        assert_eq!(luma(&canvas, 319, 239), 90);
    }

    #[test]
    fn bad_layouts_are_refused() {
        for bad in [
            "{}",
            "[{}]",
            r#"[{"left":0,"top":0,"width":10,"height":10,"param":{"type":9}}]"#,
            r#"[{"left":0,"top":0,"width":10,"height":10,"param":{"type":0,"camid":"bob"}}]"#,
            r#"[{"left":-2,"top":0,"width":10,"height":10,"param":{"type":2}}]"#,
            r#"[{"left":0,"top":0,"width":10,"height":10,"param":{"type":1,"resourceid":"/nope.png"}}]"#,
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert!(parse("[]").unwrap().is_empty());
    }
}
