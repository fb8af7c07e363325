//! The whiteboards of a meeting room: boards in order of creation, each page's elements in
//! one order. Every board request is judged and applied here under the room table's lock
//! (see [`Rooms`](super::Rooms)), so the room has one order of operations and every member,
//! sent the same events in that order, ends with the same elements in the same order.
//!
//! An operation a concurrent one made invalid on its way (adding an ID that now exists,
//! changing or deleting one that is gone) is refused to its sender and nobody else hears of
//! it; the SDK refuses the ones its own copy already shows invalid.

use std::collections::{BTreeMap, HashSet};

use crvideo_proto::boards::{
    check_board, check_page, element_id, MAX_BOARDS_PER_MEETING, MAX_MEETING_BOARD_BYTES,
};
use crvideo_proto::{BoardObj, BoardState, ErrorCode, Event, PageElements};
use indexmap::IndexMap;

use super::audience::{Audience, Fanout};

/// The boards of one room.
#[derive(Debug, Default)]
pub struct Boards {
    /// In order of creation.
    boards: Vec<Board>,
    /// Bytes of element JSON held by all boards (at most [`MAX_MEETING_BOARD_BYTES`]).
    bytes: usize,
}

#[derive(Debug)]
struct Board {
    obj: BoardObj,
    /// Pages that have (had) elements, by page number.
    pages: BTreeMap<i32, Page>,
}

#[derive(Debug, Default)]
struct Page {
    /// Who changed the page last.
    operator: String,
    /// Element ID → its JSON text, in the room's order (a modify keeps the place).
    elements: IndexMap<String, String>,
    /// The background, a net-disk file ID ("" = none).
    img_id: String,
}

impl Boards {
    /// The boards as a late joiner receives them.
    pub fn state(&self) -> Vec<BoardState> {
        self.boards
            .iter()
            .map(|b| BoardState {
                board: b.obj.clone(),
                pages: b
                    .pages
                    .iter()
                    .filter(|(_, page)| !page.elements.is_empty() || !page.img_id.is_empty())
                    .map(|(&page_no, page)| PageElements {
                        page_no,
                        operator: page.operator.clone(),
                        elements: page.elements.values().cloned().collect(),
                        img_id: page.img_id.clone(),
                    })
                    .collect(),
            })
            .collect()
    }

    fn board(&self, board_id: &str) -> Result<usize, ErrorCode> {
        self.boards
            .iter()
            .position(|b| b.obj.board_id == board_id)
            .ok_or(ErrorCode::ParamErr)
    }

    /// The page `page_no` of board `board_id` (created empty on first use).
    fn page(&mut self, board_id: &str, page_no: i32) -> Result<&mut Page, ErrorCode> {
        let i = self.board(board_id)?;
        let board = &mut self.boards[i];
        check_page(page_no, board.obj.page_count)?;
        Ok(board.pages.entry(page_no).or_default())
    }

    /// `me` opens a whiteboard.
    pub fn create(&mut self, me: &str, board: BoardObj) -> Result<Fanout, ErrorCode> {
        check_board(&board)?;
        if self.board(&board.board_id).is_ok() {
            return Err(ErrorCode::ParamErr);
        }
        if self.boards.len() >= MAX_BOARDS_PER_MEETING {
            return Err(ErrorCode::OutOfMem);
        }
        self.boards.push(Board {
            obj: board.clone(),
            pages: BTreeMap::new(),
        });
        let oper = me.to_owned();
        Ok(to_all(Event::BoardCreated { board, oper }))
    }

    /// `me` closes a whiteboard, dropping its elements.
    pub fn close(&mut self, me: &str, board_id: String) -> Result<Fanout, ErrorCode> {
        let board = self.boards.remove(self.board(&board_id)?);
        let freed: usize = board.pages.values().map(Page::bytes).sum();
        self.bytes -= freed;
        let oper = me.to_owned();
        Ok(to_all(Event::BoardClosed { board_id, oper }))
    }

