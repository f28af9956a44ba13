#!/usr/bin/env python3
"""Drives headless Chromium through the DevTools protocol, for the player
suite (tests/integration/test_player.c).  Python's standard library only.

    cdp.py --profile DIR [--chromium PATH] [--timeout S] STEP...

Starts Chromium with --remote-debugging-port=0 and a new, empty profile
DIR (its DevToolsActivePort file gives the port), opens one tab over the
browser's WebSocket and runs the steps in order:

    open URL           navigate the tab to URL
    wait EXPR S        evaluate EXPR in the page until it is truthy, for at
                       most S seconds (a failed wait ends the run)
    eval EXPR          evaluate EXPR once
    throttle EXPR      limit downloads to EXPR kbit/s, EXPR evaluated in
                       the page (a number, or from the player's state);
                       0: no limit
    sleep S            pause

Each step prints one JSON line on stdout: {"step", "arg", "ok", "t"
(seconds since the browser started), "value" (what EXPR gave, for wait
and eval)}; the last line is {"done": true} or {"done": false, "why"}.
The exit status is 0 when every step succeeded.

Every wait is bounded, and the whole run by --timeout: past it the
helper kills the browser and exits 3.  The browser runs in a process
group of its own that the helper kills (SIGKILL, by its id) when it
ends, and it gets SIGKILL from the kernel if the helper itself dies.
"""

import argparse
import base64
import ctypes
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
    "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--autoplay-policy=no-user-gesture-required",
    "--mute-audio", "--remote-debugging-port=0", "--window-size=1280,800",
    "--log-level=3",  # Chromium's own noise (no D-Bus here); the page's
                      # console comes through the protocol instead
]
STEPS = {"open": 1, "wait": 2, "eval": 1, "throttle": 1, "sleep": 1}


class Failed(Exception):
    pass


