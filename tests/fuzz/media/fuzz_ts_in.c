/*
 * libFuzzer target for MPEG-TS in (media/ts_in.c): libavformat's
 * demuxer on a fiber, fed as an SRT publisher's datagrams feed it.
 *
 * Input: 4 control bytes, then the transport stream.  Control byte i
 * gives the size of chunks i, i + 4, i + 8, ...: 0 is 1316 (an SRT
 * datagram), any other value that many bytes.  Byte 0's low bit says
 * whether the stream is ended (sl_ts_in_end) before the free, so both
 * the flush at the end and the free with the fiber suspended inside
 * the demuxer run.
 * The seeds (tests/fuzz/media/ts_in/) are real streams made by ffmpeg
 * (video alone, audio alone, both; whole and cut) behind 4 such bytes.
 *
 * Checked on every body emitted: non-NULL, not empty, type 8, 9 or 18;
 * onMetaData once and first; an AVC frame only after an AVC sequence
 * header, an AAC frame only after an AAC one; no body at all while the
 * object is being freed.  Notes: one line, not empty, no newline.
 * Anything else (or a crash, a leak, UB) is reported by abort() or the
 * sanitizers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/log.h>

#include "media/ts_in.h"
#include "rtmp/rtmp.h"

struct judge {
    int    freeing;
    size_t bodies;
    int    vseq, aseq;
};

static void
on_emit(void *ctx, uint8_t type, uint32_t ts, struct sl_buf *b)
{
    struct judge *j = ctx;

    (void) ts;
    if (b == NULL || b->len == 0 || j->freeing)
        abort();
    if (type != SL_MSG_AUDIO && type != SL_MSG_VIDEO &&
        type != SL_MSG_DATA_AMF0)
        abort();
    /* onMetaData once, and first. */
    if ((type == SL_MSG_DATA_AMF0) != (j->bodies == 0))
        abort();
    if (type == SL_MSG_VIDEO) {
        if (b->len < 5 || (b->data[0] != 0x17 && b->data[0] != 0x27))
            abort();
        if (b->data[1] == 0)
            j->vseq = 1;
        else if (b->data[1] != 1 || !j->vseq)
            abort();
    }
    if (type == SL_MSG_AUDIO) {
        if (b->len < 2 || b->data[0] != 0xaf)
            abort();
        if (b->data[1] == 0)
            j->aseq = 1;
        else if (b->data[1] != 1 || !j->aseq)
            abort();
    }
    j->bodies++;
}

static void
on_note(void *ctx, const char *line)
{
    (void) ctx;
    if (line == NULL || line[0] == '\0' || strchr(line, '\n') != NULL)
        abort();
}

/* Control byte c as a chunk size. */
static size_t
chunk_size(uint8_t c)
{
    return c == 0 ? 1316 : c;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;
    av_log_set_level(AV_LOG_QUIET);
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct judge     j = {0};
    struct sl_ts_in *in;
    size_t           off = 4, k = 0;

    if (size < 4)
        return 0;
    in = sl_ts_in_new(on_emit, on_note, &j);
    if (in == NULL)
        return 0;
    while (off < size) {
        size_t n = chunk_size(data[k++ % 4]);

        if (n > size - off)
            n = size - off;
        if (sl_ts_in_feed(in, data + off, n) < 0)
            break;
        off += n;
    }
    if (data[0] & 1)
        sl_ts_in_end(in);
    j.freeing = 1;
    sl_ts_in_free(in);
    return 0;
}
