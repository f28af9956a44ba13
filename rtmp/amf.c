/*
 * AMF0 decoder and encoders, with the AMF3 subset that follows an AVM+
 * marker.  See amf.h for the contract.
 *
 * Decoding is recursive descent over one sl_rd.  Every read goes through
 * the reader, so the code never looks past the end of the message; it
 * checks r.err after each field and turns any short read into -EPROTO.
 * Recursion is bounded by SL_AMF_MAX_DEPTH containers, and every value
 * (scalar or container) costs one node from the caller's array, so a
 * hostile message can make us do at most O(len) work and O(depth) stack.
 *
 * Choices the header leaves open:
 *   - A container at top level is at depth 1; SL_AMF_MAX_DEPTH nested
 *     containers are accepted and one more is -EPROTO.  AMF3 arrays and
 *     objects count the same as AMF0 ones.
 *   - An ECMA array must end with the empty key and end marker like an
 *     object; a missing end marker, even at the very end of the input, is
 *     -EPROTO.  Its count is only a hint and is ignored.
 *   - In an object or ECMA array, an empty key that is not followed by the
 *     end marker is -EPROTO (AMF0 reserves the empty key for the end).
 *   - An AMF0 reference (0x07) decodes as SL_AMF_NULL and is never followed.
 *   - A typed object decodes as SL_AMF_OBJECT; its class name is dropped.
 *   - AMF3 string references are resolved against a table of the first
 *     AMF3_STRINGS non-empty strings of the whole document (the AMF3
 *     context is shared by every AVM+ value of one sl_amf_decode call).  A
 *     reference beyond the table is -EPROTO.
 *   - AMF3 object and trait references and externalizable objects are
 *     -EPROTO: we keep no object or trait table.  AMF3 dates decode as
 *     SL_AMF_DATE with tz 0, XML as SL_AMF_STRING; byte arrays, vectors
 *     and dictionaries are -EPROTO ("unsupported AMF3").
 *   - An AMF3 array without an associative part decodes as
 *     SL_AMF_STRICT_ARRAY.  With one, it is SL_AMF_ECMA_ARRAY whose keyed
 *     children come first, then the dense elements with key NULL.
 *     sl_amf_put_node writes such keyless children (and any child whose
 *     key is empty) under its decimal position among the keyless ones, as
 *     AMF0 writers do for arrays, so the output always decodes again.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "rtmp/amf.h"

/* AMF0 markers. */
enum {
    AMF0_NUMBER = 0x00,
    AMF0_BOOLEAN = 0x01,
    AMF0_STRING = 0x02,
    AMF0_OBJECT = 0x03,
    AMF0_NULL = 0x05,
    AMF0_UNDEFINED = 0x06,
    AMF0_REFERENCE = 0x07,
    AMF0_ECMA_ARRAY = 0x08,
    AMF0_OBJECT_END = 0x09,
    AMF0_STRICT_ARRAY = 0x0a,
    AMF0_DATE = 0x0b,
    AMF0_LONG_STRING = 0x0c,
    AMF0_XML = 0x0f,
    AMF0_TYPED_OBJECT = 0x10,
    AMF0_AVMPLUS = 0x11
};

/* AMF3 markers. */
enum {
    AMF3_UNDEFINED = 0x00,
    AMF3_NULL = 0x01,
    AMF3_FALSE = 0x02,
    AMF3_TRUE = 0x03,
    AMF3_INTEGER = 0x04,
    AMF3_DOUBLE = 0x05,
    AMF3_STRING = 0x06,
    AMF3_XML_DOC = 0x07,
    AMF3_DATE = 0x08,
    AMF3_ARRAY = 0x09,
    AMF3_OBJECT = 0x0a,
    AMF3_XML = 0x0b
};

/* How many AMF3 strings we remember for references.  A connect command
 * carries a handful; 64 costs 1 KiB of stack. */
#define AMF3_STRINGS 64

struct amf3_str {
    const uint8_t *p;
    uint32_t       len;
};

/* State of one sl_amf_decode call; lives on its stack, so decoding is
 * reentrant. */
struct dec {
    struct sl_rd        r;
    struct sl_amf_doc  *doc;
    uint32_t            cap;      /* doc->cap clamped to what int32 holds */
    uint32_t            nstr;     /* strings in str[] */
    struct amf3_str     str[AMF3_STRINGS];
};

/* Children are appended in order; the tail is kept by the caller so an
 * append is O(1). */
struct kids {
    struct sl_amf_node *parent;
    int32_t             tail;
};

