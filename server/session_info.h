/*
 * What the HTTP API sees of sessions: each session's facts (role, names,
 * client, codec facts, byte and frame counters), written by the
 * session's own task and copied out by any thread, plus the registry of
 * live sessions (srv->sessions) that the copy and a kick walk.
 *
 * A session embeds one struct sl_sess_info.  Its task writes the facts;
 * other threads read them: the strings and media facts under the info
 * lock, the counters as relaxed atomics (each is read on its own).
 * Lock order: srv->lock, then an info lock; nothing is taken under it.
 */
#ifndef SL_SESSION_INFO_H
#define SL_SESSION_INFO_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "pool/queue.h"
#include "pool/sched.h"
#include "rtmp/rtmp.h"

struct sl_server;

/* Roles as the API numbers them (the command state machine's enum
 * sl_role uses the same values). */
#define SL_SNAP_ROLE_PUBLISHER 1
#define SL_SNAP_ROLE_PLAYER 2

/* What a publisher told us about its media: the codec configuration it
 * sent (SPS, AudioSpecificConfig) and its onMetaData. */
struct sl_media_facts {
    char   vcodec[16];
    int    sps_width, sps_height;
    double sps_fps;
    int    meta_width, meta_height;
    double meta_fps;
    char   acodec[16];
    int    asc_rate, asc_channels;
    int    meta_rate;
    char   encoder[128];
};

/* An SRT connection's link, as libsrt measures it (srt/conn.c, about
 * once a second): what an operator reads first on a lossy link.  The
 * packet counts are the receiver's for a publisher, the sender's for a
 * player. */
struct sl_srt_facts {
    int      on; /* 0: not an SRT connection */
    double   rtt_ms;
    double   bandwidth_mbps; /* libsrt's estimate of the link */
    int      buffer_ms; /* a publisher: received, not yet delivered;
                         * a player: sent, not yet acknowledged */
    uint64_t pkts_lost, pkts_retransmitted, pkts_dropped;
};

struct sl_sess_info {
    /* First, 60 bytes: the counters a session updates on every run (a
     * player once per merge window), so that a holder that aligns the
     * struct to 64 bytes (the session does) has them on one line. */
    atomic_int    role_a; /* role, readable without the lock */
    atomic_int    kick;   /* the API asked this publisher to go */
    atomic_ullong bytes_in, bytes_out;
    atomic_ullong media_bytes, video_frames;
    atomic_ullong skips, dropped;
    atomic_uint   lag_ms;

    /* Set once by sl_session_info_init, then immutable. */
    uint64_t        id;
    char            peer[64];
    struct sl_task *task; /* woken by a kick */
    struct sl_list  link; /* in srv->sessions; srv->lock */

    pthread_mutex_t       lock;
    int                   role;      /* SL_SNAP_ROLE_*, 0 while neither */
    char                  proto[16]; /* "rtmp", "http-flv": sl_proto_id */
    char                  app[SL_NAME_MAX];
    char                  name[SL_NAME_MAX];
    char                  client[128];
    struct sl_media_facts media;
    struct sl_srt_facts   srt;
    uint64_t              since_ms;

};

/* A copy of one publishing or playing session. */
struct sl_sess_snap {
    uint64_t              id;
    int                   role;      /* SL_SNAP_ROLE_* */
    char                  proto[16]; /* "rtmp", "http-flv": sl_proto_id */
    char                  peer[64];
    char                  app[SL_NAME_MAX];
    char                  name[SL_NAME_MAX];
    char                  client[128]; /* connect's flashVer */
    struct sl_media_facts media;       /* publishers */
    struct sl_srt_facts   srt;         /* SRT connections */
    uint64_t              since_ms;    /* started publishing / playing */
    uint64_t              bytes_in, bytes_out;
    uint64_t              media_bytes, video_frames; /* publishers */
    uint64_t              skips, dropped;            /* players */
    uint32_t              lag_ms;                    /* players */
};

/* Prepares info for a session with this id, peer ("host:port") and
 * task; it is not listed until sl_session_info_list.  The session's
 * creator, before any other thread sees it. */
void sl_session_info_init(struct sl_sess_info *info, uint64_t id,
                          const char *peer, struct sl_task *task);
void sl_session_info_destroy(struct sl_sess_info *info);

/* Adds to / removes from srv->sessions (under srv->lock).  A listed
 * info must stay valid until it is unlisted: sl_session_collect and a
 * kick reach it only under srv->lock. */
void sl_session_info_list(struct sl_server *srv, struct sl_sess_info *info);
void sl_session_info_unlist(struct sl_server *srv, struct sl_sess_info *info);

/* The session's task: connect's flashVer (n bytes, not NUL-terminated,
 * kept as printable ASCII). */
void sl_session_info_client(struct sl_sess_info *info, const char *client,
                            size_t n);

/* The session's task: the role the API reports (SL_SNAP_ROLE_* or 0)
 * with its app and stream name and the protocol it plays or publishes
 * over.  Taking the publisher role clears the media facts and counters
 * of an earlier publish. */
void sl_session_info_role(struct sl_sess_info *info, int role, const char *app,
                          const char *name, const char *proto);

/* The session's task: a publisher's audio, video or data message body,
 * counted and inspected for the codec facts (SPS, AudioSpecificConfig,
 * onMetaData). */
void sl_session_info_media(struct sl_sess_info *info, uint8_t type,
                           const uint8_t *p, size_t len);

/* The connection's task: its SRT link figures. */
void sl_session_info_srt(struct sl_sess_info *info,
                         const struct sl_srt_facts *f);

/* Copies every publishing (and, unless publishers_only, playing) session
 * into a new array in *out (the caller frees it).  Holds the session
 * list lock and each session's info lock only while copying.  Any
 * thread.  Returns the count or -ENOMEM. */
int sl_session_collect(struct sl_server *srv, int publishers_only,
                       struct sl_sess_snap **out);

/* Disconnects the publisher of app/name, and its standby first when it
 * has one (waiting up to 1 s for the standby to go, so it cannot take
 * over): each is told to close (its kick flag) and woken; its own task
 * closes the socket.  Any thread but a pool worker.  0, or -ENOENT when
 * nobody publishes that stream. */
int sl_session_kick_publisher(struct sl_server *srv, const char *app,
                              const char *name);

#endif
