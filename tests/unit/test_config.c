#include <CUnit/CUnit.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/config.h"
#include "server/config_keys.h"
#include "server/log.h"
#include "server/tls.h"

static char path[64];

static int
write_text(const char *file, const char *text)
{
    FILE *f = fopen(file, "w");

    if (f == NULL)
        return -1;
    fputs(text, f);
    return fclose(f) == 0 ? 0 : -1;
}

static struct sl_config *
load_text(const char *text, char *err, size_t errlen)
{
    FILE *f;
    int   fd;

    snprintf(path, sizeof(path), "/tmp/sl-config-XXXXXX");
    fd = mkstemp(path);
    if (fd < 0)
        return NULL;
    f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    struct sl_config *c = sl_config_load(path, err, errlen);
    unlink(path);
    return c;
}

static void
test_defaults_and_values(void)
{
    char              err[256] = "";
    struct sl_config *c = load_text("[server]\n"
                                    "listen = 127.0.0.1:19350\n"
                                    "workers = 3\n"
                                    "chunk_size = 8k\n"
                                    "max_lag = 2500ms\n"
                                    "idle_timeout = 1m\n"
                                    "gop_cache = off\n"
                                    "; a comment\n"
                                    "[app:live]\n"
                                    "[app:other]\n",
                                    err, sizeof(err));

    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_STRING_EQUAL(c->listen_host, "127.0.0.1");
    CU_ASSERT_EQUAL(c->listen_port, 19350);
    CU_ASSERT_EQUAL(c->workers, 3);
    CU_ASSERT_EQUAL(c->chunk_size, 8192);
    CU_ASSERT_EQUAL(c->max_lag_ms, 2500);
    CU_ASSERT_EQUAL(c->idle_timeout_ms, 60000);
    CU_ASSERT_EQUAL(c->gop_cache, 0);
    CU_ASSERT_EQUAL(c->merge_write_ms, 50); /* default */
    CU_ASSERT_EQUAL(c->handshake_timeout_ms, 10000);
    CU_ASSERT_EQUAL(c->napps, 2);
    CU_ASSERT_PTR_NOT_NULL(sl_config_app(c, "live"));
    CU_ASSERT_PTR_NOT_NULL(sl_config_app(c, "other"));
    CU_ASSERT_PTR_NULL(sl_config_app(c, "nope"));
    sl_config_unref(c);
}

static void
expect_error(const char *text, int line, const char *needle)
{
    char              err[256] = "", want[32];
    struct sl_config *c = load_text(text, err, sizeof(err));

    CU_ASSERT_PTR_NULL(c);
    sl_config_unref(c);
    snprintf(want, sizeof(want), ":%d: ", line);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, want));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, needle));
    if (strstr(err, want) == NULL || strstr(err, needle) == NULL)
        fprintf(stderr, "\n  got: %s (wanted line %d, '%s')\n", err, line,
                needle);
}

static void
test_errors_name_file_and_line(void)
{
    expect_error("[server]\nlisten = 1935\nbogus = 1\n", 3, "unknown key");
    expect_error("[server]\n\nchunk_size = 12\n", 3, "chunk_size");
    expect_error("[server]\nmax_lag = soon\n", 2, "max_lag");
    expect_error("[http2]\n", 1, "unknown section");
    expect_error("[server]\n[app:bad name]\n", 2, "bad app name");
    expect_error("[app:live]\nfoo = bar\n", 2, "unknown key 'foo'");
    expect_error("[server]\nlisten = 1.2.3.4:99999\n", 2, "listen");
    expect_error("[server]\nlog_level = loud\n", 2, "log_level");
    expect_error("[server]\ngop_cache = maybe\n", 2, "gop_cache");
}

static void
test_http_section(void)
{
    char              err[256] = "";
    struct sl_config *c = load_text("[server]\n", err, sizeof(err));

    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT(c->http_enabled);
    CU_ASSERT_STRING_EQUAL(c->http_host, "127.0.0.1");
    CU_ASSERT_EQUAL(c->http_port, 8080);
    CU_ASSERT_STRING_EQUAL(c->api_token, "");
    CU_ASSERT_EQUAL(c->http_max_connections, 64);
    CU_ASSERT_EQUAL(c->http_timeout_ms, 10000);
    sl_config_unref(c);

    c = load_text("[http]\nlisten = 0.0.0.0:9090\napi_token = a-B_c.9\n"
                  "max_connections = 8\ntimeout = 3s\n"
                  "[http]\nlisten = [::1]:9091\n",
                  err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_STRING_EQUAL(c->http_host, "::1");
    CU_ASSERT_EQUAL(c->http_port, 9091);
    CU_ASSERT_STRING_EQUAL(c->api_token, "a-B_c.9");
    CU_ASSERT_EQUAL(c->http_max_connections, 8);
    CU_ASSERT_EQUAL(c->http_timeout_ms, 3000);
    sl_config_unref(c);

    c = load_text("[http]\nlisten = off\n", err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT(!c->http_enabled);
    sl_config_unref(c);

    expect_error("[http]\nlisten = nowhere\n", 2, "listen");
    expect_error("[http]\n\nfrob = 1\n", 3, "unknown key 'frob' in [http]");
    expect_error("[http]\ntimeout = 0\n", 2, "timeout");
    expect_error("[http]\nmax_connections = 0\n", 2, "max_connections");
    /* A bad token is refused without being quoted. */
    {
        struct sl_config *bad =
            load_text("[http]\napi_token = se cret\n", err, sizeof(err));

        CU_ASSERT_PTR_NULL(bad);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, ":2: api_token"));
        CU_ASSERT_PTR_NULL(strstr(err, "se cret"));
    }
}

static void
test_missing_file(void)
{
    char err[256] = "";

    CU_ASSERT_PTR_NULL(
        sl_config_load("/nonexistent/sluice.ini", err, sizeof(err)));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "/nonexistent/sluice.ini: "));
}

static void
test_current_swaps_with_refs(void)
{
    struct sl_config *a = sl_config_defaults(), *b = sl_config_defaults();
    struct sl_config *got;

    sl_config_set(a);
    got = sl_config_get();
    CU_ASSERT_PTR_EQUAL(got, a);
    sl_config_set(b); /* a survives: we still hold a reference */
    CU_ASSERT_EQUAL(got->listen_port, 1935);
    sl_config_unref(got);
    got = sl_config_get();
    CU_ASSERT_PTR_EQUAL(got, b);
    sl_config_unref(got);
    sl_config_set(NULL);
}