static int amf0_value(struct dec *d, int32_t idx, int depth);
static int amf3_value(struct dec *d, int32_t idx, int depth);

static int32_t
new_node(struct dec *d)
{
    struct sl_amf_node *n;
    int32_t             idx;

    if (d->doc->used >= d->cap)
        return -1;
    idx = (int32_t) d->doc->used++;
    n = &d->doc->nodes[idx];
    memset(n, 0, sizeof(*n));
    n->first_child = -1;
    n->next = -1;
    return idx;
}

static void
kids_init(struct kids *k, struct sl_amf_node *parent)
{
    k->parent = parent;
    k->tail = -1;
    parent->first_child = -1;
    parent->count = 0;
}

static void
kids_add(struct kids *k, struct sl_amf_doc *doc, int32_t idx)
{
    if (k->tail < 0)
        k->parent->first_child = idx;
    else
        doc->nodes[k->tail].next = idx;
    k->tail = idx;
    k->parent->count++;
}

/*
 * The properties of an AMF0 object, typed object or ECMA array: (u16 key,
 * value) pairs up to the empty key followed by the end marker.
 */
static int
amf0_props(struct dec *d, int32_t idx, int depth)
{
    struct sl_amf_doc *doc = d->doc;
    struct kids        k;

    kids_init(&k, &doc->nodes[idx]);
    for (;;) {
        uint16_t       klen = sl_rd_u16(&d->r);
        const uint8_t *key = sl_rd_bytes(&d->r, klen);
        int32_t        c;
        int            rc;

        if (d->r.err)
            return -EPROTO;
        if (klen == 0) {
            if (sl_rd_u8(&d->r) != AMF0_OBJECT_END || d->r.err)
                return -EPROTO;
            return 0;
        }
        c = new_node(d);
        if (c < 0)
            return -EPROTO;
        doc->nodes[c].key = key;
        doc->nodes[c].key_len = klen;
        kids_add(&k, doc, c);
        rc = amf0_value(d, c, depth);
        if (rc < 0)
            return rc;
    }
}

/* Fills node idx with one AMF0 value; depth is the number of containers
 * already open around it. */
static int
amf0_value(struct dec *d, int32_t idx, int depth)
{
    struct sl_amf_node *n = &d->doc->nodes[idx];
    uint8_t             marker = sl_rd_u8(&d->r);
    uint32_t            len = 0;

    if (d->r.err)
        return -EPROTO;
    switch (marker) {
    case AMF0_NUMBER:
        n->type = SL_AMF_NUMBER;
        n->num = sl_rd_f64(&d->r);
        break;
    case AMF0_BOOLEAN:
        n->type = SL_AMF_BOOLEAN;
        n->boolean = sl_rd_u8(&d->r) != 0;
        break;
    case AMF0_STRING:
    case AMF0_LONG_STRING:
    case AMF0_XML:
        len = marker == AMF0_STRING ? sl_rd_u16(&d->r) : sl_rd_u32(&d->r);
        n->type = SL_AMF_STRING;
        n->str = sl_rd_bytes(&d->r, len);
        n->str_len = len;
        break;
    case AMF0_NULL:
        n->type = SL_AMF_NULL;
        break;
    case AMF0_UNDEFINED:
        n->type = SL_AMF_UNDEFINED;
        break;
    case AMF0_REFERENCE:
        /* The index would point at an earlier complex value; following it
         * invites cycles and buys nothing for RTMP, so it is a null. */
        n->type = SL_AMF_NULL;
        (void) sl_rd_u16(&d->r);
        break;
    case AMF0_DATE:
        n->type = SL_AMF_DATE;
        n->num = sl_rd_f64(&d->r);
        n->tz = (int16_t) sl_rd_u16(&d->r);
        break;
    case AMF0_OBJECT:
    case AMF0_ECMA_ARRAY:
    case AMF0_TYPED_OBJECT:
        if (depth >= SL_AMF_MAX_DEPTH)
            return -EPROTO;
        n->type = marker == AMF0_ECMA_ARRAY ? SL_AMF_ECMA_ARRAY
                                            : SL_AMF_OBJECT;
        if (marker == AMF0_ECMA_ARRAY) {
            /* Only a hint, and peers get it wrong: never trusted. */
            (void) sl_rd_u32(&d->r);
        } else if (marker == AMF0_TYPED_OBJECT) {
            len = sl_rd_u16(&d->r);
            (void) sl_rd_bytes(&d->r, len);
        }
        if (d->r.err)
            return -EPROTO;
        return amf0_props(d, idx, depth + 1);
    case AMF0_STRICT_ARRAY: {
        struct kids k;

        if (depth >= SL_AMF_MAX_DEPTH)
            return -EPROTO;
        n->type = SL_AMF_STRICT_ARRAY;
        len = sl_rd_u32(&d->r);
        /* Every element takes at least its marker byte, and a node: a
         * count that the rest of the input or the node array cannot hold
         * is a lie, rejected before we loop on it. */
        if (d->r.err || len > sl_rd_left(&d->r) ||
            len > d->cap - d->doc->used)
            return -EPROTO;
        kids_init(&k, n);
        for (uint32_t i = 0; i < len; i++) {
            int32_t c = new_node(d);
            int     rc;

            if (c < 0)
                return -EPROTO;
            kids_add(&k, d->doc, c);
            rc = amf0_value(d, c, depth + 1);
            if (rc < 0)
                return rc;
        }
        return 0;
    }
    case AMF0_AVMPLUS:
        return amf3_value(d, idx, depth);
    default:
        /* Movie clip, unsupported, record set, a stray end marker and
         * everything past 0x11. */
        return -EPROTO;
    }
    return d->r.err ? -EPROTO : 0;
}

