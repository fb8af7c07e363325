//! Whiteboards of a meeting room: the objects on the wire, their limits, and the checks both
//! the SDK (at once, against its copy) and the server (against the room) apply to them, so
//! the two agree on what is valid.

use serde::{Deserialize, Serialize};

use crate::ErrorCode;

/// A whiteboard (the C API's BoardObj).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardObj {
    #[serde(rename = "boardID")]
    pub board_id: String,
    pub title: String,
    pub width: i32,
    pub height: i32,
    #[serde(rename = "pageCount")]
    pub page_count: i32,
}

/// A board as a late joiner receives it: the board and its pages that have elements.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardState {
    pub board: BoardObj,
    pub pages: Vec<PageElements>,
}

/// The elements of one page, in the room's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageElements {
    pub page_no: i32,
    /// Who last changed the page.
    pub operator: String,
    /// Each element's JSON text, as its author wrote it.
    pub elements: Vec<String>,
    /// The page's background, a net-disk file ID ("" = none).
    #[serde(default)]
    pub img_id: String,
}

/// Longest board or element ID, in bytes.
pub const MAX_BOARD_ID_BYTES: usize = 128;
/// Longest board title, in characters.
pub const MAX_BOARD_TITLE_CHARS: usize = 256;
/// Largest board width / height.
pub const MAX_BOARD_SIDE: i32 = 32_768;
/// Most pages of one board.
pub const MAX_BOARD_PAGES: i32 = 1_000;
/// Most boards open in one meeting at once.
pub const MAX_BOARDS_PER_MEETING: usize = 100;
/// Largest element JSON, in bytes.
pub const MAX_ELEMENT_BYTES: usize = 64 * 1024;
/// Most element JSON, in bytes, one meeting's boards hold together (what a late joiner
/// receives on entry is about this large at most).
pub const MAX_MEETING_BOARD_BYTES: usize = 16 * 1024 * 1024;

/// The separator of element IDs in `CRVideo_DelBoardElement` and `NotifyDelBoardElement`.
pub const ELEMENT_ID_SEPARATOR: char = ';';

/// Checks a new board: `PARAM_ERR` unless its ID, title, sides and page count are in range.
pub fn check_board(board: &BoardObj) -> Result<(), ErrorCode> {
    let sides = 1..=MAX_BOARD_SIDE;
    let valid = check_id(&board.board_id).is_ok()
        && board.title.chars().count() <= MAX_BOARD_TITLE_CHARS
        && sides.contains(&board.width)
        && sides.contains(&board.height)
        && (1..=MAX_BOARD_PAGES).contains(&board.page_count);
    valid.then_some(()).ok_or(ErrorCode::ParamErr)
}

/// Checks a board or element ID: not empty, at most [`MAX_BOARD_ID_BYTES`], no `;`.
pub fn check_id(id: &str) -> Result<(), ErrorCode> {
    let valid =
        !id.is_empty() && id.len() <= MAX_BOARD_ID_BYTES && !id.contains(ELEMENT_ID_SEPARATOR);
    valid.then_some(()).ok_or(ErrorCode::ParamErr)
}

/// The ID of an element: its JSON must be an object (at most [`MAX_ELEMENT_BYTES`]) with a
/// string `elementID` that [`check_id`] accepts. The other fields are the app's.
pub fn element_id(element_json: &str) -> Result<String, ErrorCode> {
    #[derive(Deserialize)]
    struct Head {
        #[serde(rename = "elementID")]
        element_id: String,
    }
    // A derived struct would also take a JSON array of its fields: only objects are elements.
    if element_json.len() > MAX_ELEMENT_BYTES || !element_json.trim_start().starts_with('{') {
        return Err(ErrorCode::ParamErr);
    }
    let head: Head = serde_json::from_str(element_json).map_err(|_| ErrorCode::ParamErr)?;
    check_id(&head.element_id)?;
    Ok(head.element_id)
}

/// Splits `CRVideo_DelBoardElement`'s `a;b;c` into IDs, each once, in order: `PARAM_ERR`
/// when empty or when an ID is not valid.
pub fn split_element_ids(ids: &str) -> Result<Vec<String>, ErrorCode> {
    let mut out: Vec<String> = Vec::new();
    for id in ids.split(ELEMENT_ID_SEPARATOR) {
        check_id(id)?;
        if !out.iter().any(|seen| seen == id) {
            out.push(id.to_owned());
        }
    }
    Ok(out)
}

/// Checks `page_no` against a board of `page_count` pages (0-based).
pub fn check_page(page_no: i32, page_count: i32) -> Result<(), ErrorCode> {
    (0..page_count)
        .contains(&page_no)
        .then_some(())
        .ok_or(ErrorCode::ParamErr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn element_ids_come_from_objects_only() {
        assert_eq!(
            element_id(r#"{"elementID":"e1","x":[1,2]}"#),
            Ok("e1".into())
        );
        assert_eq!(element_id(r#" {"x":1,"elementID":"e2"}"#), Ok("e2".into()));
        for bad in [
            r#"["e1"]"#,
            r#"{"elementID":1}"#,
            r#"{"elementID":""}"#,
            r#"{"elementID":"a;b"}"#,
            r#"{"id":"e1"}"#,
            "not json",
            "",
        ] {
            assert_eq!(element_id(bad), Err(ErrorCode::ParamErr), "{bad}");
        }
        let huge = format!(
            r#"{{"elementID":"e","pad":"{}"}}"#,
            "x".repeat(MAX_ELEMENT_BYTES)
        );
        assert_eq!(element_id(&huge), Err(ErrorCode::ParamErr));
    }

    #[test]
    fn id_lists_split_once_each() {
        assert_eq!(split_element_ids("a;b;a").unwrap(), vec!["a", "b"]);
        assert_eq!(split_element_ids("a"), Ok(vec!["a".to_owned()]));
        for bad in ["", ";", "a;;b", "a;"] {
            assert_eq!(split_element_ids(bad), Err(ErrorCode::ParamErr), "{bad}");
        }
    }

    #[test]
    fn boards_are_checked() {
        let board = BoardObj {
            board_id: "b1".into(),
            title: "plan".into(),
            width: 1024,
            height: 768,
            page_count: 1,
        };
        assert_eq!(check_board(&board), Ok(()));
        for bad in [
            BoardObj {
                page_count: 0,
                ..board.clone()
            },
            BoardObj {
                width: -1,
                ..board.clone()
            },
            BoardObj {
                board_id: String::new(),
                ..board.clone()
            },
            BoardObj {
                title: "t".repeat(MAX_BOARD_TITLE_CHARS + 1),
                ..board.clone()
            },
        ] {
            assert_eq!(check_board(&bad), Err(ErrorCode::ParamErr));
        }
        let wire = serde_json::to_value(&board).unwrap();
        assert_eq!(
            wire,
            serde_json::json!({"boardID":"b1","title":"plan","width":1024,"height":768,"pageCount":1})
        );
    }
}
