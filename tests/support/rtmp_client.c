/*
 * The tests' own RTMP client.  See rtmp_client.h for the contract.
 *
 * It reuses the server's codec layer (handshake client helpers, the
 * chunk reader and writer, the AMF encoder and decoder), so what it
 * proves is that those parts and the server agree on the wire; the real
 * clients in the suites (ffmpeg, rtmpdump, GStreamer) prove the rest.
 */
#include "tests/support/rtmp_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pool/buf.h"
#include "rtmp/amf.h"
#include "rtmp/chunk.h"
#include "rtmp/handshake.h"
#include "rtmp/rd.h"
#include "rtmp/msg.h"
#include "tests/support/flood.h"
#include "tests/support/proc.h"

#define RBUF_SIZE 65536
#define WBUF_SIZE (1 << 20)
#define MAX_IN_MSG (16u << 20)
#define AMF_NODES 256
#define CSID_COMMAND 3
#define CSID_STREAM 8
#define STREAM_ID 1

struct sl_rc {
    int                     fd;
    int                     lport;
    struct sl_chunk_reader *rd;
    struct sl_chunk_writer *wr;
    uint32_t                out_chunk;
    uint8_t                 rbuf[RBUF_SIZE];
    size_t                  rpos, rlen;
    uint64_t                received; /* bytes, for acknowledgements */
    uint64_t                acked;
    uint32_t                ack_window; /* 0: the server asked for none */
    double                  next_tid;
    /* The last _result / _error: its transaction id, whether it was an
     * error, and the number it carried (createStream's stream id). */
    double             res_tid;
    int                res_error;
    double             res_num;
    int                res_seen;
    char               status[128]; /* last onStatus/_error code */
    struct sl_rc_stats st;
    double             last_video_at; /* sl_now() of the last video */
    uint8_t           *wbuf;
};

struct sl_rc *
sl_rc_open(int port, int rcvbuf, double timeout_s)
{
    return sl_rc_open_from(NULL, port, rcvbuf, timeout_s);
}

struct sl_rc *
sl_rc_open_from(const char *src, int port, int rcvbuf, double timeout_s)
{
    struct sl_rc      *c = calloc(1, sizeof(*c));
    struct sockaddr_in a;
    socklen_t          alen = sizeof(a);
    struct timeval     tv;
    int                one = 1;

    if (c == NULL)
        return NULL;
    c->fd = sl_socket_from(src, 0);
    c->rd = sl_chunk_reader_new(MAX_IN_MSG, 64);
    c->wr = sl_chunk_writer_new(SL_CHUNK_DEFAULT_SIZE);
    c->wbuf = malloc(WBUF_SIZE);
    c->out_chunk = SL_CHUNK_DEFAULT_SIZE;
    c->next_tid = 1;
    c->st.video_ts_monotonic = 1;
    c->st.audio_ts_monotonic = 1;
    c->st.first_frame_key = -1;
    c->st.key_after_header = 1;
    if (c->fd < 0 || c->rd == NULL || c->wr == NULL || c->wbuf == NULL) {
        if (c->fd < 0)
            fprintf(stderr, "rtmp client: socket from %s: %s\n",
                    src ? src : "*", strerror(-c->fd));
        goto fail;
    }
    if (rcvbuf > 0)
        setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    /* connect() on a blocking socket honours SO_SNDTIMEO, which bounds
     * it; reads use a short SO_RCVTIMEO so the waits can check their own
     * deadlines between reads. */
    tv.tv_sec = (time_t) timeout_s;
    tv.tv_usec = (suseconds_t) ((timeout_s - (double) tv.tv_sec) * 1e6);
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    tv.tv_sec = 0;
    tv.tv_usec = 100000;
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t) port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(c->fd, (struct sockaddr *) &a, sizeof(a)) < 0) {
        fprintf(stderr, "rtmp client: connect to port %d: %s\n", port,
                strerror(errno));
        goto fail;
    }
    if (getsockname(c->fd, (struct sockaddr *) &a, &alen) == 0)
        c->lport = ntohs(a.sin_port);
    return c;
fail:
    sl_rc_close(c);
    return NULL;
}

