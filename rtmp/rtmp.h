/*
 * What every RTMP speaker in the tree shares: the message type ids, the
 * user control events, and the limits on names, URLs and query strings.
 * A header of constants only, so a stage that needs no more of the
 * protocol (media/, transcode/, relay/, record/) includes just this.
 */
#ifndef SL_RTMP_H
#define SL_RTMP_H

/* App and stream names, NUL included: longer ones are refused where they
 * enter (connect, publish, play, the config). */
#define SL_NAME_MAX 128
/* URLs (tcUrl, relay targets, callbacks), NUL included. */
#define SL_URL_MAX 512
/* A query string ("?key=...&sign=...") split off a name or a tcUrl. */
#define SL_QUERY_MAX 1024

/* Message type ids (RTMP spec section 5.4 and 7.1). */
enum {
    SL_MSG_SET_CHUNK_SIZE = 1,
    SL_MSG_ABORT = 2,
    SL_MSG_ACK = 3,
    SL_MSG_USER_CONTROL = 4,
    SL_MSG_WINDOW_ACK_SIZE = 5,
    SL_MSG_SET_PEER_BW = 6,
    SL_MSG_AUDIO = 8,
    SL_MSG_VIDEO = 9,
    SL_MSG_DATA_AMF3 = 15,
    SL_MSG_SHARED_OBJECT_AMF3 = 16,
    SL_MSG_COMMAND_AMF3 = 17,
    SL_MSG_DATA_AMF0 = 18,
    SL_MSG_SHARED_OBJECT_AMF0 = 19,
    SL_MSG_COMMAND_AMF0 = 20,
    SL_MSG_AGGREGATE = 22
};

/* User control event types (spec section 7.1.7). */
enum {
    SL_UC_STREAM_BEGIN = 0,
    SL_UC_STREAM_EOF = 1,
    SL_UC_STREAM_DRY = 2,
    SL_UC_SET_BUFFER_LENGTH = 3,
    SL_UC_STREAM_IS_RECORDED = 4,
    SL_UC_PING_REQUEST = 6,
    SL_UC_PING_RESPONSE = 7
};

#endif
