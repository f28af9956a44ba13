/*
 * srt/admit.c: the verdict on an SRT caller's stream id, taken in the
 * handshake, and the reject code each refusal carries.
 */
#include <CUnit/CUnit.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <srt/access_control.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/config.h"
#include "server/hub.h"
#include "srt/admit.h"
#include "tests/support/conf_text.h"

static struct sl_config       *cfg;
static struct sl_hub          *hub;
static struct sl_stream       *taken, *taken2;
static struct sockaddr_storage peer;
static char                    keyfile[64];
static int                     owner;

static int
setup(void)
{
    struct sl_hub_limits lim = {.chunk_size = 4096,
                                .gop_cache = 1,
                                .gop_max_msgs = 64,
                                .gop_max_bytes = 1 << 20};
    struct sockaddr_in  *in = (struct sockaddr_in *) &peer;
    char                 text[1024], err[256];
    FILE                *f;
    int                  fd;

    snprintf(keyfile, sizeof(keyfile), "/tmp/sl-srt-keys-XXXXXX");
    fd = mkstemp(keyfile);
    if (fd < 0 || (f = fdopen(fd, "w")) == NULL)
        return -1;
    fputs("s3cretkey cam\n", f);
    fclose(f);
    snprintf(text, sizeof(text),
             "[app:live]\n"
             "[app:keys]\npublish_keys = %s\n"
             "[app:deny]\ndeny_publish = 127.0.0.0/8\n"
             "[app:cb]\non_publish = http://127.0.0.1:9/publish\n"
             "[app:backup]\nbackup_publish = on\n",
             keyfile);
    cfg = sl_test_config_text(text, err, sizeof(err));
    hub = sl_hub_new(&lim);
    if (cfg == NULL || hub == NULL)
        return -1;
    in->sin_family = AF_INET;
    in->sin_port = htons(40000);
    in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (sl_hub_publish(hub, "live", "taken", &owner, &taken) < 0 ||
        sl_hub_publish_backup(hub, "backup", "taken", &owner, 1, 0, &taken2) <
            0)
        return -1;
    return 0;
}

static int
teardown(void)
{
    sl_hub_unpublish(taken, &owner);
    sl_hub_unpublish(taken2, &owner);
    sl_hub_free(hub);
    sl_config_unref(cfg);
    unlink(keyfile);
    return 0;
}

static struct sl_srt_admission adm;

static void
admit(const char *id)
{
    sl_srt_admit(id, strlen(id), cfg, hub, &peer, time(NULL), &adm);
}

static void
test_refusals(void)
{
    admit("");
    CU_ASSERT_EQUAL(adm.reject, SRT_REJX_BAD_REQUEST);
    admit("#!::m=publish");
    CU_ASSERT_EQUAL(adm.reject, SRT_REJX_BAD_REQUEST);
    admit("#!::r=live/x,m=bidirectional");
    CU_ASSERT_EQUAL(adm.reject, SRT_REJX_BAD_MODE);
    admit("#!::r=live/x,m=publish,t=file");
    CU_ASSERT_EQUAL(adm.reject, SRT_REJX_NOTSUP_MEDIA);
    admit("#!::r=nope/x,m=publish");
    CU_ASSERT_EQUAL(adm.reject, SRT_REJX_NOTFOUND);
    CU_ASSERT_STRING_EQUAL(adm.why, "unknown app");
    /* A name someone publishes, and a play of one nobody does. */
    admit("#!::r=live/taken,m=publish");
    CU_ASSERT_EQUAL(adm.reject, SRT_REJX_CONFLICT);
    admit("#!::r=live/none,m=request");
    CU_ASSERT_EQUAL(adm.reject, SRT_REJX_NOTFOUND);
    /* The app's rules: an address, a key. */
    admit("#!::r=deny/x,m=publish");
    CU_ASSERT_EQUAL(adm.reject, SRT_REJX_FORBIDDEN);
    admit("#!::r=keys/wrongkey,m=publish");
    CU_ASSERT_EQUAL(adm.reject, SRT_REJX_FORBIDDEN);
    /* Reasons never quote the id. */
    CU_ASSERT_PTR_NULL(strstr(adm.why, "wrongkey"));
}

static void
test_allowed(void)
{
    admit("#!::r=live/new,m=publish");
    CU_ASSERT_EQUAL(adm.reject, 0);
    CU_ASSERT_EQUAL(adm.sid.mode, SL_SRT_PUBLISH);
    CU_ASSERT_STRING_EQUAL(adm.name, "new");
    CU_ASSERT_FALSE(adm.ask);
    admit("read:live/taken");
    CU_ASSERT_EQUAL(adm.reject, 0);
    CU_ASSERT_EQUAL(adm.sid.mode, SL_SRT_REQUEST);
    /* A key publishes under its public name. */
    admit("#!::r=keys/s3cretkey,m=publish");
    CU_ASSERT_EQUAL(adm.reject, 0);
    CU_ASSERT_STRING_EQUAL(adm.name, "cam");
    /* With backup_publish a second publisher may stand by. */
    admit("publish:backup/taken");
    CU_ASSERT_EQUAL(adm.reject, 0);
    /* A callback is asked after the handshake, with the name as asked. */
    admit("#!::r=cb/x?token=1,m=publish");
    CU_ASSERT_EQUAL(adm.reject, 0);
    CU_ASSERT_TRUE(adm.ask);
    CU_ASSERT_STRING_EQUAL(adm.name, "x");
    CU_ASSERT_STRING_EQUAL(adm.sid.query, "token=1");
}

void
sl_test_suite_srt_admit(void)
{
    CU_pSuite s = CU_add_suite("srt_admit", setup, teardown);

    CU_add_test(s, "refusals carry SRT's reject codes", test_refusals);
    CU_add_test(s, "allowed: names, keys, standby, callbacks", test_allowed);
}
