/* peer_audio.h: the audio side of tests/c/peer.c (included once, from there).
 *
 * A tone thread pushes this peer's microphone at real time (20 ms every 20 ms on an
 * absolute schedule); what the SDK gives back through NotifyAudioPCMDat, or what a puller
 * thread takes with CRVideo_PullCustomAudioDat, is kept per side (the last 10 s of samples,
 * and each piece's arrival time and RMS) for the commands that measure it:
 *   tone <freq Hz> <amplitude>   (starts or changes the tone; 0 0 is digital silence;
 *       prints "ToneAt<TAB>ms" — the monotonic ms of the first push of this tone)
 *   tone_stop
 *   listen <aSide> <EachSize> | listen_wav <aSide> <path> | listen_stop <aSide>
 *   playback <0|1> | pull_start <ms per pull> | pull_stop
 *   spectrum <aSide> <ms> <f1> <f2> <f3>   (the last ms kept: prints
 *       "Spectrum<TAB>a1<TAB>a2<TAB>a3<TAB>rms<TAB>samples ever kept", amplitudes of those
 *       frequencies by Goertzel)
 *   onset <aSide> <rms> <since ms>   (prints "Onset<TAB>ms": the arrival, monotonic, of the
 *       first piece after `since` whose RMS is above `rms`; -1 if none)
 *   mic_energy <user>   (RC: CRVideo_GetMicEnergy)
 */

#define AUDIO_RATE 16000
#define KEPT_SAMPLES (10 * AUDIO_RATE)
#define KEPT_PIECES 4096

struct side_store {
    int16_t samples[KEPT_SAMPLES];
    long long total; /* samples ever stored */
    long long piece_at[KEPT_PIECES];
    double piece_rms[KEPT_PIECES];
    long long pieces; /* pieces ever stored */
};

static struct side_store sides[2];
static pthread_mutex_t sides_lock = PTHREAD_MUTEX_INITIALIZER;

static void store_pcm(int side, const uint8_t *pcm, size_t len) {
    struct side_store *s;
    double energy = 0;
    size_t i, n = len / 2;
    if (side < 0 || side > 1) {
        return;
    }
    s = &sides[side];
    pthread_mutex_lock(&sides_lock);
    for (i = 0; i < n; i++) {
        int16_t v = (int16_t)(pcm[2 * i] | (pcm[2 * i + 1] << 8));
        s->samples[s->total % KEPT_SAMPLES] = v;
        s->total++;
        energy += (double)v * v;
    }
    s->piece_at[s->pieces % KEPT_PIECES] = monotonic_ms();
    s->piece_rms[s->pieces % KEPT_PIECES] = n ? sqrt(energy / (double)n) : 0;
    s->pieces++;
    pthread_mutex_unlock(&sides_lock);
}

static void on_audio_pcm(void *ud, int aSide, const uint8_t *pcm, size_t len) {
    (void)ud;
    store_pcm(aSide, pcm, len);
}

