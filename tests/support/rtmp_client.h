/*
 * A small blocking RTMP client for the integration tests: it speaks just
 * enough RTMP to play, to start publishing, and to misbehave on purpose.
 *
 * Every socket operation is bounded: the socket has SO_RCVTIMEO and
 * SO_SNDTIMEO set, and every wait takes a timeout in seconds.  While it
 * waits for something, the client processes whatever else arrives:
 * it applies the server's Set Chunk Size, acknowledges bytes when asked
 * to, answers pings and counts media (see struct sl_rc_stats).
 *
 * One client belongs to one thread at a time; different clients may be
 * used on different threads at once.  Functions return 0 (or a count)
 * on success and -errno: -ETIMEDOUT when the bound passed, -ECONNRESET
 * when the server closed the connection, -EPROTO for bytes we could not
 * parse, -ECONNREFUSED for a connect the server rejected.
 */
#ifndef SL_TEST_RTMP_CLIENT_H
#define SL_TEST_RTMP_CLIENT_H

#include <stddef.h>
#include <stdint.h>

struct sl_rc;

/* What a playing client saw.  Timestamps are the message timestamps. */
struct sl_rc_stats {
    unsigned long video;    /* video messages */
    unsigned long audio;    /* audio messages */
    unsigned long metadata; /* onMetaData data messages */
    unsigned long bytes;    /* bytes received in all */
    /* onMetaData came before any video message. */
    int metadata_before_video;
    /* The first video message has frame type 1 (key). */
    int first_video_key;
    /* The first AVC NALU message (not a sequence header) has frame type
     * 1; -1 while none has come.  first_frame_ts is its timestamp. */
    int      first_frame_key;
    uint32_t first_frame_ts;
    /* Timestamps never went back, per media type. */
    int      video_ts_monotonic;
    int      audio_ts_monotonic;
    uint32_t last_video_ts, last_audio_ts;
    /* NetStream.Play.UnpublishNotify arrived. */
    int unpublish_notify;
    /* NetStream.Play.Stop arrived. */
    int play_stop;
    /* Between consecutive video messages: the largest step of their
     * timestamps (ms) and of their arrival on the wall clock (ms). */
    uint32_t max_video_ts_step;
    double   max_video_arrival_gap_ms;
    /* AVC sequence headers, AVC frames since the last one, and whether
     * the first frame after each was a keyframe (1 while none was not). */
    unsigned long avc_headers;
    unsigned long frames_since_header;
    int           key_after_header;
};

/* Connects to 127.0.0.1:port within timeout_s.  rcvbuf > 0 sets
 * SO_RCVBUF before connecting (a small receive window).  NULL on
 * failure (reason on stderr). */
struct sl_rc *sl_rc_open(int port, int rcvbuf, double timeout_s);
/* The same from the loopback address src ("127.0.0.2"; NULL or "" is
 * sl_rc_open): the server sees src as the peer. */
struct sl_rc *sl_rc_open_from(const char *src, int port, int rcvbuf,
                              double timeout_s);
void          sl_rc_close(struct sl_rc *c);

int sl_rc_fd(const struct sl_rc *c);
/* The client's local port: the server's log names it. */
int sl_rc_local_port(const struct sl_rc *c);

/* A plain handshake (C0+C1, read S0+S1+S2, send C2). */
int sl_rc_handshake(struct sl_rc *c, double timeout_s);

/* Raw bytes, as they are. */
int sl_rc_send_raw(struct sl_rc *c, const void *p, size_t len);

/* One message through the client's header-compressing chunk writer. */
int sl_rc_send_msg(struct sl_rc *c, uint32_t csid, uint8_t type, uint32_t msid,
                   uint32_t ts, const void *payload, size_t len);

/* An AMF0 command message (type 20) on csid 3 (msid 0) or 8 (msid 1). */
int sl_rc_send_command(struct sl_rc *c, uint32_t msid, const void *amf,
                       size_t len);

/* Sends connect for app and waits for the answer: 0 for
 * NetConnection.Connect.Success, -ECONNREFUSED for an _error (its code
 * is then sl_rc_last_status()). */
int sl_rc_connect(struct sl_rc *c, const char *app, double timeout_s);

/* Sends connect for app without waiting. */
int sl_rc_send_connect(struct sl_rc *c, const char *app);

/* createStream; returns the stream id (> 0). */
int sl_rc_create_stream(struct sl_rc *c, double timeout_s);

/* Sends play name with the given start on stream 1 (no waiting). */
int sl_rc_send_play(struct sl_rc *c, const char *name, double start);

/* Sends publish name ("live") on stream 1 (no waiting). */
int sl_rc_send_publish(struct sl_rc *c, const char *name);

/* open + handshake + connect + createStream + play: a ready player that
 * still has to wait for NetStream.Play.Start.  NULL on failure. */
struct sl_rc *sl_rc_player(int port, const char *app, const char *name,
                           double start, int rcvbuf, double timeout_s);

/* Reads and processes messages until an onStatus (or _error) with code
 * arrives.  0, -ETIMEDOUT or -ECONNRESET. */
int sl_rc_wait_status(struct sl_rc *c, const char *code, double timeout_s);

/* Reads and processes messages until timeout_s passes or the connection
 * ends (or UnpublishNotify arrives when stop_on_unpublish).  Returns 0
 * on a timeout or unpublish, -ECONNRESET when the server closed. */
int sl_rc_pump(struct sl_rc *c, double timeout_s, int stop_on_unpublish);

/* Reads and drops everything until the server closes the connection
 * (end of file or a reset): 0 then, -ETIMEDOUT if it stays open. */
int sl_rc_wait_closed(struct sl_rc *c, double timeout_s);

/* The code of the last onStatus / _error seen ("" when none). */
const char *sl_rc_last_status(const struct sl_rc *c);

const struct sl_rc_stats *sl_rc_stats(const struct sl_rc *c);

#endif