void
sl_rc_close(struct sl_rc *c)
{
    if (c == NULL)
        return;
    if (c->fd >= 0)
        close(c->fd);
    sl_chunk_reader_free(c->rd);
    sl_chunk_writer_free(c->wr);
    free(c->wbuf);
    free(c);
}

int
sl_rc_fd(const struct sl_rc *c)
{
    return c->fd;
}

int
sl_rc_local_port(const struct sl_rc *c)
{
    return c->lport;
}

const char *
sl_rc_last_status(const struct sl_rc *c)
{
    return c->status;
}

const struct sl_rc_stats *
sl_rc_stats(const struct sl_rc *c)
{
    return &c->st;
}

int
sl_rc_send_raw(struct sl_rc *c, const void *p, size_t len)
{
    const uint8_t *b = p;

    while (len > 0) {
        ssize_t n = send(c->fd, b, len, MSG_NOSIGNAL);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN ? -ETIMEDOUT : -errno;
        }
        b += n;
        len -= (size_t) n;
    }
    return 0;
}

int
sl_rc_send_msg(struct sl_rc *c, uint32_t csid, uint8_t type, uint32_t msid,
               uint32_t ts, const void *payload, size_t len)
{
    int n = sl_chunk_write(c->wr, c->wbuf, WBUF_SIZE, csid, type, msid, ts,
                           payload, len);

    if (n < 0)
        return n;
    return sl_rc_send_raw(c, c->wbuf, (size_t) n);
}

int
sl_rc_send_command(struct sl_rc *c, uint32_t msid, const void *amf, size_t len)
{
    return sl_rc_send_msg(c, msid == 0 ? CSID_COMMAND : CSID_STREAM,
                          SL_MSG_COMMAND_AMF0, msid, 0, amf, len);
}

/* Reads at most once: > 0 bytes appended, -EAGAIN after an SO_RCVTIMEO
 * slice without data, -ECONNRESET when the peer is gone. */
static int
fill(struct sl_rc *c)
{
    ssize_t n;

    if (c->rpos > 0) {
        memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
        c->rlen -= c->rpos;
        c->rpos = 0;
    }
    if (c->rlen == RBUF_SIZE)
        return -ENOBUFS;
    n = recv(c->fd, c->rbuf + c->rlen, RBUF_SIZE - c->rlen, 0);
    if (n > 0) {
        c->rlen += (size_t) n;
        c->received += (uint64_t) n;
        c->st.bytes += (unsigned long) n;
        return (int) n;
    }
    if (n == 0)
        return -ECONNRESET;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
        return -EAGAIN;
    return -ECONNRESET; /* ECONNRESET, EPIPE...: the server is gone */
}

int
sl_rc_handshake(struct sl_rc *c, double timeout_s)
{
    uint8_t c0c1[1 + SL_HANDSHAKE_SIZE], c2[SL_HANDSHAKE_SIZE];
    size_t  need = 1 + 2 * SL_HANDSHAKE_SIZE;
    double  deadline = sl_now() + timeout_s;
    int     rc;

    sl_handshake_client_c0c1(c0c1);
    if ((rc = sl_rc_send_raw(c, c0c1, sizeof(c0c1))) < 0)
        return rc;
    while (c->rlen - c->rpos < need) {
        rc = fill(c);
        if (rc == -EAGAIN && sl_now() < deadline)
            continue;
        if (rc < 0)
            return rc == -EAGAIN ? -ETIMEDOUT : rc;
    }
    if (c->rbuf[c->rpos] != 3)
        return -EPROTO;
    sl_handshake_client_c2(c->rbuf + c->rpos, c2);
    c->rpos += need;
    /* The handshake bytes are not part of the chunk stream's count. */
    c->received = c->rlen - c->rpos;
    return sl_rc_send_raw(c, c2, sizeof(c2));
}

static void
copy_code(struct sl_rc *c, const struct sl_amf_doc *d,
          const struct sl_amf_node *info)
{
    const struct sl_amf_node *code = sl_amf_prop(d, info, "code");

    if (sl_amf_str_copy(code, c->status, sizeof(c->status)) < 0)
        c->status[0] = '\0';
}

