//! The timestamp of a recording's layout: white 5×7 pixel digits on black, scaled to the
//! region's height. Only the characters of `YYYY-MM-DD HH:MM:SS` are drawn.

use crate::video::picture::Picture;

/// Where text goes: left, top, width, height (even), in pixels.
pub type Rect = (usize, usize, usize, usize);

/// Rows of each glyph, top first; bit 4 is the leftmost pixel.
fn glyph(c: char) -> Option<[u8; 7]> {
    Some(match c {
        '0' => [0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e],
        '1' => [0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e],
        '2' => [0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f],
        '3' => [0x1f, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0e],
        '4' => [0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02],
        '5' => [0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e],
        '6' => [0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e],
        '7' => [0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        '8' => [0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e],
        '9' => [0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c],
        '-' => [0x00, 0x00, 0x00, 0x1f, 0x00, 0x00, 0x00],
        ':' => [0x00, 0x0c, 0x0c, 0x00, 0x0c, 0x0c, 0x00],
        _ => return None,
    })
}

/// Luma of the text and of its background (limited range).
const INK: u8 = 235;
const PAPER: u8 = 16;

/// Fills `region` of `canvas` black and writes `text` in it, as large as the region allows
/// (a glyph cell is 6×9 units; at least one pixel per unit, cut at the right edge).
pub fn draw_text(canvas: &mut Picture, (left, top, width, height): Rect, text: &str) {
    let right = (left + width).min(canvas.width);
    let bottom = (top + height).min(canvas.height);
    if left >= right || top >= bottom {
        return;
    }
    let w = canvas.width;
    let y_len = w * canvas.height;
    for y in top..bottom {
        canvas.i420[y * w + left..y * w + right].fill(PAPER);
    }
    for y in top / 2..bottom / 2 {
        let row = y * (w / 2);
        canvas.i420[y_len + row + left / 2..y_len + row + right / 2].fill(128);
        let v = y_len + y_len / 4 + row;
        canvas.i420[v + left / 2..v + right / 2].fill(128);
    }
    // As large as the height allows, but the whole text fits the width when it can.
    let cells = text.chars().count() * 6 + 1;
    let unit = (height / 9).min(width / cells).max(1);
    let (x, y) = (left + unit, top + unit);
    for (i, c) in text.chars().enumerate() {
        let Some(rows) = glyph(c) else { continue };
        let cell = x + i * 6 * unit;
        for (r, bits) in rows.iter().enumerate() {
            for col in 0..5 {
                if bits & (0x10 >> col) == 0 {
                    continue;
                }
                for dy in 0..unit {
                    let row = y + r * unit + dy;
                    let x0 = cell + col * unit;
                    if row >= bottom || x0 >= right {
                        continue;
                    }
                    let x1 = (x0 + unit).min(right);
                    canvas.i420[row * w + x0..row * w + x1].fill(INK);
                }
            }
        }
    }
}

/// The local date and time as `YYYY-MM-DD HH:MM:SS`.
pub fn local_time_text() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as libc::time_t;
    // SAFETY: localtime_r writes only into `tm`, which lives for the call.
    let tm = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&now, &mut tm).is_null() {
            return String::new();
        }
        tm
    };
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_are_drawn_in_ink_inside_the_region_only() {
        let mut canvas = Picture {
            width: 200,
            height: 60,
            i420: vec![100; 200 * 60 * 3 / 2],
            time_ms: 0,
        };
        draw_text(&mut canvas, (10, 10, 120, 18), "1-");
        let at = |x: usize, y: usize| canvas.i420[y * 200 + x];
        // unit 2: "1" has its stem at column 2 (x 10+2+4), rows 0..7 (y 12..26).
        assert_eq!(at(16, 14), INK);
        assert_eq!(at(12, 14), PAPER, "beside the stem");
        // "-" is row 3 of the second cell: x from 10+2+12, y 12+6.
        assert_eq!(at(26, 18), INK);
        assert_eq!(at(5, 14), 100, "outside the region is untouched");
        assert_eq!(at(140, 14), 100);
    }

    #[test]
    fn local_time_has_the_documented_shape() {
        let text = local_time_text();
        assert_eq!(text.len(), 19, "{text}");
        assert!(text.chars().all(|c| glyph(c).is_some() || c == ' '));
    }
}