/*
 * AMF3 variable-length unsigned 29-bit integer: up to three bytes of 7 bits
 * with a continuation flag, then one full byte.
 */
static int
u29(struct dec *d, uint32_t *out)
{
    uint32_t v = 0;

    for (int i = 0; i < 4; i++) {
        uint8_t b = sl_rd_u8(&d->r);

        if (d->r.err)
            return -EPROTO;
        if (i == 3) {
            v = (v << 8) | b;
            break;
        }
        v = (v << 7) | (b & 0x7f);
        if (!(b & 0x80))
            break;
    }
    *out = v;
    return 0;
}

/*
 * An AMF3 string (UTF-8-vr): an inline string, remembered for later
 * references unless it is empty, or a reference to an earlier one.
 */
static int
amf3_string(struct dec *d, const uint8_t **p, uint32_t *len)
{
    uint32_t v;

    if (u29(d, &v) < 0)
        return -EPROTO;
    if (!(v & 1)) {
        v >>= 1;
        if (v >= d->nstr)
            return -EPROTO;
        *p = d->str[v].p;
        *len = d->str[v].len;
        return 0;
    }
    v >>= 1;
    *p = sl_rd_bytes(&d->r, v);
    *len = v;
    if (d->r.err)
        return -EPROTO;
    if (v > 0 && d->nstr < AMF3_STRINGS) {
        d->str[d->nstr].p = *p;
        d->str[d->nstr].len = v;
        d->nstr++;
    }
    return 0;
}

/* Dynamic members of an object or associative part of an array: (name,
 * value) pairs up to the empty name. */
static int
amf3_members(struct dec *d, struct kids *k, int depth)
{
    for (;;) {
        const uint8_t *key;
        uint32_t       klen;
        int32_t        c;
        int            rc;

        if (amf3_string(d, &key, &klen) < 0)
            return -EPROTO;
        if (klen == 0)
            return 0;
        c = new_node(d);
        if (c < 0)
            return -EPROTO;
        d->doc->nodes[c].key = key;
        d->doc->nodes[c].key_len = klen;
        kids_add(k, d->doc, c);
        rc = amf3_value(d, c, depth);
        if (rc < 0)
            return rc;
    }
}

