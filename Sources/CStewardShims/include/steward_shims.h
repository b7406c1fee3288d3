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

#define STEWARD_SO_PEERCRED 17
#define STEWARD_SO_PEERGROUPS 59
#define STEWARD_SO_PEERPIDFD 77

/* Hint the cache to fetch the line at p (for writing when `write` is 1): lets a batch of hash-table
   probes wait on memory together instead of one after another. */
static inline void steward_prefetch(const void *p, int write) {
    if (write) { __builtin_prefetch(p, 1, 0); } else { __builtin_prefetch(p, 0, 0); }
}

/* accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK): accept4 is a GNU extension Swift's Glibc
   module does not expose. Returns the new fd or -1 with errno set. */
int steward_accept(int fd);

#endif
