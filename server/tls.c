/*
 * TLS for sessions (see tls.h).  OpenSSL does the protocol over a socket
 * BIO on the session's fd; this file maps its results onto our error
 * vocabulary and keeps the two facts edge-triggered I/O needs: which
 * direction a blocked operation waits for, and that accepted plaintext
 * is never handed to SSL_write twice in different shapes.
 *
 * Why a staging buffer: after SSL_write says WANT_WRITE it has already
 * encrypted a record from the bytes it was given and must be called
 * again with the same bytes.  A session rebuilds its iovecs every round
 * from queues that may change in between (a skip, a new control
 * message), so it cannot promise that.  Copying into our own buffer
 * first makes the promise ours: the staged bytes count as written for
 * the session, and only the stage is ever retried.  The copy also
 * coalesces a player's many small messages into full 16 KiB records.
 */
#include "server/tls.h"

#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#define STAGE_SIZE 16384 /* one full TLS record of plaintext */

struct sl_tls_ctx {
    atomic_uint refs;
    SSL_CTX    *ssl_ctx;
    char        subject[256];
};

struct sl_tls_conn {
    SSL               *ssl;
    struct sl_tls_ctx *ctx;
    unsigned           waits; /* SL_TLS_*_WANTS_* */
    int                fatal; /* no more I/O, no close_notify */
    char               error[128];
    size_t             out_off, out_len; /* staged bytes [off, len) */
    unsigned char      out[STAGE_SIZE];
};

/* The first reason in OpenSSL's error queue (the root cause; later
 * entries are the callers that passed it up), then the queue is
 * emptied. */
static void
take_error(char *buf, size_t cap)
{
    unsigned long e = ERR_peek_error();
    const char   *r = e != 0 ? ERR_reason_error_string(e) : NULL;

    if (r != NULL)
        snprintf(buf, cap, "%s", r);
    else if (e != 0)
        snprintf(buf, cap, "OpenSSL error %lx", e);
    else
        snprintf(buf, cap, "unknown TLS error");
    ERR_clear_error();
}

/* Keys must not be encrypted: OpenSSL would otherwise prompt on the
 * terminal for a passphrase, which blocks a reload forever. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void) buf;
    (void) size;
    (void) rwflag;
    (void) u;
    return -1;
}

static int
readable(const char *what, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");

    if (f == NULL) {
        snprintf(err, errlen, "%s: cannot read '%s': %s", what, path,
                 strerror(errno));
        return -1;
    }
    fclose(f);
    return 0;
}

static void
read_subject(struct sl_tls_ctx *t)
{
    X509 *x = SSL_CTX_get0_certificate(t->ssl_ctx);
    BIO  *b = BIO_new(BIO_s_mem());
    int   n = 0;

    snprintf(t->subject, sizeof(t->subject), "?");
    if (x != NULL && b != NULL &&
        X509_NAME_print_ex(b, X509_get_subject_name(x), 0, XN_FLAG_RFC2253) >=
            0)
        n = BIO_read(b, t->subject, (int) sizeof(t->subject) - 1);
    if (n > 0)
        t->subject[n] = '\0';
    BIO_free(b);
}

/* The key file alone, so "not a key" and "not this certificate's key"
 * get different messages. */
static EVP_PKEY *
load_key(const char *path, char *err, size_t errlen)
{
    FILE     *f = fopen(path, "r");
    EVP_PKEY *k = NULL;
    char      why[128];

    if (f == NULL) {
        snprintf(err, errlen, "tls_key: cannot read '%s': %s", path,
                 strerror(errno));
        return NULL;
    }
    ERR_clear_error();
    k = PEM_read_PrivateKey(f, NULL, no_passphrase, NULL);
    fclose(f);
    if (k == NULL) {
        take_error(why, sizeof(why));
        snprintf(err, errlen,
                 "tls_key: '%s' is not an unencrypted PEM private key (%s)",
                 path, why);
    }
    return k;
}

