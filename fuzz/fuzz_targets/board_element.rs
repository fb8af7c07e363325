//! Whiteboard input the SDK checks at once and the server checks against the room:
//! `element_id` (an element's JSON), `split_element_ids` (`CRVideo_DelBoardElement`'s
//! `a;b;c`) and `check_board` (a BoardObj, when the input decodes as one).
//!
//! Invariants:
//! - a refusal is `PARAM_ERR`;
//! - an accepted element is a JSON object (by JSON's grammar) of at most
//!   `MAX_ELEMENT_BYTES` whose `elementID` is the ID returned, and that ID passes `check_id`
//!   (so it is a list of one ID);
//! - an accepted ID list is the input's pieces, each once, in order of first appearance;
//!   every one passes `check_id`, and joined with `;` (as `NotifyDelBoardElement` does) the
//!   list splits back to itself; a refused one has a piece `check_id` refuses;
//! - an accepted board has its ID, title, sides and page count in range.
#![no_main]

use std::collections::HashMap;

use crvideo_proto::boards::{
    check_board, check_id, element_id, split_element_ids, ELEMENT_ID_SEPARATOR, MAX_BOARD_ID_BYTES,
    MAX_BOARD_PAGES, MAX_BOARD_SIDE, MAX_BOARD_TITLE_CHARS, MAX_ELEMENT_BYTES,
};
use crvideo_proto::{BoardObj, ErrorCode};
use libfuzzer_sys::fuzz_target;
use serde::de::IgnoredAny;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };

    match element_id(text) {
        Ok(id) => {
            assert!(text.len() <= MAX_ELEMENT_BYTES);
            assert_eq!(check_id(&id), Ok(()));
            assert!(!id.is_empty() && id.len() <= MAX_BOARD_ID_BYTES);
            // JSON's grammar sets no range on numbers (`1e999`) and allows lone surrogates
            // (`"\ud800"`); serde_json's `Value` refuses them, the element check need not.
            serde_json::from_str::<HashMap<String, IgnoredAny>>(text)
                .expect("an element is a JSON object");
            if let Ok(value) = serde_json::from_str::<Value>(text) {
                assert_eq!(value["elementID"], id.as_str());
            }
            assert_eq!(split_element_ids(&id), Ok(vec![id]));
        }
        Err(code) => assert_eq!(code, ErrorCode::ParamErr),
    }

    let pieces: Vec<&str> = text.split(ELEMENT_ID_SEPARATOR).collect();
    match split_element_ids(text) {
        Ok(ids) => {
            let mut expected: Vec<&str> = Vec::new();
            for piece in &pieces {
                assert_eq!(check_id(piece), Ok(()), "{piece:?}");
                if !expected.contains(piece) {
                    expected.push(piece);
                }
            }
            assert_eq!(ids, expected);
            let joined = ids.join(&ELEMENT_ID_SEPARATOR.to_string());
            assert_eq!(split_element_ids(&joined), Ok(ids));
        }
        Err(code) => {
            assert_eq!(code, ErrorCode::ParamErr);
            assert!(pieces.iter().any(|piece| check_id(piece).is_err()));
        }
    }

    if let Ok(board) = serde_json::from_str::<BoardObj>(text) {
        match check_board(&board) {
            Ok(()) => {
                assert_eq!(check_id(&board.board_id), Ok(()));
                assert!(board.title.chars().count() <= MAX_BOARD_TITLE_CHARS);
                for side in [board.width, board.height] {
                    assert!((1..=MAX_BOARD_SIDE).contains(&side));
                }
                assert!((1..=MAX_BOARD_PAGES).contains(&board.page_count));
            }
            Err(code) => assert_eq!(code, ErrorCode::ParamErr),
        }
    }
});
