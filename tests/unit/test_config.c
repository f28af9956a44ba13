#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/config.h"

static char path[64];

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
    CU_ASSERT_EQUAL(c->merge_write_ms, 50);        /* default */
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
test_missing_file(void)
{
    char err[256] = "";

    CU_ASSERT_PTR_NULL(sl_config_load("/nonexistent/sluice.ini", err,
                                      sizeof(err)));
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
    sl_config_set(b);  /* a survives: we still hold a reference */
    CU_ASSERT_EQUAL(got->listen_port, 1935);
    sl_config_unref(got);
    got = sl_config_get();
    CU_ASSERT_PTR_EQUAL(got, b);
    sl_config_unref(got);
    sl_config_set(NULL);
}

void
sl_test_suite_config(void)
{
    CU_pSuite s = CU_add_suite("config", NULL, NULL);

    CU_add_test(s, "defaults and values", test_defaults_and_values);
    CU_add_test(s, "errors name file and line",
                test_errors_name_file_and_line);
    CU_add_test(s, "missing file", test_missing_file);
    CU_add_test(s, "current config swaps with refs",
                test_current_swaps_with_refs);
}
