/*
 * AMF codec tests: round trips of every type, real client commands written
 * out byte by byte, the limits (depth, nodes, counts that lie), AMF3 after
 * the AVM+ marker, and truncation at every split point with the input
 * ending right before an unreadable page so any over-read faults.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "rtmp/amf.h"

/* A byte string literal without its terminating NUL.  Literals are split
 * after every hex escape that text follows, since "\x00a" is one byte. */
#define LIT(s) (const uint8_t *) (s), sizeof(s) - 1

/* An f64 1.0 and friends, big-endian. */
#define F64_0    "\x00\x00\x00\x00\x00\x00\x00\x00"
#define F64_1    "\x3f\xf0\x00\x00\x00\x00\x00\x00"
#define F64_5    "\x40\x14\x00\x00\x00\x00\x00\x00"
#define F64_7    "\x40\x1c\x00\x00\x00\x00\x00\x00"
#define F64_15   "\x40\x2e\x00\x00\x00\x00\x00\x00"
#define F64_25   "\x40\x39\x00\x00\x00\x00\x00\x00"
#define F64_252  "\x40\x6f\x80\x00\x00\x00\x00\x00"
#define F64_720  "\x40\x86\x80\x00\x00\x00\x00\x00"
#define F64_1280 "\x40\x94\x00\x00\x00\x00\x00\x00"
#define F64_4071 "\x40\xaf\xce\x00\x00\x00\x00\x00"

/* What ffmpeg's RTMP client sends first, as three top-level values. */
#define CONNECT_NAME "\x02\x00\x07" "connect"
#define CONNECT_TXN  "\x00" F64_1
#define CONNECT_OBJ                                                       \
    "\x03"                                                                \
    "\x00\x03" "app" "\x02\x00\x04" "live"                                \
    "\x00\x08" "flashVer" "\x02\x00\x0d" "LNX 9,0,124,2"                  \
    "\x00\x05" "tcUrl" "\x02\x00\x1a" "rtmp://localhost:1935/live"        \
    "\x00\x04" "fpad" "\x01\x00"                                          \
    "\x00\x0c" "capabilities" "\x00" F64_15                               \
    "\x00\x0b" "audioCodecs" "\x00" F64_4071                              \
    "\x00\x0b" "videoCodecs" "\x00" F64_252                               \
    "\x00\x0d" "videoFunction" "\x00" F64_1                               \
    "\x00\x0e" "objectEncoding" "\x00" F64_0                              \
    "\x00\x00\x09"
#define CONNECT CONNECT_NAME CONNECT_TXN CONNECT_OBJ

/* @setDataFrame with an ECMA array whose count hint (99) is wrong, as
 * some encoders write it. */
#define META_SET  "\x02\x00\x0d" "@setDataFrame"
#define META_NAME "\x02\x00\x0a" "onMetaData"
#define META_ARR                                                          \
    "\x08\x00\x00\x00\x63"                                                \
    "\x00\x08" "duration" "\x00" F64_0                                    \
    "\x00\x05" "width" "\x00" F64_1280                                    \
    "\x00\x06" "height" "\x00" F64_720                                    \
    "\x00\x0c" "videocodecid" "\x00" F64_7                                \
    "\x00\x09" "framerate" "\x00" F64_25                                  \
    "\x00\x07" "encoder" "\x02\x00\x0d" "Lavf58.29.100"                   \
    "\x00\x06" "stereo" "\x01\x01"                                        \
    "\x00\x00\x09"

#define PUBLISH_NAME "\x02\x00\x07" "publish"
#define PUBLISH_TXN  "\x00" F64_5
#define PUBLISH_NULL "\x05"
#define PUBLISH_KEY  "\x02\x00\x06" "stream"
#define PUBLISH_TYPE "\x02\x00\x04" "live"

/* AMF3 dynamic object {app: "live", num: -1} after AVM+. */
#define AMF3_DYN                                                          \
    "\x11\x0a\x0b\x01"                                                    \
    "\x07" "app" "\x06\x09" "live"                                        \
    "\x07" "num" "\x04\xff\xff\xff\xff"                                   \
    "\x01"

/* AMF3 object of class Foo with one sealed member x = 42. */
#define AMF3_SEALED "\x11\x0a\x13\x07" "Foo" "\x03" "x" "\x04\x2a"

/* AMF0 object whose members are AVM+ values, the last one a reference to
 * the first string. */
#define AVM_IN_OBJ                                                        \
    "\x03"                                                                \
    "\x00\x01" "a" "\x11\x06\x07" "xyz"                                   \
    "\x00\x01" "b" "\x11\x04\xff\xff\xff\xfb"                             \
    "\x00\x01" "c" "\x11\x06\x00"                                         \
    "\x00\x00\x09"

/* AMF3 array with two dense elements and one associative member. */
#define AMF3_MIXED                                                        \
    "\x11\x09\x05" "\x03" "k" "\x03" "\x01" "\x04\x01" "\x06\x03" "z"

static struct sl_amf_node nodes[512];
static uint8_t            out[1 << 18];
static uint8_t            out2[1 << 18];

static int
decode(struct sl_amf_doc *doc, const uint8_t *p, size_t len)
{
    sl_amf_doc_init(doc, nodes, sizeof(nodes) / sizeof(nodes[0]));
    return sl_amf_decode(doc, p, len);
}

/* Re-encodes every top-level value of doc into buf; the length, or 0 when
 * the writer failed. */
static size_t
reencode(const struct sl_amf_doc *doc, uint8_t *buf, size_t cap)
{
    struct sl_wr w;

    sl_wr_init(&w, buf, cap);
    for (uint32_t i = 0; i < doc->count; i++)
        sl_amf_put_node(&w, doc, sl_amf_at(doc, i));
    return w.err ? 0 : sl_wr_len(&w);
}

static double
num_prop(const struct sl_amf_doc *doc, const struct sl_amf_node *o,
         const char *key)
{
    const struct sl_amf_node *n = sl_amf_prop(doc, o, key);

    if (n == NULL || n->type != SL_AMF_NUMBER)
        return NAN;
    return n->num;
}

