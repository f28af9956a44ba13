#include "srt/admit.h"

#include <stdio.h>
#include <string.h>

#include <srt/access_control.h>

#include "server/auth.h"
#include "server/config.h"
#include "server/hub.h"

static void
refuse(struct sl_srt_admission *out, int code, const char *why)
{
    out->reject = code;
    snprintf(out->why, sizeof(out->why), "%s", why);
}

void
sl_srt_admit(const char *id, size_t len, const struct sl_config *cfg,
             struct sl_hub *hub, const struct sockaddr_storage *addr,
             time_t now, struct sl_srt_admission *out)
{
    const struct sl_app_config *app;
    struct sl_auth_request      rq;
    struct sl_auth_verdict      v;
    const char                 *why = NULL;
    int                         publish;

    memset(out, 0, sizeof(*out));
    if (sl_srt_streamid_parse(id, len, &out->sid, &why) < 0) {
        /* The parser's reasons name the key at fault: a mode or a type
         * gets the code the access control spec gives it. */
        refuse(out,
               strstr(why, "mode") != NULL   ? SRT_REJX_BAD_MODE
               : strstr(why, "type") != NULL ? SRT_REJX_NOTSUP_MEDIA
                                             : SRT_REJX_BAD_REQUEST,
               why);
        return;
    }
    app = sl_config_app(cfg, out->sid.app);
    if (app == NULL) {
        refuse(out, SRT_REJX_NOTFOUND, "unknown app");
        return;
    }
    publish = out->sid.mode == SL_SRT_PUBLISH;
    rq = (struct sl_auth_request){
        .kind = publish ? SL_AUTH_PUBLISH : SL_AUTH_PLAY,
        .app = app,
        .name = out->sid.name,
        .query = out->sid.query,
        .addr = addr,
        .now = now,
    };
    sl_auth_decide(&rq, &v);
    if (v.outcome == SL_AUTH_REFUSE) {
        refuse(out, SRT_REJX_FORBIDDEN, v.why);
        return;
    }
    out->ask = v.outcome == SL_AUTH_ASK;
    snprintf(out->name, sizeof(out->name), "%s",
             out->ask ? out->sid.name : v.name);
    /* A name that is taken or not live is the hub's answer, known now:
     * said before the handshake rather than by a close after it.  (A
     * callback's redirect may still change the name later.) */
    if (publish && !app->backup_publish &&
        sl_hub_is_live(hub, out->sid.app, out->name))
        refuse(out, SRT_REJX_CONFLICT, "the stream is already being published");
    else if (!publish && !sl_hub_is_live(hub, out->sid.app, out->name))
        refuse(out, SRT_REJX_NOTFOUND, "no live stream by that name");
}
