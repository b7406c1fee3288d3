#define _GNU_SOURCE
#include <stddef.h>
#include <fcntl.h>
#include <sched.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "steward_shims.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif
const int STEWARD_SO_PEERCRED = SO_PEERCRED;
const int STEWARD_SO_PEERGROUPS = SO_PEERGROUPS;
const int STEWARD_SO_PEERPIDFD = SO_PEERPIDFD;

const int STEWARD_EPOLL_CTL_ADD = EPOLL_CTL_ADD;
const int STEWARD_EPOLL_CTL_DEL = EPOLL_CTL_DEL;
const int STEWARD_EPOLL_CTL_MOD = EPOLL_CTL_MOD;
const uint32_t STEWARD_EPOLLIN = EPOLLIN;
const uint32_t STEWARD_EPOLLOUT = EPOLLOUT;
const uint32_t STEWARD_EPOLLERR = EPOLLERR;
const uint32_t STEWARD_EPOLLHUP = EPOLLHUP;
const uint32_t STEWARD_EPOLLEXCLUSIVE = EPOLLEXCLUSIVE;

int steward_accept(int fd) {
    return accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
}

int steward_epoll_create(void) {
    return epoll_create1(EPOLL_CLOEXEC);
}

int steward_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data) {
    struct epoll_event ev = { .events = events, .data = { .u64 = data } };
    return epoll_ctl(epfd, op, fd, &ev);
}

int steward_epoll_wait(int epfd, uint32_t *events, uint64_t *datas, int max, int timeout_ms) {
    struct epoll_event ready[64];
    if (max > 64) max = 64;
    int n = epoll_wait(epfd, ready, max, timeout_ms);
    for (int i = 0; i < n; i++) {
        events[i] = ready[i].events;
        datas[i] = ready[i].data.u64;
    }
    return n;
}

int steward_eventfd(void) {
    return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

int steward_cpu_count(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) != 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        return n > 0 ? (int)n : 1;
    }
    int n = CPU_COUNT(&set);
    return n > 0 ? n : 1;
}

_Static_assert(STEWARD_EPOLL_CTL_ADD == EPOLL_CTL_ADD && STEWARD_EPOLL_CTL_DEL == EPOLL_CTL_DEL
               && STEWARD_EPOLL_CTL_MOD == EPOLL_CTL_MOD, "epoll_ctl ops");
_Static_assert(STEWARD_EPOLLIN == EPOLLIN && STEWARD_EPOLLOUT == EPOLLOUT && STEWARD_EPOLLERR == EPOLLERR
               && STEWARD_EPOLLHUP == EPOLLHUP && STEWARD_EPOLLEXCLUSIVE == EPOLLEXCLUSIVE, "epoll events");
_Static_assert(STEWARD_SO_PEERCRED == SO_PEERCRED && STEWARD_SO_PEERGROUPS == SO_PEERGROUPS, "socket options");

int steward_rename_noreplace(int dirfd, const char *from, const char *to) {
    return renameat2(dirfd, from, dirfd, to, RENAME_NOREPLACE);
}

static const unsigned char base32_values[256] = {
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0x12, 0xFF, 0x19, 0x1A, 0x1B, 0x1E, 0x1D, 0x07, 0x1F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0x18, 0x01, 0x0C, 0x03, 0x08, 0x05, 0x06, 0x1C, 0x15, 0x09, 0x0A, 0xFF, 0x0B, 0x02, 0x10,
    0x0D, 0x0E, 0x04, 0x16, 0x11, 0x13, 0xFF, 0x14, 0x0F, 0x00, 0x17, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
};
const unsigned char *const steward_base32_values = base32_values;

void steward_name_thread(const char *name) {
    char cut[16];
    strncpy(cut, name, sizeof cut - 1);
    cut[sizeof cut - 1] = 0;
    pthread_setname_np(pthread_self(), cut);
}

int steward_send_datagrams(int fd, const char *path, const unsigned char *base, const size_t *lengths, unsigned count) {
    struct sockaddr_un address = { .sun_family = AF_UNIX };
    strncpy(address.sun_path, path, sizeof(address.sun_path) - 1);
    struct iovec iov[64];
    struct mmsghdr headers[64];
    if (count > 64) count = 64;
    size_t offset = 0;
    for (unsigned i = 0; i < count; i++) {
        iov[i].iov_base = (void *)(base + offset);
        iov[i].iov_len = lengths[i];
        offset += lengths[i];
        memset(&headers[i], 0, sizeof(headers[i]));
        headers[i].msg_hdr.msg_name = &address;
        headers[i].msg_hdr.msg_namelen = sizeof(address);
        headers[i].msg_hdr.msg_iov = &iov[i];
        headers[i].msg_hdr.msg_iovlen = 1;
    }
    return sendmmsg(fd, headers, count, MSG_NOSIGNAL);
}
