/*
 * sendpath: what one way of sending an HLS part costs the sender, the
 * question behind hls/segfile.c.  CONNS TCP connections over loopback
 * (viewers); a reader thread drains them all; the main thread sends
 * COUNT answers round the connections, each a 300-byte head and one of
 * 20 parts of SIZE bytes (a window's worth, every viewer fetching the
 * same part in turn), held in a memory file (memfd) and mapped, as
 * Sluice holds them, by one of:
 *   writev    head and part in one writev (the copy Sluice made before)
 *   sendfile  head with send(MSG_MORE), then sendfile from the memfd
 *   splice    head and part vmspliced into a pipe, spliced to the socket
 * and prints the sending thread's user and system CPU per answer (the
 * sender on CPU 0, the reader on CPU 1).
 *
 *   build/sendpath [SIZE [COUNT [CONNS]]]   all three, in turn, twice
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <fcntl.h>
#include <sched.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static void
die(const char *what)
{
    perror(what);
    exit(1);
}

/* The calling thread on CPU cpu, when the machine has it. */
static void
pin(int cpu)
{
    cpu_set_t set;

    if (cpu >= sysconf(_SC_NPROCESSORS_ONLN))
        return;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

#define NPARTS 20

static int conns = 100;

/* Reads every connection in the epoll set *arg until all are closed. */
static void *
drain(void *arg)
{
    static char        buf[1 << 18];
    int                ep = *(int *) arg, open = conns;
    struct epoll_event ev[64];

    pin(1); /* the reader apart from the sender, as in bench/hls.sh */
    while (open > 0) {
        int n = epoll_wait(ep, ev, 64, 1000);

        for (int i = 0; i < n; i++) {
            ssize_t k;

            while ((k = read(ev[i].data.fd, buf, sizeof(buf))) > 0) {
            }
            if (k == 0) {
                epoll_ctl(ep, EPOLL_CTL_DEL, ev[i].data.fd, NULL);
                close(ev[i].data.fd);
                open--;
            }
        }
    }
    return NULL;
}

/* A connected pair over loopback: *tx the sender's end. */
static void
connect_pair(int *tx, int *rx)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t          len = sizeof(a);
    int                l = socket(AF_INET, SOCK_STREAM, 0), one = 1;

    if (l < 0 || bind(l, (struct sockaddr *) &a, sizeof(a)) < 0 ||
        listen(l, 1) < 0 || getsockname(l, (struct sockaddr *) &a, &len) < 0)
        die("listen");
    *tx = socket(AF_INET, SOCK_STREAM, 0);
    if (*tx < 0 || connect(*tx, (struct sockaddr *) &a, sizeof(a)) < 0)
        die("connect");
    *rx = accept(l, NULL, NULL);
    if (*rx < 0)
        die("accept");
    setsockopt(*tx, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    close(l);
}

static double
tv_s(struct timeval t)
{
    return (double) t.tv_sec + (double) t.tv_usec / 1e6;
}

static void
all_out(ssize_t n, size_t want, const char *what)
{
    if (n < 0 || (size_t) n != want)
        die(what);
}

/* Sends one answer (head, then part: the bytes at foff in memfd, mapped
 * at map) on tx as mode says; pfd is the splice mode's pipe. */
static void
answer(const char *mode, int tx, int memfd, const uint8_t *map, off_t foff,
       size_t size, const int *pfd)
{
    static char  head[300];
    struct iovec iov[2] = {{head, sizeof(head)}, {(void *) map, size}};
    size_t       left = sizeof(head) + size;

    if (!strcmp(mode, "sendfile")) {
        off_t off = foff;

        all_out(send(tx, head, sizeof(head), MSG_MORE), sizeof(head), "send");
        while ((size_t) (off - foff) < size)
            if (sendfile(tx, memfd, &off, size - (size_t) (off - foff)) <= 0)
                die("sendfile");
        return;
    }
    while (left > 0) {
        ssize_t n;

        if (!strcmp(mode, "writev")) {
            n = writev(tx, iov, 2);
            if (n <= 0)
                die("writev");
        } else {
            ssize_t out = 0;

            n = vmsplice(pfd[1], iov, 2, 0);
            if (n <= 0)
                die("vmsplice");
            while (out < n) {
                ssize_t k = splice(pfd[0], NULL, tx, NULL, (size_t) (n - out),
                                   SPLICE_F_MORE);
                if (k <= 0)
                    die("splice");
                out += k;
            }
        }
        left -= (size_t) n;
        /* Blocking socket: a short write leaves the rest. */
        for (int k = 0; k < 2 && n > 0; k++) {
            size_t t =
                (size_t) n < iov[k].iov_len ? (size_t) n : iov[k].iov_len;
            iov[k].iov_base = (char *) iov[k].iov_base + t;
            iov[k].iov_len -= t;
            n -= (ssize_t) t;
        }
    }
}

static void
run(const char *mode, int memfd, uint8_t *const *map, const off_t *foff,
    size_t size, int count)
{
    int          *tx = calloc((size_t) conns, sizeof(int));
    int           ep = epoll_create1(0), pfd[2] = {-1, -1};
    pthread_t     th;
    struct rusage r0, r1;

    if (tx == NULL || ep < 0)
        die("setup");
    for (int c = 0; c < conns; c++) {
        int                rx;
        struct epoll_event ev = {.events = EPOLLIN};

        connect_pair(&tx[c], &rx);
        fcntl(rx, F_SETFL, O_NONBLOCK);
        ev.data.fd = rx;
        epoll_ctl(ep, EPOLL_CTL_ADD, rx, &ev);
    }
    pthread_create(&th, NULL, drain, &ep);
    if (!strcmp(mode, "splice")) {
        if (pipe(pfd) < 0)
            die("pipe");
        fcntl(pfd[1], F_SETPIPE_SZ, 1 << 20);
    }
    getrusage(RUSAGE_THREAD, &r0);
    for (int i = 0; i < count; i++) {
        int p = (i / conns) % NPARTS;

        answer(mode, tx[i % conns], memfd, map[p], foff[p], size, pfd);
    }
    getrusage(RUSAGE_THREAD, &r1);
    for (int c = 0; c < conns; c++)
        close(tx[c]);
    pthread_join(th, NULL);
    close(ep);
    free(tx);
    if (pfd[0] >= 0) {
        close(pfd[0]);
        close(pfd[1]);
    }
    printf("%-9s %7d %5d %9.1f %10.2f %10.2f %10.2f\n", mode, count, conns,
           (double) count * (double) (size + 300) / 1e6,
           (tv_s(r1.ru_utime) - tv_s(r0.ru_utime)) * 1e6 / count,
           (tv_s(r1.ru_stime) - tv_s(r0.ru_stime)) * 1e6 / count,
           (tv_s(r1.ru_utime) - tv_s(r0.ru_utime) + tv_s(r1.ru_stime) -
            tv_s(r0.ru_stime)) *
               1e6 / count);
}

int
main(int argc, char **argv)
{
    size_t      size = argc > 1 ? strtoul(argv[1], NULL, 10) : 160000;
    int         count = argc > 2 ? atoi(argv[2]) : 20000;
    int         memfd = memfd_create("sendpath", MFD_CLOEXEC);
    long        page = sysconf(_SC_PAGESIZE);
    size_t      stride = (size + (size_t) page - 1) & ~((size_t) page - 1);
    uint8_t    *bytes, *map[NPARTS];
    off_t       foff[NPARTS];
    const char *modes[] = {"writev", "sendfile", "splice"};

    conns = argc > 3 ? atoi(argv[3]) : 100;
    if (memfd < 0 || size == 0 || count <= 0 || conns <= 0)
        die("memfd_create");
    pin(0);
    bytes = malloc(size);
    if (bytes == NULL)
        die("malloc");
    for (int p = 0; p < NPARTS; p++) {
        for (size_t i = 0; i < size; i++)
            bytes[i] = (uint8_t) (i * 31 + (size_t) p);
        foff[p] = (off_t) (stride * (size_t) p);
        if (pwrite(memfd, bytes, size, foff[p]) != (ssize_t) size)
            die("pwrite");
        map[p] = mmap(NULL, size, PROT_READ, MAP_SHARED, memfd, foff[p]);
        if (map[p] == MAP_FAILED)
            die("mmap");
    }
    free(bytes);
    printf("%zu-byte parts (%d of them), a 300-byte head each, over "
           "loopback TCP; the sending thread's CPU per answer\n",
           size, NPARTS);
    printf("%-9s %7s %5s %9s %10s %10s %10s\n", "mode", "answers", "conns",
           "MB", "user us", "sys us", "cpu us");
    for (int round = 0; round < 2; round++)
        for (int m = 0; m < 3; m++)
            run(modes[m], memfd, map, foff, size, count);
    return 0;
}
