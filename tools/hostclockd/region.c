// SPDX-License-Identifier: GPL-2.0
/*
 * The region file QEMU maps as ivshmem-plain BAR 2.
 *
 * The file decides what a guest sees as its clock, so it is opened with
 * care: never through a symlink, only a regular file, never one any user
 * may write, and only at exactly the region's size.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hcd.h"

#define hcd_why(why, len, ...) snprintf(why, len, __VA_ARGS__)

static int hcd_region_create(const char *path, mode_t mode)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);

	if (fd < 0)
		return -1;
	/* The umask may have narrowed the mode; set it as asked. */
	if (fchmod(fd, mode) || ftruncate(fd, HOSTCLOCK_REGION_SIZE)) {
		int err = errno;

		close(fd);
		unlink(path);
		errno = err;
		return -1;
	}
	return fd;
}

/**
 * hcd_region_open() - create or reopen a region file and map it
 * @opts: path, ownership and mode
 * @r: the mapped region on success
 * @why: on failure, what was wrong
 * @why_len: size of @why
 *
 * Return: 0, or -1 with @why filled in.
 */
int hcd_region_open(const struct hcd_region_opts *opts, struct hcd_region *r,
		    char *why, size_t why_len)
{
	struct stat st;
	int fd;

	memset(r, 0, sizeof(*r));
	r->fd = -1;
	fd = open(opts->path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		fd = hcd_region_create(opts->path, opts->mode ? opts->mode : 0600);
		r->created = fd >= 0;
		if (fd < 0 && errno == EEXIST)	/* lost a race: reopen */
			fd = open(opts->path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0) {
		hcd_why(why, why_len, "%s: %s%s", opts->path, strerror(errno),
			errno == ELOOP ? " (symlinks are refused)" : "");
		return -1;
	}
	if (fstat(fd, &st)) {
		hcd_why(why, why_len, "%s: fstat: %s", opts->path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		hcd_why(why, why_len, "%s: not a regular file", opts->path);
		goto fail;
	}
	if (st.st_mode & S_IWOTH) {
		hcd_why(why, why_len, "%s: world-writable (mode %04o); refusing a clock anyone can write",
			opts->path, (unsigned int)(st.st_mode & 07777));
		goto fail;
	}
	if (st.st_size != HOSTCLOCK_REGION_SIZE) {
		hcd_why(why, why_len, "%s: size %lld, a region is exactly %d bytes",
			opts->path, (long long)st.st_size, HOSTCLOCK_REGION_SIZE);
		goto fail;
	}
	if ((opts->uid != (uid_t)-1 || opts->gid != (gid_t)-1) &&
	    fchown(fd, opts->uid, opts->gid)) {
		hcd_why(why, why_len, "%s: chown: %s", opts->path, strerror(errno));
		goto fail;
	}
	r->map = mmap(NULL, HOSTCLOCK_REGION_SIZE, PROT_READ | PROT_WRITE,
		      MAP_SHARED, fd, 0);
	if (r->map == MAP_FAILED) {
		r->map = NULL;
		hcd_why(why, why_len, "%s: mmap: %s", opts->path, strerror(errno));
		goto fail;
	}
	r->fd = fd;
	r->page = r->map;
	r->ext = (struct hostclock_ext *)((char *)r->map + HOSTCLOCK_EXT_OFFSET);
	return 0;
fail:
	close(fd);
	if (r->created)
		unlink(opts->path);
	r->created = false;
	return -1;
}

void hcd_region_close(struct hcd_region *r)
{
	if (r->map)
		munmap(r->map, HOSTCLOCK_REGION_SIZE);
	if (r->fd >= 0)
		close(r->fd);
	r->map = NULL;
	r->fd = -1;
}