def out(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


# ---- a minimal WebSocket client (RFC 6455): text frames, masked ----

class WebSocket:
    def __init__(self, port, path, timeout):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise Failed("the browser closed the WebSocket handshake")
            head += chunk
        head, self.buf = head.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise Failed("WebSocket refused: " + head.decode(errors="replace"))

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise Failed("the browser closed the WebSocket")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def send(self, text, opcode=1):
        data = text.encode() if isinstance(text, str) else text
        head = bytes([0x80 | opcode])
        n = len(data)
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        self.sock.sendall(head + mask + body)

    def recv(self):
        """One whole text message (fragments joined; pings answered)."""
        msg = b""
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            mask = self._read(4) if b1 & 0x80 else None
            data = self._read(n)
            if mask:
                data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
            op = b0 & 0x0F
            if op == 8:
                raise Failed("the browser closed the WebSocket")
            if op == 9:
                self.send(data, opcode=10)
                continue
            if op in (0, 1, 2):
                msg += data
                if b0 & 0x80:
                    return msg.decode()


# ---- the DevTools protocol ----

class Cdp:
    def __init__(self, ws, log):
        self.ws = ws
        self.log = log
        self.next_id = 0
        self.session = None

    def event(self, ev, t0):
        """The page's console and uncaught exceptions, into the log."""
        p = ev.get("params", {})
        if ev.get("method") == "Runtime.consoleAPICalled":
            text = " ".join(str(a.get("value", a.get("description", "")))
                            for a in p.get("args", []))
            line = f"console.{p.get('type')}: {text}"
        elif ev.get("method") == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            line = "exception: " + d.get("exception", {}).get(
                "description", d.get("text", ""))
        elif ev.get("method") == "Log.entryAdded":
            e = p.get("entry", {})
            line = f"log.{e.get('level')}: {e.get('text')} {e.get('url', '')}"
        else:
            return
        self.log.write(f"[page {time.monotonic() - t0:7.2f}] {line}\n"
                       .encode(errors="replace"))
        self.log.flush()

    def call(self, method, params=None, deadline=None, browser=False):
        self.next_id += 1
        mid = self.next_id
        req = {"id": mid, "method": method, "params": params or {}}
        if self.session and not browser:
            req["sessionId"] = self.session
        self.ws.send(json.dumps(req))
        while True:
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Failed(f"{method}: no answer in time")
                self.ws.sock.settimeout(left)
            try:
                reply = json.loads(self.ws.recv())
            except socket.timeout:
                raise Failed(f"{method}: no answer in time")
            if reply.get("id") == mid:
                if "error" in reply:
                    raise Failed(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self.event(reply, self.t0)

    def evaluate(self, expr, deadline):
        r = self.call("Runtime.evaluate", {
            "expression": expr, "returnByValue": True, "awaitPromise": True,
            "timeout": 5000}, deadline)
        if "exceptionDetails" in r:
            return None, r["exceptionDetails"].get("text", "exception")
        return r.get("result", {}).get("value"), None


def kill_group(proc):
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def die_with_parent():
    """In the child before exec: SIGKILL when the helper dies."""
    os.setsid()
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def launch(chromium, profile, log, deadline):
    os.makedirs(profile, exist_ok=True)
    portfile = os.path.join(profile, "DevToolsActivePort")
    proc = subprocess.Popen(
        [chromium] + FLAGS + [f"--user-data-dir={profile}", "about:blank"],
        stdin=subprocess.DEVNULL, stdout=log, stderr=log,
        preexec_fn=die_with_parent)
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise Failed(f"chromium exited with {proc.returncode}")
        try:
            with open(portfile) as f:
                lines = f.read().split("\n")
            if len(lines) >= 2 and lines[0].strip() and lines[1].strip():
                return proc, int(lines[0]), lines[1].strip()
        except FileNotFoundError:
            pass
        time.sleep(0.1)
    raise Failed("chromium wrote no DevToolsActivePort in time")


def parse_steps(args):
    steps, i = [], 0
    while i < len(args):
        name = args[i]
        if name not in STEPS or i + STEPS[name] >= len(args):
            sys.exit(f"cdp.py: bad step at {' '.join(args[i:i + 3])}")
        steps.append((name, args[i + 1:i + 1 + STEPS[name]]))
        i += 1 + STEPS[name]
    return steps


def run(cdp, steps, t0, end):
    for name, arg in steps:
        rec = {"step": name, "arg": arg[0], "ok": True}
        if name == "open":
            cdp.call("Page.navigate", {"url": arg[0]}, end)
        elif name == "wait":
            limit = min(end, time.monotonic() + float(arg[1]))
            while True:
                value, err = cdp.evaluate(f"!!({arg[0]})", end)
                if value and not err:
                    break
                if time.monotonic() >= limit:
                    rec["ok"] = False
                    rec["error"] = err
                    break
                time.sleep(0.25)
            rec["value"] = value
        elif name == "eval":
            rec["value"], err = cdp.evaluate(arg[0], end)
            if err:
                rec["ok"], rec["error"] = False, err
        elif name == "throttle":
            value, err = cdp.evaluate(arg[0], end)
            if err or not isinstance(value, (int, float)):
                raise Failed(f"throttle {arg[0]}: {err or value}")
            kbps = rec["value"] = float(value)
            cdp.call("Network.emulateNetworkConditions", {
                "offline": False, "latency": 0,
                "downloadThroughput": kbps * 1000 / 8 if kbps > 0 else -1,
                "uploadThroughput": -1}, end)
        elif name == "sleep":
            time.sleep(min(float(arg[0]), max(0, end - time.monotonic())))
        rec["t"] = round(time.monotonic() - t0, 2)
        out(rec)
        if not rec["ok"]:
            raise Failed(f"{name} {arg[0]} did not succeed")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--chromium", default="chromium")
    ap.add_argument("--profile", required=True)
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--log", default=os.devnull)
    ap.add_argument("steps", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    steps = parse_steps(a.steps)
    t0 = time.monotonic()
    end = t0 + a.timeout
    proc = None
    ok = False

    def on_alarm(sig, frame):
        raise Failed(f"the run took longer than {a.timeout:.0f} s")

    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, on_alarm)
    signal.alarm(int(a.timeout) + 5)
    try:
        with open(a.log, "ab") as log:
            proc, port, path = launch(a.chromium, a.profile, log, end)
            cdp = Cdp(WebSocket(port, path, 10), log)
            cdp.t0 = t0
            target = cdp.call("Target.createTarget", {"url": "about:blank"},
                              end)["targetId"]
            cdp.session = cdp.call("Target.attachToTarget", {
                "targetId": target, "flatten": True}, end)["sessionId"]
            for domain in ("Page", "Runtime", "Network", "Log"):
                cdp.call(domain + ".enable", {}, end)
            run(cdp, steps, t0, end)
            ok = True
            out({"done": True})
    except (Failed, OSError, ValueError, KeyError) as e:
        out({"done": False, "why": str(e)})
    finally:
        signal.alarm(0)
        kill_group(proc)
    return 0 if ok else 3


if __name__ == "__main__":
    sys.exit(main())
