/*
 * The messages the command state machine sends (see rtmp_reply.h).
 * Command replies go on chunk stream 3, statuses and data on 5, as
 * Flash-era servers did and clients expect nothing else.
 */
#include "server/rtmp_reply.h"

#include <errno.h>

#include "rtmp/amf.h"
#include "rtmp/msg.h"

#define CSID_COMMAND 3
#define CSID_STATUS 5
#define REPLY_MAX 4096

/* Queues b and drops the caller's reference; NULL (no memory) fails. */
static int
queue(struct sl_rtmp_conn *c, struct sl_buf *b)
{
    int rc;

    if (b == NULL)
        return -ENOMEM;
    rc = c->base.tp->send(c->base.io, b);
    sl_buf_unref(b);
    return rc;
}

static int
send_amf(struct sl_rtmp_conn *c, uint32_t csid, uint32_t msid, uint8_t type,
         const struct sl_wr *w)
{
    if (w->err)
        return -ENOMEM;
    return queue(c, sl_chunk_encode(csid, type, msid, 0, w->start, sl_wr_len(w),
                                    c->out_chunk_size));
}

int
sl_rtmp_reply_ctrl(struct sl_rtmp_conn *c, uint8_t type, uint32_t value)
{
    return queue(c, sl_chunk_ctrl(type, value, c->out_chunk_size));
}

int
sl_rtmp_reply_peer_bw(struct sl_rtmp_conn *c, uint32_t window)
{
    return queue(c, sl_chunk_peer_bw(window, 2, c->out_chunk_size));
}

int
sl_rtmp_reply_user_control(struct sl_rtmp_conn *c, uint16_t event,
                           uint32_t value)
{
    return queue(c, sl_chunk_user_control(event, value, c->out_chunk_size));
}

int
sl_rtmp_reply_status(struct sl_rtmp_conn *c, const char *level,
                     const char *code, const char *desc)
{
    uint8_t      out[REPLY_MAX];
    struct sl_wr w;

    sl_wr_init(&w, out, sizeof(out));
    sl_rtmp_msg_status(&w, level, code, desc, c->base.stream_name,
                       (double) c->base.id);
    return send_amf(c, CSID_STATUS, SL_RTMP_STREAM_ID, SL_MSG_COMMAND_AMF0, &w);
}

int
sl_rtmp_reply_result(struct sl_rtmp_conn *c, double tid, int with_number,
                     double v)
{
    uint8_t      out[256];
    struct sl_wr w;

    sl_wr_init(&w, out, sizeof(out));
    sl_amf_put_string(&w, "_result");
    sl_amf_put_number(&w, tid);
    sl_amf_put_null(&w);
    if (with_number)
        sl_amf_put_number(&w, v);
    else
        sl_amf_put_undefined(&w);
    return send_amf(c, CSID_COMMAND, 0, SL_MSG_COMMAND_AMF0, &w);
}

int
sl_rtmp_reply_connect_ok(struct sl_rtmp_conn *c, double tid)
{
    uint8_t      out[REPLY_MAX];
    struct sl_wr w;

    /* Clients that speak AMF3 get their encoding echoed; our messages
     * stay AMF0, which every AMF3 client also reads. */
    sl_wr_init(&w, out, sizeof(out));
    sl_rtmp_msg_connect_result(&w, tid, c->object_encoding);
    return send_amf(c, CSID_COMMAND, 0, SL_MSG_COMMAND_AMF0, &w);
}

/* _error for connect: NetConnection.Connect.Rejected, with a redirect
 * URL (ex.redirect, as Flash-era servers sent it) when there is one. */
static int
connect_error(struct sl_rtmp_conn *c, double tid, const char *desc,
              const char *redirect)
{
    uint8_t      out[REPLY_MAX];
    struct sl_wr w;

    sl_wr_init(&w, out, sizeof(out));
    sl_amf_put_string(&w, "_error");
    sl_amf_put_number(&w, tid);
    sl_amf_put_null(&w);
    sl_amf_put_object_start(&w);
    sl_amf_put_key(&w, "level");
    sl_amf_put_string(&w, "error");
    sl_amf_put_key(&w, "code");
    sl_amf_put_string(&w, "NetConnection.Connect.Rejected");
    sl_amf_put_key(&w, "description");
    sl_amf_put_string(&w, desc);
    if (redirect != NULL) {
        sl_amf_put_key(&w, "ex");
        sl_amf_put_object_start(&w);
        sl_amf_put_key(&w, "code");
        sl_amf_put_number(&w, 302);
        sl_amf_put_key(&w, "redirect");
        sl_amf_put_string(&w, redirect);
        sl_amf_put_object_end(&w);
    }
    sl_amf_put_object_end(&w);
    return send_amf(c, CSID_COMMAND, 0, SL_MSG_COMMAND_AMF0, &w);
}

int
sl_rtmp_reply_refusal(struct sl_rtmp_conn *c, enum sl_auth_kind kind,
                      double tid, const char *desc, const char *redirect)
{
    uint8_t      out[REPLY_MAX];
    struct sl_wr w;

    if (kind == SL_AUTH_CONNECT)
        return connect_error(c, tid, desc, redirect);
    sl_wr_init(&w, out, sizeof(out));
    sl_amf_put_string(&w, "onStatus");
    sl_amf_put_number(&w, 0);
    sl_amf_put_null(&w);
    sl_amf_put_object_start(&w);
    sl_amf_put_key(&w, "level");
    sl_amf_put_string(&w, "error");
    sl_amf_put_key(&w, "code");
    sl_amf_put_string(&w, kind == SL_AUTH_PUBLISH ? "NetStream.Publish.BadName"
                                                  : "NetStream.Play.Failed");
    sl_amf_put_key(&w, "description");
    sl_amf_put_string(&w, desc);
    if (redirect != NULL) {
        sl_amf_put_key(&w, "redirect");
        sl_amf_put_string(&w, redirect);
    }
    sl_amf_put_key(&w, "clientid");
    sl_amf_put_number(&w, (double) c->base.id);
    sl_amf_put_object_end(&w);
    return send_amf(c, CSID_STATUS, SL_RTMP_STREAM_ID, SL_MSG_COMMAND_AMF0, &w);
}

int
sl_rtmp_reply_fcpublish(struct sl_rtmp_conn *c, const char *name)
{
    uint8_t      out[REPLY_MAX];
    struct sl_wr w;

    sl_wr_init(&w, out, sizeof(out));
    sl_amf_put_string(&w, "onFCPublish");
    sl_amf_put_number(&w, 0);
    sl_amf_put_null(&w);
    sl_amf_put_object_start(&w);
    sl_amf_put_key(&w, "code");
    sl_amf_put_string(&w, "NetStream.Publish.Start");
    sl_amf_put_key(&w, "description");
    sl_amf_put_string(&w, name);
    sl_amf_put_object_end(&w);
    return send_amf(c, CSID_COMMAND, 0, SL_MSG_COMMAND_AMF0, &w);
}

int
sl_rtmp_reply_sample_access(struct sl_rtmp_conn *c)
{
    uint8_t      out[128];
    struct sl_wr w;

    sl_wr_init(&w, out, sizeof(out));
    sl_amf_put_string(&w, "|RtmpSampleAccess");
    sl_amf_put_bool(&w, 1);
    sl_amf_put_bool(&w, 1);
    return send_amf(c, CSID_STATUS, SL_RTMP_STREAM_ID, SL_MSG_DATA_AMF0, &w);
}
