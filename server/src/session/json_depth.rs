//! The nesting check every text frame passes before it is parsed.

/// True if `text` nests arrays / objects deeper than `max` (a frame's top-level object is
/// depth 1). Counts brackets outside strings, without parsing: cheap, and run before serde
/// (whose own limit is 128).
pub fn json_depth_exceeds(text: &str, max: usize) -> bool {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for b in text.bytes() {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::json_depth_exceeds;

    #[test]
    fn json_depth() {
        assert!(!json_depth_exceeds(r#"{"id":1}"#, 1));
        assert!(json_depth_exceeds(r#"{"a":[1]}"#, 1));
        assert!(!json_depth_exceeds(r#"{"a":[1]}"#, 2));
        assert!(
            !json_depth_exceeds(r#"{"a":"[[[[{{{{"}"#, 1),
            "brackets in strings"
        );
        assert!(
            !json_depth_exceeds(r#"{"a":"\"[[[["}"#, 1),
            "escaped quotes"
        );
        assert!(
            json_depth_exceeds(r#"{"a":"\\",[[1]]}"#, 2),
            "an escaped backslash ends"
        );
        let deep = format!("{}{}", "[".repeat(33), "]".repeat(33));
        assert!(json_depth_exceeds(&deep, 32));
        assert!(!json_depth_exceeds(&deep[1..deep.len() - 1], 32));
        assert!(
            !json_depth_exceeds("[][][][][][]", 1),
            "siblings are not nesting"
        );
    }
}
