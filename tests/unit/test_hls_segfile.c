/*
 * hls/segfile.c: parts written to a segment's memory file come back as
 * file-backed buffers whose mapped bytes and file bytes are the part's;
 * each starts on a page; the file closes when the segment and its last
 * part let go.
 */
#include <CUnit/CUnit.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "hls/segfile.h"

/* The bytes at off in fd, as sendfile would read them. */
static int
file_has(int fd, uint64_t off, const struct sl_buf *want)
{
    uint8_t got[8192];

    if (want->len > sizeof(got) ||
        pread(fd, got, want->len, (off_t) off) != (ssize_t) want->len)
        return 0;
    return memcmp(got, want->data, want->len) == 0;
}

static void
test_parts_in_file(void)
{
    long                   files = sl_hls_segfile_live();
    long                   bufs = sl_buf_live_count();
    struct sl_hls_segfile *f = sl_hls_segfile_new("test-segment");
    struct sl_buf *a = sl_buf_new(5000), *b = sl_buf_from("part two", 8);
    struct sl_buf *fa, *fb;
    uint64_t       oa = 0, ob = 0;
    int            fd;

    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    for (int i = 0; i < 5000; i++)
        a->data[i] = (uint8_t) (i * 7);
    a->len = 5000;
    CU_ASSERT_EQUAL(sl_hls_segfile_live(), files + 1);
    fa = sl_hls_segfile_add(f, a);
    fb = sl_hls_segfile_add(f, b);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fa);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fb);
    /* The same bytes, in memory and in the file, each part on a page. */
    CU_ASSERT(fa->len == 5000 && memcmp(fa->data, a->data, 5000) == 0);
    CU_ASSERT(fb->len == 8 && memcmp(fb->data, "part two", 8) == 0);
    fd = sl_buf_file(fa, 0, &oa);
    CU_ASSERT(fd >= 0);
    CU_ASSERT_EQUAL(sl_buf_file(fb, 0, &ob), fd);
    CU_ASSERT_EQUAL(oa, 0);
    CU_ASSERT(ob >= 5000 && ob % (uint64_t) sysconf(_SC_PAGESIZE) == 0);
    CU_ASSERT(file_has(fd, oa, a));
    CU_ASSERT(file_has(fd, ob, b));
    /* An empty part is not written: the caller keeps its own. */
    b->len = 0;
    CU_ASSERT_PTR_NULL(sl_hls_segfile_add(f, b));
    sl_buf_unref(a);
    sl_buf_unref(b);

    /* The segment lets go first: the parts keep the file open. */
    sl_hls_segfile_unref(f);
    CU_ASSERT_EQUAL(sl_hls_segfile_live(), files + 1);
    CU_ASSERT(fcntl(fd, F_GETFD) >= 0);
    sl_buf_unref(fa);
    CU_ASSERT_EQUAL(sl_hls_segfile_live(), files + 1);
    CU_ASSERT(file_has(fd, ob, fb));
    sl_buf_unref(fb);
    CU_ASSERT_EQUAL(sl_hls_segfile_live(), files);
    CU_ASSERT_EQUAL(sl_buf_live_count(), bufs);
}

void
sl_test_suite_hls_segfile(void)
{
    CU_pSuite s = CU_add_suite("hls_segfile", NULL, NULL);

    CU_add_test(s, "parts live in the segment's memory file",
                test_parts_in_file);
}