static void
on_command(struct sl_rc *c, const uint8_t *p, size_t len)
{
    struct sl_amf_node        nodes[AMF_NODES];
    struct sl_amf_doc         d;
    const struct sl_amf_node *name, *tid, *arg;

    sl_amf_doc_init(&d, nodes, AMF_NODES);
    if (sl_amf_decode(&d, p, len) < 0)
        return;
    name = sl_amf_at(&d, 0);
    tid = sl_amf_at(&d, 1);
    arg = sl_amf_at(&d, 3);
    if (sl_amf_str_eq(name, "onStatus")) {
        copy_code(c, &d, arg);
        if (!strcmp(c->status, "NetStream.Play.UnpublishNotify"))
            c->st.unpublish_notify = 1;
        if (!strcmp(c->status, "NetStream.Play.Stop"))
            c->st.play_stop = 1;
    } else if (sl_amf_str_eq(name, "_result") ||
               sl_amf_str_eq(name, "_error")) {
        c->res_seen = 1;
        c->res_tid = tid != NULL && tid->type == SL_AMF_NUMBER ? tid->num : -1;
        c->res_error = sl_amf_str_eq(name, "_error");
        c->res_num = arg != NULL && arg->type == SL_AMF_NUMBER ? arg->num : 0;
        if (arg != NULL && arg->type == SL_AMF_OBJECT)
            copy_code(c, &d, arg);
    }
}

static void
on_data(struct sl_rc *c, const uint8_t *p, size_t len)
{
    struct sl_amf_node        nodes[AMF_NODES];
    struct sl_amf_doc         d;
    const struct sl_amf_node *n0, *n1;

    sl_amf_doc_init(&d, nodes, AMF_NODES);
    if (sl_amf_decode(&d, p, len) < 0)
        return;
    n0 = sl_amf_at(&d, 0);
    n1 = sl_amf_at(&d, 1);
    if (sl_amf_str_eq(n0, "onMetaData") ||
        (sl_amf_str_eq(n0, "@setDataFrame") &&
         sl_amf_str_eq(n1, "onMetaData"))) {
        if (c->st.video == 0)
            c->st.metadata_before_video = 1;
        c->st.metadata++;
    }
}

static void
on_video(struct sl_rc *c, const struct sl_chunk_msg *m)
{
    const uint8_t *p = m->payload->data;
    size_t         len = m->payload->len;
    int            key = len > 0 && (p[0] >> 4) == 1;

    double now = sl_now();

    if (c->st.video == 0) {
        c->st.first_video_key = key;
    } else {
        double gap = (now - c->last_video_at) * 1000.0;

        if (m->timestamp < c->st.last_video_ts)
            c->st.video_ts_monotonic = 0;
        else if (m->timestamp - c->st.last_video_ts > c->st.max_video_ts_step)
            c->st.max_video_ts_step = m->timestamp - c->st.last_video_ts;
        if (gap > c->st.max_video_arrival_gap_ms)
            c->st.max_video_arrival_gap_ms = gap;
    }
    c->last_video_at = now;
    if (len > 1 && (p[0] & 0x0f) == 7 && p[1] == 0) {
        c->st.avc_headers++;
        c->st.frames_since_header = 0;
    } else if (len > 1 && (p[0] & 0x0f) == 7 && p[1] == 1) {
        if (c->st.avc_headers > 0 && c->st.frames_since_header == 0 && !key)
            c->st.key_after_header = 0;
        c->st.frames_since_header++;
    }
    /* AVC: byte 1 is 0 for the sequence header, 1 for a NALU. */
    if (c->st.first_frame_key < 0 && len > 1 && (p[0] & 0x0f) == 7 &&
        p[1] == 1) {
        c->st.first_frame_key = key;
        c->st.first_frame_ts = m->timestamp;
    }
    c->st.last_video_ts = m->timestamp;
    c->st.video++;
}

static void
on_audio(struct sl_rc *c, const struct sl_chunk_msg *m)
{
    if (c->st.audio > 0 && m->timestamp < c->st.last_audio_ts)
        c->st.audio_ts_monotonic = 0;
    c->st.last_audio_ts = m->timestamp;
    c->st.audio++;
}

