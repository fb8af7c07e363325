//! Whiteboard exports. Each is judged against the SDK's copy of the room's boards and sent
//! with no result callback: the server's echo (`NotifyCreateBoard`, `NotifyAddBoardElement`,
//! ...) to every member, this one included, is the confirmation, and the copy changes only
//! with those echoes.

use std::ffi::{c_char, c_int};

use crvideo_proto::BoardObj;

use super::{arg_str, opt_str, returns_code, returns_string};
use crate::client::calls::new_id;
use crate::client::room_calls::RoomCall;
use crate::instance;

/// Opens a whiteboard of `pageCount` pages (1–1000) of `width` × `height` (1–32768) titled
/// `title` (NULL = "", at most 256 characters). Every member, this one included, gets
/// `NotifyCreateBoard(boardJson, operatorID)`; a member entering later gets it in
/// `NotifyInitBoards`.
///
/// Returns the new board's ID (free it with `CRVideo_FreeString`), or NULL when it fails;
/// `CRVideo_GetLastError()` then tells why: `CRVIDEOSDK_PARAM_ERR` (a value out of range),
/// `CRVIDEOSDK_OUTOF_MEM` (the meeting has 100 boards open), `CRVIDEOSDK_NOT_INMEETING`,
/// `CRVIDEOSDK_NOT_LOGIN`, `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_CreateBoard(
    title: *const c_char,
    width: c_int,
    height: c_int,
    pageCount: c_int,
) -> *mut c_char {
    returns_string(|| {
        let instance = instance::current()?;
        let board = BoardObj {
            board_id: new_id(),
            title: opt_str(title)?.to_owned(),
            width,
            height,
            page_count: pageCount,
        };
        let board_id = board.board_id.clone();
        instance.room_call(RoomCall::CreateBoard(board))?;
        Ok(board_id)
    })
}

/// Closes whiteboard `boardID`, dropping its elements. Every member, this one included, gets
/// `NotifyCloseBoard(boardID, operatorID)`. No result callback.
///
/// Returns 0, `CRVIDEOSDK_PARAM_ERR` (no such board), `CRVIDEOSDK_NOT_INMEETING`,
/// `CRVIDEOSDK_NOT_LOGIN`, `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_CloseBoard(boardID: *const c_char) -> c_int {
    returns_code(|| {
        let instance = instance::current()?;
        instance.room_call(RoomCall::CloseBoard(arg_str(boardID)?.to_owned()))
    })
}

/// A new element ID (32 hex digits of randomness: unique in every meeting), made here with
/// no server round trip; it works before `CRVideo_Init` too. Free it with
/// `CRVideo_FreeString`. NULL only if the system's random source fails.
#[no_mangle]
pub extern "C" fn CRVideo_CreateElementID() -> *mut c_char {
    returns_string(|| Ok(new_id()))
}

/// Adds (`modify` false) or replaces an element (checked against the SDK's copy).
unsafe fn set_element(
    board_id: *const c_char,
    page_no: c_int,
    element_json: *const c_char,
    modify: bool,
) -> c_int {
    returns_code(|| {
        let instance = instance::current()?;
        instance.room_call(RoomCall::SetElement {
            board_id: arg_str(board_id)?.to_owned(),
            page_no,
            element: arg_str(element_json)?.to_owned(),
            modify,
        })
    })
}

/// Adds an element to page `pageNo` (0-based) of whiteboard `boardID`. `elementJson` is a
/// JSON object (at most 64 KiB) with a string `elementID` (from `CRVideo_CreateElementID`
/// or the app's own: 1–128 bytes, no `;`); its other fields are the app's and reach every
/// member verbatim. Every member, this one included (the confirmation), gets
/// `NotifyAddBoardElement(boardID, pageNo, elementJson, operatorID)`; the element goes last
/// in the page's order. No result callback: if another member's operation made this one
/// invalid on the way (added the same ID, closed the board), the server drops it and nobody
/// is notified.
///
/// Returns 0, `CRVIDEOSDK_PARAM_ERR` (no such board or page, not a valid element, or the ID
/// is on the page already), `CRVIDEOSDK_OUTOF_MEM` (the meeting's boards hold 16 MiB of
/// elements), `CRVIDEOSDK_NOT_INMEETING`, `CRVIDEOSDK_NOT_LOGIN`, `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_AddBoardElement(
    boardID: *const c_char,
    pageNo: c_int,
    elementJson: *const c_char,
) -> c_int {
    set_element(boardID, pageNo, elementJson, false)
}