static void
test_renditions(void)
{
    char                              err[256] = "";
    struct sl_config                 *c = load_text("[app:live]\n"
                                                                    "renditions = 720p, 360p\n"
                                                                    "keyframe_interval = 4s\n"
                                                                    "[rendition:360p]\n"
                                                                    "height = 360\n"
                                                                    "video_bitrate = 600k\n"
                                                                    "audio = aac\n"
                                                                    "audio_bitrate = 96k\n"
                                                                    "[rendition:720p]\n"
                                                                    "width = 1280\n"
                                                                    "height = 720\n"
                                                                    "video_bitrate = 2.5m\n",
                                                    err, sizeof(err));
    const struct sl_app_config       *app;
    const struct sl_rendition_config *r;

    /* "2.5m" is no integer: an error, not a silent 2m. */
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, ":12: video_bitrate"));
    c = load_text("[app:live]\n"
                  "renditions = 720p, 360p\n"
                  "keyframe_interval = 4s\n"
                  "[rendition:360p]\n"
                  "height = 360\n"
                  "video_bitrate = 600k\n"
                  "audio = aac\n"
                  "audio_bitrate = 96k\n"
                  "[rendition:720p]\n"
                  "width = 1280\n"
                  "height = 720\n"
                  "video_bitrate = 2500k\n"
                  "maxrate = 3m\n"
                  "preset = faster\n"
                  "profile = main\n"
                  "fps = 30\n"
                  "latency = low\n",
                  err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    app = sl_config_app(c, "live");
    CU_ASSERT_PTR_NOT_NULL_FATAL(app);
    CU_ASSERT_EQUAL(app->keyframe_interval_ms, 4000);
    CU_ASSERT_EQUAL_FATAL(app->nrenditions, 2);
    r = &c->renditions[app->renditions[0]];
    CU_ASSERT_STRING_EQUAL(r->name, "720p");
    CU_ASSERT_EQUAL(r->width, 1280);
    CU_ASSERT_EQUAL(r->video_bitrate, 2500000);
    CU_ASSERT_EQUAL(r->maxrate, 3000000);
    CU_ASSERT_EQUAL(r->bufsize, 3000000); /* defaults to maxrate */
    CU_ASSERT_EQUAL(r->fps, 30);
    CU_ASSERT_STRING_EQUAL(r->preset, "faster");
    CU_ASSERT_STRING_EQUAL(r->profile, "main");
    CU_ASSERT_STRING_EQUAL(r->encoder, "libx264");
    CU_ASSERT_EQUAL(r->audio_copy, 1);
    CU_ASSERT_EQUAL(r->latency, SL_LATENCY_LOW);
    r = &c->renditions[app->renditions[1]];
    CU_ASSERT_STRING_EQUAL(r->name, "360p");
    CU_ASSERT_EQUAL(r->width, 0);
    CU_ASSERT_EQUAL(r->height, 360);
    CU_ASSERT_EQUAL(r->maxrate, 600000);
    CU_ASSERT_EQUAL(r->audio_copy, 0);
    CU_ASSERT_EQUAL(r->audio_bitrate, 96000);
    CU_ASSERT_STRING_EQUAL(r->preset, "veryfast");
    CU_ASSERT_EQUAL(r->latency, SL_LATENCY_NORMAL); /* the default */
    sl_config_unref(c);
    /* An app without renditions has an empty ladder and the default
     * interval. */
    c = load_text("[app:plain]\n", err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(sl_config_app(c, "plain")->nrenditions, 0);
    CU_ASSERT_EQUAL(sl_config_app(c, "plain")->keyframe_interval_ms, 2000);
    sl_config_unref(c);
}

static void
test_rendition_errors(void)
{
    char              err[256] = "";
    struct sl_config *c;

    expect_error("[app:live]\nrenditions = 720p\n", 2, "no [rendition:720p]");
    expect_error("[rendition:a]\nwidth = 641\n", 2, "width");
    expect_error("[rendition:a]\nprofile = extreme\n", 2, "profile");
    expect_error("[rendition:a]\naudio = mp3\n", 2, "audio");
    expect_error("[rendition:a]\nheight = 360\nlatency = zero\n", 3, "latency");
    expect_error("[rendition:a]\nlatency = LOW\n", 2, "latency");
    expect_error("[rendition:a]\nlatency =\n", 2, "latency");
    expect_error("[rendition:a]\nfps = many\n", 2, "fps");
    expect_error("[rendition:a]\nsize = 3\n", 2, "unknown key 'size'");
    expect_error("[rendition:a]\npreset = a b\n", 2, "preset");
    expect_error("[rendition:a b]\n", 1, "bad rendition name");
    expect_error("[rendition:a]\nheight = 360\nvideo_bitrate = 1k\n"
                 "[app:x]\nrenditions = a,a\n",
                 5, "twice");
    expect_error("[app:x]\nkeyframe_interval = 0\n", 2, "keyframe_interval");
    /* Whole-section problems name the file, not a line. */
    c = load_text("[rendition:a]\nvideo_bitrate = 500k\n", err, sizeof(err));
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "[rendition:a] needs a width"));
    c = load_text("[rendition:a]\nheight = 360\n", err, sizeof(err));
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "needs a video_bitrate"));
}

