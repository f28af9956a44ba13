/*
 * A server object for unit tests of a protocol state machine (rtmp_cmd,
 * the web port's http_conn): a started pool of one worker, a hub, the
 * session list, no sockets and no threads of its own.  The test's main
 * thread only.
 */
#ifndef SL_TEST_SERVER_H
#define SL_TEST_SERVER_H

#include "pool/sched.h"
#include "server/hub.h"
#include "server/server.h"

/* Zeroes srv and gives it a pool and a hub with these limits (chunk
 * size taken from them).  0, or -1 when one could not be made. */
int sl_test_server_init(struct sl_server *srv, const struct sl_hub_limits *lim);

/* Stops and frees what sl_test_server_init made (and a callback client
 * the test hung on srv->callbacks). */
void sl_test_server_free(struct sl_server *srv);

/* Waits (bounded, 5 s) until no wake or callback holds task but its
 * owner's reference, so the test may free it.  0, or -1 on timeout. */
int sl_test_task_quiet(struct sl_task *task);

#endif
