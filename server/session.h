/*
 * An RTMP connection: its socket, the handshake, the chunk stream in and
 * out, and its role (publisher or player).  A session is a pool task, so
 * its code runs on one worker at a time and needs no lock of its own;
 * other threads reach it only through its send queue and sl_task_wake().
 */
#ifndef SL_SESSION_H
#define SL_SESSION_H

#include <stdint.h>
#include <sys/socket.h>

#include "server/config.h"
#include "server/server.h"

/* Takes ownership of fd (an accepted, non-blocking socket) and of the
 * address slot in *slot (NULL, or not held, for none): creates the
 * session, registers it with the reactor and schedules its first run.
 * The slot is released exactly once, when the session is destroyed (at
 * once when it cannot start); *slot is left not held.  Any thread.  0,
 * or -errno (fd is closed then). */
int sl_session_start(struct sl_server *srv, int fd,
                     const struct sockaddr_storage *peer,
                     struct sl_ipticket            *slot);

/* Wakes every session so it notices srv->stopping and winds down:
 * players get the end-of-stream status, publishers are closed. */
void sl_session_stop_all(struct sl_server *srv);

/* ---- what the HTTP API sees of sessions ---- */

#define SL_SNAP_ROLE_PUBLISHER 1
#define SL_SNAP_ROLE_PLAYER    2

/* What a publisher told us about its media: the codec configuration it
 * sent (SPS, AudioSpecificConfig) and its onMetaData.  Written by the
 * publisher's task under the session's info lock. */
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

/* A copy of one publishing or playing session. */
struct sl_sess_snap {
    uint64_t              id;
    int                   role;  /* SL_SNAP_ROLE_* */
    char                  peer[64];
    char                  app[SL_NAME_MAX];
    char                  name[SL_NAME_MAX];
    char                  client[128];  /* connect's flashVer */
    struct sl_media_facts media;        /* publishers */
    uint64_t              since_ms;     /* started publishing / playing */
    uint64_t              bytes_in, bytes_out;
    uint64_t              media_bytes, video_frames;  /* publishers */
    uint64_t              skips, dropped;              /* players */
    uint32_t              lag_ms;                      /* players */
};

/* Copies every publishing (and, unless publishers_only, playing) session
 * into a new array in *out (the caller frees it).  Holds the session
 * list lock and each session's info lock only while copying.  Any
 * thread.  Returns the count or -ENOMEM. */
int sl_session_collect(struct sl_server *srv, int publishers_only,
                       struct sl_sess_snap **out);

/* Disconnects the publisher of app/name, and its standby first when it
 * has one (waiting up to 1 s for the standby to go, so it cannot take
 * over): each is told to close and woken; its own task closes the
 * socket.  Any thread but a pool worker.  0, or -ENOENT when nobody
 * publishes that stream. */
int sl_session_kick_publisher(struct sl_server *srv, const char *app,
                              const char *name);

#endif