static void
test_roundtrip_all_types(void)
{
    static char        big[70000];
    struct sl_wr       w;
    struct sl_amf_doc  doc;
    const struct sl_amf_node *n;
    size_t             len, len2;

    memset(big, 'b', sizeof(big));
    sl_wr_init(&w, out, sizeof(out));
    sl_amf_put_number(&w, -2.5);
    sl_amf_put_bool(&w, 1);
    sl_amf_put_bool(&w, 0);
    sl_amf_put_string(&w, "hello");
    sl_amf_put_string(&w, "");
    sl_amf_put_null(&w);
    sl_amf_put_undefined(&w);
    sl_amf_put_object_start(&w);
    sl_amf_put_key(&w, "a");
    sl_amf_put_number(&w, 1);
    sl_amf_put_key(&w, "b");
    sl_amf_put_string(&w, "x");
    sl_amf_put_object_end(&w);
    sl_amf_put_ecma_start(&w, 1);
    sl_amf_put_key(&w, "k");
    sl_amf_put_bool(&w, 1);
    sl_amf_put_object_end(&w);
    sl_amf_put_strict_array_start(&w, 3);
    sl_amf_put_number(&w, 1);
    sl_amf_put_string(&w, "two");
    sl_amf_put_null(&w);
    sl_amf_put_date(&w, 1.5e12, -60);
    sl_amf_put_string_n(&w, big, sizeof(big));
    CU_ASSERT_FALSE_FATAL(w.err);
    len = sl_wr_len(&w);

    CU_ASSERT_EQUAL_FATAL(decode(&doc, out, len), 0);
    CU_ASSERT_EQUAL_FATAL(doc.count, 12);
    n = sl_amf_at(&doc, 0);
    CU_ASSERT(n->type == SL_AMF_NUMBER && n->num == -2.5);
    n = sl_amf_at(&doc, 1);
    CU_ASSERT(n->type == SL_AMF_BOOLEAN && n->boolean == 1);
    n = sl_amf_at(&doc, 2);
    CU_ASSERT(n->type == SL_AMF_BOOLEAN && n->boolean == 0);
    CU_ASSERT(sl_amf_str_eq(sl_amf_at(&doc, 3), "hello"));
    CU_ASSERT(sl_amf_str_eq(sl_amf_at(&doc, 4), ""));
    CU_ASSERT_EQUAL(sl_amf_at(&doc, 5)->type, SL_AMF_NULL);
    CU_ASSERT_EQUAL(sl_amf_at(&doc, 6)->type, SL_AMF_UNDEFINED);
    n = sl_amf_at(&doc, 7);
    CU_ASSERT_EQUAL(n->type, SL_AMF_OBJECT);
    CU_ASSERT_EQUAL(n->count, 2);
    CU_ASSERT_EQUAL(num_prop(&doc, n, "a"), 1);
    CU_ASSERT(sl_amf_str_eq(sl_amf_prop(&doc, n, "b"), "x"));
    CU_ASSERT_PTR_NULL(sl_amf_prop(&doc, n, "c"));
    CU_ASSERT_PTR_EQUAL(sl_amf_child(&doc, n, 1), sl_amf_prop(&doc, n, "b"));
    CU_ASSERT_PTR_NULL(sl_amf_child(&doc, n, 2));
    n = sl_amf_at(&doc, 8);
    CU_ASSERT_EQUAL(n->type, SL_AMF_ECMA_ARRAY);
    CU_ASSERT(sl_amf_prop(&doc, n, "k")->boolean == 1);
    n = sl_amf_at(&doc, 9);
    CU_ASSERT_EQUAL(n->type, SL_AMF_STRICT_ARRAY);
    CU_ASSERT_EQUAL(n->count, 3);
    CU_ASSERT(sl_amf_str_eq(sl_amf_child(&doc, n, 1), "two"));
    CU_ASSERT_EQUAL(sl_amf_child(&doc, n, 2)->type, SL_AMF_NULL);
    CU_ASSERT_PTR_NULL(sl_amf_child(&doc, n, 3));
    CU_ASSERT_PTR_NULL(sl_amf_prop(&doc, n, "0"));
    n = sl_amf_at(&doc, 10);
    CU_ASSERT(n->type == SL_AMF_DATE && n->num == 1.5e12 && n->tz == -60);
    n = sl_amf_at(&doc, 11);
    CU_ASSERT(n->type == SL_AMF_STRING && n->str_len == sizeof(big));
    CU_ASSERT_PTR_NULL(sl_amf_at(&doc, 12));

    /* put_node writes back exactly what the encoders wrote. */
    len2 = reencode(&doc, out2, sizeof(out2));
    CU_ASSERT_EQUAL(len2, len);
    CU_ASSERT(memcmp(out, out2, len) == 0);
}

