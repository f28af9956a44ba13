/*
 * libFuzzer target for the AMF decoder and sl_amf_put_node.
 *
 * Any input must decode or fail cleanly.  When it decodes, every top-level
 * value is written back as AMF0, and that must decode again into the same
 * number of values; writing the second document back must give the same
 * bytes, since put_node's output is already in the form it produces.
 * Anything else is a bug in one side or the other, reported by abort().
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rtmp/amf.h"

#define NODES 256

/* Re-encoding can grow: an AMF3 string reference of one byte expands to
 * the whole string.  Outputs that do not fit are skipped, not failures. */
#define OUT_CAP (1 << 20)

static size_t
encode_all(const struct sl_amf_doc *doc, uint8_t *buf, size_t cap)
{
    struct sl_wr w;

    sl_wr_init(&w, buf, cap);
    for (uint32_t i = 0; i < doc->count; i++)
        sl_amf_put_node(&w, doc, sl_amf_at(doc, i));
    return w.err ? SIZE_MAX : sl_wr_len(&w);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct sl_amf_node nodes[NODES], nodes2[NODES];
    static uint8_t            out[OUT_CAP], out2[OUT_CAP];
    struct sl_amf_doc         doc, doc2;
    size_t                    len, len2;

    sl_amf_doc_init(&doc, nodes, NODES);
    if (sl_amf_decode(&doc, data, size) != 0)
        return 0;
    len = encode_all(&doc, out, sizeof(out));
    if (len == SIZE_MAX)
        return 0;
    sl_amf_doc_init(&doc2, nodes2, NODES);
    if (sl_amf_decode(&doc2, out, len) != 0 || doc2.count != doc.count ||
        doc2.used != doc.used)
        abort();
    len2 = encode_all(&doc2, out2, sizeof(out2));
    if (len2 != len || memcmp(out, out2, len) != 0)
        abort();
    return 0;
}
