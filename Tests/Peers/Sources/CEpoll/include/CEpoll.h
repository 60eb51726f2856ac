// epoll for the load client (Glibc's Swift module does not include <sys/epoll.h>).
#include <sys/epoll.h>

static inline int cepoll_ctl(int ep, int op, int fd, unsigned events) {
    struct epoll_event event;
    event.events = events;
    event.data.fd = fd;
    return epoll_ctl(ep, op, fd, &event);
}

static inline int cepoll_fd(const struct epoll_event *events, int index) { return events[index].data.fd; }

static inline unsigned cepoll_flags(const struct epoll_event *events, int index) { return events[index].events; }