static void
test_connect_command(void)
{
    static const uint8_t      msg[] = CONNECT;
    struct sl_amf_doc         doc;
    const struct sl_amf_node *o;
    char                      app[16];
    size_t                    len;

    CU_ASSERT_EQUAL_FATAL(decode(&doc, msg, sizeof(msg) - 1), 0);
    CU_ASSERT_EQUAL_FATAL(doc.count, 3);
    CU_ASSERT(sl_amf_str_eq(sl_amf_at(&doc, 0), "connect"));
    CU_ASSERT_FALSE(sl_amf_str_eq(sl_amf_at(&doc, 0), "connec"));
    CU_ASSERT_FALSE(sl_amf_str_eq(sl_amf_at(&doc, 1), "connect"));
    CU_ASSERT_EQUAL(sl_amf_at(&doc, 1)->num, 1);
    o = sl_amf_at(&doc, 2);
    CU_ASSERT_EQUAL_FATAL(o->type, SL_AMF_OBJECT);
    CU_ASSERT_EQUAL(o->count, 9);
    CU_ASSERT_EQUAL(sl_amf_str_copy(sl_amf_prop(&doc, o, "app"), app,
                                    sizeof(app)), 4);
    CU_ASSERT_STRING_EQUAL(app, "live");
    CU_ASSERT(sl_amf_str_eq(sl_amf_prop(&doc, o, "flashVer"),
                            "LNX 9,0,124,2"));
    CU_ASSERT(sl_amf_str_eq(sl_amf_prop(&doc, o, "tcUrl"),
                            "rtmp://localhost:1935/live"));
    CU_ASSERT_EQUAL(sl_amf_prop(&doc, o, "fpad")->type, SL_AMF_BOOLEAN);
    CU_ASSERT_EQUAL(sl_amf_prop(&doc, o, "fpad")->boolean, 0);
    CU_ASSERT_EQUAL(num_prop(&doc, o, "capabilities"), 15);
    CU_ASSERT_EQUAL(num_prop(&doc, o, "audioCodecs"), 4071);
    CU_ASSERT_EQUAL(num_prop(&doc, o, "videoCodecs"), 252);
    CU_ASSERT_EQUAL(num_prop(&doc, o, "videoFunction"), 1);
    CU_ASSERT_EQUAL(num_prop(&doc, o, "objectEncoding"), 0);
    /* Keys are matched whole, not by prefix. */
    CU_ASSERT_PTR_NULL(sl_amf_prop(&doc, o, "ap"));
    CU_ASSERT_PTR_NULL(sl_amf_prop(&doc, o, "appx"));
    CU_ASSERT_PTR_NULL(sl_amf_prop(&doc, sl_amf_at(&doc, 0), "app"));
    CU_ASSERT_PTR_NULL(sl_amf_prop(&doc, NULL, "app"));
    /* Strings point into the message. */
    CU_ASSERT(sl_amf_at(&doc, 0)->str == msg + 3);

    len = reencode(&doc, out, sizeof(out));
    CU_ASSERT_EQUAL(len, sizeof(msg) - 1);
    CU_ASSERT(memcmp(out, msg, len) == 0);
}

static void
test_metadata_ecma(void)
{
    static const uint8_t      msg[] = META_SET META_NAME META_ARR;
    struct sl_amf_doc         doc;
    const struct sl_amf_node *a;
    struct sl_wr              w;

    CU_ASSERT_EQUAL_FATAL(decode(&doc, msg, sizeof(msg) - 1), 0);
    CU_ASSERT_EQUAL_FATAL(doc.count, 3);
    CU_ASSERT(sl_amf_str_eq(sl_amf_at(&doc, 0), "@setDataFrame"));
    CU_ASSERT(sl_amf_str_eq(sl_amf_at(&doc, 1), "onMetaData"));
    a = sl_amf_at(&doc, 2);
    CU_ASSERT_EQUAL_FATAL(a->type, SL_AMF_ECMA_ARRAY);
    CU_ASSERT_EQUAL(a->count, 7);
    CU_ASSERT_EQUAL(num_prop(&doc, a, "width"), 1280);
    CU_ASSERT_EQUAL(num_prop(&doc, a, "height"), 720);
    CU_ASSERT_EQUAL(num_prop(&doc, a, "videocodecid"), 7);
    CU_ASSERT_EQUAL(num_prop(&doc, a, "framerate"), 25);
    CU_ASSERT(sl_amf_str_eq(sl_amf_prop(&doc, a, "encoder"),
                            "Lavf58.29.100"));
    CU_ASSERT_EQUAL(sl_amf_prop(&doc, a, "stereo")->boolean, 1);

    /* What the server stores: onMetaData and the array, without
     * @setDataFrame, with the count now right. */
    sl_wr_init(&w, out, sizeof(out));
    sl_amf_put_node(&w, &doc, sl_amf_at(&doc, 1));
    sl_amf_put_node(&w, &doc, a);
    CU_ASSERT_FALSE_FATAL(w.err);
    CU_ASSERT_EQUAL(sl_wr_len(&w), sizeof(msg) - 1 - 16);
    CU_ASSERT(out[13] == 0x08 && out[17] == 7);
    CU_ASSERT_EQUAL_FATAL(decode(&doc, out, sl_wr_len(&w)), 0);
    CU_ASSERT_EQUAL(doc.count, 2);
    CU_ASSERT_EQUAL(num_prop(&doc, sl_amf_at(&doc, 1), "width"), 1280);
}

static void
test_publish(void)
{
    static const uint8_t msg[] = PUBLISH_NAME PUBLISH_TXN PUBLISH_NULL
        PUBLISH_KEY PUBLISH_TYPE;
    struct sl_amf_doc doc;

    CU_ASSERT_EQUAL_FATAL(decode(&doc, msg, sizeof(msg) - 1), 0);
    CU_ASSERT_EQUAL(doc.count, 5);
    CU_ASSERT_EQUAL(sl_amf_at(&doc, 2)->type, SL_AMF_NULL);
    CU_ASSERT(sl_amf_str_eq(sl_amf_at(&doc, 3), "stream"));
    CU_ASSERT(sl_amf_str_eq(sl_amf_at(&doc, 4), "live"));
}

/* n containers nested, each holding the next under key "a" (objects) or
 * as its one element (strict arrays); the innermost holds a number. */
static size_t
nest(uint8_t *buf, size_t cap, int n, int arrays)
{
    struct sl_wr w;

    sl_wr_init(&w, buf, cap);
    for (int i = 0; i < n; i++) {
        if (arrays) {
            sl_amf_put_strict_array_start(&w, 1);
        } else {
            sl_amf_put_object_start(&w);
            sl_amf_put_key(&w, "a");
        }
    }
    sl_amf_put_number(&w, 7);
    for (int i = 0; i < n && !arrays; i++)
        sl_amf_put_object_end(&w);
    return w.err ? 0 : sl_wr_len(&w);
}

