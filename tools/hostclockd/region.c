// SPDX-License-Identifier: GPL-2.0
/*
 * The region file QEMU maps as ivshmem-plain BAR 2.
 *
 * The file decides what a guest sees as its clock, so it lives only in a
 * directory that nobody but root and the agent's user can change: every
 * component of the path is walked from "/" without following a symlink,
 * and each directory must belong to root or to the agent and be writable by
 * nobody else (a sticky directory such as /tmp may be passed through, since
 * nobody can rename or remove what root owns there). In such a directory
 * only the agent (or root) can have made a file, and the agent accepts an
 * existing one only with exactly the owner, group and mode it would have
 * given it. One agent per region: a lock file beside it, held while the
 * agent runs.
 *
 * Whoever QEMU runs as can shrink the file under the agent's mapping; a
 * write to a page past the end raises SIGBUS. hcd_region_guard() runs the
 * agent's work with a handler that turns such a SIGBUS into a return, and
 * hcd_region_check() restores the size before each use, so that the agent
 * survives and republishes instead of dying.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hcd.h"

#define hcd_why(why, len, ...) snprintf(why, len, __VA_ARGS__)

/* Who may own a directory on the path: root, or the agent's own user. */
static bool hcd_trusted_owner(uid_t uid)
{
	return uid == 0 || uid == geteuid();
}

/**
 * hcd_dir_open_trusted() - open a directory every component of which only
 *	root or the agent can change
 * @dir: absolute, or relative to the working directory
 * @why: on failure, what was wrong
 * @why_len: size of @why
 *
 * Return: an O_PATH descriptor of the directory, or -1.
 */
int hcd_dir_open_trusted(const char *dir, char *why, size_t why_len)
{
	char path[PATH_MAX], walked[PATH_MAX] = "", *save = NULL, *comp;
	struct stat st;
	int fd, next;

	if (dir[0] == '/') {
		if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path))
			return hcd_why(why, why_len, "%s: path too long", dir), -1;
	} else {
		char cwd[PATH_MAX];

		/* getcwd() gives the canonical path: no symlink, no "..". */
		if (!getcwd(cwd, sizeof(cwd)) ||
		    snprintf(path, sizeof(path), "%s/%s", cwd,
			     strcmp(dir, ".") ? dir : "") >= (int)sizeof(path))
			return hcd_why(why, why_len, "%s: cannot make it absolute", dir), -1;
	}

	fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	for (comp = strtok_r(path, "/", &save); fd >= 0; comp = strtok_r(NULL, "/", &save)) {
		bool last;

		if (fstat(fd, &st)) {
			hcd_why(why, why_len, "%s/: %s", walked, strerror(errno));
			break;
		}
		last = !comp;
		if (!hcd_trusted_owner(st.st_uid)) {
			hcd_why(why, why_len, "%s/: owned by uid %u, not root or the agent: anyone who owns a directory on the path can swap the region",
				walked, (unsigned int)st.st_uid);
			break;
		}
		if (st.st_mode & (S_IWGRP | S_IWOTH) &&
		    (last || !(st.st_mode & S_ISVTX))) {
			hcd_why(why, why_len, "%s/: writable by %s (mode %04o): other users could create or replace names in it; use a directory only root can write, such as /run/hostclock",
				walked, st.st_mode & S_IWOTH ? "everyone" : "its group",
				(unsigned int)(st.st_mode & 07777));
			break;
		}
		if (last)
			return fd;
		if (!strcmp(comp, "..") || !strcmp(comp, ".")) {
			hcd_why(why, why_len, "%s: '%s' in the path is refused", dir, comp);
			break;
		}
		next = openat(fd, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		snprintf(walked + strlen(walked), sizeof(walked) - strlen(walked), "/%s", comp);
		close(fd);
		fd = next;
		if (fd < 0) {
			hcd_why(why, why_len, "%s: %s", walked, strerror(errno));
			return -1;
		}
		if (fstat(fd, &st)) {
			hcd_why(why, why_len, "%s: %s", walked, strerror(errno));
			break;
		}
		if (S_ISLNK(st.st_mode)) {
			hcd_why(why, why_len, "%s: a symlink; symlinks are refused anywhere on the path",
				walked);
			break;
		}
		if (!S_ISDIR(st.st_mode)) {
			hcd_why(why, why_len, "%s: not a directory", walked);
			break;
		}
	}
	if (fd < 0)
		hcd_why(why, why_len, "/: %s", strerror(errno));
	else
		close(fd);
	return -1;
}

/*
 * Split @path into its directory and last component. The name must be a
 * plain file name: not empty, not "." or "..".
 */
static int hcd_split_path(const char *path, char *dir, size_t dir_len,
			  char *name, size_t name_len)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;

	if (!*base || !strcmp(base, ".") || !strcmp(base, "..") ||
	    strlen(base) + 8 >= name_len)	/* room for ".ro.ctl" */
		return -1;
	strcpy(name, base);
	if (!slash)
		snprintf(dir, dir_len, ".");
	else if (slash == path)
		snprintf(dir, dir_len, "/");
	else if (snprintf(dir, dir_len, "%.*s", (int)(slash - path), path) >= (int)dir_len)
		return -1;
	return 0;
}