static void
test_relays_and_pulls(void)
{
    char                          err[256] = "";
    struct sl_config             *c;
    const struct sl_app_config   *app;
    const struct sl_relay_config *r;

    c = load_text("[relay:cdn]\n"
                  "backup_url = rtmp://b1/live, rtmps://b2/live\n"
                  "url = rtmp://user:pw@primary/live/{name}\n"
                  "streams = source, 360p\n"
                  "retry_max = 10s\n"
                  "failover_after = 2\n"
                  "[rendition:360p]\nheight = 360\nvideo_bitrate = 600k\n"
                  "[app:live]\nrelays = cdn\n"
                  "[app:edge]\n"
                  "pull = rtmp://o1:1935/live, rtmp://o2/live\n"
                  "pull_idle_timeout = 3s\n",
                  err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    app = sl_config_app(c, "live");
    CU_ASSERT_EQUAL_FATAL(app->nrelays, 1);
    r = &c->relays[app->relays[0]];
    CU_ASSERT_STRING_EQUAL(r->name, "cdn");
    CU_ASSERT_EQUAL_FATAL(r->nurls, 3);
    /* The primary comes first whatever the order in the file. */
    CU_ASSERT_STRING_EQUAL(r->urls[0], "rtmp://user:pw@primary/live/{name}");
    CU_ASSERT_STRING_EQUAL(r->urls[1], "rtmp://b1/live");
    CU_ASSERT_STRING_EQUAL(r->urls[2], "rtmps://b2/live");
    CU_ASSERT_EQUAL(r->push_source, 1);
    CU_ASSERT_EQUAL_FATAL(r->nrungs, 1);
    CU_ASSERT_STRING_EQUAL(r->rungs[0], "360p");
    CU_ASSERT_EQUAL(r->retry_min_ms, 1000);
    CU_ASSERT_EQUAL(r->retry_max_ms, 10000);
    CU_ASSERT_EQUAL(r->retry_fast_ms, 60000);
    CU_ASSERT_EQUAL(r->failover_after, 2);
    CU_ASSERT_EQUAL(r->timeout_ms, 5000);
    CU_ASSERT_EQUAL(app->npulls, 0);
    app = sl_config_app(c, "edge");
    CU_ASSERT_EQUAL_FATAL(app->npulls, 2);
    CU_ASSERT_STRING_EQUAL(app->pulls[1], "rtmp://o2/live");
    CU_ASSERT_EQUAL(app->pull_idle_ms, 3000);
    CU_ASSERT_EQUAL(app->pull_retry_min_ms, 1000);
    CU_ASSERT_EQUAL(app->pull_retry_max_ms, 30000);
    CU_ASSERT_EQUAL(app->pull_retry_fast_ms, 60000);
    sl_config_unref(c);

    /* The retry schedules, given. */
    c = load_text("[relay:a]\nurl = rtmp://x/a\nretry_min = 200ms\n"
                  "retry_max = 2s\nretry_fast_for = 0\n"
                  "[app:e]\npull = rtmp://o/live\npull_retry_min = 500ms\n"
                  "pull_retry_max = 5s\npull_retry_fast_for = 2m\n",
                  err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(c->relays[0].retry_min_ms, 200);
    CU_ASSERT_EQUAL(c->relays[0].retry_max_ms, 2000);
    CU_ASSERT_EQUAL(c->relays[0].retry_fast_ms, 0);
    app = sl_config_app(c, "e");
    CU_ASSERT_EQUAL(app->pull_retry_min_ms, 500);
    CU_ASSERT_EQUAL(app->pull_retry_max_ms, 5000);
    CU_ASSERT_EQUAL(app->pull_retry_fast_ms, 120000);
    sl_config_unref(c);
    c = load_text("[app:e]\npull_retry_min = 2s\npull_retry_max = 1s\n", err,
                  sizeof(err));
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT_PTR_NOT_NULL(
        strstr(err, "pull_retry_max is below pull_retry_min"));
    expect_error("[relay:a]\nurl = rtmp://x/a\nretry_fast_for = 2h\n", 3,
                 "retry_fast_for");

    expect_error("[relay:a]\nurl = http://x/live\n", 2, "rtmp://");
    expect_error("[relay:a]\nurl = rtmp://x/a\nurl = rtmp://y/a\n", 3,
                 "url given twice");
    expect_error("[relay:a]\nurl = rtmp://x/a\nstreams = 720p\n", 3,
                 "neither source");
    expect_error("[app:x]\nrelays = nope\n", 2, "no [relay:nope]");
    expect_error("[app:x]\npull = rtmp:///nohost\n", 2, "pull");
    expect_error("[relay:a]\nurl = rtmp://x/a\nbogus = 1\n", 3,
                 "unknown key 'bogus'");
    c = load_text("[relay:a]\nstreams = source\n", err, sizeof(err));
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "[relay:a] needs a url"));
}

