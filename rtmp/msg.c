#include "rtmp/msg.h"

#include "rtmp/amf.h"

void
sl_rtmp_msg_connect_result(struct sl_wr *w, double tid,
                           double object_encoding)
{
    sl_amf_put_string(w, "_result");
    sl_amf_put_number(w, tid);
    sl_amf_put_object_start(w);
    sl_amf_put_key(w, "fmsVer");
    sl_amf_put_string(w, "FMS/3,0,1,123");
    sl_amf_put_key(w, "capabilities");
    sl_amf_put_number(w, 31);
    sl_amf_put_key(w, "mode");
    sl_amf_put_number(w, 1);
    sl_amf_put_object_end(w);
    sl_amf_put_object_start(w);
    sl_amf_put_key(w, "level");
    sl_amf_put_string(w, "status");
    sl_amf_put_key(w, "code");
    sl_amf_put_string(w, "NetConnection.Connect.Success");
    sl_amf_put_key(w, "description");
    sl_amf_put_string(w, "Connection succeeded.");
    sl_amf_put_key(w, "objectEncoding");
    sl_amf_put_number(w, object_encoding);
    sl_amf_put_key(w, "data");
    sl_amf_put_ecma_start(w, 1);
    sl_amf_put_key(w, "version");
    sl_amf_put_string(w, "Sluice/" SL_VERSION);
    sl_amf_put_object_end(w);
    sl_amf_put_object_end(w);
}

void
sl_rtmp_msg_status(struct sl_wr *w, const char *level, const char *code,
                   const char *desc, const char *details, double clientid)
{
    sl_amf_put_string(w, "onStatus");
    sl_amf_put_number(w, 0);
    sl_amf_put_null(w);
    sl_amf_put_object_start(w);
    sl_amf_put_key(w, "level");
    sl_amf_put_string(w, level);
    sl_amf_put_key(w, "code");
    sl_amf_put_string(w, code);
    sl_amf_put_key(w, "description");
    sl_amf_put_string(w, desc);
    if (details != NULL && details[0] != '\0') {
        sl_amf_put_key(w, "details");
        sl_amf_put_string(w, details);
    }
    sl_amf_put_key(w, "clientid");
    sl_amf_put_number(w, clientid);
    sl_amf_put_object_end(w);
}

void
sl_rtmp_msg_connect(struct sl_wr *w, double tid, const char *app,
                    const char *tc_url)
{
    sl_amf_put_string(w, "connect");
    sl_amf_put_number(w, tid);
    sl_amf_put_object_start(w);
    sl_amf_put_key(w, "app");
    sl_amf_put_string(w, app);
    sl_amf_put_key(w, "flashVer");
    sl_amf_put_string(w, "LNX 9,0,124,2");
    sl_amf_put_key(w, "tcUrl");
    sl_amf_put_string(w, tc_url);
    sl_amf_put_key(w, "fpad");
    sl_amf_put_bool(w, 0);
    sl_amf_put_key(w, "capabilities");
    sl_amf_put_number(w, 15);
    sl_amf_put_key(w, "audioCodecs");
    sl_amf_put_number(w, 4071);
    sl_amf_put_key(w, "videoCodecs");
    sl_amf_put_number(w, 252);
    sl_amf_put_key(w, "videoFunction");
    sl_amf_put_number(w, 1);
    sl_amf_put_object_end(w);
}

void
sl_rtmp_msg_create_stream(struct sl_wr *w, double tid)
{
    sl_amf_put_string(w, "createStream");
    sl_amf_put_number(w, tid);
    sl_amf_put_null(w);
}

void
sl_rtmp_msg_publish(struct sl_wr *w, const char *name)
{
    sl_amf_put_string(w, "publish");
    sl_amf_put_number(w, 0);
    sl_amf_put_null(w);
    sl_amf_put_string(w, name);
    sl_amf_put_string(w, "live");
}

void
sl_rtmp_msg_play(struct sl_wr *w, const char *name, double start)
{
    sl_amf_put_string(w, "play");
    sl_amf_put_number(w, 0);
    sl_amf_put_null(w);
    sl_amf_put_string(w, name);
    sl_amf_put_number(w, start);
}
