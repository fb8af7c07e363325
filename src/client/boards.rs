//! The SDK's copy of a meeting's whiteboards and the app events for the server's board
//! events. The copy changes only with those events (the operator's own operations too: the
//! server's echo is their confirmation), so every member's copy follows the room's one order.
//! It holds each element's ID and size, enough to refuse at once what the room would refuse.

use std::collections::HashMap;

use crvideo_proto::boards::{
    check_board, check_page, element_id, split_element_ids, ELEMENT_ID_SEPARATOR,
    MAX_BOARDS_PER_MEETING, MAX_MEETING_BOARD_BYTES,
};
use crvideo_proto::{BoardObj, BoardState, Event as WireEvent};

use crate::dispatch::Event;
use crate::ErrorCode;

/// The boards of the room this user is in.
#[derive(Debug, Default, Clone)]
pub struct BoardsCopy {
    /// In order of creation.
    boards: Vec<BoardCopy>,
    /// Boards this user created whose echo has not come back yet. The server handles one
    /// member's requests in order, so the app may use a board as soon as CreateBoard
    /// returned its ID.
    pending: Vec<BoardCopy>,
    /// Bytes of element JSON in all boards, as the server counts them.
    bytes: usize,
}

#[derive(Debug, Clone)]
struct BoardCopy {
    obj: BoardObj,
    /// Page number → element ID → its JSON's length (what counts against the meeting's
    /// [`MAX_MEETING_BOARD_BYTES`]).
    pages: HashMap<i32, HashMap<String, usize>>,
}

impl BoardsCopy {
    /// The copy of the boards a late joiner received, and the app events that tell the app:
    /// `NotifyInitBoards`, then one `NotifyInitBoardPageDat` per page with elements.
    pub fn from_state(state: &[BoardState]) -> (BoardsCopy, Vec<Event>) {
        let objs: Vec<&BoardObj> = state.iter().map(|b| &b.board).collect();
        let boards_json = serde_json::to_string(&objs).expect("boards serialise");
        let mut events = vec![Event::NotifyInitBoards { boards_json }];
        let mut copy = BoardsCopy::default();
        for board in state {
            let mut pages = HashMap::new();
            for page in &board.pages {
                let mut elements = HashMap::new();
                for json in &page.elements {
                    // The server checked them; one it could not have sent is left out.
                    if let Ok(id) = element_id(json) {
                        copy.bytes += json.len();
                        elements.insert(id, json.len());
                    }
                }
                pages.insert(page.page_no, elements);
                events.push(Event::NotifyInitBoardPageDat {
                    board_id: board.board.board_id.clone(),
                    page_no: page.page_no,
                    img_id: page.img_id.clone(),
                    elements_json: format!("[{}]", page.elements.join(",")),
                    operator_id: page.operator.clone(),
                });
            }
            copy.boards.push(BoardCopy {
                obj: board.board.clone(),
                pages,
            });
        }
        (copy, events)
    }

    fn board(&self, board_id: &str) -> Result<&BoardCopy, ErrorCode> {
        self.boards
            .iter()
            .chain(&self.pending)
            .find(|b| b.obj.board_id == board_id)
            .ok_or(ErrorCode::ParamErr)
    }

    /// This user is creating `board` (checked with [`BoardsCopy::check_create`]): usable at
    /// once, in the copy for good when the server's echo comes.
    pub fn create_pending(&mut self, board: BoardObj) {
        self.pending.push(BoardCopy {
            obj: board,
            pages: HashMap::new(),
        });
    }

    /// The server refused this user's board `board_id`.
    pub fn drop_pending(&mut self, board_id: &str) {
        self.pending.retain(|b| b.obj.board_id != board_id);
    }

    /// The element IDs (and sizes) of a page, checking that the board and page exist.
    fn page(
        &self,
        board_id: &str,
        page_no: i32,
    ) -> Result<Option<&HashMap<String, usize>>, ErrorCode> {
        let board = self.board(board_id)?;
        check_page(page_no, board.obj.page_count)?;
        Ok(board.pages.get(&page_no))
    }

    /// Checks a new board: `PARAM_ERR` (invalid), `OUTOF_MEM` (the meeting has the most
    /// boards it may have).
    pub fn check_create(&self, board: &BoardObj) -> Result<(), ErrorCode> {
        check_board(board)?;
        if self.boards.len() + self.pending.len() >= MAX_BOARDS_PER_MEETING {
            return Err(ErrorCode::OutOfMem);
        }
        Ok(())
    }

    /// Checks closing a board: `PARAM_ERR` when there is no such board.
    pub fn check_close(&self, board_id: &str) -> Result<(), ErrorCode> {
        self.board(board_id).map(|_| ())
    }