/// Replaces the element with `elementJson`'s `elementID` on the page (it keeps its place in
/// the order). Every member, this one included, gets `NotifyModifyBoardElement(boardID,
/// pageNo, elementJson, operatorID)`. As `CRVideo_AddBoardElement`, except that
/// `CRVIDEOSDK_PARAM_ERR` means the ID is not on the page (and an element deleted by
/// another member on the way is dropped).
#[no_mangle]
pub unsafe extern "C" fn CRVideo_ModifyBoardElement(
    boardID: *const c_char,
    pageNo: c_int,
    elementJson: *const c_char,
) -> c_int {
    set_element(boardID, pageNo, elementJson, true)
}

/// Deletes elements of a page; `elementIDs` are joined by `;` (`"e1;e2"`; an ID given twice
/// counts once). Every member, this one included, gets `NotifyDelBoardElement(boardID,
/// pageNo, elementIDs, operatorID)` with the IDs deleted (if another member deleted some of
/// them on the way, those are left out; if all, nobody is notified). No result callback.
///
/// Returns 0, `CRVIDEOSDK_PARAM_ERR` (no such board or page, an empty or invalid list, or an
/// ID not on the page), `CRVIDEOSDK_NOT_INMEETING`, `CRVIDEOSDK_NOT_LOGIN`,
/// `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_DelBoardElement(
    boardID: *const c_char,
    pageNo: c_int,
    elementIDs: *const c_char,
) -> c_int {
    returns_code(|| {
        let instance = instance::current()?;
        instance.room_call(RoomCall::DelElements {
            board_id: arg_str(boardID)?.to_owned(),
            page_no: pageNo,
            ids: arg_str(elementIDs)?.to_owned(),
        })
    })
}

/// Shows this member's pointer at (`x`, `y`) on page `pageNo` of whiteboard `boardID`: the
/// other members get `NotifyMouseHotSpot(boardID, x, y, operatorID)`. Nothing is kept (a
/// member entering later does not get it). No result callback.
///
/// Returns 0, `CRVIDEOSDK_PARAM_ERR` (no such board or page), `CRVIDEOSDK_NOT_INMEETING`,
/// `CRVIDEOSDK_NOT_LOGIN`, `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_SetMouseHotSpot(
    boardID: *const c_char,
    pageNo: c_int,
    x: c_int,
    y: c_int,
) -> c_int {
    returns_code(|| {
        let instance = instance::current()?;
        instance.room_call(RoomCall::MouseHotSpot {
            board_id: arg_str(boardID)?.to_owned(),
            page_no: pageNo,
            x,
            y,
        })
    })
}

/// Sets the background of page `pageNo` of whiteboard `boardID` to the net-disk file
/// `imgFileID` (made with `CRVideo_MakeNetDiskFileID`, usually of type 1, and uploaded
/// first; "" clears it). Every member, this one included, gets
/// `NotifyBoardBkImage({"boardID":..,"pageNo":..}, imgFileID, operatorID)` and downloads the
/// image with `CRVideo_DownloadNetDiskFile`; a member entering later gets it as `imgID` of
/// `NotifyInitBoardPageDat`. A well-formed ID that is not a file of the tenant is refused by
/// the server: nobody is notified (logged by the SDK).
///
/// Returns 0, `CRVIDEOSDK_NETDISK_FILEID_INVALID` (malformed ID), `CRVIDEOSDK_PARAM_ERR`
/// (no such board or page, NULL), `CRVIDEOSDK_NOT_INMEETING`, `CRVIDEOSDK_NOT_LOGIN`,
/// `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_SetBoardBkImage(
    boardID: *const c_char,
    pageNo: c_int,
    imgFileID: *const c_char,
) -> c_int {
    returns_code(|| {
        let instance = instance::current()?;
        instance.room_call(RoomCall::BoardBkImage {
            board_id: arg_str(boardID)?.to_owned(),
            page_no: pageNo,
            img_id: arg_str(imgFileID)?.to_owned(),
        })
    })
}
