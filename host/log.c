/* SPDX-License-Identifier: Apache-2.0 */
#include "log.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "loop.h"

int log_threshold = OCKAM_LOG_INFO;
static char log_node[72] = "-";

static const char *const level_names[] = {
	"error", "warn", "info", "debug", "trace",
};
static const char *const level_tags[] = {
	"ERROR", "WARN ", "INFO ", "DEBUG", "TRACE",
};

void log_set_level(int level)
{
	if (level < OCKAM_LOG_ERROR)
		level = OCKAM_LOG_ERROR;
	if (level > OCKAM_LOG_TRACE)
		level = OCKAM_LOG_TRACE;
	log_threshold = level;
}

int log_get_level(void)
{
	return log_threshold;
}

void log_set_node(const char *name)
{
	snprintf(log_node, sizeof(log_node), "%s", name ? name : "-");
}

int log_level_parse(const char *text)
{
	for (int i = 0; i <= OCKAM_LOG_TRACE; i++)
		if (strcasecmp(text, level_names[i]) == 0)
			return i;
	if (strcasecmp(text, "warning") == 0)
		return OCKAM_LOG_WARN;
	return -1;
}

const char *log_level_name(int level)
{
	if (level < 0 || level > OCKAM_LOG_TRACE)
		return "?";
	return level_names[level];
}

void log_vwrite(int level, const char *component, const char *fmt, va_list ap)
{
	if (level > log_threshold)
		return;
	if (level < 0)
		level = 0;
	if (level > OCKAM_LOG_TRACE)
		level = OCKAM_LOG_TRACE;

	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);

	/* Build the whole line first so concurrent writers (other nodes on
	 * the same terminal) never interleave inside a line. */
	char line[2048];
	int n = snprintf(line, sizeof(line),
			 "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s %s: ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			 tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
			 level_tags[level], log_node,
			 component ? component : "-");
	if (n < 0)
		return;
	if ((size_t)n < sizeof(line)) {
		int m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
		if (m > 0)
			n += m;
	}
	if ((size_t)n >= sizeof(line) - 1)
		n = (int)sizeof(line) - 2;
	/* Control characters from peers must not forge log lines. */
	for (int i = 0; i < n; i++)
		if ((unsigned char)line[i] < 0x20)
			line[i] = '?';
	line[n++] = '\n';
	fwrite(line, 1, (size_t)n, stderr);
	fflush(stderr);
}

void log_write(int level, const char *component, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vwrite(level, component, fmt, ap);
	va_end(ap);
}

int log_limit_due(struct ockam_log_limit *lim, int level)
{
	if (level > log_threshold)
		return 0;
	uint64_t now = loop_now_ms();
	uint64_t interval = lim->interval_ms ? lim->interval_ms : 1000;
	if (lim->last_ms && now - lim->last_ms < interval) {
		if (lim->suppressed < UINT32_MAX)
			lim->suppressed++;
		return 0;
	}
	return 1;
}

void log_vlimited(struct ockam_log_limit *lim, int level,
		  const char *component, const char *fmt, va_list ap)
{
	if (!log_limit_due(lim, level))
		return;
	uint64_t now = loop_now_ms();
	char msg[1024];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (lim->suppressed)
		log_write(level, component, "%s (%u similar suppressed)", msg,
			  (unsigned)lim->suppressed);
	else
		log_write(level, component, "%s", msg);
	lim->last_ms = now ? now : 1;
	lim->suppressed = 0;
}

void log_limited(struct ockam_log_limit *lim, int level, const char *component,
		 const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vlimited(lim, level, component, fmt, ap);
	va_end(ap);
}

uint32_t log_limited_flush(struct ockam_log_limit *lim, int level,
			   const char *component, const char *what)
{
	uint32_t n = lim->suppressed;
	if (!n)
		return 0;
	lim->suppressed = 0;
	log_write(level, component,
		  "%u more line(s) like the last '%s' suppressed", (unsigned)n,
		  what ? what : "");
	return n;
}
