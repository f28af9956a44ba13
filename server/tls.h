/*
 * RTMPS: TLS (OpenSSL) under a session, on the session's own
 * non-blocking socket and in its own pool task.  No thread per
 * connection and no blocking call: every function here returns at once.
 *
 * Two objects:
 *  - sl_tls_ctx, the server's certificate and key (an SSL_CTX), loaded
 *    with the config and refcounted.  The config holds one reference and
 *    every connection made with it holds one, so a reload that brings a
 *    new certificate swaps it for new connections (by swapping the
 *    config) while running ones keep theirs.
 *  - sl_tls_conn, one connection: the SSL object over the fd and a 16 KiB
 *    staging buffer where small writes are coalesced into full records.
 *
 * Readiness: with edge-triggered events a TLS operation may be blocked on
 * the other direction (a read that must write a handshake message, a
 * write that must read one first).  sl_tls_waits() says which, so the
 * caller can retry the right operation when that event comes.
 *
 * Errors follow the house vocabulary: >= 0 a count, -EAGAIN would block,
 * -EPROTO the peer broke TLS (sl_tls_error() says how), other -errno from
 * the socket.  OpenSSL's per-thread error queue is cleared before and
 * after every call, since a session moves between worker threads.
 */
#ifndef SL_TLS_H
#define SL_TLS_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

struct sl_tls_ctx;
struct sl_tls_conn;

/* Which file sl_tls_ctx_new() blames. */
#define SL_TLS_BAD_CERT 1
#define SL_TLS_BAD_KEY 2

/* Loads a PEM certificate chain and a PEM private key (unencrypted) and
 * checks that the key matches the certificate.  TLS 1.2 and 1.3 only.
 * A context with one reference for the caller, or NULL with the reason
 * in err (naming tls_cert or tls_key and the file) and SL_TLS_BAD_* in
 * *bad.  Any thread. */
struct sl_tls_ctx *sl_tls_ctx_new(const char *cert, const char *key, int *bad,
                                  char *err, size_t errlen);

/* Any thread.  unref accepts NULL; the last one frees the SSL_CTX. */
void sl_tls_ctx_ref(struct sl_tls_ctx *t);
void sl_tls_ctx_unref(struct sl_tls_ctx *t);

/* The certificate's subject ("CN=..."), for log lines.  Lives as long
 * as t. */
const char *sl_tls_ctx_subject(const struct sl_tls_ctx *t);

/* A server-side connection over fd (non-blocking, owned by the caller:
 * never closed here), holding a reference to t.  NULL on allocation
 * failure.  The functions below take a connection and must be called by
 * one thread at a time (the session's task). */
struct sl_tls_conn *sl_tls_conn_new(struct sl_tls_ctx *t, int fd);

/* Sends close_notify when notify is set and the connection is healthy
 * (best effort, never blocks), then frees it.  Accepts NULL. */
void sl_tls_conn_free(struct sl_tls_conn *c, int notify);

/* Reads decrypted bytes, driving the handshake first.  The count, 0 at
 * the end of the stream (close_notify, or the peer closed the socket),
 * -EAGAIN, -EPROTO or -errno.  Call it until -EAGAIN: bytes OpenSSL has
 * already decrypted bring no new event. */
ssize_t sl_tls_read(struct sl_tls_conn *c, void *buf, size_t cap);

/* Takes plaintext from iov[0..cnt) in order, copied into the staging
 * buffer and encrypted from there.  Returns how many bytes it accepted
 * (they will go out before anything given later, whatever the caller
 * does with its buffers), or -EAGAIN when it could take none, or
 * -EPIPE / -EPROTO / -errno.  Accepted bytes may still wait in the
 * staging buffer: see sl_tls_flush(). */
ssize_t sl_tls_writev(struct sl_tls_conn *c, const struct iovec *iov, int cnt);

/* Pushes out what the staging buffer still holds.  0 when it is empty,
 * -EAGAIN, or an error as for sl_tls_writev. */
int sl_tls_flush(struct sl_tls_conn *c);

/* 1 while accepted bytes wait in the staging buffer. */
int sl_tls_out_pending(const struct sl_tls_conn *c);

/* What the last read or write is blocked on besides its own direction:
 * SL_TLS_READ_WANTS_OUT (retry the read when the socket is writable),
 * SL_TLS_WRITE_WANTS_IN (retry the write when it is readable). */
#define SL_TLS_READ_WANTS_OUT 1u
#define SL_TLS_WRITE_WANTS_IN 2u
unsigned sl_tls_waits(const struct sl_tls_conn *c);

/* 1 once the handshake has completed. */
int sl_tls_handshake_done(const struct sl_tls_conn *c);

/* The protocol and cipher ("TLSv1.3 TLS_AES_256_GCM_SHA384") into buf. */
void sl_tls_describe(const struct sl_tls_conn *c, char *buf, size_t cap);

/* What went wrong in the call that returned -EPROTO (OpenSSL's reason,
 * "wrong version number"), or "". */
const char *sl_tls_error(const struct sl_tls_conn *c);

#endif
