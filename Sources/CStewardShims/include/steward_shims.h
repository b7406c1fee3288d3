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

/* Fixed-size buffers for SO_PEERGROUPS: the small one first (most processes have a few groups),
   the large one when the kernel answers ERANGE. A peer with more than 256 groups fails both, and
   Steward then treats its identity as unknown (deny, never guess). */
struct steward_peer_groups_small {
    uint32_t gids[32];
};
#define STEWARD_MAX_PEER_GROUPS 256
struct steward_peer_groups {
    uint32_t gids[STEWARD_MAX_PEER_GROUPS];
};

#define STEWARD_SO_PEERCRED 17
#define STEWARD_SO_PEERGROUPS 59
#define STEWARD_SO_PEERPIDFD 77

#endif