static int hcd_region_create(int dirfd, const char *name, mode_t mode)
{
	int fd = openat(dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			mode);

	if (fd < 0)
		return -1;
	/* The umask may have narrowed the mode; set it as asked. */
	if (fchmod(fd, mode) || ftruncate(fd, HOSTCLOCK_REGION_SIZE)) {
		int err = errno;

		close(fd);
		unlinkat(dirfd, name, 0);
		errno = err;
		return -1;
	}
	return fd;
}

/* One agent per region: an exclusive lock on NAME.lock, never on the region
 * itself, which QEMU's user can open and could lock to keep the agent out. */
static int hcd_region_lock(struct hcd_region *r, char *why, size_t why_len)
{
	char lock[NAME_MAX + 1];
	struct stat st;

	snprintf(lock, sizeof(lock), "%s.lock", r->name);
	r->lock_fd = openat(r->dir_fd, lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (r->lock_fd < 0)
		return hcd_why(why, why_len, "%s.lock: %s", r->path, strerror(errno)), -1;
	if (fstat(r->lock_fd, &st) || !S_ISREG(st.st_mode) || st.st_uid != geteuid())
		return hcd_why(why, why_len, "%s.lock: not a regular file of the agent's user",
			       r->path), -1;
	if (flock(r->lock_fd, LOCK_EX | LOCK_NB)) {
		if (errno == EWOULDBLOCK)
			return hcd_why(why, why_len, "%s: another hostclockd serves this region (it holds %s.lock); refusing to be a second writer",
				       r->path, r->path), -1;
		return hcd_why(why, why_len, "%s.lock: %s", r->path, strerror(errno)), -1;
	}
	return 0;
}

/* Is an existing file one this agent, with these options, would have made? */
static int hcd_region_vet(const struct hcd_region_opts *opts, const struct stat *st,
			  char *why, size_t why_len)
{
	uid_t uid = opts->uid != (uid_t)-1 ? opts->uid : geteuid();
	gid_t gid = opts->gid != (gid_t)-1 ? opts->gid : getegid();
	mode_t mode = opts->mode ? opts->mode : 0600;

	if (!S_ISREG(st->st_mode))
		return hcd_why(why, why_len, "%s: not a regular file", opts->path), -1;
	if (st->st_mode & S_IWOTH)
		return hcd_why(why, why_len, "%s: world-writable (mode %04o); refusing a clock anyone can write",
			       opts->path, (unsigned int)(st->st_mode & 07777)), -1;
	if (st->st_size != HOSTCLOCK_REGION_SIZE)
		return hcd_why(why, why_len, "%s: size %lld, a region is exactly %d bytes",
			       opts->path, (long long)st->st_size, HOSTCLOCK_REGION_SIZE), -1;
	/* the agent's file before its chown, or after it */
	if ((st->st_uid != uid && st->st_uid != geteuid()) ||
	    (st->st_gid != gid && st->st_gid != getegid()) ||
	    (st->st_mode & 07777) != mode || st->st_nlink != 1)
		return hcd_why(why, why_len, "%s: not a region this agent made (owner %u:%u mode %04o links %u; it would be %u:%u mode %04o, one link); remove it if it is stale",
			       opts->path, (unsigned int)st->st_uid, (unsigned int)st->st_gid,
			       (unsigned int)(st->st_mode & 07777), (unsigned int)st->st_nlink,
			       (unsigned int)uid, (unsigned int)gid, (unsigned int)mode), -1;
	return 0;
}

/**
 * hcd_region_open() - lock, create or reopen a region file and map it
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
	char dir[PATH_MAX];
	mode_t mode = opts->mode ? opts->mode : 0600;
	struct stat st;
	int fd;

	memset(r, 0, sizeof(*r));
	r->fd = -1;
	r->lock_fd = -1;
	r->dir_fd = -1;
	r->path = opts->path;
	if (hcd_split_path(opts->path, dir, sizeof(dir), r->name, sizeof(r->name))) {
		hcd_why(why, why_len, "%s: not a usable file name", opts->path);
		return -1;
	}
	r->dir_fd = hcd_dir_open_trusted(dir, why, why_len);
	if (r->dir_fd < 0)
		return -1;
	if (hcd_region_lock(r, why, why_len))
		goto fail;

	fd = openat(r->dir_fd, r->name, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		fd = hcd_region_create(r->dir_fd, r->name, mode);
		r->created = fd >= 0;
	}
	if (fd < 0) {
		hcd_why(why, why_len, "%s: %s%s", opts->path, strerror(errno),
			errno == ELOOP ? " (symlinks are refused)" : "");
		goto fail;
	}
	r->fd = fd;
	if (fstat(fd, &st)) {
		hcd_why(why, why_len, "%s: fstat: %s", opts->path, strerror(errno));
		goto fail;
	}
	if (!r->created && hcd_region_vet(opts, &st, why, why_len))
		goto fail;
	if ((opts->uid != (uid_t)-1 || opts->gid != (gid_t)-1) &&
	    fchown(fd, opts->uid, opts->gid)) {
		hcd_why(why, why_len, "%s: chown: %s", opts->path, strerror(errno));
		goto fail;
	}
	r->dev = st.st_dev;
	r->ino = st.st_ino;
	r->map = mmap(NULL, HOSTCLOCK_REGION_SIZE, PROT_READ | PROT_WRITE,
		      MAP_SHARED, fd, 0);
	if (r->map == MAP_FAILED) {
		r->map = NULL;
		hcd_why(why, why_len, "%s: mmap: %s", opts->path, strerror(errno));
		goto fail;
	}
	r->page = r->map;
	r->ext = (struct hostclock_ext *)((char *)r->map + HOSTCLOCK_EXT_OFFSET);
	return 0;
fail:
	if (r->created)
		unlinkat(r->dir_fd, r->name, 0);
	r->created = false;
	hcd_region_close(r);
	return -1;
}

/**
 * hcd_region_check() - is the region still the file at its path, whole?
 * @r: the region
 * @why: what happened, for HCD_REGION_RESIZED and HCD_REGION_REPLACED
 * @why_len: size of @why
 *
 * A region whose size changed (someone with write access truncated or grew
 * it) is put back to its size: the pages that were cut off come back as
 * zeros, in QEMU's mapping too, and the caller republishes everything.
 *
 * Return: HCD_REGION_OK, HCD_REGION_RESIZED (restored), or
 * HCD_REGION_REPLACED (the path now names another file, or none).
 */
int hcd_region_check(struct hcd_region *r, char *why, size_t why_len)
{
	struct stat st;
	int gone = fstatat(r->dir_fd, r->name, &st, AT_SYMLINK_NOFOLLOW);

	if (gone || st.st_dev != r->dev || st.st_ino != r->ino) {
		hcd_why(why, why_len, "%s was %s under the agent", r->path,
			gone ? "removed" : "replaced");
		return HCD_REGION_REPLACED;
	}
	if (fstat(r->fd, &st))
		return HCD_REGION_OK;
	if (st.st_size == HOSTCLOCK_REGION_SIZE && !r->bus_faults)
		return HCD_REGION_OK;
	hcd_why(why, why_len, "%s: %s (size %lld): someone with write access to it changed its size; restored to %d bytes, republishing with a new disruption marker",
		r->path, r->bus_faults ? "a write faulted" : "resized",
		(long long)st.st_size, HOSTCLOCK_REGION_SIZE);
	r->bus_faults = 0;
	if (ftruncate(r->fd, HOSTCLOCK_REGION_SIZE)) {
		hcd_why(why, why_len, "%s: restoring the size: %s", r->path, strerror(errno));
		return HCD_REGION_REPLACED;
	}
	r->resizes++;
	return HCD_REGION_RESIZED;
}

/* The one guarded call in progress, and the mapping it may fault on. */
static sigjmp_buf *hcd_bus_jump;
static const char *hcd_bus_lo, *hcd_bus_hi;

static void hcd_bus_handler(int sig, siginfo_t *si, void *uc)
{
	const char *addr = si->si_addr;

	if (hcd_bus_jump && addr >= hcd_bus_lo && addr < hcd_bus_hi)
		siglongjmp(*hcd_bus_jump, 1);
	/* not the region's: a bug; die of it as without a handler */
	signal(SIGBUS, SIG_DFL);
}

/**
 * hcd_region_guard() - run @fn, surviving a SIGBUS on the region's mapping
 * @r: the region
 * @fn: the work; it touches no lock and allocates nothing, so that it may be
 *	abandoned at any load or store to the mapping
 * @arg: for @fn
 *
 * Return: @fn's result, or -1 after a fault (counted in r->bus_faults, for
 * hcd_region_check() to repair).
 */
int hcd_region_guard(struct hcd_region *r, int (*fn)(void *), void *arg)
{
	static bool installed;
	sigjmp_buf jump;
	int ret;

	if (!installed) {
		struct sigaction sa = { .sa_sigaction = hcd_bus_handler };

		/* SA_NODEFER: the jump out leaves SIGBUS unblocked, with no
		 * sigprocmask() per call */
		sa.sa_flags = SA_SIGINFO | SA_NODEFER;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGBUS, &sa, NULL);
		installed = true;
	}
	if (sigsetjmp(jump, 0)) {
		hcd_bus_jump = NULL;
		r->bus_faults++;
		return -1;
	}
	hcd_bus_lo = r->map;
	hcd_bus_hi = (const char *)r->map + HOSTCLOCK_REGION_SIZE;
	hcd_bus_jump = &jump;
	ret = fn(arg);
	hcd_bus_jump = NULL;
	return ret;
}

void hcd_region_close(struct hcd_region *r)
{
	if (r->map)
		munmap(r->map, HOSTCLOCK_REGION_SIZE);
	if (r->fd >= 0)
		close(r->fd);
	if (r->lock_fd >= 0)
		close(r->lock_fd);
	if (r->dir_fd >= 0)
		close(r->dir_fd);
	r->map = NULL;
	r->fd = -1;
	r->lock_fd = -1;
	r->dir_fd = -1;
}