static void
test_depth_limit(void)
{
    struct sl_amf_doc         doc;
    const struct sl_amf_node *n;
    uint8_t                   buf[256];
    size_t                    len;

    for (int arrays = 0; arrays < 2; arrays++) {
        len = nest(buf, sizeof(buf), SL_AMF_MAX_DEPTH, arrays);
        CU_ASSERT_FATAL(len > 0);
        CU_ASSERT_EQUAL_FATAL(decode(&doc, buf, len), 0);
        n = sl_amf_at(&doc, 0);
        for (int i = 0; i < SL_AMF_MAX_DEPTH; i++)
            n = sl_amf_child(&doc, n, 0);
        CU_ASSERT(n != NULL && n->type == SL_AMF_NUMBER && n->num == 7);
        /* The decoded tree can be written back. */
        CU_ASSERT_EQUAL(reencode(&doc, out, sizeof(out)), len);

        len = nest(buf, sizeof(buf), SL_AMF_MAX_DEPTH + 1, arrays);
        CU_ASSERT_EQUAL(decode(&doc, buf, len), -EPROTO);
    }

    /* AMF3 arrays count too: "\x09\x03\x01" is an array of one dense
     * element with no associative part. */
    for (int extra = 0; extra < 2; extra++) {
        int d = SL_AMF_MAX_DEPTH + extra;

        len = 0;
        buf[len++] = 0x11;
        for (int i = 0; i < d; i++) {
            buf[len++] = 0x09;
            buf[len++] = 0x03;
            buf[len++] = 0x01;
        }
        buf[len++] = 0x01;
        CU_ASSERT_EQUAL(decode(&doc, buf, len), extra ? -EPROTO : 0);
    }

    /* AVM+ inside AMF0 objects does not reset the depth: n objects
     * around an AMF3 array [null] nest n + 1 containers. */
    for (int extra = 0; extra < 2; extra++) {
        int d = SL_AMF_MAX_DEPTH - 1 + extra;

        len = 0;
        for (int i = 0; i < d; i++) {
            memcpy(buf + len, "\x03\x00\x01" "a", 4);
            len += 4;
        }
        memcpy(buf + len, "\x11\x09\x03\x01\x01", 5);
        len += 5;
        for (int i = 0; i < d; i++) {
            memcpy(buf + len, "\x00\x00\x09", 3);
            len += 3;
        }
        CU_ASSERT_EQUAL(decode(&doc, buf, len), extra ? -EPROTO : 0);
    }
}

/* A valid encoding as a list of top-level values: every prefix that ends
 * between values decodes, every other one is -EPROTO. */
struct split_case {
    const char *name;
    struct {
        const uint8_t *p;
        size_t         len;
    } v[6];
};

#define V(s) {(const uint8_t *) (s), sizeof(s) - 1}

static const struct split_case split_cases[] = {
    {"connect", {V(CONNECT_NAME), V(CONNECT_TXN), V(CONNECT_OBJ)}},
    {"metadata", {V(META_SET), V(META_NAME), V(META_ARR)}},
    {"publish", {V(PUBLISH_NAME), V(PUBLISH_TXN), V(PUBLISH_NULL),
                 V(PUBLISH_KEY), V(PUBLISH_TYPE)}},
    {"scalars", {V("\x01\x01"), V("\x0b" F64_1 "\xff\xc4"),
                 V("\x0c\x00\x00\x00\x05" "hello"),
                 V("\x0f\x00\x00\x00\x03" "<a>"), V("\x07\x00\x01"),
                 V("\x06")}},
    {"arrays", {V("\x0a\x00\x00\x00\x03" "\x00" F64_1 "\x05"
                  "\x02\x00\x01" "z"),
                V("\x10\x00\x03" "Foo" "\x00\x01" "x" "\x05"
                  "\x00\x00\x09"),
                V("\x08\x00\x00\x00\x00" "\x00\x00\x09")}},
    {"amf3", {V(AMF3_DYN), V(AMF3_SEALED), V(AVM_IN_OBJ), V(AMF3_MIXED),
              V("\x11\x05" F64_1), V("\x11\x04\x81\x80\x00")}},
};

