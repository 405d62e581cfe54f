// SPDX-License-Identifier: GPL-2.0
/*
 * Which daemon keeps the host clock, and so whether the kernel's maxerror
 * and esterror mean anything.
 *
 * adjtimex's maxerror and esterror are whatever the daemon last wrote; the
 * kernel only adds 500 us a second to maxerror. chronyd and ntpd write real
 * bounds (root distance, estimated error) at every clock update.
 * systemd-timesyncd writes 0 and 0 whenever it adjusts the clock, and
 * linuxptp's phc2sys writes maxerror 0 to keep STA_UNSYNC clear: under
 * those, the figures claim a bound nobody computed. So the page carries
 * them (--host-errors auto) only when chronyd or ntpd runs and none of the
 * others, which would fight over the clock anyway.
 *
 * Processes are found by name in /proc. A name is anyone's to choose, so a
 * chronyd or ntpd counts only if it runs as root or as its daemon's own
 * system user, which no other local user can be; a stray timesyncd, phc2sys
 * or ptp4l of any user only makes the agent publish less.
 */
#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hcd.h"

#define HCD_SLEW_CHRONYD	83333.333e-6	/* chrony.conf maxslewrate default */
#define HCD_SLEW_NTPD		500e-6		/* the kernel's MAXFREQ */
#define HCD_SLEW_KERNEL		0.1005		/* tick +-10 %, and freq */

/* Is @uid root or the system user one of @names belongs to? */
static bool hcd_daemon_uid(uid_t uid, const char * const *names)
{
	struct passwd *pw;

	if (uid == 0)
		return true;
	for (; *names; names++) {
		pw = getpwnam(*names);
		if (pw && pw->pw_uid == uid)
			return true;
	}
	return false;
}

/**
 * hcd_host_daemons_scan() - the time daemons running on the host
 * @proc_root: /proc, or a test's imitation of it
 * @d: what was found
 */
void hcd_host_daemons_scan(const char *proc_root, struct hcd_host_daemons *d)
{
	static const char * const chrony_users[] = { "_chrony", "chrony", NULL };
	static const char * const ntp_users[] = { "ntp", "ntpsec", "_ntp", NULL };
	static const char * const others[] = {
		"systemd-timesyn", "phc2sys", "ptp4l", "timemaster",
	};
	char comm[32], path[300];
	struct dirent *de;
	struct stat st;
	unsigned int i;
	ssize_t n;
	DIR *proc;
	int fd;

	memset(d, 0, sizeof(*d));
	proc = opendir(proc_root);
	if (!proc)
		return;
	while ((de = readdir(proc))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "%s/comm", de->d_name);
		fd = openat(dirfd(proc), path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			continue;
		n = read(fd, comm, sizeof(comm) - 1);
		close(fd);
		if (n <= 0)
			continue;
		comm[n] = '\0';
		comm[strcspn(comm, "\n")] = '\0';
		/* /proc/PID belongs to the process's effective user */
		if (fstatat(dirfd(proc), de->d_name, &st, AT_SYMLINK_NOFOLLOW))
			continue;
		if (!strcmp(comm, "chronyd") && hcd_daemon_uid(st.st_uid, chrony_users))
			d->chronyd = true;
		else if (!strcmp(comm, "ntpd") && hcd_daemon_uid(st.st_uid, ntp_users))
			d->ntpd = true;
		for (i = 0; i < ARRAY_SIZE(others); i++) {
			if (!strcmp(comm, others[i]))
				d->other = true;
		}
	}
	closedir(proc);
}

/**
 * hcd_host_errors_trusted() - may the page carry the kernel's error bounds?
 * @mode: HCD_HOST_ERRORS_*
 * @d: from hcd_host_daemons_scan()
 * @max_slew: how fast the daemon may change the clock's rate (relative)
 * @why: the reason, for the log
 *
 * Return: true if maxerror and esterror are maintained.
 */
bool hcd_host_errors_trusted(int mode, const struct hcd_host_daemons *d,
			     double *max_slew, const char **why)
{
	*max_slew = d->chronyd ? HCD_SLEW_CHRONYD : d->ntpd ? HCD_SLEW_NTPD : HCD_SLEW_KERNEL;
	if (mode == HCD_HOST_ERRORS_TRUST) {
		*why = "--host-errors trust";
		return true;
	}
	if (mode == HCD_HOST_ERRORS_IGNORE) {
		*why = "--host-errors ignore";
		return false;
	}
	if (d->other) {
		*why = "systemd-timesyncd, phc2sys, ptp4l or timemaster runs: they leave maxerror/esterror at 0";
		return false;
	}
	if (!d->chronyd && !d->ntpd) {
		*why = "neither chronyd nor ntpd runs: nobody is known to keep maxerror/esterror";
		return false;
	}
	*why = d->chronyd ? "chronyd keeps maxerror/esterror" : "ntpd keeps maxerror/esterror";
	return true;
}
