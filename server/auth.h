/*
 * A session's authorization of connect, publish and play: the app's
 * address rules, stream keys and signed URLs (access.h), then its HTTP
 * callback (callback.h), which the session waits for in a pending state
 * without holding a pool worker.  Runs on the session's own task; the
 * only other thread involved is the callback thread, which hands over
 * the verdict through session->pend and a wake.
 */
#ifndef SL_AUTH_H
#define SL_AUTH_H

#include <stddef.h>

struct sl_session;
struct sl_callbacks;

/* Results of the sl_auth_* checks. */
enum {
    SL_AUTH_REFUSED = -1, /* refused, replied to and closing */
    SL_AUTH_OK = 0,       /* go on now */
    SL_AUTH_PENDING = 1   /* a callback decides; the session waits */
};

/* The process's callback client, set by main before sessions start
 * (NULL: apps with callbacks configured refuse what needs one). */
void sl_auth_set_callbacks(struct sl_callbacks *cb);

/* connect to s->app (already known to exist): address rules (the
 * address must be allowed to publish or to play) and on_connect. */
int sl_auth_connect(struct sl_session *s, double tid);

/* publish of name with query (NULL: none; the connect's query is used
 * then).  On SL_AUTH_OK, out (cap bytes) holds the name to publish
 * under: the name a stream key maps to, or name itself. */
int sl_auth_publish(struct sl_session *s, double tid, const char *name,
                    const char *query, char *out, size_t cap);

/* play of name with query; start and reset are kept for the resume. */
int sl_auth_play(struct sl_session *s, double tid, const char *name,
                 const char *query, double start, int reset);

/* The session's task, when s->pend.done is set: finishes or refuses the
 * request that waited.  Returns -EPROTO when the session is closing. */
int sl_auth_resume(struct sl_session *s);

/* A publish or play ended (the role is still set): fires on_done when
 * the app has one and the role was granted. */
void sl_auth_ended(struct sl_session *s);

/* Whether the session waits for a callback. */
int sl_auth_pending(const struct sl_session *s);

#endif