static void
test_truncation_every_split(void)
{
    long     page = sysconf(_SC_PAGESIZE);
    size_t   span = (size_t) page * 2;
    uint8_t *map = mmap(NULL, span * 2, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uint8_t *guard;

    CU_ASSERT_FATAL(map != MAP_FAILED);
    guard = map + span;
    CU_ASSERT_FATAL(mprotect(guard, span, PROT_NONE) == 0);

    for (size_t c = 0; c < sizeof(split_cases) / sizeof(split_cases[0]);
         c++) {
        const struct split_case *sc = &split_cases[c];
        uint8_t                  full[1024];
        size_t                   ends[6], nv = 0, total = 0;

        for (; nv < 6 && sc->v[nv].p != NULL; nv++) {
            CU_ASSERT_FATAL(total + sc->v[nv].len <= sizeof(full));
            memcpy(full + total, sc->v[nv].p, sc->v[nv].len);
            total += sc->v[nv].len;
            ends[nv] = total;
        }
        CU_ASSERT_FATAL(total <= span);
        for (size_t cut = 0; cut <= total; cut++) {
            struct sl_amf_doc doc;
            uint8_t          *p = guard - cut;
            size_t            done = 0;
            int               want = cut == 0 ? 0 : -EPROTO;
            int               rc;

            for (size_t i = 0; i < nv; i++) {
                if (ends[i] <= cut)
                    done = i + 1;
                if (ends[i] == cut)
                    want = 0;
            }
            memcpy(p, full, cut);
            rc = decode(&doc, p, cut);
            if (rc != want) {
                fprintf(stderr, "%s: cut %zu: %d, want %d\n", sc->name,
                        cut, rc, want);
            }
            CU_ASSERT_EQUAL(rc, want);
            if (rc == 0) {
                CU_ASSERT_EQUAL(doc.count, done);
            } else {
                CU_ASSERT_PTR_NULL(sl_amf_at(&doc, 0));
            }
        }
    }
    munmap(map, span * 2);
}

static void
test_counts_that_lie(void)
{
    struct sl_amf_node small[4];
    struct sl_amf_doc  doc;

    /* A strict array claiming 4 billion elements: rejected before any
     * node is taken for them. */
    sl_amf_doc_init(&doc, small, 4);
    CU_ASSERT_EQUAL(sl_amf_decode(&doc, LIT("\x0a\xff\xff\xff\xff\x05")),
                    -EPROTO);
    CU_ASSERT(doc.used <= 1);
    /* Three claimed, two bytes left. */
    CU_ASSERT_EQUAL(decode(&doc, LIT("\x0a\x00\x00\x00\x03\x05\x05")),
                    -EPROTO);
    CU_ASSERT_EQUAL(decode(&doc, LIT("\x0a\x00\x00\x00\x02\x05\x05")), 0);
    /* More elements than nodes left. */
    sl_amf_doc_init(&doc, small, 4);
    CU_ASSERT_EQUAL(sl_amf_decode(&doc,
                                  LIT("\x0a\x00\x00\x00\x04\x05\x05\x05\x05")),
                    -EPROTO);
    CU_ASSERT(doc.used <= 1);
    /* AMF3 dense count and sealed count likewise. */
    sl_amf_doc_init(&doc, small, 4);
    CU_ASSERT_EQUAL(sl_amf_decode(&doc, LIT("\x11\x09\xff\xff\xff\xff\x01")),
                    -EPROTO);
    CU_ASSERT(doc.used <= 1);
    sl_amf_doc_init(&doc, small, 4);
    CU_ASSERT_EQUAL(sl_amf_decode(&doc,
                                  LIT("\x11\x0a\xff\xff\xff\xf3\x01\x01")),
                    -EPROTO);
    CU_ASSERT(doc.used <= 1);
    /* An ECMA count hint is ignored, large or small. */
    CU_ASSERT_EQUAL(decode(&doc, LIT("\x08\xff\xff\xff\xff" "\x00\x01" "a"
                                     "\x05" "\x00\x00\x09")), 0);
    CU_ASSERT_EQUAL(sl_amf_at(&doc, 0)->count, 1);
    CU_ASSERT_EQUAL(decode(&doc, LIT("\x08\x00\x00\x00\x00" "\x00\x01" "a"
                                     "\x05" "\x00\x01" "b" "\x05"
                                     "\x00\x00\x09")), 0);
    CU_ASSERT_EQUAL(sl_amf_at(&doc, 0)->count, 2);
    /* Lengths beyond the input. */
    CU_ASSERT_EQUAL(decode(&doc, LIT("\x0c\x00\x00\x00\x64" "abcde")),
                    -EPROTO);
    CU_ASSERT_EQUAL(decode(&doc, LIT("\x0c\xff\xff\xff\xff" "abcde")),
                    -EPROTO);
    CU_ASSERT_EQUAL(decode(&doc, LIT("\x02\x00\x06" "abcde")), -EPROTO);
    CU_ASSERT_EQUAL(decode(&doc, LIT("\x11\x06\x0d" "abcde")), -EPROTO);
}

static void
test_node_exhaustion(void)
{
    static const uint8_t obj[] = "\x03" "\x00\x01" "a" "\x05"
        "\x00\x01" "b" "\x05" "\x00\x01" "c" "\x05" "\x00\x00\x09";
    static const uint8_t nulls[] = "\x05\x05\x05\x05\x05\x05\x05\x05";
    struct sl_amf_node   small[8];
    struct sl_amf_doc    doc;

    sl_amf_doc_init(&doc, small, 3);
    CU_ASSERT_EQUAL(sl_amf_decode(&doc, obj, sizeof(obj) - 1), -EPROTO);
    sl_amf_doc_init(&doc, small, 4);
    CU_ASSERT_EQUAL(sl_amf_decode(&doc, obj, sizeof(obj) - 1), 0);
    CU_ASSERT_EQUAL(doc.used, 4);

    sl_amf_doc_init(&doc, small, 7);
    CU_ASSERT_EQUAL(sl_amf_decode(&doc, nulls, 8), -EPROTO);
    CU_ASSERT_PTR_NULL(sl_amf_at(&doc, 0));
    sl_amf_doc_init(&doc, small, 8);
    CU_ASSERT_EQUAL(sl_amf_decode(&doc, nulls, 8), 0);
    CU_ASSERT_EQUAL(doc.count, 8);
    sl_amf_doc_init(&doc, small, 0);
    CU_ASSERT_EQUAL(sl_amf_decode(&doc, nulls, 1), -EPROTO);
    CU_ASSERT_EQUAL(sl_amf_decode(&doc, nulls, 0), 0);
    CU_ASSERT_EQUAL(doc.count, 0);
}

/* AMF3 U29 as the spec writes it. */
static size_t
put_u29(uint8_t *b, uint32_t v)
{
    if (v < 0x80) {
        b[0] = (uint8_t) v;
        return 1;
    }
    if (v < 0x4000) {
        b[0] = (uint8_t) (0x80 | (v >> 7));
        b[1] = (uint8_t) (v & 0x7f);
        return 2;
    }
    if (v < 0x200000) {
        b[0] = (uint8_t) (0x80 | (v >> 14));
        b[1] = (uint8_t) (0x80 | ((v >> 7) & 0x7f));
        b[2] = (uint8_t) (v & 0x7f);
        return 3;
    }
    b[0] = (uint8_t) (0x80 | (v >> 22));
    b[1] = (uint8_t) (0x80 | ((v >> 15) & 0x7f));
    b[2] = (uint8_t) (0x80 | ((v >> 8) & 0x7f));
    b[3] = (uint8_t) v;
    return 4;
}

static void
test_amf3_integers(void)
{
    static const int32_t vals[] = {0, 1, 127, 128, 16383, 16384, 2097151,
                                   2097152, 268435455, -1, -2, -128,
                                   -268435456};
    struct sl_amf_doc    doc;
    uint8_t              buf[8];

    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        size_t len = 2;

        buf[0] = 0x11;
        buf[1] = 0x04;
        len += put_u29(buf + 2, (uint32_t) vals[i] & 0x1fffffff);
        CU_ASSERT_EQUAL_FATAL(decode(&doc, buf, len), 0);
        CU_ASSERT_EQUAL(sl_amf_at(&doc, 0)->type, SL_AMF_NUMBER);
        CU_ASSERT_EQUAL(sl_amf_at(&doc, 0)->num, (double) vals[i]);
    }
    /* Hand-written: 2^28 - 1, -1, -2^28, 16384. */
    CU_ASSERT_EQUAL(decode(&doc, LIT("\x11\x04\xbf\xff\xff\xff")), 0);
    CU_ASSERT_EQUAL(sl_amf_at(&doc, 0)->num, 268435455);
    CU_ASSERT_EQUAL(decode(&doc, LIT("\x11\x04\xff\xff\xff\xff")), 0);
    CU_ASSERT_EQUAL(sl_amf_at(&doc, 0)->num, -1);
    CU_ASSERT_EQUAL(decode(&doc, LIT("\x11\x04\xc0\x80\x80\x00")), 0);
    CU_ASSERT_EQUAL(sl_amf_at(&doc, 0)->num, -268435456);
    CU_ASSERT_EQUAL(decode(&doc, LIT("\x11\x04\x81\x80\x00")), 0);
    CU_ASSERT_EQUAL(sl_amf_at(&doc, 0)->num, 16384);
    /* Other AMF3 scalars. */
    CU_ASSERT_EQUAL(decode(&doc, LIT("\x11\x00\x11\x01\x11\x02\x11\x03"
                                     "\x11\x05" F64_15)), 0);
    CU_ASSERT_EQUAL(doc.count, 5);
    CU_ASSERT_EQUAL(sl_amf_at(&doc, 0)->type, SL_AMF_UNDEFINED);
    CU_ASSERT_EQUAL(sl_amf_at(&doc, 1)->type, SL_AMF_NULL);
    CU_ASSERT(sl_amf_at(&doc, 2)->type == SL_AMF_BOOLEAN &&
              sl_amf_at(&doc, 2)->boolean == 0);
    CU_ASSERT(sl_amf_at(&doc, 3)->boolean == 1);
    CU_ASSERT_EQUAL(sl_amf_at(&doc, 4)->num, 15);
    /* Unsupported AMF3 types. */
    CU_ASSERT_EQUAL(decode(&doc, LIT("\x11\x0c\x01")), -EPROTO);
    CU_ASSERT_EQUAL(decode(&doc, LIT("\x11\x0d\x01\x00")), -EPROTO);
    CU_ASSERT_EQUAL(decode(&doc, LIT("\x11\x11\x01\x00")), -EPROTO);
    CU_ASSERT_EQUAL(decode(&doc, LIT("\x11\x08\x00")), -EPROTO);
    CU_ASSERT_EQUAL(decode(&doc, LIT("\x11\x08\x01" F64_1)), 0);
    CU_ASSERT_EQUAL(sl_amf_at(&doc, 0)->type, SL_AMF_DATE);
}

