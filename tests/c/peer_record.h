/* peer_record.h: the recording side of tests/c/peer.c (included once, from there).
 *   rec_layout <json> | rec_start <json> | rec_stop      (RC: the call's return value)
 *   rec_files                                   (RC: CRVideo_GetAllRecordFiles' JSON)
 *   rec_upload <fileName> | rec_cancel_upload <fileName>
 *   pattern_ppm <w> <h> <seed> <ms> <path>      (writes video_pattern of that time as a
 *       binary PPM: the reference a recording's camera region is compared with)
 *   fsize_limit <bytes>   (RLIMIT_FSIZE for this process, SIGXFSZ ignored: a write past it
 *       fails as on a full disk)
 * Their callbacks print as every callback does (tests/c/recorder.h).
 */
#include <signal.h>
#include <sys/resource.h>

static int write_pattern_ppm(int w, int h, unsigned seed, long long ms, const char *path) {
    FILE *fp = fopen(path, "wb");
    int x, y;
    if (fp == NULL) {
        return -1;
    }
    fprintf(fp, "P6\n%d %d\n255\n", w, h);
    for (y = 0; y < h; y++) {
        for (x = 0; x < w; x++) {
            uint8_t rgb[3];
            video_pattern(ms, x, y, w, h, seed, rgb);
            fwrite(rgb, 1, 3, fp);
        }
    }
    return fclose(fp);
}

static int record_command(char **f, int n, int *rc) {
    (void)n;
    if (strcmp(f[0], "rec_layout") == 0) {
        *rc = CRVideo_SetRecordVideos(ARG(1));
    } else if (strcmp(f[0], "rec_start") == 0) {
        *rc = CRVideo_StartRecording(ARG(1));
    } else if (strcmp(f[0], "rec_stop") == 0) {
        *rc = CRVideo_StopRecording();
    } else if (strcmp(f[0], "rec_files") == 0) {
        char *files = CRVideo_GetAllRecordFiles();
        if (files == NULL) {
            emit("RC\tNULL:%d", CRVideo_GetLastError());
        } else {
            emit("RC\t%s", files);
            CRVideo_FreeString(files);
        }
        return 2;
    } else if (strcmp(f[0], "rec_upload") == 0) {
        *rc = CRVideo_UploadRecordFile(ARG(1));
    } else if (strcmp(f[0], "rec_cancel_upload") == 0) {
        *rc = CRVideo_CancelUploadRecordFile(ARG(1));
    } else if (strcmp(f[0], "pattern_ppm") == 0) {
        *rc = write_pattern_ppm(atoi(ARG(1)), atoi(ARG(2)), (unsigned)atoi(ARG(3)),
                                atoll(ARG(4)), ARG(5));
    } else if (strcmp(f[0], "fsize_limit") == 0) {
        struct rlimit limit;
        limit.rlim_cur = (rlim_t)atoll(ARG(1));
        limit.rlim_max = RLIM_INFINITY;
        signal(SIGXFSZ, SIG_IGN);
        *rc = setrlimit(RLIMIT_FSIZE, &limit);
    } else {
        return 0;
    }
    return 1;
}
