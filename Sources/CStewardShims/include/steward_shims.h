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

/* Fixed-size buffer for SO_PEERGROUPS. A peer with more groups makes getsockopt fail with
   ERANGE, and Steward then treats the peer's identity as unknown (deny, never guess). */
#define STEWARD_MAX_PEER_GROUPS 256
struct steward_peer_groups {
    uint32_t gids[STEWARD_MAX_PEER_GROUPS];
};

#define STEWARD_SO_PEERCRED 17
#define STEWARD_SO_PEERGROUPS 59
#define STEWARD_SO_PEERPIDFD 77

#endif
