#ifndef STEWARD_SHIMS_H
#define STEWARD_SHIMS_H
#include <stdint.h>
#include <sys/random.h>

/* Layout of Linux `struct ucred` (SO_PEERCRED). Swift's Glibc module does not expose it
   because it is only declared under _GNU_SOURCE. */
struct steward_ucred {
    int32_t pid;
    uint32_t uid;
    uint32_t gid;
};

/* SO_PEERGROUPS is read into 32 gids first and into this many when the kernel answers ERANGE. A
   peer with more groups is treated as unknown (deny, never guess). */
#define STEWARD_MAX_PEER_GROUPS 256

/* Socket options, taken from the kernel headers in shims.c (this header includes no system socket
   header: Swift's Glibc module owns those declarations). SO_PEERPIDFD is Linux 6.5: older headers
   (Debian 12's linux-libc-dev is 6.1) lack it, and then the kernel's number is used; an older
   kernel answers ENOPROTOOPT and the connection simply has no pidfd. */
extern const int STEWARD_SO_PEERCRED;
extern const int STEWARD_SO_PEERGROUPS;
extern const int STEWARD_SO_PEERPIDFD;

/* Hint the cache to fetch the line at p (for writing when `write` is 1): lets a batch of hash-table
   probes wait on memory together instead of one after another. */
static inline void steward_prefetch(const void *p, int write) {
    if (write) { __builtin_prefetch(p, 1, 0); } else { __builtin_prefetch(p, 0, 0); }
}

/* Mattermost's id alphabet (ybndrfg8ejkmcpqxot1uwisza345h769): character -> 5-bit value, 0xFF for
   any other byte. A C constant, so the integrity scan's per-row decode reads it without Swift's
   lazy-global check (swift_once) on every call. */
extern const unsigned char *const steward_base32_values;

/* accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK): accept4 is a GNU extension Swift's Glibc
   module does not expose. Returns the new fd or -1 with errno set. */
int steward_accept(int fd);

/* Names the calling thread (pthread_setname_np, a GNU extension; the name is cut to the kernel's
   15 bytes). */
void steward_name_thread(const char *name);

/* epoll with the event's data as one 64-bit word: `struct epoll_event` is packed on x86-64, which
   Swift does not import reliably. Each returns what the system call returns (-1 with errno set). */
int steward_epoll_create(void);
int steward_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data);
/* Waits like epoll_wait(2) and unpacks up to `max` ready events into `events` and `datas`. */
int steward_epoll_wait(int epfd, uint32_t *events, uint64_t *datas, int max, int timeout_ms);

/* From <sys/epoll.h> (defined in shims.c, for the same reason). */
extern const int STEWARD_EPOLL_CTL_ADD;
extern const int STEWARD_EPOLL_CTL_DEL;
extern const int STEWARD_EPOLL_CTL_MOD;
extern const uint32_t STEWARD_EPOLLIN;
extern const uint32_t STEWARD_EPOLLOUT;
extern const uint32_t STEWARD_EPOLLERR;
extern const uint32_t STEWARD_EPOLLHUP;
extern const uint32_t STEWARD_EPOLLEXCLUSIVE;

/* renameat2(olddirfd, old, newdirfd, new, RENAME_NOREPLACE): fails with EEXIST instead of
   replacing an entry someone put there. */
int steward_rename_noreplace(int dirfd, const char *from, const char *to);

/* A non-blocking, close-on-exec eventfd (eventfd(2) is not in Swift's Glibc module). */
int steward_eventfd(void);

/* Sends `count` datagrams, laid end to end from `base` (`lengths[i]` bytes each), to the unix
   datagram socket at `path` in one sendmmsg(2) (a GNU extension Swift's Glibc module does not
   expose; at most 64 per call). Returns how many were sent, or -1 with errno set when the first
   was not. */
int steward_send_datagrams(int fd, const char *path, const unsigned char *base, const size_t *lengths, unsigned count);

/* CPUs this process may run on (sched_getaffinity), at least 1. */
int steward_cpu_count(void);

#endif