    /// Checks adding (`modify` false) or replacing an element.
    pub fn check_element(
        &self,
        board_id: &str,
        page_no: i32,
        element_json: &str,
        modify: bool,
    ) -> Result<(), ErrorCode> {
        let id = element_id(element_json)?;
        let page = self.page(board_id, page_no)?;
        let old = page.and_then(|p| p.get(&id)).copied();
        if old.is_some() != modify {
            return Err(ErrorCode::ParamErr);
        }
        let bytes = self.bytes - old.unwrap_or(0) + element_json.len();
        if bytes > MAX_MEETING_BOARD_BYTES {
            return Err(ErrorCode::OutOfMem);
        }
        Ok(())
    }

    /// Checks deleting `ids` (`a;b;c`): every one must be on the page. The IDs, each once.
    pub fn check_delete(
        &self,
        board_id: &str,
        page_no: i32,
        ids: &str,
    ) -> Result<Vec<String>, ErrorCode> {
        let ids = split_element_ids(ids)?;
        let page = self.page(board_id, page_no)?;
        if !ids
            .iter()
            .all(|id| page.is_some_and(|p| p.contains_key(id)))
        {
            return Err(ErrorCode::ParamErr);
        }
        Ok(ids)
    }

    /// Checks a pointer position: the board and page must exist.
    pub fn check_hot_spot(&self, board_id: &str, page_no: i32) -> Result<(), ErrorCode> {
        self.page(board_id, page_no).map(|_| ())
    }

    /// Applies a board event from the server and returns the app event for it.
    pub fn on_event(&mut self, event: WireEvent) -> Option<Event> {
        Some(match event {
            WireEvent::BoardCreated { board, oper } => {
                let board_json = serde_json::to_string(&board).expect("a board serialises");
                self.drop_pending(&board.board_id);
                self.boards.push(BoardCopy {
                    obj: board,
                    pages: HashMap::new(),
                });
                Event::NotifyCreateBoard {
                    board_json,
                    operator_id: oper,
                }
            }
            WireEvent::BoardClosed { board_id, oper } => {
                if let Some(i) = self.boards.iter().position(|b| b.obj.board_id == board_id) {
                    let board = self.boards.remove(i);
                    let freed: usize = board.pages.values().flat_map(|p| p.values()).sum();
                    self.bytes = self.bytes.saturating_sub(freed);
                }
                Event::NotifyCloseBoard {
                    board_id,
                    operator_id: oper,
                }
            }
            WireEvent::Element {
                board_id,
                page_no,
                element,
                modify,
                oper,
            } => {
                if let Ok(id) = element_id(&element) {
                    if let Some(page) = self.page_mut(&board_id, page_no) {
                        let old = page.insert(id, element.len());
                        self.bytes = (self.bytes + element.len()).saturating_sub(old.unwrap_or(0));
                    }
                }
                let (board_id, element_json) = (board_id, element);
                if modify {
                    Event::NotifyModifyBoardElement {
                        board_id,
                        page_no,
                        element_json,
                        operator_id: oper,
                    }
                } else {
                    Event::NotifyAddBoardElement {
                        board_id,
                        page_no,
                        element_json,
                        operator_id: oper,
                    }
                }
            }
            WireEvent::ElementsDeleted {
                board_id,
                page_no,
                element_ids,
                oper,
            } => {
                if let Some(page) = self.page_mut(&board_id, page_no) {
                    let freed: usize = element_ids.iter().filter_map(|id| page.remove(id)).sum();
                    self.bytes = self.bytes.saturating_sub(freed);
                }
                Event::NotifyDelBoardElement {
                    board_id,
                    page_no,
                    element_ids: element_ids.join(&ELEMENT_ID_SEPARATOR.to_string()),
                    operator_id: oper,
                }
            }
            WireEvent::MouseHotSpot {
                board_id,
                x,
                y,
                oper,
                ..
            } => Event::NotifyMouseHotSpot {
                board_id,
                x,
                y,
                operator_id: oper,
            },
            WireEvent::BoardBkImage {
                board_id,
                page_no,
                img_id,
                oper,
            } => Event::NotifyBoardBkImage {
                sub_page_json: serde_json::json!({"boardID": board_id, "pageNo": page_no})
                    .to_string(),
                img_file_id: img_id,
                operator_id: oper,
            },
            // The engine routes only board events here.
            _ => return None,
        })
    }

    fn page_mut(&mut self, board_id: &str, page_no: i32) -> Option<&mut HashMap<String, usize>> {
        let board = self
            .boards
            .iter_mut()
            .find(|b| b.obj.board_id == board_id)?;
        Some(board.pages.entry(page_no).or_default())
    }
}