/* Handles one message that arrived. */
static int
process(struct sl_rc *c, const struct sl_chunk_msg *m)
{
    struct sl_rd r;
    uint32_t     v;

    sl_rd_init(&r, m->payload->data, m->payload->len);
    switch (m->type) {
    case SL_MSG_SET_CHUNK_SIZE:
        v = sl_rd_u32(&r);
        if (r.err || sl_chunk_reader_set_chunk_size(c->rd, v) < 0)
            return -EPROTO;
        return 0;
    case SL_MSG_WINDOW_ACK_SIZE:
        v = sl_rd_u32(&r);
        if (!r.err)
            c->ack_window = v;
        return 0;
    case SL_MSG_USER_CONTROL: {
        uint16_t ev = sl_rd_u16(&r);

        v = sl_rd_u32(&r);
        if (!r.err && ev == SL_UC_PING_REQUEST) {
            uint8_t      b[6];
            struct sl_wr w;

            sl_wr_init(&w, b, sizeof(b));
            sl_wr_u16(&w, SL_UC_PING_RESPONSE);
            sl_wr_u32(&w, v);
            return sl_rc_send_msg(c, 2, SL_MSG_USER_CONTROL, 0, 0, b, 6);
        }
        return 0;
    }
    case SL_MSG_VIDEO:
        on_video(c, m);
        return 0;
    case SL_MSG_AUDIO:
        on_audio(c, m);
        return 0;
    case SL_MSG_DATA_AMF0:
        on_data(c, m->payload->data, m->payload->len);
        return 0;
    case SL_MSG_COMMAND_AMF0:
        on_command(c, m->payload->data, m->payload->len);
        return 0;
    default:
        return 0;
    }
}

static int
maybe_ack(struct sl_rc *c)
{
    uint8_t      b[4];
    struct sl_wr w;

    if (c->ack_window == 0 || c->received - c->acked < c->ack_window)
        return 0;
    c->acked = c->received;
    sl_wr_init(&w, b, sizeof(b));
    sl_wr_u32(&w, (uint32_t) c->received);
    return sl_rc_send_msg(c, 2, SL_MSG_ACK, 0, 0, b, 4);
}

/* Reads and processes one message.  0, -ETIMEDOUT, -ECONNRESET or
 * -EPROTO. */
static int
read_one(struct sl_rc *c, double deadline)
{
    for (;;) {
        struct sl_chunk_msg m;
        int                 rc;

        if (c->rpos < c->rlen) {
            rc = sl_chunk_read(c->rd, c->rbuf + c->rpos, c->rlen - c->rpos, &m);
            if (rc < 0)
                return -EPROTO;
            c->rpos += (size_t) rc;
            if (m.payload != NULL) {
                rc = process(c, &m);
                sl_buf_unref(m.payload);
                if (rc == 0)
                    rc = maybe_ack(c);
                return rc == -EPROTO ? rc : 0;
            }
        }
        rc = fill(c);
        if (rc == -EAGAIN) {
            if (sl_now() >= deadline)
                return -ETIMEDOUT;
            continue;
        }
        if (rc < 0)
            return rc;
    }
}

int
sl_rc_wait_status(struct sl_rc *c, const char *code, double timeout_s)
{
    double deadline = sl_now() + timeout_s;

    c->status[0] = '\0';
    for (;;) {
        int rc = read_one(c, deadline);

        if (rc < 0)
            return rc;
        if (strcmp(c->status, code) == 0)
            return 0;
        if (sl_now() >= deadline)
            return -ETIMEDOUT;
    }
}

int
sl_rc_pump(struct sl_rc *c, double timeout_s, int stop_on_unpublish)
{
    double deadline = sl_now() + timeout_s;

    for (;;) {
        int rc = read_one(c, deadline);

        if (rc == -ETIMEDOUT)
            return 0;
        if (rc < 0)
            return rc == -EPROTO ? rc : -ECONNRESET;
        if (stop_on_unpublish && c->st.unpublish_notify)
            return 0;
        if (sl_now() >= deadline)
            return 0; /* a steady stream never times out a read */
    }
}

int
sl_rc_wait_closed(struct sl_rc *c, double timeout_s)
{
    double deadline = sl_now() + timeout_s;

    for (;;) {
        int rc;

        c->rpos = c->rlen = 0; /* content does not matter any more */
        rc = fill(c);
        if (rc == -ECONNRESET)
            return 0;
        if (sl_now() >= deadline)
            return -ETIMEDOUT;
    }
}

