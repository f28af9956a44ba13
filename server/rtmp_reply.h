/*
 * What the command state machine (rtmp_cmd.c) says to its peer: each
 * function encodes one message with the connection's chunk size and
 * queues it through the transport.  Replies to stream commands travel on
 * message stream 1, the one createStream always hands out, so the hub's
 * shared media bytes (also on stream 1) fit every player.  The owner's
 * task only.  Each returns 0, or -errno when the message could not be
 * queued (the transport is then closing); most callers ignore it, since
 * a transport that failed has already begun to close.
 */
#ifndef SL_RTMP_REPLY_H
#define SL_RTMP_REPLY_H

#include <stdint.h>

#include "server/rtmp_cmd.h"

#define SL_RTMP_STREAM_ID 1

/* A protocol control message: Set Chunk Size, Window Acknowledgement
 * Size or Acknowledgement (type) with its one value. */
int sl_rtmp_reply_ctrl(struct sl_rtmp_conn *c, uint8_t type, uint32_t value);

/* Set Peer Bandwidth (dynamic limit type 2). */
int sl_rtmp_reply_peer_bw(struct sl_rtmp_conn *c, uint32_t window);

/* A user control event (Stream Begin, Stream EOF, Ping Response). */
int sl_rtmp_reply_user_control(struct sl_rtmp_conn *c, uint16_t event,
                               uint32_t value);

/* onStatus(level, code, description) for the connection's stream. */
int sl_rtmp_reply_status(struct sl_rtmp_conn *c, const char *level,
                         const char *code, const char *desc);

/* _result for transaction tid: null command object, then number v when
 * with_number, else undefined. */
int sl_rtmp_reply_result(struct sl_rtmp_conn *c, double tid, int with_number,
                         double v);

/* connect's _result (NetConnection.Connect.Success). */
int sl_rtmp_reply_connect_ok(struct sl_rtmp_conn *c, double tid);

/* A refused request, with the status its kind uses: connect gets
 * _error NetConnection.Connect.Rejected (with ex.redirect when redirect
 * is not NULL), publish onStatus NetStream.Publish.BadName, play
 * NetStream.Play.Failed (with "redirect").  desc is the description. */
int sl_rtmp_reply_refusal(struct sl_rtmp_conn *c, enum sl_auth_kind kind,
                          double tid, const char *desc, const char *redirect);

/* onFCPublish(NetStream.Publish.Start, name), as encoders that send
 * FCPublish expect. */
int sl_rtmp_reply_fcpublish(struct sl_rtmp_conn *c, const char *name);

/* |RtmpSampleAccess(true, true): a player may read the media. */
int sl_rtmp_reply_sample_access(struct sl_rtmp_conn *c);

#endif