static void
test_amf3_string_refs(void)
{
    static const uint8_t msg[] =
        "\x11\x06\x0b" "hello"      /* defines ref 0 */
        "\x11\x06\x00"              /* ref 0 */
        "\x11\x06\x01"              /* empty: not a ref */
        "\x11\x06\x07" "abc"        /* defines ref 1 */
        "\x11\x06\x02";             /* ref 1 */
    struct sl_amf_doc doc;

    CU_ASSERT_EQUAL_FATAL(decode(&doc, msg, sizeof(msg) - 1), 0);
    CU_ASSERT_EQUAL_FATAL(doc.count, 5);
    CU_ASSERT(sl_amf_str_eq(sl_amf_at(&doc, 0), "hello"));
    CU_ASSERT(sl_amf_str_eq(sl_amf_at(&doc, 1), "hello"));
    CU_ASSERT(sl_amf_at(&doc, 1)->str == msg + 3);
    CU_ASSERT(sl_amf_str_eq(sl_amf_at(&doc, 2), ""));
    CU_ASSERT(sl_amf_str_eq(sl_amf_at(&doc, 3), "abc"));
    CU_ASSERT(sl_amf_str_eq(sl_amf_at(&doc, 4), "abc"));
    /* Out of range, and a reference before any string. */
    CU_ASSERT_EQUAL(decode(&doc, LIT("\x11\x06\x07" "abc" "\x11\x06\x02")),
                    -EPROTO);
    CU_ASSERT_EQUAL(decode(&doc, LIT("\x11\x06\x00")), -EPROTO);
    /* The table remembers 64 strings; a reference past them is refused
     * rather than resolved wrongly. */
    {
        uint8_t buf[64 * 5 + 16];
        size_t  len = 0;

        for (int i = 0; i < 65; i++) {
            buf[len++] = 0x11;
            buf[len++] = 0x06;
            buf[len++] = 0x05;          /* inline, 2 bytes */
            buf[len++] = (uint8_t) ('A' + i / 26);
            buf[len++] = (uint8_t) ('a' + i % 26);
        }
        memcpy(buf + len, "\x11\x06\x7e", 3);  /* ref 63 */
        CU_ASSERT_EQUAL_FATAL(decode(&doc, buf, len + 3), 0);
        CU_ASSERT(sl_amf_str_eq(sl_amf_at(&doc, 65), "Cl"));
        memcpy(buf + len, "\x11\x06\x81\x00", 4);  /* ref 64 */
        CU_ASSERT_EQUAL(decode(&doc, buf, len + 4), -EPROTO);
    }
    /* Object keys and class names enter the same table. */
    CU_ASSERT_EQUAL(decode(&doc, LIT(AMF3_SEALED "\x11\x06\x00"
                                     "\x11\x06\x02")), 0);
    CU_ASSERT(sl_amf_str_eq(sl_amf_at(&doc, 1), "Foo"));
    CU_ASSERT(sl_amf_str_eq(sl_amf_at(&doc, 2), "x"));
}