/* Waits for the _result or _error of transaction tid. */
static int
wait_result(struct sl_rc *c, double tid, double timeout_s)
{
    double deadline = sl_now() + timeout_s;

    c->res_seen = 0;
    for (;;) {
        int rc = read_one(c, deadline);

        if (rc < 0)
            return rc;
        if (c->res_seen && c->res_tid == tid)
            return c->res_error ? -ECONNREFUSED : 0;
        c->res_seen = 0;
        if (sl_now() >= deadline)
            return -ETIMEDOUT;
    }
}

int
sl_rc_send_connect(struct sl_rc *c, const char *app)
{
    uint8_t      out[1024];
    char         tc[256];
    struct sl_wr w;

    snprintf(tc, sizeof(tc), "rtmp://127.0.0.1/%s", app);
    sl_wr_init(&w, out, sizeof(out));
    sl_rtmp_msg_connect(&w, c->next_tid++, app, tc);
    if (w.err)
        return -ENOSPC;
    return sl_rc_send_command(c, 0, out, sl_wr_len(&w));
}

int
sl_rc_connect(struct sl_rc *c, const char *app, double timeout_s)
{
    double tid = c->next_tid;
    int    rc = sl_rc_send_connect(c, app);

    if (rc < 0)
        return rc;
    rc = wait_result(c, tid, timeout_s);
    if (rc == 0 && strcmp(c->status, "NetConnection.Connect.Success") != 0)
        return -EPROTO;
    return rc;
}

int
sl_rc_create_stream(struct sl_rc *c, double timeout_s)
{
    uint8_t      out[64];
    struct sl_wr w;
    double       tid = c->next_tid++;
    int          rc;

    sl_wr_init(&w, out, sizeof(out));
    sl_rtmp_msg_create_stream(&w, tid);
    if ((rc = sl_rc_send_command(c, 0, out, sl_wr_len(&w))) < 0)
        return rc;
    if ((rc = wait_result(c, tid, timeout_s)) < 0)
        return rc;
    return c->res_num >= 1 ? (int) c->res_num : -EPROTO;
}

int
sl_rc_send_play(struct sl_rc *c, const char *name, double start)
{
    uint8_t      out[512], uc[10];
    struct sl_wr w;
    int          rc;

    sl_wr_init(&w, out, sizeof(out));
    sl_rtmp_msg_play(&w, name, start);
    if ((rc = sl_rc_send_command(c, STREAM_ID, out, sl_wr_len(&w))) < 0)
        return rc;
    /* SetBufferLength, as players send after play. */
    sl_wr_init(&w, uc, sizeof(uc));
    sl_wr_u16(&w, SL_UC_SET_BUFFER_LENGTH);
    sl_wr_u32(&w, STREAM_ID);
    sl_wr_u32(&w, 1000);
    return sl_rc_send_msg(c, 2, SL_MSG_USER_CONTROL, 0, 0, uc, sizeof(uc));
}

int
sl_rc_send_publish(struct sl_rc *c, const char *name)
{
    uint8_t      out[512];
    struct sl_wr w;

    sl_wr_init(&w, out, sizeof(out));
    sl_rtmp_msg_publish(&w, name);
    return sl_rc_send_command(c, STREAM_ID, out, sl_wr_len(&w));
}

struct sl_rc *
sl_rc_player(int port, const char *app, const char *name, double start,
             int rcvbuf, double timeout_s)
{
    struct sl_rc *c = sl_rc_open(port, rcvbuf, timeout_s);
    int           rc;

    if (c == NULL)
        return NULL;
    if ((rc = sl_rc_handshake(c, timeout_s)) < 0 ||
        (rc = sl_rc_connect(c, app, timeout_s)) < 0 ||
        (rc = sl_rc_create_stream(c, timeout_s)) < 0 ||
        (rc = sl_rc_send_play(c, name, start)) < 0) {
        fprintf(stderr, "rtmp client: play %s/%s: %s (%s)\n", app, name,
                strerror(-rc), c->status);
        sl_rc_close(c);
        return NULL;
    }
    return c;
}