    /// `me` adds an element to a page (or, if `modify`, replaces one).
    pub fn set_element(
        &mut self,
        me: &str,
        board_id: String,
        page_no: i32,
        element: String,
        modify: bool,
    ) -> Result<Fanout, ErrorCode> {
        let id = element_id(&element)?;
        let held = self.bytes;
        let page = self.page(&board_id, page_no)?;
        let old = page.elements.get(&id).map(String::len);
        if old.is_some() != modify {
            return Err(ErrorCode::ParamErr);
        }
        let bytes = held - old.unwrap_or(0) + element.len();
        if bytes > MAX_MEETING_BOARD_BYTES {
            return Err(ErrorCode::OutOfMem);
        }
        let oper = me.to_owned();
        // A new ID goes last; a replaced one keeps its place.
        page.elements.insert(id, element.clone());
        page.operator = oper.clone();
        self.bytes = bytes;
        Ok(to_all(Event::Element {
            board_id,
            page_no,
            element,
            modify,
            oper,
        }))
    }

    /// `me` deletes elements of a page.
    pub fn delete_elements(
        &mut self,
        me: &str,
        board_id: String,
        page_no: i32,
        element_ids: Vec<String>,
    ) -> Result<Fanout, ErrorCode> {
        let page = self.page(&board_id, page_no)?;
        // The IDs on the page, each once, in the request's order.
        let mut seen = HashSet::new();
        let deleted: Vec<String> = element_ids
            .into_iter()
            .filter(|id| page.elements.contains_key(id) && seen.insert(id.clone()))
            .collect();
        if deleted.is_empty() {
            return Err(ErrorCode::ParamErr);
        }
        // One pass keeping the others' order: removing one at a time would shift
        // the rest of the page for each (quadratic, under the lock every meeting
        // shares: seconds for a large page deleted oldest first).
        let mut freed = 0;
        page.elements.retain(|id, e| {
            let gone = seen.contains(id);
            if gone {
                freed += e.len();
            }
            !gone
        });
        let oper = me.to_owned();
        page.operator = oper.clone();
        self.bytes -= freed;
        Ok(to_all(Event::ElementsDeleted {
            board_id,
            page_no,
            element_ids: deleted,
            oper,
        }))
    }

    /// `me` sets a page's background (the caller checked that `img_id` is a file of the
    /// tenant).
    pub fn set_background(
        &mut self,
        me: &str,
        board_id: String,
        page_no: i32,
        img_id: String,
    ) -> Result<Fanout, ErrorCode> {
        let page = self.page(&board_id, page_no)?;
        let oper = me.to_owned();
        page.img_id = img_id.clone();
        page.operator = oper.clone();
        Ok(to_all(Event::BoardBkImage {
            board_id,
            page_no,
            img_id,
            oper,
        }))
    }

    /// `me` points at a spot of a page: the others see it, nothing is kept.
    pub fn mouse_hot_spot(
        &self,
        me: &str,
        board_id: String,
        page_no: i32,
        x: i32,
        y: i32,
    ) -> Result<Fanout, ErrorCode> {
        let board = &self.boards[self.board(&board_id)?];
        check_page(page_no, board.obj.page_count)?;
        let event = Event::MouseHotSpot {
            board_id,
            page_no,
            x,
            y,
            oper: me.to_owned(),
        };
        Ok(vec![(event, Audience::Others)])
    }
}

/// A board change every member hears of, the requester too.
fn to_all(event: Event) -> Fanout {
    vec![(event, Audience::All)]
}

