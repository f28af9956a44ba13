/*
 * onMetaData: what an encoder says about its stream, in a data message.
 * Encoders send @setDataFrame("onMetaData", {...}); players get (and the
 * hub stores) onMetaData({...}).  Every reader of metadata in the tree
 * (the hub, the API's media facts, the ladder, the relays) finds it here,
 * so each accepts both forms the same way.
 */
#ifndef SL_META_H
#define SL_META_H

#include <stddef.h>
#include <stdint.h>

#include "rtmp/amf.h"

/* Decodes p[0..len) into doc (the caller's nodes, as sl_amf_decode) and
 * finds onMetaData in either form.  Returns 1 when the message is
 * metadata, with *obj the value after the name (an object or ECMA array
 * from any sane encoder; NULL when there is none), or 0 when it is
 * anything else, malformed AMF included.  Pure: any thread. */
int sl_meta_find(struct sl_amf_doc *doc, const uint8_t *p, size_t len,
                 const struct sl_amf_node **obj);

/* The number obj holds under key, or 0 when it holds none, something
 * else, a negative number or not a finite one.  Callers bound the rest
 * (a width, a frame rate) to what they can use. */
double sl_meta_number(const struct sl_amf_doc  *doc,
                      const struct sl_amf_node *obj, const char *key);

#endif
