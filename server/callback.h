/*
 * HTTP callbacks (on_connect, on_publish, on_play and their *_done
 * notifications): ask an HTTP backend whether a client may go on, the
 * way nginx-rtmp's on_publish and SRS's HTTP hooks do.
 *
 * One dedicated thread runs every request with libcurl's multi interface,
 * so a pool task that submits never blocks: it parks its session in a
 * pending state and is told the verdict by done(), which runs later on
 * the callback thread.  Requests are bounded (max_in_flight queued or
 * running together); memory for all of them is allocated up front.
 *
 * The request: an HTTP/1.1 POST of a JSON body
 *   {"action":"on_publish","app":"live","name":"cam1","addr":"127.0.0.1",
 *    "client_id":7,"tc_url":"rtmp://...","args":{"k":"v",...}}
 * (args: the query string decoded by rtmp/query.h, first occurrence
 * of a key wins, at most SL_CB_MAX_ARGS pairs, keys over 127 bytes
 * skipped; strings that are not UTF-8 have the bad bytes replaced by
 * '?'), Content-Type application/json, User-Agent sluice/VERSION.
 * Redirects are not followed, no proxy is used (environment variables
 * included), TLS peers are verified against the system's CAs.
 *
 * The verdict: 2xx allows; 3xx with a Location header redirects (the
 * header's value as sent, e.g. a new stream name); any other status, a
 * 3xx without Location, a timeout or a connection error refuses.  At
 * most 64 KiB of a response body is read: a longer one ends the transfer
 * and the status decides.
 *
 * The module logs only its own trouble (queue full, curl failures), rate
 * limited, and never the query string, args or the callback URL: they
 * carry keys and signatures.  One line per verdict is the caller's job.
 */
#ifndef SL_CALLBACK_H
#define SL_CALLBACK_H

#include <stdint.h>

#define SL_CB_MAX_ARGS 32
#define SL_CB_DEFAULT_TIMEOUT 3000 /* ms, when timeout_ms is 0 */
#define SL_CB_MAX_TIMEOUT 60000    /* ms; larger values are clamped */
#define SL_CB_MAX_IN_FLIGHT 16384  /* largest max_in_flight accepted */

/* The "action" field: on_connect, on_publish, on_play, on_publish_done,
 * on_play_done.  The *_DONE ones are notifications (done = NULL). */
enum sl_cb_action {
    SL_CB_CONNECT,
    SL_CB_PUBLISH,
    SL_CB_PLAY,
    SL_CB_PUBLISH_DONE,
    SL_CB_PLAY_DONE
};

enum sl_cb_verdict {
    SL_CB_ALLOW,    /* 2xx */
    SL_CB_REFUSE,   /* anything else: why says what */
    SL_CB_REDIRECT, /* 3xx with Location: see location */
};

/* What the caller fills in.  Every string is NUL-terminated within its
 * array (a missing terminator is cut at the last byte).  The module
 * copies it in submit; the caller's struct may go at once. */
struct sl_cb_request {
    enum sl_cb_action action;
    char              url[512]; /* http:// or https://, where to POST */
    char              app[128];
    /* The stream name without its query; "" for connect. */
    char     name[128];
    char     addr[64];    /* client IP address, no port */
    uint64_t client_id;   /* the session's id: c12 -> 12 */
    char     tc_url[512]; /* best without its query */
    /* The raw query of the name (or of the tcUrl for connect), without
     * the '?'.  Decoded into "args"; never logged. */
    char query[1024];
    /* For the whole request, connect included; 0 means
     * SL_CB_DEFAULT_TIMEOUT, above SL_CB_MAX_TIMEOUT is clamped. */
    uint32_t timeout_ms;
};

struct sl_cb_result {
    enum sl_cb_verdict verdict;
    /* The response's status; 0 when no status line arrived (timeout,
     * refused, DNS, stopping). */
    int  http_status;
    char location[512]; /* REDIRECT: the Location header */
    /* For the caller's log line: "HTTP 403", "timed out after 3000 ms",
     * "connection refused", "server stopping"...  Never the URL, the
     * query or the args. */
    char why[160];
};

/* Runs on the callback thread, exactly once per accepted request; by
 * then the request's slot is free again, so done() (or the session it
 * wakes) may submit the client's next request.  r is valid only during
 * the call.  It must not block (every other callback waits) and must not
 * call sl_callbacks_free(). */
typedef void (*sl_cb_done_fn)(void *arg, const struct sl_cb_result *r);

struct sl_callbacks;

/* Starts the callback thread.  max_in_flight (1..SL_CB_MAX_IN_FLIGHT,
 * clamped) bounds the requests queued or running together.  Returns NULL
 * when memory, libcurl or the thread cannot be had (logged).  Any
 * thread, though main wires it before sessions run. */
struct sl_callbacks *sl_callbacks_new(int max_in_flight);

/* Queues a copy of req; done(arg, result) runs later on the callback
 * thread, exactly once, also when the request fails or the module stops.
 * Never blocks (a mutex held for a copy).  Any thread, done() included;
 * never once sl_callbacks_free() has returned.
 * Returns 0, or:
 * -EAGAIN    max_in_flight requests are queued or running: refuse the
 *            client (done will not run);
 * -EINVAL    the URL is not http:// or https://, or a bad action;
 * -ESHUTDOWN sl_callbacks_free() has begun (a submit racing with it).
 * For *_DONE actions pass done = NULL (fire and forget): the request is
 * still bounded, and dropped with a rate-limited WARN when full. */
int sl_callbacks_submit(struct sl_callbacks        *cb,
                        const struct sl_cb_request *req, sl_cb_done_fn done,
                        void *arg);

/* Stops the thread: requests still queued or in flight complete with
 * REFUSE "server stopping" (their done() runs) before this returns; then
 * the thread is joined and everything freed.  Prompt: it waits for no
 * HTTP response.  NULL is a no-op.  Not from the callback thread (that
 * is, not from done()). */
void sl_callbacks_free(struct sl_callbacks *cb);

/* "on_publish" etc., or "?" for a bad value. */
const char *sl_cb_action_name(enum sl_cb_action a);

#endif
