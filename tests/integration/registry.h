/*
 * The one list of integration test suites.  Each
 * tests/integration/test_NAME.c defines void sl_itest_suite_NAME(void),
 * which adds its suite (through sl_itest_suite() in itest.h, so every
 * test gets the cleanup teardown) to the CUnit registry.  A build of one
 * suite passes -DSL_ITEST_SUITES='X(NAME)'.
 */
/* clang-format off */
#ifndef SL_ITEST_SUITES
#define SL_ITEST_SUITES \
    X(cli) X(publish_play) X(late_join) X(rtmpdump) X(gstreamer) \
    X(reconnect) X(many_players) X(slow_player) X(bad_input) \
    X(signals) X(play_start) X(limits) X(ladder) X(relay) X(http) \
    X(http_media) X(auth) X(flood) X(tls) X(supervisor) X(cluster) \
    X(record) X(standby) X(web) X(hls) X(player) X(srt)
#endif
/* clang-format on */