/* Goertzel amplitude of `freq` in samples [from, to) of a side (lock held). */
static double side_amplitude(const struct side_store *s, long long from, long long to,
                             double freq) {
    double w = 2.0 * 3.14159265358979323846 * freq / AUDIO_RATE, c = 2.0 * cos(w);
    double s1 = 0, s2 = 0, power;
    long long i;
    for (i = from; i < to; i++) {
        double s0 = s->samples[i % KEPT_SAMPLES] + c * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    power = s1 * s1 + s2 * s2 - c * s1 * s2;
    return to > from ? 2.0 * sqrt(power > 0 ? power : 0) / (double)(to - from) : 0;
}

static void spectrum(int side, int ms, double f1, double f2, double f3) {
    const struct side_store *s = &sides[side & 1];
    long long to, from;
    double energy = 0;
    long long i;
    pthread_mutex_lock(&sides_lock);
    to = s->total;
    from = to - (long long)ms * AUDIO_RATE / 1000;
    if (from < 0 || from < to - KEPT_SAMPLES) {
        from = to - KEPT_SAMPLES < 0 ? 0 : to - KEPT_SAMPLES;
    }
    for (i = from; i < to; i++) {
        double v = s->samples[i % KEPT_SAMPLES];
        energy += v * v;
    }
    emit("Spectrum\t%.1f\t%.1f\t%.1f\t%.1f\t%lld", side_amplitude(s, from, to, f1),
         side_amplitude(s, from, to, f2), side_amplitude(s, from, to, f3),
         to > from ? sqrt(energy / (double)(to - from)) : 0.0, to);
    pthread_mutex_unlock(&sides_lock);
}

static void onset(int side, double rms, long long since) {
    const struct side_store *s = &sides[side & 1];
    long long i, first, found = -1;
    pthread_mutex_lock(&sides_lock);
    first = s->pieces > KEPT_PIECES ? s->pieces - KEPT_PIECES : 0;
    for (i = first; i < s->pieces; i++) {
        if (s->piece_at[i % KEPT_PIECES] > since && s->piece_rms[i % KEPT_PIECES] > rms) {
            found = s->piece_at[i % KEPT_PIECES];
            break;
        }
    }
    pthread_mutex_unlock(&sides_lock);
    emit("Onset\t%lld", found);
}

/* The microphone: a tone pushed at real time. */
static volatile double tone_freq, tone_amp;
static volatile int tone_running, tone_changed;
static pthread_t tone_thread;

static void sleep_until_ms(long long at) {
    long long now = monotonic_ms();
    if (at > now) {
        struct timespec t;
        t.tv_sec = (at - now) / 1000;
        t.tv_nsec = (long)((at - now) % 1000) * 1000000L;
        nanosleep(&t, NULL);
    }
}

static void *tone_loop(void *arg) {
    long long next = monotonic_ms(), n = 0;
    uint8_t pcm[640];
    (void)arg;
    while (tone_running) {
        int i;
        double f = tone_freq, a = tone_amp;
        for (i = 0; i < 320; i++, n++) {
            double v = a * sin(2.0 * 3.14159265358979323846 * f * (double)n / AUDIO_RATE);
            int16_t s = (int16_t)lrint(v);
            pcm[2 * i] = (uint8_t)(s & 0xff);
            pcm[2 * i + 1] = (uint8_t)((uint16_t)s >> 8);
        }
        if (tone_changed) {
            tone_changed = 0;
            emit("ToneAt\t%lld", monotonic_ms());
        }
        CRVideo_PushCustomAudioDat(pcm, sizeof pcm);
        next += 20;
        sleep_until_ms(next);
    }
    return NULL;
}

static int tone_start(double freq, double amp) {
    tone_freq = freq;
    tone_amp = amp;
    tone_changed = 1;
    if (!tone_running) {
        tone_running = 1;
        return pthread_create(&tone_thread, NULL, tone_loop, NULL);
    }
    return 0;
}

static int tone_stop(void) {
    if (!tone_running) {
        return 0;
    }
    tone_running = 0;
    return pthread_join(tone_thread, NULL);
}

/* The speaker pulled at real time (CRVideo_PullCustomAudioDat), kept as side 1. */
static volatile int pull_ms, pull_running;
static pthread_t pull_thread;

static void *pull_loop(void *arg) {
    long long next = monotonic_ms();
    static uint8_t buf[64000];
    (void)arg;
    while (pull_running) {
        size_t len = (size_t)pull_ms * 32;
        if (CRVideo_PullCustomAudioDat(buf, len) == 0) {
            store_pcm(1, buf, len);
        }
        next += pull_ms;
        sleep_until_ms(next);
    }
    return NULL;
}

static int pull_start(int ms) {
    if (pull_running || ms <= 0 || ms > 2000) {
        return -1;
    }
    pull_ms = ms;
    pull_running = 1;
    return pthread_create(&pull_thread, NULL, pull_loop, NULL);
}

static int pull_stop(void) {
    if (!pull_running) {
        return 0;
    }
    pull_running = 0;
    return pthread_join(pull_thread, NULL);
}

/* Runs an audio command; 1 when `cmd` was one (its RC in *rc, -2: print no RC). */
static int audio_command(char **f, int n, int *rc) {
    char json[600];
    if (strcmp(f[0], "tone") == 0) {
        *rc = tone_start(atof(ARG(1)), atof(ARG(2)));
    } else if (strcmp(f[0], "tone_stop") == 0) {
        *rc = tone_stop();
    } else if (strcmp(f[0], "listen") == 0) {
        snprintf(json, sizeof json, "{\"EachSize\":%d}", atoi(ARG(2)));
        *rc = CRVideo_StartGetAudioPCM(atoi(ARG(1)), 0, json);
    } else if (strcmp(f[0], "listen_wav") == 0) {
        snprintf(json, sizeof json, "{\"FileName\":\"%s\"}", ARG(2));
        *rc = CRVideo_StartGetAudioPCM(atoi(ARG(1)), 1, json);
    } else if (strcmp(f[0], "listen_stop") == 0) {
        *rc = CRVideo_StopGetAudioPCM(atoi(ARG(1)));
    } else if (strcmp(f[0], "capture") == 0) {
        *rc = CRVideo_SetCustomAudioCapture(atoi(ARG(1)), NULL);
    } else if (strcmp(f[0], "playback") == 0) {
        *rc = CRVideo_SetCustomAudioPlayback(atoi(ARG(1)), "{}");
    } else if (strcmp(f[0], "pull_start") == 0) {
        *rc = pull_start(atoi(ARG(1)));
    } else if (strcmp(f[0], "pull_stop") == 0) {
        *rc = pull_stop();
    } else if (strcmp(f[0], "spectrum") == 0) {
        spectrum(atoi(ARG(1)), atoi(ARG(2)), atof(ARG(3)), atof(ARG(4)), atof(ARG(5)));
        *rc = 0;
    } else if (strcmp(f[0], "onset") == 0) {
        onset(atoi(ARG(1)), atof(ARG(2)), atoll(ARG(3)));
        *rc = 0;
    } else if (strcmp(f[0], "mic_energy") == 0) {
        *rc = CRVideo_GetMicEnergy(ARG(1));
    } else {
        return 0;
    }
    return 1;
}
