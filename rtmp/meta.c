#include "rtmp/meta.h"

#include <math.h>

int
sl_meta_find(struct sl_amf_doc *doc, const uint8_t *p, size_t len,
             const struct sl_amf_node **obj)
{
    uint32_t idx = 0;

    *obj = NULL;
    if (sl_amf_decode(doc, p, len) < 0)
        return 0;
    if (sl_amf_str_eq(sl_amf_at(doc, 0), "@setDataFrame"))
        idx = 1;
    if (!sl_amf_str_eq(sl_amf_at(doc, idx), "onMetaData"))
        return 0;
    *obj = sl_amf_at(doc, idx + 1);
    return 1;
}

double
sl_meta_number(const struct sl_amf_doc *doc, const struct sl_amf_node *obj,
               const char *key)
{
    const struct sl_amf_node *n = sl_amf_prop(doc, obj, key);

    if (n == NULL || n->type != SL_AMF_NUMBER || !isfinite(n->num) ||
        n->num < 0)
        return 0;
    return n->num;
}
