/*
 * Whether an SRT caller may connect: decided in libsrt's listen
 * callback, before the handshake completes, so a refusal reaches the
 * caller as an SRT reject reason (srt/access_control.h's SRT_REJX_*
 * codes) and not as a silent close.
 *
 * The stream id (srt/streamid.h) says what the caller wants; the app's
 * config and auth.c give the same verdicts as for an RTMP publish or
 * play (address rules, stream keys and their public names, signed
 * URLs from the id's query); the hub says whether the name is taken
 * or live.  An app whose verdict is to ask its HTTP callback cannot be
 * answered inside the handshake (the callback takes up to
 * callback_timeout and libsrt's receiving thread must not wait): the
 * caller is let in and the connection asks after the handshake,
 * closing when the answer is no.
 *
 * No state of its own; any thread (libsrt's).
 */
#ifndef SL_SRT_ADMIT_H
#define SL_SRT_ADMIT_H

#include <stddef.h>
#include <sys/socket.h>
#include <time.h>

#include "srt/streamid.h"

struct sl_config;
struct sl_hub;

struct sl_srt_admission {
    /* 0: let in; otherwise the SRT_REJX_* code to refuse with. */
    int  reject;
    char why[200];              /* reject: for the log; never quotes a key */
    struct sl_srt_streamid sid; /* the parsed id (app, query, mode) */
    /* Let in: the stream name to use (a key's public name), and whether
     * the app's callback must still be asked (1) with the name as
     * requested. */
    char name[SL_NAME_MAX];
    int  ask;
};

/* Decides on the stream id id[0..len) of a caller at addr, under cfg,
 * at time now (for signature expiry).  Never fails. */
void sl_srt_admit(const char *id, size_t len, const struct sl_config *cfg,
                  struct sl_hub *hub, const struct sockaddr_storage *addr,
                  time_t now, struct sl_srt_admission *out);

#endif