static void
test_abuse_limits(void)
{
    char              err[256] = "";
    struct sl_config *c = load_text("[server]\n", err, sizeof(err));

    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(c->max_pending_per_ip, 100);
    CU_ASSERT_EQUAL(c->max_players_per_ip, 0);
    CU_ASSERT_EQUAL(c->connection_rate_per_ip, 20);
    CU_ASSERT_EQUAL(c->connection_burst_per_ip, 100);
    CU_ASSERT_EQUAL(c->max_pending, 1000);
    sl_config_unref(c);

    c = load_text("[server]\nmax_pending_per_ip = 50\n"
                  "max_players_per_ip = 300\n"
                  "connection_rate_per_ip = 10\n"
                  "connection_burst_per_ip = 1\nmax_pending = 7\n",
                  err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(c->max_pending_per_ip, 50);
    CU_ASSERT_EQUAL(c->max_players_per_ip, 300);
    CU_ASSERT_EQUAL(c->connection_rate_per_ip, 10);
    CU_ASSERT_EQUAL(c->connection_burst_per_ip, 1);
    CU_ASSERT_EQUAL(c->max_pending, 7);
    sl_config_unref(c);

    /* The old name of the pending cap is still read, as the same key:
     * the last line that sets either wins. */
    c = load_text("[server]\nmax_connections_per_ip = 40\n", err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(c->max_pending_per_ip, 40);
    sl_config_unref(c);
    c = load_text("[server]\nmax_pending_per_ip = 30\n"
                  "max_connections_per_ip = 60\n",
                  err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(c->max_pending_per_ip, 60);
    sl_config_unref(c);

    /* 0 turns each limit off. */
    c = load_text("[server]\nmax_pending_per_ip = 0\n"
                  "connection_rate_per_ip = 0\nmax_pending = 0\n",
                  err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(c->max_pending_per_ip, 0);
    CU_ASSERT_EQUAL(c->connection_rate_per_ip, 0);
    CU_ASSERT_EQUAL(c->max_pending, 0);
    sl_config_unref(c);

    expect_error("[server]\nmax_pending_per_ip = -1\n", 2,
                 "max_pending_per_ip: '-1' is not 0..1000000");
    /* An error on the old name names the key by its name now. */
    expect_error("[server]\n\nmax_connections_per_ip = x\n", 3,
                 "max_pending_per_ip: 'x' is not 0..1000000");
    expect_error("[server]\nmax_players_per_ip = 1000001\n", 2,
                 "max_players_per_ip: '1000001' is not 0..1000000");
    expect_error("[server]\n\nconnection_rate_per_ip = fast\n", 3,
                 "connection_rate_per_ip");
    expect_error("[server]\nconnection_burst_per_ip = 0\n", 2,
                 "connection_burst_per_ip: '0' is not 1..1000000");
    expect_error("[server]\nmax_pending = 1000001\n", 2, "max_pending");
    /* They belong to [server] only, the old name too. */
    expect_error("[http]\nmax_pending = 5\n", 2, "unknown key");
    expect_error("[web]\nmax_connections_per_ip = 5\n", 2, "unknown key");

    /* conf/sluice.ini ships the built-in limits, so a test server that
     * sets none runs with the shipped ones. */
    c = sl_config_load("conf/sluice.ini", err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    {
        struct sl_config *d = sl_config_defaults();

        CU_ASSERT_PTR_NOT_NULL_FATAL(d);
        CU_ASSERT_EQUAL(c->max_pending_per_ip, d->max_pending_per_ip);
        CU_ASSERT_EQUAL(c->max_players_per_ip, d->max_players_per_ip);
        CU_ASSERT_EQUAL(c->connection_rate_per_ip, d->connection_rate_per_ip);
        CU_ASSERT_EQUAL(c->connection_burst_per_ip, d->connection_burst_per_ip);
        CU_ASSERT_EQUAL(c->max_pending, d->max_pending);
        CU_ASSERT_EQUAL(c->max_connections, d->max_connections);
        sl_config_unref(d);
    }
    sl_config_unref(c);
}

/* ---- RTMPS keys ---- */

static char tls_dir[64];

/* A self-signed P-256 certificate for cn and its key, as PEM files
 * (made with the library, so the unit suite needs no openssl CLI). */
static int
write_cert(const char *cert, const char *key, const char *cn)
{
    EVP_PKEY  *k = EVP_EC_gen("P-256");
    X509      *x = X509_new();
    X509_NAME *n;
    FILE      *fc = NULL, *fk = NULL;
    int        ok = 0;

    if (k == NULL || x == NULL)
        goto out;
    n = X509_get_subject_name(x);
    ok = X509_set_version(x, 2) &&
         ASN1_INTEGER_set(X509_get_serialNumber(x), 1) &&
         X509_gmtime_adj(X509_getm_notBefore(x), 0) != NULL &&
         X509_gmtime_adj(X509_getm_notAfter(x), 3600) != NULL &&
         X509_set_pubkey(x, k) &&
         X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
                                    (const unsigned char *) cn, -1, -1, 0) &&
         X509_set_issuer_name(x, n) && X509_sign(x, k, EVP_sha256()) > 0 &&
         (fc = fopen(cert, "w")) != NULL && PEM_write_X509(fc, x) &&
         (fk = fopen(key, "w")) != NULL &&
         PEM_write_PrivateKey(fk, k, NULL, NULL, 0, NULL, NULL);
out:
    if (fc != NULL)
        fclose(fc);
    if (fk != NULL)
        fclose(fk);
    X509_free(x);
    EVP_PKEY_free(k);
    return ok ? 0 : -1;
}

static void
tls_file(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", tls_dir, name);
}

static void
test_tls_keys(void)
{
    char              err[256] = "", text[1024], a_cert[96], a_key[96];
    char              b_key[96], b_cert[96], junk[96], none[96];
    struct sl_config *c;

    snprintf(tls_dir, sizeof(tls_dir), "/tmp/sl-config-tls-XXXXXX");
    CU_ASSERT_FATAL(mkdtemp(tls_dir) != NULL);
    tls_file(a_cert, sizeof(a_cert), "a.crt");
    tls_file(a_key, sizeof(a_key), "a.key");
    tls_file(b_cert, sizeof(b_cert), "b.crt");
    tls_file(b_key, sizeof(b_key), "b.key");
    tls_file(junk, sizeof(junk), "junk.pem");
    tls_file(none, sizeof(none), "missing.pem");
    CU_ASSERT_FATAL(write_cert(a_cert, a_key, "unit-a") == 0);
    CU_ASSERT_FATAL(write_cert(b_cert, b_key, "unit-b") == 0);
    CU_ASSERT_FATAL(write_text(junk, "not a certificate\n") == 0);

    /* Off by default; on with both files, which are loaded. */
    c = load_text("[server]\n", err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(c->tls_enabled, 0);
    CU_ASSERT_PTR_NULL(c->tls);
    sl_config_unref(c);
    snprintf(text, sizeof(text),
             "[server]\ntls_listen = 127.0.0.1:19443\ntls_cert = %s\n"
             "tls_key = %s\n",
             a_cert, a_key);
    c = load_text(text, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(c->tls_enabled, 1);
    CU_ASSERT_STRING_EQUAL(c->tls_host, "127.0.0.1");
    CU_ASSERT_EQUAL(c->tls_port, 19443);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c->tls);
    CU_ASSERT_STRING_EQUAL(sl_tls_ctx_subject(c->tls), "CN=unit-a");
    sl_config_unref(c);

    /* tls_listen without the files, or with one: at its line. */
    expect_error("[server]\nlisten = 1935\ntls_listen = 1936\n", 3,
                 "tls_listen needs tls_cert and tls_key");
    snprintf(text, sizeof(text), "[server]\ntls_listen = 1936\ntls_cert = %s\n",
             a_cert);
    expect_error(text, 2, "tls_listen needs tls_cert and tls_key");
    snprintf(text, sizeof(text), "[server]\n\ntls_key = %s\n", a_key);
    expect_error(text, 3, "tls_key needs tls_cert");
    expect_error("[server]\ntls_listen = 1.2.3.4:0\n", 2, "tls_listen");
    snprintf(text, sizeof(text),
             "[server]\nlisten = 1935\ntls_listen = 1935\n"
             "tls_cert = %s\ntls_key = %s\n",
             a_cert, a_key);
    expect_error(text, 3, "the same address as listen");

    /* A file that cannot be read, or is not PEM: at the key naming it. */
    snprintf(text, sizeof(text),
             "[server]\ntls_listen = 1936\ntls_cert = %s\ntls_key = %s\n", none,
             a_key);
    expect_error(text, 3, "tls_cert: cannot read");
    snprintf(text, sizeof(text),
             "[server]\ntls_listen = 1936\ntls_key = %s\ntls_cert = %s\n",
             a_key, junk);
    expect_error(text, 4, "is not a PEM certificate");
    snprintf(text, sizeof(text),
             "[server]\ntls_listen = 1936\ntls_cert = %s\ntls_key = %s\n",
             a_cert, none);
    expect_error(text, 4, "tls_key: cannot read");
    snprintf(text, sizeof(text),
             "[server]\ntls_listen = 1936\ntls_cert = %s\ntls_key = %s\n",
             a_cert, a_cert);
    expect_error(text, 4, "is not an unencrypted PEM private key");

    /* A key of another certificate: at tls_key. */
    snprintf(text, sizeof(text),
             "[server]\ntls_listen = 1936\ntls_cert = %s\n\ntls_key = %s\n",
             a_cert, b_key);
    expect_error(text, 5, "does not match the certificate");

    /* [web] tls_listen: the same files, checked the same way. */
    snprintf(text, sizeof(text),
             "[server]\ntls_cert = %s\ntls_key = %s\n"
             "[web]\ntls_listen = 127.0.0.1:18443\n",
             a_cert, a_key);
    c = load_text(text, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(c->tls_enabled, 0);
    CU_ASSERT_EQUAL(c->web_tls_enabled, 1);
    CU_ASSERT_STRING_EQUAL(c->web_tls_host, "127.0.0.1");
    CU_ASSERT_EQUAL(c->web_tls_port, 18443);
    CU_ASSERT_PTR_NOT_NULL(c->tls);
    sl_config_unref(c);
    expect_error("[server]\nlisten = 1935\n[web]\n\ntls_listen = 8443\n", 5,
                 "tls_listen needs [server] tls_cert and tls_key");
    snprintf(text, sizeof(text),
             "[web]\ntls_listen = 8443\n[server]\n"
             "tls_cert = %s\n",
             a_cert);
    expect_error(text, 2, "tls_listen needs [server] tls_cert and tls_key");
    snprintf(text, sizeof(text),
             "[web]\ntls_listen = 8443\n[server]\ntls_cert = %s\n"
             "tls_key = %s\n",
             a_cert, none);
    expect_error(text, 5, "tls_key: cannot read");
    /* Not on another listener's address. */
    snprintf(text, sizeof(text),
             "[server]\ntls_listen = 1936\ntls_cert = %s\ntls_key = %s\n"
             "[web]\ntls_listen = 1936\n",
             a_cert, a_key);
    expect_error(text, 6,
                 "tls_listen: the same address as [server] "
                 "tls_listen");
    snprintf(text, sizeof(text),
             "[server]\ntls_cert = %s\ntls_key = %s\n"
             "[web]\nlisten = 127.0.0.1:8088\ntls_listen = 127.0.0.1:8088\n",
             a_cert, a_key);
    expect_error(text, 6, "tls_listen: the same address as listen");

    unlink(a_cert);
    unlink(a_key);
    unlink(b_cert);
    unlink(b_key);
    unlink(junk);
    rmdir(tls_dir);
}

/* ---- [web] ---- */

static void
test_web_section(void)
{
    char                         err[256] = "";
    struct sl_config            *c = load_text("[server]\n", err, sizeof(err));
    const struct sl_origin_list *o;

    /* Defaults: the public port on every IPv4 address, no HTTPS, any
     * origin. */
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(c->web_enabled, 1);
    CU_ASSERT_STRING_EQUAL(c->web_host, "0.0.0.0");
    CU_ASSERT_EQUAL(c->web_port, 8088);
    CU_ASSERT_EQUAL(c->web_tls_enabled, 0);
    CU_ASSERT_EQUAL(c->web_cors_origins.any, 1);
    CU_ASSERT_EQUAL(c->web_cors_origins.n, 0);
    CU_ASSERT_EQUAL(c->web_request_timeout_ms, 10000);
    CU_ASSERT_EQUAL(c->web_keepalive_timeout_ms, 15000);
    CU_ASSERT_EQUAL(c->web_hls_viewer_timeout_ms, 15000);
    CU_ASSERT(sl_config_origin_allowed(c, "https://any.example", 19));
    sl_config_unref(c);

    /* The same key names as [server] and [http], kept apart. */
    c = load_text("[web]\nlisten = off\n[server]\nlisten = 127.0.0.1:8088\n",
                  err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(c->web_enabled, 0);
    CU_ASSERT_EQUAL(c->listen_port, 8088);
    sl_config_unref(c);

    /* A list of origins, commas and spaces, normalised as browsers send
     * them: lower case, no default port. */
    c = load_text("[web]\nlisten = [::1]:9088\n"
                  "cors_origins = https://A.example:443, "
                  "http://b.example:8080  HTTP://c.example:80,"
                  "capacitor://localhost http://[::1]:3000\n"
                  "request_timeout = 1s\nkeepalive_timeout = 10m\n",
                  err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_STRING_EQUAL(c->web_host, "::1");
    CU_ASSERT_EQUAL(c->web_port, 9088);
    o = &c->web_cors_origins;
    CU_ASSERT_EQUAL(o->any, 0);
    CU_ASSERT_EQUAL_FATAL(o->n, 5);
    CU_ASSERT_STRING_EQUAL(o->v[0], "https://a.example");
    CU_ASSERT_STRING_EQUAL(o->v[1], "http://b.example:8080");
    CU_ASSERT_STRING_EQUAL(o->v[2], "http://c.example");
    CU_ASSERT_STRING_EQUAL(o->v[3], "capacitor://localhost");
    CU_ASSERT_STRING_EQUAL(o->v[4], "http://[::1]:3000");
    CU_ASSERT_EQUAL(c->web_request_timeout_ms, 1000);
    CU_ASSERT_EQUAL(c->web_keepalive_timeout_ms, 600000);
    CU_ASSERT(sl_config_origin_allowed(c, "https://a.example", 17));
    CU_ASSERT(sl_config_origin_allowed(c, "HTTPS://A.EXAMPLE", 17));
    CU_ASSERT(sl_config_origin_allowed(c, "http://b.example:8080", 21));
    /* Only the given bytes count. */
    CU_ASSERT(sl_config_origin_allowed(c, "http://b.example:8080/x", 21));
    CU_ASSERT(!sl_config_origin_allowed(c, "http://b.example:808", 20));
    CU_ASSERT(!sl_config_origin_allowed(c, "http://b.example", 16));
    CU_ASSERT(!sl_config_origin_allowed(c, "https://a.example.evil", 22));
    CU_ASSERT(!sl_config_origin_allowed(c, "null", 4));
    CU_ASSERT(!sl_config_origin_allowed(c, "", 0));
    sl_config_unref(c);

    /* Ranges: 1s..10m. */
    expect_error("[web]\nrequest_timeout = 999ms\n", 2,
                 "request_timeout: '999ms' is not a duration 1s..10m");
    expect_error("[web]\nrequest_timeout = 0\n", 2, "request_timeout");
    expect_error("[web]\n\nkeepalive_timeout = 11m\n", 3,
                 "keepalive_timeout: '11m' is not a duration 1s..10m");
    expect_error("[web]\nlisten = 0.0.0.0\n", 2, "listen");
    expect_error("[web]\nmax_connections = 9\n", 2, "unknown key");

    /* A bad origin, at its line, quoted. */
    expect_error("[server]\n[web]\ncors_origins = https://a.example, "
                 "https://b.example/\n",
                 3,
                 "cors_origins: 'https://b.example/' is not an origin "
                 "(scheme://host[:port])");
    expect_error("[web]\ncors_origins = a.example\n", 2, "'a.example'");
    expect_error("[web]\ncors_origins = https://\n", 2, "'https://'");
    expect_error("[web]\ncors_origins = https://u@a.example\n", 2,
                 "not an origin");
    expect_error("[web]\ncors_origins = https://a.example:0\n", 2,
                 "not an origin");
    expect_error("[web]\ncors_origins = https://a.example:65536\n", 2,
                 "not an origin");
    expect_error("[web]\ncors_origins = https://a.example:\n", 2,
                 "not an origin");
    expect_error("[web]\ncors_origins = https://a.example?x\n", 2,
                 "not an origin");
    expect_error("[web]\ncors_origins = https://[]\n", 2, "not an origin");
    expect_error("[web]\ncors_origins = 1http://a.example\n", 2,
                 "not an origin");
    expect_error("[web]\ncors_origins = https://.example\n", 2,
                 "not an origin");
    expect_error("[web]\ncors_origins = null\n", 2, "not an origin");
    /* "*" alone, and not nothing. */
    expect_error("[web]\ncors_origins = *, https://a.example\n", 2,
                 "* stands alone");
    expect_error("[web]\ncors_origins = https://a.example *\n", 2,
                 "* stands alone");
    expect_error("[web]\ncors_origins = , \n", 2, "cors_origins: empty");
    {
        char text[2048];
        int  n = snprintf(text, sizeof(text), "[web]\ncors_origins =");

        /* Longer than a line: it goes on in indented lines, and in the
         * key repeated. */
        for (int i = 0; i < SL_WEB_MAX_ORIGINS; i++)
            n += snprintf(text + n, sizeof(text) - (size_t) n,
                          " https://h%d.example%s", i,
                          i == 5    ? "\n  "
                          : i == 11 ? "\ncors_origins ="
                                    : "");
        snprintf(text + n, sizeof(text) - (size_t) n, "\n");
        c = load_text(text, err, sizeof(err));
        CU_ASSERT_PTR_NOT_NULL_FATAL(c);
        CU_ASSERT_EQUAL(c->web_cors_origins.n, SL_WEB_MAX_ORIGINS);
        CU_ASSERT_STRING_EQUAL(c->web_cors_origins.v[15],
                               "https://h15.example");
        sl_config_unref(c);
        snprintf(text + n, sizeof(text) - (size_t) n, "\n  http://x.example\n");
        expect_error(text, 5, "more than 16 origins");
    }

    /* Two listeners on one address: at the line written last. */
    expect_error("[web]\nlisten = 127.0.0.1:1935\n[server]\n"
                 "listen = 127.0.0.1:1935\n",
                 4, "listen: the same address as [web] listen");
    expect_error("[server]\nlisten = 0.0.0.0:8088\n", 2,
                 "listen: the same address as [web] listen (its default)");
    expect_error("[web]\nlisten = 127.0.0.1:8080\n", 2,
                 "listen: the same address as [http] listen (its default)");
    expect_error("[cluster]\nagent_listen = 9000\n[web]\nlisten = 9000\n", 4,
                 "listen: the same address as [cluster] agent_listen");
    /* Off is no address. */
    c = load_text("[web]\nlisten = 127.0.0.1:8080\n[http]\nlisten = off\n", err,
                  sizeof(err));
    CU_ASSERT_PTR_NOT_NULL(c);
    sl_config_unref(c);
}

/* ---- the key table ---- */

/* Durations take h too (docs/config.md and conf/sluice.ini wrote
 * record_segment = 1h long before the parser took it). */
static void
test_durations_take_hours(void)
{
    char                        err[256] = "";
    struct sl_config           *c;
    const struct sl_app_config *a;

    c = load_text("[server]\nmax_lag = 1h\n[app:a]\nrecord_segment = 1h\n"
                  "[app:b]\nrecord_segment = 90m\n[app:c]\n"
                  "record_segment = 24h\n",
                  err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(c->max_lag_ms, 3600000);
    a = sl_config_app(c, "a");
    CU_ASSERT_EQUAL(a->record_segment_ms, 3600000);
    CU_ASSERT_EQUAL(sl_config_app(c, "b")->record_segment_ms, 5400000);
    CU_ASSERT_EQUAL(sl_config_app(c, "c")->record_segment_ms, 86400000);
    sl_config_unref(c);
    expect_error("[app:a]\nrecord_segment = 25h\n", 2,
                 "record_segment: '25h' is not a duration 1s..24h");
    expect_error("[app:a]\nrecord_segment = 1.5h\n", 2, "record_segment");
    expect_error("[server]\nmax_lag = 2000000h\n", 2, "max_lag");
    expect_error("[server]\nmax_lag = h\n", 2, "max_lag");
}

/* The rows themselves: what the applier and the reload check rely on. */
static void
test_table_rows(void)
{
    static const char *const levels[] = {"error", "warn", "info", "debug"};
    char                     err[256] = "", text[64];
    struct sl_config        *c;

    CU_ASSERT(sl_config_nkeys <= SL_CONFIG_KEYS_MAX);
    for (size_t i = 0; i < sl_config_nkeys; i++) {
        const struct sl_config_key *k = &sl_config_keys[i];
        int                         number = k->type <= SL_KEY_ENUM, ok = 1;

        ok &= sl_config_key_find(k->section, k->name) == k; /* unique */
        /* An old name finds its row, and no other row has it. */
        ok &= k->alias == NULL || sl_config_key_find(k->section, k->alias) == k;
        ok &= (k->def == NULL) != (k->nodef == NULL);
        ok &= !number || (k->size == sizeof(uint32_t) && k->min <= k->max);
        ok &= k->max != SL_KEY_NO_MAX || k->type == SL_KEY_DURATION;
        ok &= k->type != SL_KEY_DURATION || k->unit > 0;
        ok &= k->type != SL_KEY_ENUM || k->choices != NULL;
        ok &= k->type != SL_KEY_SECRET || k->max < k->size;
        ok &= (k->type == SL_KEY_CUSTOM) == (k->parse != NULL);
        ok &= !(k->flags & SL_KEY_START_ONLY) ||
              (sl_config_sections[k->section].max == 0 &&
               k->type != SL_KEY_CUSTOM);
        /* check_listeners() reads addresses from sl_config itself. */
        ok &= k->type != SL_KEY_ADDR || sl_config_sections[k->section].max == 0;
        ok &= k->help != NULL && strlen(k->help) < 80;
        CU_ASSERT(ok);
        if (!ok)
            fprintf(stderr, "\n  row [%s] %s is inconsistent\n",
                    sl_config_section_name(k->section), k->name);
    }
    /* Every default parses: those of the unnamed sections ([server],
     * [http], [cluster], [web]) in sl_config_defaults(), the others as
     * their sections start. */
    c = sl_config_defaults();
    CU_ASSERT_PTR_NOT_NULL(c);
    sl_config_unref(c);
    c = load_text("[app:a]\n[rendition:r]\nheight = 2\nvideo_bitrate = 1k\n"
                  "[relay:q]\nurl = rtmp://x/y\n",
                  err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL(c);
    sl_config_unref(c);
    /* log_level's choices are enum sl_log_level in order. */
    for (int i = 0; i < 4; i++) {
        snprintf(text, sizeof(text), "[server]\nlog_level = %s\n", levels[i]);
        c = load_text(text, err, sizeof(err));
        CU_ASSERT_PTR_NOT_NULL_FATAL(c);
        CU_ASSERT_EQUAL(c->log_level, sl_log_level_parse(levels[i]));
        sl_config_unref(c);
    }
}

/* Section counts come from their macros, in the check and the message. */
static void
test_section_limits(void)
{
    char text[4096], want[64];
    int  n = 0;

    for (int i = 0; i <= SL_CONFIG_MAX_APPS; i++)
        n += snprintf(text + n, sizeof(text) - (size_t) n, "[app:a%d]\n", i);
    snprintf(want, sizeof(want), "too many [app:...] sections (limit %d)",
             SL_CONFIG_MAX_APPS);
    expect_error(text, SL_CONFIG_MAX_APPS + 1, want);
    n = 0;
    for (int i = 0; i <= SL_CONFIG_MAX_RELAYS; i++)
        n += snprintf(text + n, sizeof(text) - (size_t) n, "[relay:r%d]\n", i);
    snprintf(want, sizeof(want), "too many [relay:...] sections (limit %d)",
             SL_CONFIG_MAX_RELAYS);
    expect_error(text, SL_CONFIG_MAX_RELAYS + 1, want);
    n = snprintf(text, sizeof(text), "[app:x]\nrenditions = ");
    for (int i = 0; i <= SL_APP_MAX_RENDITIONS; i++)
        n += snprintf(text + n, sizeof(text) - (size_t) n, "r%d,", i);
    for (int i = 0; i <= SL_APP_MAX_RENDITIONS; i++)
        n += snprintf(text + n, sizeof(text) - (size_t) n,
                      "\n[rendition:r%d]\nheight = 2\nvideo_bitrate = 1k", i);
    snprintf(want, sizeof(want), "renditions: more than %d",
             SL_APP_MAX_RENDITIONS);
    expect_error(text, 2, want);
}

static void
test_start_only_changes(void)
{
    char              err[256] = "", out[128];
    struct sl_config *a, *b;

    a = load_text("[server]\nlisten = 1935\nmax_lag = 2s\n[http]\n"
                  "timeout = 5s\n[cluster]\nagent_listen = 9000\n",
                  err, sizeof(err));
    b = load_text("[server]\nlisten = 127.0.0.1:1935\nmax_lag = 3s\n"
                  "[http]\ntimeout = 6s\napi_token = abcdefgh\n"
                  "[cluster]\nagent_listen = *:9000\nmax_players = 3\n"
                  "[app:live]\n",
                  err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    /* Only the start-only keys, each once; *:9000 is 9000. */
    CU_ASSERT_EQUAL(
        sl_config_describe_start_only_changes(a, b, out, sizeof(out)), 2);
    CU_ASSERT_STRING_EQUAL(out, "[server] listen, [http] timeout");
    CU_ASSERT_EQUAL(
        sl_config_describe_start_only_changes(b, b, out, sizeof(out)), 0);
    CU_ASSERT_STRING_EQUAL(out, "");
    /* A short buffer says it was cut; the count is still whole. */
    CU_ASSERT_EQUAL(sl_config_describe_start_only_changes(a, b, out, 12), 2);
    CU_ASSERT_STRING_EQUAL(out, "[server]...");
    sl_config_unref(b);

    /* Turning a listener off, and the numbers read at start. */
    b = load_text("[server]\nlisten = 1935\nworkers = 2\nacceptors = 2\n"
                  "chunk_size = 8k\n[http]\nlisten = off\ntimeout = 5s\n"
                  "max_connections = 5\n[cluster]\nagent_listen = off\n",
                  err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_EQUAL(
        sl_config_describe_start_only_changes(a, b, out, sizeof(out)), 6);
    CU_ASSERT_STRING_EQUAL(out, "[server] workers, [server] acceptors, "
                                "[server] chunk_size, [http] listen, "
                                "[http] max_connections, [cluster] "
                                "agent_listen");
    sl_config_unref(a);
    sl_config_unref(b);

    /* [web]: its addresses wait for a restart, the rest does not. */
    a = load_text("[web]\n", err, sizeof(err));
    b = load_text("[web]\nlisten = 127.0.0.1:8088\ncors_origins = "
                  "https://a.example\nrequest_timeout = 5s\n"
                  "keepalive_timeout = 5s\n",
                  err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_EQUAL(
        sl_config_describe_start_only_changes(a, b, out, sizeof(out)), 1);
    CU_ASSERT_STRING_EQUAL(out, "[web] listen");
    sl_config_unref(b);
    b = load_text("[web]\nlisten = off\n", err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_EQUAL(
        sl_config_describe_start_only_changes(a, b, out, sizeof(out)), 1);
    CU_ASSERT_STRING_EQUAL(out, "[web] listen");
    sl_config_unref(a);
    sl_config_unref(b);
}

/* The section whose table a docs/config.md heading starts: -2 for a line
 * that is no heading, -1 for a heading without keys. */
static int
doc_heading(const char *line)
{
    static const char *const heads[SL_SECTION_COUNT] = {
        "## [server]",   "## [http]",           "## [cluster]",   "## [web]",
        "## [app:NAME]", "## [rendition:NAME]", "## [relay:NAME]"};

    if (strncmp(line, "## ", 3) != 0)
        return -2;
    for (int s = 0; s < SL_SECTION_COUNT; s++)
        if (!strncmp(line, heads[s], strlen(heads[s])))
            return s;
    return -1;
}

/* One row of a key table: "| KEY[, KEY...] | DEFAULT | meaning |". */
static void
check_doc_row(int section, char *row, int *seen)
{
    char       *keys = row + 2, *def, *bar, *save = NULL, want[64];
    const char *name = sl_config_section_name(section);

    bar = strstr(keys, " | ");
    CU_ASSERT_PTR_NOT_NULL_FATAL(bar);
    *bar = '\0';
    def = bar + 3;
    bar = strstr(def, " | ");
    CU_ASSERT_PTR_NOT_NULL_FATAL(bar);
    *bar = '\0';
    for (char *key = strtok_r(keys, ", ", &save); key != NULL;
         key = strtok_r(NULL, ", ", &save)) {
        const struct sl_config_key *k = sl_config_key_find(section, key);

        if (k == NULL) {
            CU_FAIL("docs/config.md lists a key the table lacks");
            fprintf(stderr, "\n  docs/config.md: [%s] %s: no such key\n", name,
                    key);
            continue;
        }
        seen[k - sl_config_keys]++;
        if (k->def != NULL)
            snprintf(want, sizeof(want), "`%s`", k->def);
        else
            snprintf(want, sizeof(want), "%s", k->nodef);
        CU_ASSERT_STRING_EQUAL(def, want);
        if (strcmp(def, want) != 0)
            fprintf(stderr,
                    "\n  docs/config.md: [%s] %s: default %s, the "
                    "table says %s\n",
                    name, key, def, want);
    }
}

/* docs/config.md lists exactly the table's keys, each once, with the
 * table's defaults.  Unit tests run from the repository root. */
static void
test_docs_match_table(void)
{
    FILE *f = fopen("docs/config.md", "r");
    char  line[4096];
    int   section = -1, seen[SL_CONFIG_KEYS_MAX] = {0};

    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    while (fgets(line, sizeof(line), f) != NULL) {
        int h = doc_heading(line);

        if (h != -2)
            section = h;
        else if (section >= 0 && !strncmp(line, "| ", 2) &&
                 strncmp(line, "| key |", 7) != 0 &&
                 strncmp(line, "| ---", 5) != 0)
            check_doc_row(section, line, seen);
    }
    fclose(f);
    for (size_t i = 0; i < sl_config_nkeys; i++) {
        CU_ASSERT_EQUAL(seen[i], 1);
        if (seen[i] != 1)
            fprintf(stderr, "\n  docs/config.md: [%s] %s listed %d times\n",
                    sl_config_section_name(sl_config_keys[i].section),
                    sl_config_keys[i].name, seen[i]);
    }
}

/* The section a header line names, for the sample below (-1: none). */
static int
header_section(const char *line)
{
    for (int s = 0; s < SL_SECTION_COUNT; s++) {
        size_t n = strlen(sl_config_section_name(s));

        if (line[0] == '[' &&
            !strncmp(line + 1, sl_config_section_name(s), n) &&
            (line[n + 1] == ']' || line[n + 1] == ':'))
            return s;
    }
    return -1;
}

/* conf/sluice.ini loads, and so does it with every commented example
 * ("; KEY = VALUE" for a KEY of its section) uncommented.  The files
 * its examples name are made beside the copy. */
static void
test_sample_config(void)
{
    char              err[512] = "", dir[64], ini[96], keys[96], rec[96];
    char              hls[96];
    char              line[512];
    struct sl_config *c = sl_config_load("conf/sluice.ini", err, sizeof(err));
    FILE             *in, *out;
    int               section = -1, examples = 0;

    CU_ASSERT_PTR_NOT_NULL(c);
    if (c == NULL)
        fprintf(stderr, "\n  %s\n", err);
    sl_config_unref(c);

    snprintf(dir, sizeof(dir), "/tmp/sl-config-ini-XXXXXX");
    CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
    snprintf(ini, sizeof(ini), "%s/sluice.ini", dir);
    snprintf(keys, sizeof(keys), "%s/keys.txt", dir);
    snprintf(rec, sizeof(rec), "%s/recordings", dir);
    CU_ASSERT_FATAL(write_text(keys, "k1 one\n") == 0);
    CU_ASSERT_FATAL(mkdir(rec, 0700) == 0);
    snprintf(hls, sizeof(hls), "%s/hls", dir);
    CU_ASSERT_FATAL(mkdir(hls, 0700) == 0);
    in = fopen("conf/sluice.ini", "r");
    out = fopen(ini, "w");
    CU_ASSERT_FATAL(in != NULL && out != NULL);
    while (fgets(line, sizeof(line), in) != NULL) {
        char key[64];

        if (line[0] == '[')
            section = header_section(line);
        if (section >= 0 && sscanf(line, "; %63[a-z_] =", key) == 1 &&
            strstr(line, " = ") != NULL &&
            sl_config_key_find(section, key) != NULL) {
            fputs(line + 2, out);
            examples++;
        } else {
            fputs(line, out);
        }
    }
    fclose(in);
    fclose(out);
    CU_ASSERT(examples >= 10);
    c = sl_config_load(ini, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL(c);
    if (c == NULL)
        fprintf(stderr, "\n  uncommented: %s\n", err);
    else
        CU_ASSERT_EQUAL(sl_config_app(c, "live")->record_segment_ms, 3600000);
    sl_config_unref(c);
    unlink(ini);
    unlink(keys);
    rmdir(rec);
    rmdir(hls);
    rmdir(dir);
}

void
sl_test_suite_config(void)
{
    CU_pSuite s = CU_add_suite("config", NULL, NULL);

    CU_add_test(s, "defaults and values", test_defaults_and_values);
    CU_add_test(s, "errors name file and line", test_errors_name_file_and_line);
    CU_add_test(s, "missing file", test_missing_file);
    CU_add_test(s, "[http] keys, defaults, off, errors", test_http_section);
    CU_add_test(s, "current config swaps with refs",
                test_current_swaps_with_refs);
    CU_add_test(s, "renditions and ladders", test_renditions);
    CU_add_test(s, "rendition errors", test_rendition_errors);
    CU_add_test(s, "relays and pulls", test_relays_and_pulls);
    CU_add_test(s, "abuse limits: defaults, values, errors", test_abuse_limits);
    CU_add_test(s, "tls_listen, tls_cert, tls_key: loaded, errors at lines",
                test_tls_keys);
    CU_add_test(s, "[web] keys: defaults, origins, ranges, errors at lines",
                test_web_section);
    CU_add_test(s, "durations take h", test_durations_take_hours);
    CU_add_test(s, "key table rows are consistent", test_table_rows);
    CU_add_test(s, "section limits from their macros", test_section_limits);
    CU_add_test(s, "start-only keys changed by a reload",
                test_start_only_changes);
    CU_add_test(s, "docs/config.md lists the table's keys and defaults",
                test_docs_match_table);
    CU_add_test(s, "conf/sluice.ini loads, examples uncommented too",
                test_sample_config);
}
