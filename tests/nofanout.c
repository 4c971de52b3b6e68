/*
 * nofanout.c: an LD_PRELOAD shim for tests/live-workers.sh: the kernel
 * "refuses" PACKET_FANOUT (as an interface type or a kernel without it
 * would), every other socket option goes through.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <sys/socket.h>

#include <linux/if_packet.h>

int
setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	static int (*real)(int, int, int, const void *, socklen_t);

	if (level == SOL_PACKET && name == PACKET_FANOUT) {
		errno = EOPNOTSUPP;
		return -1;
	}
	if (real == NULL)
		real =
		    (int (*)(int, int, int, const void *, socklen_t))dlsym(RTLD_NEXT, "setsockopt");
	return real(fd, level, name, val, len);
}
