/* peer_netdisk.h: the net-disk side of tests/c/peer.c (included once, from there).
 *   nd_summary | nd_list                      (RC: the call's return value)
 *   nd_make <fileType> <name>                 (RC: the new ID, or NULL:<GetLastError>)
 *   nd_upload <fileID> <path> | nd_download <fileID> <path>
 *   nd_pause <fileID> <0|1> | nd_cancel <fileID> | nd_delete <fileID>
 *   board_bk <boardID> <pageNo> <imgFileID>
 * Their callbacks print as every callback does (tests/c/recorder.h).
 */

static int netdisk_command(char **f, int n, int *rc) {
    (void)n;
    if (strcmp(f[0], "nd_summary") == 0) {
        *rc = CRVideo_GetNetDiskSummary();
    } else if (strcmp(f[0], "nd_list") == 0) {
        *rc = CRVideo_GetNetDiskFileList();
    } else if (strcmp(f[0], "nd_make") == 0) {
        char *id = CRVideo_MakeNetDiskFileID(atoi(ARG(1)), ARG(2));
        if (id == NULL) {
            emit("RC\tNULL:%d", CRVideo_GetLastError());
        } else {
            emit("RC\t%s", id);
            CRVideo_FreeString(id);
        }
        return 2;
    } else if (strcmp(f[0], "nd_upload") == 0) {
        *rc = CRVideo_UploadNetDiskFile(ARG(1), ARG(2));
    } else if (strcmp(f[0], "nd_download") == 0) {
        *rc = CRVideo_DownloadNetDiskFile(ARG(1), ARG(2));
    } else if (strcmp(f[0], "nd_pause") == 0) {
        *rc = CRVideo_SetNetDiskTransportPause(ARG(1), atoi(ARG(2)));
    } else if (strcmp(f[0], "nd_cancel") == 0) {
        *rc = CRVideo_CancelNetDiskFile(ARG(1));
    } else if (strcmp(f[0], "nd_delete") == 0) {
        *rc = CRVideo_DeleteNetDiskFile(ARG(1));
    } else if (strcmp(f[0], "board_bk") == 0) {
        *rc = CRVideo_SetBoardBkImage(ARG(1), atoi(ARG(2)), ARG(3));
    } else {
        return 0;
    }
    return 1;
}
