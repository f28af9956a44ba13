/*
 * AMF0 bodies of the standard RTMP command messages, for both ends: the
 * server's replies (connect's _result, onStatus) and a client's requests
 * (connect, createStream, publish, play).  Sluice's sessions use the
 * server side; the bench tool and the test client use the client side,
 * so every RTMP speaker in the tree says these things the same way.
 * Each function appends one message body to w; errors latch in w->err.
 */
#ifndef SL_RTMP_MSG_H
#define SL_RTMP_MSG_H

#include "rtmp/rd.h"

/* _result for connect: server properties, then the
 * NetConnection.Connect.Success information object echoing the client's
 * objectEncoding (our own messages stay AMF0). */
void sl_rtmp_msg_connect_result(struct sl_wr *w, double tid,
                                double object_encoding);

/* onStatus(0, null, {level, code, description[, details], clientid});
 * details is left out when NULL or "". */
void sl_rtmp_msg_status(struct sl_wr *w, const char *level, const char *code,
                        const char *desc, const char *details,
                        double clientid);

/* connect(tid, {app, flashVer, tcUrl, ...}) as a Flash-era player sends. */
void sl_rtmp_msg_connect(struct sl_wr *w, double tid, const char *app,
                         const char *tc_url);
void sl_rtmp_msg_create_stream(struct sl_wr *w, double tid);
/* publish(0, null, name, "live") */
void sl_rtmp_msg_publish(struct sl_wr *w, const char *name);
/* play(0, null, name, start) */
void sl_rtmp_msg_play(struct sl_wr *w, const char *name, double start);

#endif
