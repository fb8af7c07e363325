//! Pictures as the SDK keeps them (I420), and their conversion from the app's camera and
//! screen formats and to the formats `CRVideo_GetVideoImg` hands out, scaled down to fit.
//! Colour conversion is `yuvutils-rs` (BT.601, limited range: what H.264 decoders assume
//! without colour metadata); scaling is `fast_image_resize`.

use fast_image_resize::images::Image;
use fast_image_resize::{PixelType, Resizer};
use yuvutils_rs::{
    bgra_to_yuv420, rgba_to_yuv420, yuv420_to_bgra, yuv420_to_rgba, YuvConversionMode,
    YuvPlanarImage, YuvPlanarImageMut, YuvRange, YuvStandardMatrix,
};

/// `CRVIDEOSDK_VFMT_*`: I420 (Y, then U, then V, no padding).
pub const VFMT_YUV420P: i32 = 0;
/// Bytes B, G, R, A in memory.
pub const VFMT_ARGB32: i32 = 1;
/// Bytes R, G, B, A in memory.
pub const VFMT_RGBA32: i32 = 2;

const RANGE: YuvRange = YuvRange::Limited;
const MATRIX: YuvStandardMatrix = YuvStandardMatrix::Bt601;

/// Bytes of a `width`×`height` image in `format`; None for an unknown format.
pub fn image_len(format: i32, width: usize, height: usize) -> Option<usize> {
    match format {
        VFMT_YUV420P => Some(width * height * 3 / 2),
        VFMT_ARGB32 | VFMT_RGBA32 => Some(width * height * 4),
        _ => None,
    }
}

/// One picture in I420, its sizes even.
#[derive(Debug, Clone, PartialEq)]
pub struct Picture {
    pub width: usize,
    pub height: usize,
    /// The Y plane, then U, then V.
    pub i420: Vec<u8>,
    /// The sender's timestamp, ms.
    pub time_ms: i64,
}

impl Picture {
    /// `data` (`format`, `width`×`height`, its length checked by the caller) as I420.
    pub fn from_image(
        format: i32,
        width: usize,
        height: usize,
        data: &[u8],
        time_ms: i64,
    ) -> Picture {
        let i420 = match format {
            VFMT_YUV420P => data.to_vec(),
            _ => {
                let mut planar = YuvPlanarImageMut::alloc(
                    width as u32,
                    height as u32,
                    yuvutils_rs::YuvChromaSubsampling::Yuv420,
                );
                let convert = if format == VFMT_ARGB32 {
                    bgra_to_yuv420
                } else {
                    rgba_to_yuv420
                };
                convert(
                    &mut planar,
                    data,
                    width as u32 * 4,
                    RANGE,
                    MATRIX,
                    YuvConversionMode::Balanced,
                )
                .expect("sizes checked");
                let mut i420 = Vec::with_capacity(width * height * 3 / 2);
                for plane in [planar.y_plane, planar.u_plane, planar.v_plane] {
                    i420.extend_from_slice(plane.borrow());
                }
                i420
            }
        };
        Picture {
            width,
            height,
            i420,
            time_ms,
        }
    }

    /// The Y, U and V planes.
    pub fn planes(&self) -> (&[u8], &[u8], &[u8]) {
        let y = self.width * self.height;
        let c = y / 4;
        let (y_plane, chroma) = self.i420.split_at(y);
        let (u, v) = chroma.split_at(c);
        (y_plane, u, v)
    }

    /// The size this picture shows at within `max_w`×`max_h` (when > 0): scaled down,
    /// never up, the aspect kept, both even (at least 2).
    pub fn fit(&self, max_w: i32, max_h: i32) -> (usize, usize) {
        let (w, h) = (self.width as f64, self.height as f64);
        let mut scale: f64 = 1.0;
        if max_w > 0 {
            scale = scale.min(max_w as f64 / w);
        }
        if max_h > 0 {
            scale = scale.min(max_h as f64 / h);
        }
        if scale >= 1.0 {
            return (self.width, self.height);
        }
        let even = |v: f64| ((v / 2.0).floor() as usize * 2).max(2);
        (even(w * scale), even(h * scale))
    }

