#define _GNU_SOURCE
#include <stddef.h>
#include <sys/socket.h>
#include "steward_shims.h"

int steward_accept(int fd) {
    return accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
}
