/* peer_media.h: shared media playback in tests/c/peer.c (included once, from there).
 *   media_start <file> <locPlay> <pauseWhenFinished> | media_pause <0|1> | media_pos <ms>
 *   media_stop                                    (RC: the call's return value)
 *   media_info                                    (RC: CRVideo_GetMediaInfo's JSON)
 *   media_img <user> <path|->  (RC: CRVideo_GetMediaImg in RGBA; on success prints
 *       "MediaImg<TAB>width<TAB>height<TAB>frameTime" and writes the picture as a PPM)
 * Their callbacks print as every callback does (tests/c/recorder.h).
 */

static int media_command(char **f, int n, int *rc) {
    (void)n;
    if (strcmp(f[0], "media_start") == 0) {
        *rc = CRVideo_StartPlayMedia(ARG(1), atoi(ARG(2)), atoi(ARG(3)));
    } else if (strcmp(f[0], "media_pause") == 0) {
        *rc = CRVideo_PausePlayMedia(atoi(ARG(1)));
    } else if (strcmp(f[0], "media_pos") == 0) {
        *rc = CRVideo_SetMediaPlayPos(atoll(ARG(1)));
    } else if (strcmp(f[0], "media_stop") == 0) {
        *rc = CRVideo_StopPlayMedia();
    } else if (strcmp(f[0], "media_info") == 0) {
        char *info = CRVideo_GetMediaInfo();
        if (info == NULL) {
            emit("RC\tNULL:%d", CRVideo_GetLastError());
        } else {
            emit("RC\t%s", info);
            CRVideo_FreeString(info);
        }
        return 2;
    } else if (strcmp(f[0], "media_img") == 0) {
        CRVideo_VideoImg *img = NULL;
        *rc = CRVideo_GetMediaImg(ARG(1), CRVIDEOSDK_VFMT_RGBA32, 0, 0, &img);
        if (*rc == 0) {
            emit("MediaImg\t%d\t%d\t%lld", img->width, img->height, (long long)img->frameTime);
            if (strcmp(ARG(2), "-") != 0 && ARG(2)[0] != '\0') {
                write_ppm(ARG(2), img);
            }
            CRVideo_FreeVideoImg(img);
        }
    } else {
        return 0;
    }
    return 1;
}