static int
amf3_array(struct dec *d, int32_t idx, int depth)
{
    struct sl_amf_node *n = &d->doc->nodes[idx];
    struct kids         k;
    uint32_t            v;
    int                 rc;

    if (u29(d, &v) < 0 || !(v & 1))
        return -EPROTO;         /* object reference: not tracked */
    v >>= 1;
    kids_init(&k, n);
    rc = amf3_members(d, &k, depth + 1);
    if (rc < 0)
        return rc;
    n->type = n->count > 0 ? SL_AMF_ECMA_ARRAY : SL_AMF_STRICT_ARRAY;
    /* As for AMF0 strict arrays: a byte and a node per element at least. */
    if (v > sl_rd_left(&d->r) || v > d->cap - d->doc->used)
        return -EPROTO;
    for (uint32_t i = 0; i < v; i++) {
        int32_t c = new_node(d);

        if (c < 0)
            return -EPROTO;
        kids_add(&k, d->doc, c);
        rc = amf3_value(d, c, depth + 1);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/*
 * An AMF3 object with inline traits: class name, the sealed member names,
 * their values in the same order, then dynamic members if the traits say
 * so.  The sealed children are allocated up front so their names, which
 * come first, can be stored as keys before their values are decoded.
 */
static int
amf3_object(struct dec *d, int32_t idx, int depth)
{
    struct sl_amf_doc *doc = d->doc;
    struct kids        k;
    const uint8_t     *p;
    uint32_t           v, len, sealed;
    int32_t            first;
    int                rc;

    if (u29(d, &v) < 0)
        return -EPROTO;
    /* bit 0 clear: object reference; bit 1 clear: traits reference;
     * bit 2: externalizable.  We keep no tables for these. */
    if ((v & 0x7) != 0x3)
        return -EPROTO;
    sealed = v >> 4;
    if (amf3_string(d, &p, &len) < 0)          /* class name, dropped */
        return -EPROTO;
    if (sealed > sl_rd_left(&d->r) || sealed > d->cap - doc->used)
        return -EPROTO;
    doc->nodes[idx].type = SL_AMF_OBJECT;
    kids_init(&k, &doc->nodes[idx]);
    first = (int32_t) doc->used;
    for (uint32_t i = 0; i < sealed; i++) {
        int32_t c = new_node(d);

        if (c < 0 || amf3_string(d, &p, &len) < 0)
            return -EPROTO;
        doc->nodes[c].key = p;
        doc->nodes[c].key_len = len;
        kids_add(&k, doc, c);
    }
    for (uint32_t i = 0; i < sealed; i++) {
        rc = amf3_value(d, first + (int32_t) i, depth + 1);
        if (rc < 0)
            return rc;
    }
    if (v & 0x8)
        return amf3_members(d, &k, depth + 1);
    return 0;
}

static int
amf3_value(struct dec *d, int32_t idx, int depth)
{
    struct sl_amf_node *n = &d->doc->nodes[idx];
    uint8_t             marker = sl_rd_u8(&d->r);
    uint32_t            v;

    if (d->r.err)
        return -EPROTO;
    switch (marker) {
    case AMF3_UNDEFINED:
        n->type = SL_AMF_UNDEFINED;
        return 0;
    case AMF3_NULL:
        n->type = SL_AMF_NULL;
        return 0;
    case AMF3_FALSE:
    case AMF3_TRUE:
        n->type = SL_AMF_BOOLEAN;
        n->boolean = marker == AMF3_TRUE;
        return 0;
    case AMF3_INTEGER:
        if (u29(d, &v) < 0)
            return -EPROTO;
        n->type = SL_AMF_NUMBER;
        /* Sign-extend from 29 bits without shifting a negative value. */
        n->num = (v & 0x10000000) ? (double) v - 536870912.0 : (double) v;
        return 0;
    case AMF3_DOUBLE:
        n->type = SL_AMF_NUMBER;
        n->num = sl_rd_f64(&d->r);
        return d->r.err ? -EPROTO : 0;
    case AMF3_STRING:
        n->type = SL_AMF_STRING;
        return amf3_string(d, &n->str, &n->str_len);
    case AMF3_XML_DOC:
    case AMF3_XML:
        /* Inline only; XML goes to the object table, which we lack. */
        if (u29(d, &v) < 0 || !(v & 1))
            return -EPROTO;
        n->type = SL_AMF_STRING;
        n->str_len = v >> 1;
        n->str = sl_rd_bytes(&d->r, n->str_len);
        return d->r.err ? -EPROTO : 0;
    case AMF3_DATE:
        if (u29(d, &v) < 0 || !(v & 1))
            return -EPROTO;
        n->type = SL_AMF_DATE;
        n->num = sl_rd_f64(&d->r);
        return d->r.err ? -EPROTO : 0;
    case AMF3_ARRAY:
        if (depth >= SL_AMF_MAX_DEPTH)
            return -EPROTO;
        return amf3_array(d, idx, depth);
    case AMF3_OBJECT:
        if (depth >= SL_AMF_MAX_DEPTH)
            return -EPROTO;
        return amf3_object(d, idx, depth);
    default:
        return -EPROTO;         /* byte array, vectors, dictionary */
    }
}

void
sl_amf_doc_init(struct sl_amf_doc *doc, struct sl_amf_node *nodes,
                uint32_t cap)
{
    doc->nodes = nodes;
    doc->cap = cap;
    doc->used = 0;
    doc->first = -1;
    doc->count = 0;
}

int
sl_amf_decode(struct sl_amf_doc *doc, const uint8_t *p, size_t len)
{
    struct dec  d;
    struct kids top;
    struct sl_amf_node root;    /* stands in as the parent of top level */
    int         rc = 0;

    doc->used = 0;
    doc->first = -1;
    doc->count = 0;
    /* (NULL, 0) is an empty message; NULL + 0 must not reach sl_rd. */
    if (len == 0)
        return 0;
    sl_rd_init(&d.r, p, len);
    d.doc = doc;
    d.cap = doc->cap > INT32_MAX ? INT32_MAX : doc->cap;
    d.nstr = 0;
    kids_init(&top, &root);
    while (sl_rd_left(&d.r) > 0) {
        int32_t idx = new_node(&d);

        if (idx < 0) {
            rc = -EPROTO;
            break;
        }
        kids_add(&top, doc, idx);
        rc = amf0_value(&d, idx, 0);
        if (rc < 0)
            break;
    }
    if (rc < 0) {
        /* Leave nothing that looks like a result. */
        doc->first = -1;
        doc->count = 0;
        return rc;
    }
    doc->first = root.first_child;
    doc->count = root.count;
    return 0;
}

const struct sl_amf_node *
sl_amf_at(const struct sl_amf_doc *doc, uint32_t i)
{
    int32_t idx = doc->first;

    while (idx >= 0 && i > 0) {
        idx = doc->nodes[idx].next;
        i--;
    }
    return idx >= 0 ? &doc->nodes[idx] : NULL;
}

const struct sl_amf_node *
sl_amf_prop(const struct sl_amf_doc *doc, const struct sl_amf_node *obj,
            const char *key)
{
    size_t klen;

    if (obj == NULL || key == NULL ||
        (obj->type != SL_AMF_OBJECT && obj->type != SL_AMF_ECMA_ARRAY))
        return NULL;
    klen = strlen(key);
    for (int32_t i = obj->first_child; i >= 0; i = doc->nodes[i].next) {
        const struct sl_amf_node *c = &doc->nodes[i];

        if (c->key != NULL && c->key_len == klen &&
            memcmp(c->key, key, klen) == 0)
            return c;
    }
    return NULL;
}

const struct sl_amf_node *
sl_amf_child(const struct sl_amf_doc *doc, const struct sl_amf_node *parent,
             uint32_t i)
{
    int32_t idx;

    if (parent == NULL ||
        (parent->type != SL_AMF_OBJECT && parent->type != SL_AMF_ECMA_ARRAY &&
         parent->type != SL_AMF_STRICT_ARRAY) ||
        i >= parent->count)
        return NULL;
    idx = parent->first_child;
    while (idx >= 0 && i > 0) {
        idx = doc->nodes[idx].next;
        i--;
    }
    return idx >= 0 ? &doc->nodes[idx] : NULL;
}

int
sl_amf_str_eq(const struct sl_amf_node *n, const char *s)
{
    size_t len;

    if (n == NULL || s == NULL || n->type != SL_AMF_STRING)
        return 0;
    len = strlen(s);
    return len == n->str_len && (len == 0 || memcmp(n->str, s, len) == 0);
}

int
sl_amf_str_copy(const struct sl_amf_node *n, char *dst, size_t cap)
{
    if (cap == 0)
        return -1;
    dst[0] = '\0';
    if (n == NULL || n->type != SL_AMF_STRING || n->str_len >= cap ||
        n->str_len > INT32_MAX)
        return -1;
    /* A NUL inside would silently cut the name short, e.g. turn
     * "live\0../x" into "live": refuse it instead. */
    if (n->str_len > 0 && memchr(n->str, '\0', n->str_len) != NULL)
        return -1;
    if (n->str_len > 0)
        memcpy(dst, n->str, n->str_len);
    dst[n->str_len] = '\0';
    return (int) n->str_len;
}

void
sl_amf_put_number(struct sl_wr *w, double v)
{
    sl_wr_u8(w, AMF0_NUMBER);
    sl_wr_f64(w, v);
}

void
sl_amf_put_bool(struct sl_wr *w, int v)
{
    sl_wr_u8(w, AMF0_BOOLEAN);
    sl_wr_u8(w, v ? 1 : 0);
}

void
sl_amf_put_string(struct sl_wr *w, const char *s)
{
    sl_amf_put_string_n(w, s, strlen(s));
}

void
sl_amf_put_string_n(struct sl_wr *w, const void *s, size_t n)
{
    if (n < 65536) {
        sl_wr_u8(w, AMF0_STRING);
        sl_wr_u16(w, (uint16_t) n);
    } else if (n <= UINT32_MAX) {
        sl_wr_u8(w, AMF0_LONG_STRING);
        sl_wr_u32(w, (uint32_t) n);
    } else {
        w->err = 1;
        return;
    }
    sl_wr_bytes(w, s, n);
}

void
sl_amf_put_null(struct sl_wr *w)
{
    sl_wr_u8(w, AMF0_NULL);
}

void
sl_amf_put_undefined(struct sl_wr *w)
{
    sl_wr_u8(w, AMF0_UNDEFINED);
}

void
sl_amf_put_object_start(struct sl_wr *w)
{
    sl_wr_u8(w, AMF0_OBJECT);
}

void
sl_amf_put_ecma_start(struct sl_wr *w, uint32_t count)
{
    sl_wr_u8(w, AMF0_ECMA_ARRAY);
    sl_wr_u32(w, count);
}

/* Keys have a 16-bit length in AMF0; a longer one cannot be written. */
static void
put_key_n(struct sl_wr *w, const void *key, size_t len)
{
    if (len > UINT16_MAX) {
        w->err = 1;
        return;
    }
    sl_wr_u16(w, (uint16_t) len);
    sl_wr_bytes(w, key, len);
}

void
sl_amf_put_key(struct sl_wr *w, const char *key)
{
    put_key_n(w, key, strlen(key));
}

void
sl_amf_put_object_end(struct sl_wr *w)
{
    sl_wr_u16(w, 0);
    sl_wr_u8(w, AMF0_OBJECT_END);
}

void
sl_amf_put_strict_array_start(struct sl_wr *w, uint32_t count)
{
    sl_wr_u8(w, AMF0_STRICT_ARRAY);
    sl_wr_u32(w, count);
}

void
sl_amf_put_date(struct sl_wr *w, double ms, int16_t tz)
{
    sl_wr_u8(w, AMF0_DATE);
    sl_wr_f64(w, ms);
    sl_wr_u16(w, (uint16_t) tz);
}

static void
put_node(struct sl_wr *w, const struct sl_amf_doc *doc,
         const struct sl_amf_node *n, int depth)
{
    uint32_t pos = 0;

    /* Decoded trees are never deeper than this; anything else is not ours
     * and must not recurse without bound. */
    if (depth > SL_AMF_MAX_DEPTH) {
        w->err = 1;
        return;
    }
    switch (n->type) {
    case SL_AMF_NUMBER:
        sl_amf_put_number(w, n->num);
        return;
    case SL_AMF_BOOLEAN:
        sl_amf_put_bool(w, n->boolean);
        return;
    case SL_AMF_STRING:
        sl_amf_put_string_n(w, n->str, n->str_len);
        return;
    case SL_AMF_NULL:
        sl_amf_put_null(w);
        return;
    case SL_AMF_UNDEFINED:
        sl_amf_put_undefined(w);
        return;
    case SL_AMF_DATE:
        sl_amf_put_date(w, n->num, n->tz);
        return;
    case SL_AMF_OBJECT:
    case SL_AMF_ECMA_ARRAY:
        if (n->type == SL_AMF_OBJECT)
            sl_amf_put_object_start(w);
        else
            sl_amf_put_ecma_start(w, n->count);
        for (int32_t i = n->first_child; i >= 0; i = doc->nodes[i].next) {
            const struct sl_amf_node *c = &doc->nodes[i];

            if (c->key_len > 0) {
                put_key_n(w, c->key, c->key_len);
            } else {
                /* The empty key would end the object early. */
                char num[16];
                int  len = snprintf(num, sizeof(num), "%u", pos++);

                put_key_n(w, num, (size_t) len);
            }
            put_node(w, doc, c, depth + 1);
        }
        sl_amf_put_object_end(w);
        return;
    case SL_AMF_STRICT_ARRAY:
        sl_amf_put_strict_array_start(w, n->count);
        for (int32_t i = n->first_child; i >= 0; i = doc->nodes[i].next)
            put_node(w, doc, &doc->nodes[i], depth + 1);
        return;
    default:
        w->err = 1;
        return;
    }
}

void
sl_amf_put_node(struct sl_wr *w, const struct sl_amf_doc *doc,
                const struct sl_amf_node *n)
{
    if (n == NULL) {
        w->err = 1;
        return;
    }
    put_node(w, doc, n, 0);
}
