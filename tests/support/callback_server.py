#!/usr/bin/env python3
"""An HTTP callback backend for Sluice's tests (server/callback.h).

    python3 callback_server.py --port-file F --log F2

Binds 127.0.0.1 on an ephemeral port (port 0), writes the port number to F
(written to F.tmp, then renamed, so a reader never sees half of it) and
serves until SIGTERM or SIGINT, on which it exits with status 0.  Requests
are served in threads, so a slow one holds up nobody.

For every request it appends one JSON line to F2, flushed before the
response goes out:
    {"method": "POST", "path": "/allow?x=1",
     "headers": {"content-type": ..., "user-agent": ..., "content-length":
                 ..., "expect": ..., "transfer-encoding": ...},
     "body": <the JSON body parsed, or null>, "raw": <body text when it is
     not JSON, else null>}

The answer depends on the path (any method):
    /allow               200
    /deny                403
    /status?code=N       status N, no Location (e.g. 302 without one, 500)
    /redirect?to=NAME    302 with "Location: NAME" (&repeat=N: NAME N times)
    /slow?s=S            sleeps S seconds (default 10), then 200: timeouts
    /big?kib=N           200 with an N KiB body (default 1024)
    /rules?to=NAME       the stream name in the JSON body decides: names
                         starting "ok" 200, "bad" 403, "moved" 302 to
                         NAME (default "elsewhere"); anything else 404;
                         on_connect and the *_done notifications 200
    anything else        404
"""

import argparse
import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

HEADERS = ("content-type", "user-agent", "content-length", "expect",
           "transfer-encoding")
MAX_BODY = 1 << 20

log_lock = threading.Lock()
log_file = None


class Handler(BaseHTTPRequestHandler):
    # Answers close the connection: one request per connection keeps the
    # log order simple and tests nothing about keep-alive.
    protocol_version = "HTTP/1.0"

    def log_message(self, fmt, *args):
        pass  # the JSON log is the record

    def _read_body(self):
        try:
            n = int(self.headers.get("content-length") or 0)
        except ValueError:
            n = 0
        return self.rfile.read(min(max(n, 0), MAX_BODY)) if n > 0 else b""

    def _log(self, raw):
        try:
            body = json.loads(raw) if raw else None
            text = None
        except ValueError:
            body = None
            text = raw.decode("utf-8", "replace")
        entry = {
            "method": self.command,
            "path": self.path,
            "headers": {h: self.headers.get(h) for h in HEADERS},
            "body": body,
            "raw": text,
        }
        with log_lock:
            log_file.write(json.dumps(entry) + "\n")
            log_file.flush()
        return body

    def _answer(self, code, location=None, body=b""):
        self.send_response(code)
        if location is not None:
            self.send_header("Location", location)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client stopped reading, as it may

    def _handle(self):
        body = self._log(self._read_body())
        url = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        path = url.path
        if path == "/allow":
            self._answer(200, body=b"ok\n")
        elif path == "/deny":
            self._answer(403, body=b"no\n")
        elif path == "/status":
            self._answer(int(q.get("code", "500")))
        elif path == "/redirect":
            self._answer(302, location=q.get("to", "") *
                         int(q.get("repeat", "1")))
        elif path == "/slow":
            time.sleep(float(q.get("s", "10")))
            self._answer(200)
        elif path == "/big":
            self._answer(200, body=b"x" * (1024 * int(q.get("kib", "1024"))))
        elif path == "/rules":
            self._rules(body if isinstance(body, dict) else {}, q)
        else:
            self._answer(404)

    def _rules(self, body, q):
        action = body.get("action", "")
        name = body.get("name", "")
        if action not in ("on_publish", "on_play"):
            self._answer(200)
        elif name.startswith("ok"):
            self._answer(200)
        elif name.startswith("bad"):
            self._answer(403)
        elif name.startswith("moved"):
            self._answer(302, location=q.get("to", "elsewhere"))
        else:
            self._answer(404)

    do_POST = _handle
    do_GET = _handle
    do_PUT = _handle


class Server(ThreadingHTTPServer):
    daemon_threads = True  # a sleeping /slow must not delay the exit
    request_queue_size = 512  # tests open hundreds of connections at once


def main():
    global log_file
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    args = ap.parse_args()

    log_file = open(args.log, "a", encoding="utf-8")
    srv = Server(("127.0.0.1", 0), Handler)
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    # serve_forever on a thread of its own: shutdown() must not be called
    # from the thread that serves, and the main thread waits for signals.
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval":
                                                           0.1})
    t.start()
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, args.port_file)
    while not stop.wait(0.5):
        pass
    srv.shutdown()
    t.join()
    srv.server_close()
    log_file.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