static void
test_amf3_objects(void)
{
    struct sl_amf_doc         doc;
    const struct sl_amf_node *o, *a;
    size_t                    len;

    CU_ASSERT_EQUAL_FATAL(decode(&doc, LIT(AMF3_DYN)), 0);
    o = sl_amf_at(&doc, 0);
    CU_ASSERT_EQUAL(o->type, SL_AMF_OBJECT);
    CU_ASSERT_EQUAL(o->count, 2);
    CU_ASSERT(sl_amf_str_eq(sl_amf_prop(&doc, o, "app"), "live"));
    CU_ASSERT_EQUAL(num_prop(&doc, o, "num"), -1);

    CU_ASSERT_EQUAL_FATAL(decode(&doc, LIT(AMF3_SEALED)), 0);
    o = sl_amf_at(&doc, 0);
    CU_ASSERT_EQUAL(o->type, SL_AMF_OBJECT);
    CU_ASSERT_EQUAL(num_prop(&doc, o, "x"), 42);

    /* Sealed and dynamic members together, sealed values after names. */
    CU_ASSERT_EQUAL_FATAL(decode(&doc, LIT("\x11\x0a\x2b\x01" "\x03" "p"
                                           "\x03" "q" "\x03" "\x04\x05"
                                           "\x03" "r" "\x01" "\x01")), 0);
    o = sl_amf_at(&doc, 0);
    CU_ASSERT_EQUAL(o->count, 3);
    CU_ASSERT(sl_amf_prop(&doc, o, "p")->boolean == 1);
    CU_ASSERT_EQUAL(num_prop(&doc, o, "q"), 5);
    CU_ASSERT_EQUAL(sl_amf_prop(&doc, o, "r")->type, SL_AMF_NULL);

    /* Object reference, traits reference, externalizable. */
    CU_ASSERT_EQUAL(decode(&doc, LIT("\x11\x0a\x00")), -EPROTO);
    CU_ASSERT_EQUAL(decode(&doc, LIT("\x11\x0a\x01")), -EPROTO);
    CU_ASSERT_EQUAL(decode(&doc, LIT("\x11\x0a\x07\x01")), -EPROTO);
    CU_ASSERT_EQUAL(decode(&doc, LIT("\x11\x09\x00")), -EPROTO);

    /* A mixed array becomes an ECMA array; dense elements are written back
     * under their index. */
    CU_ASSERT_EQUAL_FATAL(decode(&doc, LIT(AMF3_MIXED)), 0);
    a = sl_amf_at(&doc, 0);
    CU_ASSERT_EQUAL(a->type, SL_AMF_ECMA_ARRAY);
    CU_ASSERT_EQUAL(a->count, 3);
    CU_ASSERT(sl_amf_prop(&doc, a, "k")->boolean == 1);
    CU_ASSERT_EQUAL(sl_amf_child(&doc, a, 1)->num, 1);
    CU_ASSERT(sl_amf_str_eq(sl_amf_child(&doc, a, 2), "z"));
    len = reencode(&doc, out, sizeof(out));
    CU_ASSERT_FATAL(len > 0);
    CU_ASSERT_EQUAL_FATAL(decode(&doc, out, len), 0);
    a = sl_amf_at(&doc, 0);
    CU_ASSERT_EQUAL(num_prop(&doc, a, "0"), 1);
    CU_ASSERT(sl_amf_str_eq(sl_amf_prop(&doc, a, "1"), "z"));

    /* A dense-only array is a strict array. */
    CU_ASSERT_EQUAL_FATAL(decode(&doc, LIT("\x11\x09\x05\x01\x03\x02")), 0);
    a = sl_amf_at(&doc, 0);
    CU_ASSERT_EQUAL(a->type, SL_AMF_STRICT_ARRAY);
    CU_ASSERT_EQUAL(a->count, 2);
}

static void
test_avmplus_in_object(void)
{
    struct sl_amf_doc         doc;
    const struct sl_amf_node *o;
    size_t                    len;

    CU_ASSERT_EQUAL_FATAL(decode(&doc, LIT(AVM_IN_OBJ)), 0);
    o = sl_amf_at(&doc, 0);
    CU_ASSERT_EQUAL(o->type, SL_AMF_OBJECT);
    CU_ASSERT_EQUAL(o->count, 3);
    CU_ASSERT(sl_amf_str_eq(sl_amf_prop(&doc, o, "a"), "xyz"));
    CU_ASSERT_EQUAL(num_prop(&doc, o, "b"), -5);
    CU_ASSERT(sl_amf_str_eq(sl_amf_prop(&doc, o, "c"), "xyz"));
    /* Written back as plain AMF0. */
    len = reencode(&doc, out, sizeof(out));
    CU_ASSERT_FATAL(len > 0);
    CU_ASSERT_EQUAL_FATAL(decode(&doc, out, len), 0);
    o = sl_amf_at(&doc, 0);
    CU_ASSERT(sl_amf_str_eq(sl_amf_prop(&doc, o, "c"), "xyz"));
    CU_ASSERT_EQUAL(num_prop(&doc, o, "b"), -5);
    CU_ASSERT(memchr(out, 0x11, len) == NULL);
}

static void
test_long_strings(void)
{
    static char       s[65536 + 10];
    struct sl_wr      w;
    struct sl_amf_doc doc;

    memset(s, 'q', sizeof(s));
    sl_wr_init(&w, out, sizeof(out));
    sl_amf_put_string_n(&w, s, 65535);
    CU_ASSERT_EQUAL(out[0], 0x02);
    CU_ASSERT_EQUAL(sl_wr_len(&w), 3 + 65535);
    sl_wr_init(&w, out, sizeof(out));
    sl_amf_put_string_n(&w, s, 65536);
    CU_ASSERT_EQUAL(out[0], 0x0c);
    CU_ASSERT_EQUAL(sl_wr_len(&w), 5 + 65536);
    CU_ASSERT_EQUAL_FATAL(decode(&doc, out, sl_wr_len(&w)), 0);
    CU_ASSERT_EQUAL(sl_amf_at(&doc, 0)->type, SL_AMF_STRING);
    CU_ASSERT_EQUAL(sl_amf_at(&doc, 0)->str_len, 65536);
    /* The last byte missing. */
    CU_ASSERT_EQUAL(decode(&doc, out, sl_wr_len(&w) - 1), -EPROTO);

    /* A short long string and an XML document are strings too. */
    CU_ASSERT_EQUAL(decode(&doc, LIT("\x0c\x00\x00\x00\x02" "hi"
                                     "\x0f\x00\x00\x00\x03" "<a>")), 0);
    CU_ASSERT(sl_amf_str_eq(sl_amf_at(&doc, 0), "hi"));
    CU_ASSERT(sl_amf_str_eq(sl_amf_at(&doc, 1), "<a>"));

    /* A writer that is too small latches its error. */
    sl_wr_init(&w, out, 10);
    sl_amf_put_string(&w, "0123456789");
    CU_ASSERT(w.err);
    sl_amf_put_null(&w);
    CU_ASSERT(w.err);
}