struct sl_tls_ctx *
sl_tls_ctx_new(const char *cert, const char *key, int *bad, char *err,
               size_t errlen)
{
    struct sl_tls_ctx *t;
    EVP_PKEY          *pkey = NULL;
    char               why[128];

    *bad = SL_TLS_BAD_CERT;
    if (readable("tls_cert", cert, err, errlen) < 0)
        return NULL;
    *bad = SL_TLS_BAD_KEY;
    if (readable("tls_key", key, err, errlen) < 0)
        return NULL;
    t = calloc(1, sizeof(*t));
    if (t == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    atomic_init(&t->refs, 1);
    ERR_clear_error();
    t->ssl_ctx = SSL_CTX_new(TLS_server_method());
    if (t->ssl_ctx == NULL) {
        take_error(why, sizeof(why));
        snprintf(err, errlen, "cannot create a TLS context: %s", why);
        goto fail;
    }
    SSL_CTX_set_min_proto_version(t->ssl_ctx, TLS1_2_VERSION);
    /* Partial writes: SSL_write returns after each record, like a
     * socket's short write.  Moving buffer: a retry may come from another
     * address (the bytes are the same: they are in our stage). */
    SSL_CTX_set_mode(t->ssl_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
                                     SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_options(t->ssl_ctx, SSL_OP_NO_RENEGOTIATION
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
                                        /* a peer that just closes the
                                         * socket ends the stream; most
                                         * RTMP clients never send
                                         * close_notify */
                                        | SSL_OP_IGNORE_UNEXPECTED_EOF
#endif
    );
    SSL_CTX_set_default_passwd_cb(t->ssl_ctx, no_passphrase);

    *bad = SL_TLS_BAD_CERT;
    if (SSL_CTX_use_certificate_chain_file(t->ssl_ctx, cert) != 1) {
        take_error(why, sizeof(why));
        snprintf(err, errlen,
                 "tls_cert: '%s' is not a PEM certificate chain (%s)", cert,
                 why);
        goto fail;
    }
    *bad = SL_TLS_BAD_KEY;
    pkey = load_key(key, err, errlen);
    if (pkey == NULL)
        goto fail;
    if (SSL_CTX_use_PrivateKey(t->ssl_ctx, pkey) != 1 ||
        SSL_CTX_check_private_key(t->ssl_ctx) != 1) {
        take_error(why, sizeof(why));
        snprintf(err, errlen,
                 "tls_key: '%s' does not match the certificate in "
                 "tls_cert (%s)",
                 key, why);
        goto fail;
    }
    EVP_PKEY_free(pkey);
    read_subject(t);
    *bad = 0;
    return t;

fail:
    EVP_PKEY_free(pkey);
    SSL_CTX_free(t->ssl_ctx);
    free(t);
    ERR_clear_error();
    return NULL;
}

void
sl_tls_ctx_ref(struct sl_tls_ctx *t)
{
    atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
}

/* Our own count rather than SSL_CTX_up_ref: the final SSL_CTX_free then
 * happens on the thread that dropped the last reference here, ordered
 * by acquire-release atomics that ThreadSanitizer can see (OpenSSL's
 * internal counters are outside its view). */
void
sl_tls_ctx_unref(struct sl_tls_ctx *t)
{
    if (t == NULL ||
        atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) != 1)
        return;
    SSL_CTX_free(t->ssl_ctx);
    free(t);
}

const char *
sl_tls_ctx_subject(const struct sl_tls_ctx *t)
{
    return t->subject;
}

struct sl_tls_conn *
sl_tls_conn_new(struct sl_tls_ctx *t, int fd)
{
    struct sl_tls_conn *c = malloc(sizeof(*c));

    if (c == NULL)
        return NULL;
    memset(c, 0, offsetof(struct sl_tls_conn, out));
    ERR_clear_error();
    c->ssl = SSL_new(t->ssl_ctx);
    if (c->ssl == NULL || SSL_set_fd(c->ssl, fd) != 1) {
        SSL_free(c->ssl);
        free(c);
        ERR_clear_error();
        return NULL;
    }
    SSL_set_accept_state(c->ssl);
    sl_tls_ctx_ref(t);
    c->ctx = t;
    return c;
}

void
sl_tls_conn_free(struct sl_tls_conn *c, int notify)
{
    if (c == NULL)
        return;
    /* Not while a record is half sent: the alert would have to queue
     * behind it, and nobody will retry. */
    if (notify && !c->fatal && c->out_len == 0 &&
        SSL_is_init_finished(c->ssl)) {
        ERR_clear_error();
        SSL_shutdown(c->ssl);
    }
    SSL_free(c->ssl);
    ERR_clear_error();
    sl_tls_ctx_unref(c->ctx);
    free(c);
}

/* Maps a failed SSL_read/SSL_write/SSL_do_handshake (ret <= 0) onto our
 * codes and notes what a blocked operation waits for.  saved_errno is
 * errno right after the call. */
static int
failed(struct sl_tls_conn *c, int ret, int writing, int saved_errno)
{
    switch (SSL_get_error(c->ssl, ret)) {
    case SSL_ERROR_WANT_READ:
        if (writing)
            c->waits |= SL_TLS_WRITE_WANTS_IN;
        return -EAGAIN;
    case SSL_ERROR_WANT_WRITE:
        if (!writing)
            c->waits |= SL_TLS_READ_WANTS_OUT;
        return -EAGAIN;
    case SSL_ERROR_ZERO_RETURN:
        /* close_notify (or, with IGNORE_UNEXPECTED_EOF, a bare EOF) */
        ERR_clear_error();
        return writing ? -EPIPE : 0;
    case SSL_ERROR_SYSCALL:
        c->fatal = 1;
        ERR_clear_error();
        if (saved_errno == 0) /* the socket ended without TLS saying so */
            return writing ? -EPIPE : 0;
        return -saved_errno;
    default:
        c->fatal = 1;
        take_error(c->error, sizeof(c->error));
        return -EPROTO;
    }
}

ssize_t
sl_tls_read(struct sl_tls_conn *c, void *buf, size_t cap)
{
    int n;

    c->waits &= ~SL_TLS_READ_WANTS_OUT;
    if (c->fatal)
        return -EPIPE;
    ERR_clear_error();
    errno = 0;
    n = SSL_read(c->ssl, buf, cap > INT_MAX ? INT_MAX : (int) cap);
    if (n > 0)
        return n;
    return failed(c, n, 0, errno);
}

int
sl_tls_flush(struct sl_tls_conn *c)
{
    c->waits &= ~SL_TLS_WRITE_WANTS_IN;
    while (c->out_off < c->out_len) {
        int n;

        if (c->fatal)
            return -EPIPE;
        ERR_clear_error();
        errno = 0;
        /* After a WANT_* this repeats the same bytes, as OpenSSL
         * requires: the stage does not change until they are out. */
        n = SSL_write(c->ssl, c->out + c->out_off,
                      (int) (c->out_len - c->out_off));
        if (n <= 0)
            return failed(c, n, 1, errno);
        c->out_off += (size_t) n;
    }
    c->out_off = c->out_len = 0;
    return 0;
}

ssize_t
sl_tls_writev(struct sl_tls_conn *c, const struct iovec *iov, int cnt)
{
    size_t accepted = 0, off = 0;
    int    i = 0, rc;

    for (;;) {
        rc = sl_tls_flush(c);
        if (rc < 0)
            return accepted > 0 ? (ssize_t) accepted : rc;
        while (i < cnt && iov[i].iov_len == off) {
            i++;
            off = 0;
        }
        if (i == cnt)
            return (ssize_t) accepted;
        /* The stage is empty: fill it from where we are. */
        while (i < cnt && c->out_len < STAGE_SIZE) {
            size_t take = iov[i].iov_len - off;

            if (take > STAGE_SIZE - c->out_len)
                take = STAGE_SIZE - c->out_len;
            memcpy(c->out + c->out_len, (const char *) iov[i].iov_base + off,
                   take);
            c->out_len += take;
            off += take;
            if (off == iov[i].iov_len) {
                i++;
                off = 0;
            }
        }
        accepted += c->out_len;
    }
}

int
sl_tls_out_pending(const struct sl_tls_conn *c)
{
    return c->out_len > c->out_off;
}

unsigned
sl_tls_waits(const struct sl_tls_conn *c)
{
    return c->waits;
}

int
sl_tls_handshake_done(const struct sl_tls_conn *c)
{
    return SSL_is_init_finished(c->ssl);
}

void
sl_tls_describe(const struct sl_tls_conn *c, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s %s", SSL_get_version(c->ssl),
             SSL_get_cipher_name(c->ssl));
}

const char *
sl_tls_error(const struct sl_tls_conn *c)
{
    return c->error;
}