impl Page {
    /// What the page's elements count against [`MAX_MEETING_BOARD_BYTES`].
    fn bytes(&self) -> usize {
        self.elements.values().map(String::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn board(id: &str, pages: i32) -> BoardObj {
        BoardObj {
            board_id: id.into(),
            title: "t".into(),
            width: 100,
            height: 100,
            page_count: pages,
        }
    }

    /// `who` adds (or, if `modify`, replaces) element `id` on a page.
    fn add(
        boards: &mut Boards,
        who: &str,
        (board_id, page_no): (&str, i32),
        id: &str,
        modify: bool,
    ) -> Result<Fanout, ErrorCode> {
        let element = format!(r#"{{"elementID":"{id}","v":{}}}"#, modify as u8);
        boards.set_element(who, board_id.into(), page_no, element, modify)
    }

    #[test]
    fn elements_keep_one_order_and_invalid_operations_change_nothing() {
        let mut boards = Boards::default();
        boards.create("amy", board("b", 2)).unwrap();
        assert_eq!(
            boards.create("amy", board("b", 1)),
            Err(ErrorCode::ParamErr)
        );
        for id in ["e1", "e2", "e3"] {
            add(&mut boards, "amy", ("b", 1), id, false).unwrap();
        }
        assert_eq!(
            add(&mut boards, "bob", ("b", 1), "e2", false),
            Err(ErrorCode::ParamErr)
        );
        assert_eq!(
            add(&mut boards, "bob", ("b", 1), "e9", true),
            Err(ErrorCode::ParamErr)
        );
        assert_eq!(
            add(&mut boards, "bob", ("b", 2), "e9", false),
            Err(ErrorCode::ParamErr)
        );
        assert_eq!(
            add(&mut boards, "bob", ("x", 0), "e9", false),
            Err(ErrorCode::ParamErr)
        );
        add(&mut boards, "bob", ("b", 1), "e1", true).unwrap();
        let del = || vec!["e2".to_string(), "gone".to_string()];
        let events = boards.delete_elements("bob", "b".into(), 1, del()).unwrap();
        assert!(
            matches!(&events[0].0, Event::ElementsDeleted { element_ids, .. } if element_ids == &["e2"])
        );
        assert_eq!(
            boards.delete_elements("bob", "b".into(), 1, del()),
            Err(ErrorCode::ParamErr)
        );

        let state = boards.state();
        assert_eq!(state.len(), 1);
        let page = &state[0].pages[0];
        assert_eq!((page.page_no, page.operator.as_str()), (1, "bob"));
        assert_eq!(
            page.elements,
            vec![r#"{"elementID":"e1","v":1}"#, r#"{"elementID":"e3","v":0}"#]
        );
        assert_eq!(boards.bytes, boards.boards[0].pages[&1].bytes());
        boards.close("amy", "b".into()).unwrap();
        assert_eq!((boards.state().len(), boards.bytes), (0, 0));
    }

    #[test]
    fn the_meeting_budget_is_kept() {
        let mut boards = Boards::default();
        for i in 0..MAX_BOARDS_PER_MEETING {
            boards.create("amy", board(&format!("b{i}"), 1)).unwrap();
        }
        assert_eq!(
            boards.create("amy", board("one-more", 1)),
            Err(ErrorCode::OutOfMem)
        );
        let pad = "x".repeat(60_000);
        let mut added = 0;
        let refused = loop {
            let element = format!(r#"{{"elementID":"e{added}","pad":"{pad}"}}"#);
            match boards.set_element("amy", "b0".into(), 0, element, false) {
                Ok(_) => added += 1,
                Err(code) => break code,
            }
        };
        assert_eq!(refused, ErrorCode::OutOfMem);
        // Full: nothing lost, nothing over, and the next element would not have fitted.
        assert!(boards.bytes <= MAX_MEETING_BOARD_BYTES);
        assert!(boards.bytes + 60_000 > MAX_MEETING_BOARD_BYTES);
        assert_eq!(boards.bytes, boards.boards[0].pages[&0].bytes());
        assert!(added > 0);
    }

    #[test]
    fn a_large_delete_keeps_the_order_of_the_rest() {
        let mut boards = Boards::default();
        boards.create("amy", board("b", 1)).unwrap();
        for i in 0..10_000 {
            add(&mut boards, "amy", ("b", 0), &format!("e{i}"), false).unwrap();
        }
        // The older half, oldest first, with a repeat and an unknown ID.
        let mut ids: Vec<String> = (0..5_000).map(|i| format!("e{i}")).collect();
        ids.push("e0".into());
        ids.push("nope".into());
        let events = boards.delete_elements("bob", "b".into(), 0, ids).unwrap();
        let Event::ElementsDeleted { element_ids, .. } = &events[0].0 else {
            panic!("{events:?}")
        };
        assert_eq!(element_ids.len(), 5_000);
        assert_eq!(element_ids[0], "e0");
        let left = &boards.state()[0].pages[0].elements;
        assert_eq!(left.len(), 5_000);
        assert!(left[0].contains("\"e5000\"") && left[4_999].contains("\"e9999\""));
        assert_eq!(boards.bytes, boards.boards[0].pages[&0].bytes());
    }
}
