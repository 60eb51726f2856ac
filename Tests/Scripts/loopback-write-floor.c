// The kernel's own cost of a broadcast over loopback TCP, for comparison with the feed
// server's CPU per delivery (Spec/realtime.md, issue 19): one process holds N accepted
// sockets and writes the same small frame to each, one write(2) per socket per round (the
// least a server that fans out to N TCP connections does), while a child process holds the N
// client sockets and reads them with epoll on another CPU. Prints the writer's CPU time per
// write (loopback charges the receiving socket's TCP processing to the writer as well).
//
//   cc -O2 -o .build/loopback-write-floor Tests/Scripts/loopback-write-floor.c
//   flock /work/coord/heavy.lock .build/loopback-write-floor 19000 10 50 0 1
//   # N ROUNDS BYTES WRITER_CPU READER_CPU [READER_SLEEP_MS: the reader drains every so often]
//
// Needs `ulimit -n` above N (each process holds N sockets).
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void pin(int cpu) {
    if (cpu < 0) return;
    cpu_set_t set; CPU_ZERO(&set); CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof set, &set);
}
static double now(clockid_t c) { struct timespec t; clock_gettime(c, &t); return t.tv_sec + t.tv_nsec / 1e9; }

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 19000, rounds = argc > 2 ? atoi(argv[2]) : 10;
    int bytes = argc > 3 ? atoi(argv[3]) : 50, wcpu = argc > 4 ? atoi(argv[4]) : 0, rcpu = argc > 5 ? atoi(argv[5]) : 1;
    int lazy = argc > 6 ? atoi(argv[6]) : 0;   // ms the reader sleeps between drains (0: epoll waits)
    struct rlimit rl; getrlimit(RLIMIT_NOFILE, &rl); rl.rlim_cur = rl.rlim_max; setrlimit(RLIMIT_NOFILE, &rl);
    int ls = socket(AF_INET, SOCK_STREAM, 0); int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK), .sin_port = 0 };
    if (bind(ls, (void *)&a, sizeof a) || listen(ls, 4096)) { perror("listen"); return 1; }
    socklen_t al = sizeof a; getsockname(ls, (void *)&a, &al);
    pid_t child = fork();
    if (child == 0) {   // the clients
        pin(rcpu);
        int ep = epoll_create1(0);
        for (int i = 0; i < n; i++) {
            int s = socket(AF_INET, SOCK_STREAM, 0);
            if (connect(s, (void *)&a, sizeof a)) { perror("connect"); return 1; }
            setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            struct epoll_event e = { .events = EPOLLIN, .data.fd = s };
            epoll_ctl(ep, EPOLL_CTL_ADD, s, &e);
        }
        long total = 0, want = (long)n * rounds * bytes; char buf[4096]; struct epoll_event ev[256];
        while (total < want) {
            if (lazy) usleep(lazy * 1000);
            int k = epoll_wait(ep, ev, 256, lazy ? 0 : 5000);
            if (k < 0 || (k == 0 && !lazy)) break;
            for (int i = 0; i < k; i++) { ssize_t r = read(ev[i].data.fd, buf, sizeof buf); if (r > 0) total += r; }
        }
        return total == want ? 0 : 2;
    }
    pin(wcpu);
    int *fds = malloc(sizeof(int) * n);
    for (int i = 0; i < n; i++) {
        fds[i] = accept(ls, NULL, NULL);
        if (fds[i] < 0) { perror("accept"); return 1; }
        setsockopt(fds[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    char *frame = calloc(1, bytes); frame[0] = (char)0x81; frame[1] = (char)(bytes - 2);
    usleep(500000);
    double cpu = 0, wall = 0;
    for (int r = 0; r < rounds; r++) {
        double c0 = now(CLOCK_PROCESS_CPUTIME_ID), w0 = now(CLOCK_MONOTONIC);
        for (int i = 0; i < n; i++) if (write(fds[i], frame, bytes) != bytes) { perror("write"); return 1; }
        cpu += now(CLOCK_PROCESS_CPUTIME_ID) - c0; wall += now(CLOCK_MONOTONIC) - w0;
        usleep(1000000 - (int)((now(CLOCK_MONOTONIC) - w0) * 1e6) % 1000000);
    }
    int status = 0; waitpid(child, &status, 0);
    printf("{\"connections\":%d,\"rounds\":%d,\"bytes\":%d,\"readerSleepMs\":%d,\"writerCPUUsPerWrite\":%.2f,\"writerWallUsPerWrite\":%.2f,\"readerOK\":%s}\n",
           n, rounds, bytes, lazy, cpu / rounds / n * 1e6, wall / rounds / n * 1e6, WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "true" : "false");
    return 0;
}
