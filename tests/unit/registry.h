/*
 * The one list of unit test suites.  Each tests/unit/test_NAME.c defines
 * void sl_test_suite_NAME(void), which adds its suite to the CUnit
 * registry.  A standalone build of one suite passes
 * -DSL_TEST_SUITES='X(NAME)'.
 */
/* Laid out by hand: clang-format would stagger the list. */
/* clang-format off */
#ifndef SL_TEST_SUITES
#define SL_TEST_SUITES \
    X(buf) X(slab) X(deque) X(sched) X(loop) \
    X(handshake) X(chunk) X(amf) X(flv) X(config) X(outq) X(hub) X(transcode) X(relay) \
    X(media) X(codec) X(api) X(query) X(callback) X(access) \
    X(iplimit) X(supervisor) X(cluster) X(record) X(auth) X(rtmp_cmd) X(web) \
    X(http_conn) X(flvread) X(hls_playlist) X(hls_window) X(hls_viewers) \
    X(hls_mux) X(hlsread) X(page) X(srt_streamid) X(srt_admit) X(fiber) \
    X(ts_in) X(tsscan) X(hls_segfile)
#endif
/* clang-format on */
