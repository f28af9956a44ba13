/*
 * AMF0 decoding and encoding, with the AMF3 values a connect command may
 * carry after the AVM+ marker (0x11).
 *
 * The decoder allocates nothing: it fills an array of nodes that the
 * caller provides (usually on the stack) and whose strings point into the
 * message bytes, so the message must outlive the document.  Limits make
 * hostile input cheap to reject: at most SL_AMF_MAX_DEPTH levels of
 * nesting and as many nodes as the caller's array holds; a truncated
 * value, an unknown marker, a reference AMF0 does not allow, or a limit
 * hit is -EPROTO.  Every type a client sends is understood: number,
 * boolean, string, long string, object, null, undefined, reference
 * (as a null placeholder), ECMA array, strict array, date, XML document,
 * typed object, and AVM+ values (undefined, null, false, true, integer,
 * double, string, and arrays and dynamic objects of those).
 */
#ifndef SL_AMF_H
#define SL_AMF_H

#include <stddef.h>
#include <stdint.h>

#include "rtmp/rd.h"

#define SL_AMF_MAX_DEPTH 16

enum sl_amf_type {
    SL_AMF_NUMBER,       /* num */
    SL_AMF_BOOLEAN,      /* boolean */
    SL_AMF_STRING,       /* str, str_len (also long strings, XML, AMF3) */
    SL_AMF_OBJECT,       /* children carry keys (also typed objects) */
    SL_AMF_NULL,
    SL_AMF_UNDEFINED,
    SL_AMF_ECMA_ARRAY,   /* children carry keys */
    SL_AMF_STRICT_ARRAY, /* children without keys */
    SL_AMF_DATE          /* num = ms since the epoch, tz = minutes */
};

struct sl_amf_node {
    uint8_t        type;         /* enum sl_amf_type */
    int16_t        tz;           /* SL_AMF_DATE */
    int            boolean;      /* SL_AMF_BOOLEAN: 0 or 1 */
    double         num;          /* SL_AMF_NUMBER (AMF3 integers too), DATE */
    const uint8_t *str;          /* SL_AMF_STRING; not NUL-terminated */
    uint32_t       str_len;
    const uint8_t *key;          /* property name when inside an object */
    uint32_t       key_len;
    int32_t        first_child;  /* index into the node array, -1: none */
    int32_t        next;         /* next sibling, -1: last */
    uint32_t       count;        /* number of children */
};

struct sl_amf_doc {
    struct sl_amf_node *nodes;  /* caller's array */
    uint32_t            cap;    /* its length */
    uint32_t            used;
    int32_t             first;  /* first top-level value, -1: none */
    uint32_t            count;  /* number of top-level values */
};

/* Prepares doc to decode into nodes[0..cap). */
void sl_amf_doc_init(struct sl_amf_doc *doc, struct sl_amf_node *nodes,
                     uint32_t cap);

/* Decodes every top-level AMF0 value in p[0..len).  0 or -EPROTO. */
int sl_amf_decode(struct sl_amf_doc *doc, const uint8_t *p, size_t len);

/* The i-th top-level value, or NULL. */
const struct sl_amf_node *sl_amf_at(const struct sl_amf_doc *doc, uint32_t i);

/* The property named key of an object or ECMA array, or NULL (also when
 * obj is NULL or not an object). */
const struct sl_amf_node *sl_amf_prop(const struct sl_amf_doc *doc,
                                      const struct sl_amf_node *obj,
                                      const char *key);

/* The i-th child of an object or array, or NULL. */
const struct sl_amf_node *sl_amf_child(const struct sl_amf_doc *doc,
                                       const struct sl_amf_node *parent,
                                       uint32_t i);

/* 1 when n is a string equal to s. */
int sl_amf_str_eq(const struct sl_amf_node *n, const char *s);

/* Copies a string node into dst as a NUL-terminated string.  Returns its
 * length, or -1 when n is not a string or does not fit in cap - 1 bytes
 * or contains a NUL byte (dst is then ""). */
int sl_amf_str_copy(const struct sl_amf_node *n, char *dst, size_t cap);

/* Encoders: append one value to w (errors latch in w->err).  Strings of
 * 65536 bytes or more are written as long strings. */
void sl_amf_put_number(struct sl_wr *w, double v);
void sl_amf_put_bool(struct sl_wr *w, int v);
void sl_amf_put_string(struct sl_wr *w, const char *s);
void sl_amf_put_string_n(struct sl_wr *w, const void *s, size_t n);
void sl_amf_put_null(struct sl_wr *w);
void sl_amf_put_undefined(struct sl_wr *w);
void sl_amf_put_object_start(struct sl_wr *w);
void sl_amf_put_ecma_start(struct sl_wr *w, uint32_t count);
/* A property name inside an object or ECMA array; the value follows. */
void sl_amf_put_key(struct sl_wr *w, const char *key);
/* Ends an object or ECMA array (the empty key + end marker). */
void sl_amf_put_object_end(struct sl_wr *w);
void sl_amf_put_strict_array_start(struct sl_wr *w, uint32_t count);
void sl_amf_put_date(struct sl_wr *w, double ms, int16_t tz);

/* Re-encodes node n (and its children) as AMF0, e.g. to pass a client's
 * metadata on after dropping @setDataFrame. */
void sl_amf_put_node(struct sl_wr *w, const struct sl_amf_doc *doc,
                     const struct sl_amf_node *n);

#endif
