/*
 * The fan-out floor: a deliberately minimal RTMP server, run as
 *
 *   sluice-bench --floor-server -l 127.0.0.1:PORT [-m MERGE_MS]
 *
 * It does only what the bench's own publisher and players need (plain
 * handshake, connect, createStream, publish or play) and fans the one
 * stream out with the least work a server can do: every message is
 * chunk-encoded once into a shared ring, every player is an index into
 * that ring, and every merge window each player gets one writev of all
 * it has not received yet.  Its CPU for a given traffic shape is what the
 * kernel costs, the floor a real server's CPU is compared with.  See
 * docs/performance.md.
 */
#ifndef SL_BENCH_FLOOR_H
#define SL_BENCH_FLOOR_H

/* argv[0] is "--floor-server"; the options follow.  Runs until SIGINT
 * or SIGTERM; returns the process exit status. */
int sl_floor_main(int argc, char **argv);

#endif
