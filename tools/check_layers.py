#!/usr/bin/env python3
"""Checks who may include whom, and that nothing calls in a circle.

    python3 tools/check_layers.py OBJDIR

The layers (docs/architecture.md, "Who may include whom"):
    pool    <- rtmp <- server <- media <- transcode, relay, record, hls
                    <- web (its parsers beside rtmp/, its protocol
                            beside the sessions)
                    <- srt (its stream id parser beside rtmp/, its
                            port and connections beside the sessions,
                            on media/ too)
pool/ includes only pool/; rtmp/ only rtmp/ and pool/buf.h; web/'s
parsers (request, response) only web/, rtmp/ and pool/ (pure, like
rtmp/), the rest of web/ (the HTTP protocol a session speaks) server/
too but no stage other than hls/'s interface; server/ never includes web/ but for main.c, which
wires the protocol to the web port; media/ no server/ nor a stage; the
stages (transcode/, relay/, record/, hls/) include from server/ only the
hub, the config and the log, and never each other; srt/ (the SRT port:
its connections are sessions of the pool, with roles, verdicts and API
facts like an RTMP session's) may include server/ and media/ but no
stage, and server/ never includes it but for main.c, which wires it;
srt/streamid.c (the stream id parser, pure like rtmp/) includes only
srt/ and rtmp/rtmp.h; in server/ only main.c and stage_stats.c (main's
wiring) include the stages, and the hub's files never include the
config.

Then two graphs must have no circle: the project's headers including
each other, and the calls between the server's object files in OBJDIR
(a symbol one file defines and another uses, from nm), which is where
a knot such as session -> commands -> authorization -> session would
show.  Prints one line per problem and exits 1 when there is any.
"""

import glob
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
STAGES = ("transcode", "relay", "record", "hls")
# srt/ sits beside the sessions (on server/ and media/); its stream id
# parser is pure (SRT_PARSERS).
FRONTS = ("srt",)
STAGE_MAY_USE = {"server/hub.h", "server/config.h", "server/log.h"}
WIRING = {"server/main.c", "server/stage_stats.c"}
WEB_PARSERS = ("web/request.", "web/response.")
# web/ serves what the HLS packager holds (DESIGN.md: web asks hls).
WEB_MAY_USE = {"hls/hls.h", "hls/playlist.h"}
SRT_PARSERS = ("srt/streamid.",)


def sources():
    for d in ("pool", "rtmp", "web", "server", "media") + STAGES + FRONTS:
        for p in sorted(glob.glob(os.path.join(ROOT, d, "*.[ch]"))):
            yield os.path.relpath(p, ROOT)


def includes(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return [i for i in INCLUDE.findall(f.read()) if "/" in i]


def folder(path):
    return path.split("/", 1)[0]


def include_problems(path, incs):
    top = folder(path)
    for inc in incs:
        dep = folder(inc)
        if top == "pool" and dep != "pool":
            yield f"{path}: pool/ includes {inc}"
        elif top == "rtmp" and dep != "rtmp" and inc != "pool/buf.h":
            yield f"{path}: rtmp/ includes {inc} (only rtmp/ and pool/buf.h)"
        elif (path.startswith(WEB_PARSERS) and
              dep not in ("web", "rtmp", "pool")):
            yield f"{path}: web/'s parsers include {inc} (only web/, rtmp/, pool/)"
        elif (path.startswith(SRT_PARSERS) and dep != "srt" and
              inc != "rtmp/rtmp.h"):
            yield f"{path}: srt/'s parser includes {inc} (only srt/, rtmp/rtmp.h)"
        elif top == "web" and dep in STAGES and inc not in WEB_MAY_USE:
            yield f"{path}: web/ includes the stage {inc}"
        elif top in FRONTS and dep in STAGES + ("web",):
            yield f"{path}: {top}/ includes {inc} (no stage, no web/)"
        elif top == "server" and dep in FRONTS and path != "server/main.c":
            yield f"{path}: includes {inc} (only main wires the SRT port)"
        elif top == "server" and dep == "web" and path != "server/main.c":
            yield f"{path}: includes {inc} (only main wires the web port)"
        elif top == "media" and dep in ("server",) + STAGES + FRONTS:
            yield f"{path}: media/ includes {inc}"
        elif top in STAGES and dep == "server" and inc not in STAGE_MAY_USE:
            yield f"{path}: a stage includes {inc} (only the hub, config, log)"
        elif top in STAGES and dep in STAGES and dep != top:
            yield f"{path}: {top}/ includes {inc}: stages never include each other"
        elif top == "server" and dep in STAGES and path not in WIRING:
            yield f"{path}: includes the stage {inc} (only main's wiring may)"
        elif (path.startswith("server/hub") and inc == "server/config.h"):
            yield f"{path}: the hub includes the config"


def cycles(graph):
    """Strongly connected components with more than one node."""
    index, low, stack, on, out, n = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def call_graph(objdir):
    objs = sorted(glob.glob(os.path.join(objdir, "server", "*.o")))
    # Only objects of sources that exist: a build folder may keep the
    # objects of files since moved or removed.
    objs = [o for o in objs if not o.endswith("/main.o") and os.path.exists(
        os.path.join(ROOT, "server", os.path.basename(o)[:-2] + ".c"))]
    defs, uses = {}, {}
    for o in objs:
        text = subprocess.run(["nm", o], capture_output=True, text=True,
                              check=True).stdout
        uses[o] = set()
        for line in text.splitlines():
            f = line.split()
            if len(f) == 3 and f[1] in "TDBR":
                defs[f[2]] = o
            elif len(f) == 2 and f[0] == "U":
                uses[o].add(f[1])
    name = lambda o: "server/" + os.path.basename(o)[:-2] + ".c"
    return {name(o): {name(defs[s]) for s in uses[o]
                      if s in defs and defs[s] != o} for o in objs}, len(objs)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    problems, graph = [], {}
    for path in sources():
        incs = includes(path)
        problems += include_problems(path, incs)
        if path.endswith(".h"):
            graph[path] = {i for i in incs if os.path.exists(os.path.join(ROOT, i))}
    for c in cycles(graph):
        problems.append("headers include each other: " + " -> ".join(c))
    calls, nobj = call_graph(sys.argv[1])
    if nobj == 0:
        problems.append(f"no server objects in {sys.argv[1]}: build first")
    for c in cycles(calls):
        problems.append("server files call each other in a circle: " +
                        ", ".join(c))
    for p in problems:
        print("layers:", p)
    if not problems:
        print(f"layers: ok ({len(graph)} headers, {nobj} server objects)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