static void
test_str_copy(void)
{
    struct sl_amf_node n;
    char               dst[8];

    memset(&n, 0, sizeof(n));
    n.type = SL_AMF_STRING;
    n.str = (const uint8_t *) "live\0../x";
    n.str_len = 9;
    strcpy(dst, "junk");
    CU_ASSERT_EQUAL(sl_amf_str_copy(&n, dst, sizeof(dst)), -1);
    CU_ASSERT_STRING_EQUAL(dst, "");
    n.str_len = 4;
    CU_ASSERT_EQUAL(sl_amf_str_copy(&n, dst, sizeof(dst)), 4);
    CU_ASSERT_STRING_EQUAL(dst, "live");
    /* Needs len + 1 bytes. */
    CU_ASSERT_EQUAL(sl_amf_str_copy(&n, dst, 4), -1);
    CU_ASSERT_STRING_EQUAL(dst, "");
    CU_ASSERT_EQUAL(sl_amf_str_copy(&n, dst, 5), 4);
    CU_ASSERT_EQUAL(sl_amf_str_copy(&n, dst, 0), -1);
    n.str = (const uint8_t *) "abcdefgh";
    n.str_len = 8;
    CU_ASSERT_EQUAL(sl_amf_str_copy(&n, dst, sizeof(dst)), -1);
    n.str_len = 7;
    CU_ASSERT_EQUAL(sl_amf_str_copy(&n, dst, sizeof(dst)), 7);
    CU_ASSERT_STRING_EQUAL(dst, "abcdefg");
    n.str_len = 0;
    CU_ASSERT_EQUAL(sl_amf_str_copy(&n, dst, sizeof(dst)), 0);
    CU_ASSERT_STRING_EQUAL(dst, "");
    CU_ASSERT(sl_amf_str_eq(&n, ""));
    n.type = SL_AMF_NUMBER;
    strcpy(dst, "junk");
    CU_ASSERT_EQUAL(sl_amf_str_copy(&n, dst, sizeof(dst)), -1);
    CU_ASSERT_STRING_EQUAL(dst, "");
    CU_ASSERT_FALSE(sl_amf_str_eq(&n, ""));
    CU_ASSERT_EQUAL(sl_amf_str_copy(NULL, dst, sizeof(dst)), -1);
    CU_ASSERT_FALSE(sl_amf_str_eq(NULL, "x"));
}

static void
test_bad_markers(void)
{
    static const char *bad[] = {
        "\x04", "\x0d", "\x0e", "\x12", "\xff", "\x09",
        /* An empty key must be the end marker. */
        "\x03\x00\x00\x05",
        /* A non-empty key cannot be followed by the end marker. */
        "\x03\x00\x01" "a" "\x09",
        /* An ECMA array without its end marker. */
        "\x08\x00\x00\x00\x01\x00\x01" "a" "\x05",
    };
    static const size_t badlen[] = {1, 1, 1, 1, 1, 1, 4, 5, 9};
    struct sl_amf_doc   doc;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CU_ASSERT_EQUAL(decode(&doc, (const uint8_t *) bad[i], badlen[i]),
                        -EPROTO);
    /* A reference is a null; a typed object is an object. */
    CU_ASSERT_EQUAL_FATAL(decode(&doc, LIT("\x07\x00\x00"
                                           "\x10\x00\x03" "Foo" "\x00\x01"
                                           "x" "\x01\x01" "\x00\x00\x09")),
                          0);
    CU_ASSERT_EQUAL(sl_amf_at(&doc, 0)->type, SL_AMF_NULL);
    CU_ASSERT_EQUAL(sl_amf_at(&doc, 1)->type, SL_AMF_OBJECT);
    CU_ASSERT(sl_amf_prop(&doc, sl_amf_at(&doc, 1), "x")->boolean == 1);
    /* Empty input is an empty document. */
    CU_ASSERT_EQUAL(decode(&doc, NULL, 0), 0);
    CU_ASSERT_EQUAL(doc.count, 0);
    CU_ASSERT_EQUAL(decode(&doc, (const uint8_t *) "", 0), 0);
    CU_ASSERT_EQUAL(doc.count, 0);
    CU_ASSERT_PTR_NULL(sl_amf_at(&doc, 0));
}

void
sl_test_suite_amf(void)
{
    CU_pSuite s = CU_add_suite("amf", NULL, NULL);

    CU_add_test(s, "round trip of every type", test_roundtrip_all_types);
    CU_add_test(s, "ffmpeg connect command", test_connect_command);
    CU_add_test(s, "setDataFrame metadata", test_metadata_ecma);
    CU_add_test(s, "publish command", test_publish);
    CU_add_test(s, "depth limit", test_depth_limit);
    CU_add_test(s, "truncation at every split", test_truncation_every_split);
    CU_add_test(s, "counts that lie", test_counts_that_lie);
    CU_add_test(s, "node exhaustion", test_node_exhaustion);
    CU_add_test(s, "amf3 integers", test_amf3_integers);
    CU_add_test(s, "amf3 string references", test_amf3_string_refs);
    CU_add_test(s, "amf3 objects and arrays", test_amf3_objects);
    CU_add_test(s, "avm+ inside an amf0 object", test_avmplus_in_object);
    CU_add_test(s, "long strings", test_long_strings);
    CU_add_test(s, "str_copy", test_str_copy);
    CU_add_test(s, "bad markers", test_bad_markers);
}
