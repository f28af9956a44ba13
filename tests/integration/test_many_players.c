/*
 * Fan-out: 50 players (our client, one thread each) and a reference
 * player all wait for a stream; ffmpeg publishes 5 s; every player
 * receives at least 98% of the video messages the reference receives,
 * and the reference receives every frame that was sent.
 */
#include <stdio.h>
#include <string.h>

#include "tests/integration/itest.h"

#define NPLAYERS 50

static void
test_many_players(void)
{
    struct sl_av         av = {320, 240, 30, 5, 30, 0};
    struct sl_srv        srv;
    struct sl_proc       pub;
    struct sl_rc        *rc[NPLAYERS + 1];
    struct sl_itest_pump pump[NPLAYERS + 1];
    char                 url[256], log[PATH_MAX + 32];
    unsigned long        ref, worst;
    int                  n = 0, low = 0;

    IT_START(&srv, NULL, NULL);
    sl_srv_url(&srv, "live", "x", url, sizeof(url));
    /* Player 0 is the reference.  All of them wait before the publisher
     * comes, so each should get the whole stream. */
    for (n = 0; n <= NPLAYERS; n++) {
        rc[n] = sl_rc_player(srv.port, "live", "x", -2, 0, IT_S(5));
        if (rc[n] == NULL)
            break;
        if (sl_rc_wait_status(rc[n], "NetStream.Play.Start", IT_S(5)) < 0) {
            sl_rc_close(rc[n]);
            break;
        }
    }
    CU_ASSERT(n == NPLAYERS + 1);
    for (int i = 0; i < n; i++)
        sl_itest_pump_start(&pump[i], rc[i], IT_S(40), 1);

    sl_srv_path(&srv, "publish.log", log, sizeof(log));
    CU_ASSERT(sl_ffmpeg_publish(&pub, url, &av, log) == 0);
    CU_ASSERT(sl_proc_wait(&pub, IT_S(30)) == 0);
    CU_ASSERT(sl_proc_exited_with(&pub, 0));
    sl_proc_kill(&pub);
    for (int i = 0; i < n; i++)
        sl_itest_pump_join(&pump[i]);

    ref = n > 0 ? sl_rc_stats(rc[0])->video : 0;
    worst = ref;
    for (int i = 0; i < n; i++) {
        const struct sl_rc_stats *st = sl_rc_stats(rc[i]);

        if (st->video < worst)
            worst = st->video;
        if ((double) st->video < 0.98 * (double) ref ||
            !st->video_ts_monotonic || !st->unpublish_notify) {
            fprintf(stderr,
                    "  player %d: %lu video (ref %lu), monotonic "
                    "%d, unpublish %d\n",
                    i, st->video, ref, st->video_ts_monotonic,
                    st->unpublish_notify);
            low++;
        }
        sl_rc_close(rc[i]);
    }
    fprintf(stderr,
            "  %d players: reference %lu video messages, worst "
            "%lu\n",
            n, ref, worst);
    /* Every frame plus the sequence header. */
    CU_ASSERT(sl_within_pct((long) ref, (long) av.fps * av.seconds + 1, 2));
    CU_ASSERT(low == 0);
    IT_STOP(&srv);
}

void
sl_itest_suite_many_players(void)
{
    CU_pSuite s = sl_itest_suite("many_players");

    CU_add_test(s, "50 concurrent players each get >= 98% of the video",
                test_many_players);
}
