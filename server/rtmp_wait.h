/*
 * The command state machine's side of the HTTP callbacks (callback.h):
 * sending a request's callback and parking it, taking the answer the
 * callback thread hands over, and the on_done notices.  Internal to
 * rtmp_cmd.c; the owner's task only, except the verdict hand-over,
 * which runs on the callback thread.
 */
#ifndef SL_RTMP_WAIT_H
#define SL_RTMP_WAIT_H

#include "server/auth.h"
#include "server/rtmp_cmd.h"

/* Sends the callback at url for the request in c->wait and parks it: 0.
 * When it cannot be sent (no callback client, every slot in flight),
 * -1 with the refusal in *refusal and nothing parked. */
int sl_rtmp_wait_submit(struct sl_rtmp_conn *c, const char *url,
                        struct sl_auth_verdict *refusal);

/* Once sl_rtmp_verdict_ready: the verdict the callback's answer gives
 * the parked request. */
void sl_rtmp_wait_verdict(struct sl_rtmp_conn *c, struct sl_auth_verdict *v);

/* A granted publish or play ended (c->role still says which): tells the
 * app's on_done, when it has one.  Fire and forget. */
void sl_rtmp_wait_notify_done(struct sl_rtmp_conn *c);

#endif