    /// This picture scaled to `width`×`height` (the same picture when those are its own).
    pub fn scaled(&self, width: usize, height: usize) -> Picture {
        if (width, height) == (self.width, self.height) {
            return self.clone();
        }
        let (y, u, v) = self.planes();
        let mut i420 = Vec::with_capacity(width * height * 3 / 2);
        let mut resizer = Resizer::new();
        for (plane, div) in [(y, 1), (u, 2), (v, 2)] {
            let src = Image::from_vec_u8(
                (self.width / div) as u32,
                (self.height / div) as u32,
                plane.to_vec(),
                PixelType::U8,
            )
            .expect("plane sizes match");
            let mut dst = Image::new((width / div) as u32, (height / div) as u32, PixelType::U8);
            resizer
                .resize(&src, &mut dst, None)
                .expect("same pixel type");
            i420.extend_from_slice(dst.buffer());
        }
        Picture {
            width,
            height,
            i420,
            time_ms: self.time_ms,
        }
    }

    /// This picture in `format` (a known one).
    pub fn to_format(&self, format: i32) -> Vec<u8> {
        if format == VFMT_YUV420P {
            return self.i420.clone();
        }
        let (y, u, v) = self.planes();
        let planar = YuvPlanarImage {
            y_plane: y,
            y_stride: self.width as u32,
            u_plane: u,
            u_stride: self.width as u32 / 2,
            v_plane: v,
            v_stride: self.width as u32 / 2,
            width: self.width as u32,
            height: self.height as u32,
        };
        let mut out = vec![0u8; self.width * self.height * 4];
        let convert = if format == VFMT_ARGB32 {
            yuv420_to_bgra
        } else {
            yuv420_to_rgba
        };
        convert(&planar, &mut out, self.width as u32 * 4, RANGE, MATRIX).expect("sizes match");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient(w: usize, h: usize) -> Vec<u8> {
        let mut rgba = Vec::with_capacity(w * h * 4);
        for y in 0..h {
            for x in 0..w {
                rgba.extend_from_slice(&[(x * 255 / w) as u8, (y * 255 / h) as u8, 128, 255]);
            }
        }
        rgba
    }

    #[test]
    fn rgba_survives_a_round_trip_through_i420() {
        let rgba = gradient(64, 32);
        let picture = Picture::from_image(VFMT_RGBA32, 64, 32, &rgba, 7);
        assert_eq!(picture.i420.len(), 64 * 32 * 3 / 2);
        let back = picture.to_format(VFMT_RGBA32);
        let worst = rgba
            .iter()
            .zip(&back)
            .map(|(a, b)| a.abs_diff(*b))
            .max()
            .unwrap();
        assert!(worst <= 6, "largest channel error {worst}");
        // ARGB32 is the same pixels with R and B swapped in memory.
        let bgra = picture.to_format(VFMT_ARGB32);
        assert_eq!((bgra[0], bgra[2]), (back[2], back[0]));
    }

    #[test]
    fn fitting_scales_down_only_and_keeps_the_aspect() {
        let p = Picture::from_image(VFMT_YUV420P, 640, 360, &vec![16; 640 * 360 * 3 / 2], 0);
        assert_eq!(p.fit(0, 0), (640, 360));
        assert_eq!(p.fit(1280, 720), (640, 360));
        assert_eq!(p.fit(320, 0), (320, 180));
        assert_eq!(p.fit(320, 100), (176, 100));
        let small = p.scaled(320, 180);
        assert_eq!(small.i420.len(), 320 * 180 * 3 / 2);
        assert!(small.i420[..320 * 180].iter().all(|&y| y == 16));
    }
}
