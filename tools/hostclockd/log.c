// SPDX-License-Identifier: GPL-2.0
/*
 * Logging to stderr or syslog, with levels.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "hcd.h"

static enum hcd_log_level hcd_level = HCD_LOG_INFO;
static bool hcd_syslog;

static const char * const hcd_level_names[] = {
	[HCD_LOG_ERR] = "error",
	[HCD_LOG_WARN] = "warning",
	[HCD_LOG_INFO] = "info",
	[HCD_LOG_DEBUG] = "debug",
};

void hcd_log_setup(enum hcd_log_level level, bool use_syslog)
{
	hcd_level = level;
	hcd_syslog = use_syslog;
	if (use_syslog)
		openlog("hostclockd", LOG_PID, LOG_DAEMON);
}

int hcd_log_level_parse(const char *name, enum hcd_log_level *level)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(hcd_level_names); i++) {
		if (!strcmp(name, hcd_level_names[i])) {
			*level = i;
			return 0;
		}
	}
	return -1;
}

void hcd_log(enum hcd_log_level level, const char *fmt, ...)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	va_list ap;

	if (level > hcd_level)
		return;
	va_start(ap, fmt);
	if (hcd_syslog) {
		vsyslog(prio[level], fmt, ap);
	} else {
		fprintf(stderr, "hostclockd: %s: ", hcd_level_names[level]);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	}
	va_end(ap);
}

/**
 * hcd_ratelimit() - may a rate-limited message be logged now?
 * @rl: its state
 * @now_ns: CLOCK_MONOTONIC
 * @interval_ns: at most one message per interval
 *
 * Return: true to log it (and the count suppressed since, in @rl, is then
 * the caller's to report and is cleared on the next call), false to drop it.
 */
bool hcd_ratelimit(struct hcd_ratelimit *rl, u64 now_ns, u64 interval_ns)
{
	if (rl->last_ns && now_ns - rl->last_ns < interval_ns) {
		rl->suppressed++;
		return false;
	}
	rl->last_ns = now_ns;
	return true;
}
