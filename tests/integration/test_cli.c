/*
 * The command line as a user meets it: -V prints the version, -t checks
 * a config ([web] included), and a broken config is reported as
 * FILE:LINE: with the line of the problem and exit status 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/integration/itest.h"

/* Runs sluice with one option; its exit status must be 0.  Returns what
 * it printed (the caller frees it), or NULL. */
static char *
run_option(const char *opt)
{
    char  dir[PATH_MAX], out[PATH_MAX + 8];
    char *argv[] = {(char *) sl_srv_bin(), (char *) opt, NULL};

    CU_ASSERT_FATAL(sl_tmpdir(dir) == 0);
    snprintf(out, sizeof(out), "%s/out", dir);
    CU_ASSERT(sl_proc_run(argv, out, out, IT_S(10)) == 0);
    return sl_read_file(out);
}

static void
test_version(void)
{
    char *text = run_option("-V");

    CU_ASSERT_FATAL(text != NULL);
    CU_ASSERT(strstr(text, "sluice") != NULL);
    CU_ASSERT(strstr(text, SL_VERSION) != NULL);
    free(text);
}

/* -k lists every key with its default, the ones a reload cannot apply
 * marked. */
static void
test_keys(void)
{
    char *text = run_option("-k");

    CU_ASSERT_FATAL(text != NULL);
    CU_ASSERT(strstr(text, "[server]") != NULL);
    CU_ASSERT(strstr(text, "read at start only") != NULL);
    CU_ASSERT(strstr(text, "record_segment") != NULL);
    CU_ASSERT(strstr(text, "[rendition:NAME]") != NULL);
    CU_ASSERT(strstr(text, "cors_origins") != NULL);
    free(text);
}

/* Runs sluice -t -c on text and returns its exit status; its output is
 * left in *output (caller frees). */
static int
check_config(const char *dir, const char *name, const char *text, char *ini,
             size_t icap, char **output)
{
    char  out[PATH_MAX + 64];
    char *argv[] = {(char *) sl_srv_bin(), "-t", "-c", ini, NULL};
    int   rc;

    snprintf(ini, icap, "%s/%s.ini", dir, name);
    snprintf(out, sizeof(out), "%s/%s.out", dir, name);
    if (sl_write_file(ini, text) < 0)
        return -1;
    rc = sl_proc_run(argv, out, out, IT_S(10));
    *output = sl_read_file(out);
    if (*output == NULL)
        *output = strdup("");
    return rc;
}

/* A config with the problem on line `line`: the check exits 1 and says
 * FILE:LINE: (with the right line) and mentions what. */
static void
expect_error(const char *dir, const char *name, const char *text, int line,
             const char *what)
{
    char  ini[PATH_MAX + 32], want[PATH_MAX + 64];
    char *output = NULL;
    int   rc = check_config(dir, name, text, ini, sizeof(ini), &output);

    snprintf(want, sizeof(want), "%s:%d:", ini, line);
    CU_ASSERT(rc == 1);
    CU_ASSERT(strstr(output, want) != NULL);
    CU_ASSERT(strstr(output, what) != NULL);
    if (rc != 1 || strstr(output, want) == NULL || strstr(output, what) == NULL)
        fprintf(stderr, "  %s: status %d, want \"%s ... %s\", got: %s\n", name,
                rc, want, what, output);
    free(output);
}

/* A config the check accepts: exit 0 and "FILE: ok". */
static void
expect_ok(const char *dir, const char *name, const char *text)
{
    char  ini[PATH_MAX + 32], want[PATH_MAX + 64];
    char *output = NULL;
    int   rc = check_config(dir, name, text, ini, sizeof(ini), &output);

    snprintf(want, sizeof(want), "%s: ok", ini);
    CU_ASSERT(rc == 0);
    CU_ASSERT(strstr(output, want) != NULL);
    free(output);
}

static void
test_check_config(void)
{
    char dir[PATH_MAX];

    CU_ASSERT_FATAL(sl_tmpdir(dir) == 0);

    expect_ok(dir, "good",
              "; a good config\n"
              "[server]\n"
              "listen = 127.0.0.1:1935\n"
              "max_lag = 2s\n"
              "publish_grace = 500ms\n"
              "max_message_size = 1m\n"
              "gop_cache = off\n"
              "\n"
              "[app:live]\n"
              "[app:other-app_2.x]\n");

    expect_error(dir, "unknown_key",
                 "[server]\n"
                 "listen = 127.0.0.1:1935\n"
                 "no_such_key = 1\n"
                 "[app:live]\n",
                 3, "no_such_key");
    expect_error(dir, "bad_value",
                 "; comment\n"
                 "\n"
                 "[server]\n"
                 "listen = 127.0.0.1:1935\n"
                 "max_lag = soon\n"
                 "[app:live]\n",
                 5, "max_lag");
    expect_error(dir, "unknown_section",
                 "[server]\n"
                 "listen = 127.0.0.1:1935\n"
                 "\n"
                 "[app:live]\n"
                 "\n"
                 "[nonsense]\n",
                 6, "nonsense");
    expect_error(dir, "bad_app_key",
                 "[server]\n"
                 "[app:live]\n"
                 "colour = blue\n",
                 3, "colour");

    /* The public web port's section: every key, then each kind of
     * mistake at its line. */
    expect_ok(dir, "web",
              "[server]\n"
              "listen = 127.0.0.1:1935\n"
              "[web]\n"
              "listen = 127.0.0.1:8088\n"
              "tls_listen = off\n"
              "cors_origins = https://a.example, http://b.example:8080\n"
              "request_timeout = 5s\n"
              "keepalive_timeout = 1m\n"
              "[app:live]\n");
    expect_error(dir, "web_origin",
                 "[server]\n"
                 "[web]\n"
                 "listen = 127.0.0.1:8088\n"
                 "cors_origins = https://a.example https://b.example/path\n"
                 "[app:live]\n",
                 4, "cors_origins: 'https://b.example/path' is not an origin");
    expect_error(dir, "web_tls",
                 "[web]\n"
                 "\n"
                 "tls_listen = 127.0.0.1:8443\n",
                 3, "tls_listen needs [server] tls_cert and tls_key");
    expect_error(dir, "web_timeout",
                 "[web]\n"
                 "keepalive_timeout = 0s\n",
                 2, "keepalive_timeout");
}

void
sl_itest_suite_cli(void)
{
    CU_pSuite s = sl_itest_suite("cli");

    CU_add_test(s, "sluice -V prints the version", test_version);
    CU_add_test(s, "sluice -k lists the config keys", test_keys);
    CU_add_test(s, "sluice -t: ok, and FILE:LINE: for each problem",
                test_check_config);
}
