/*
 * hookenv.c: what an on_file command inherits of the daemon (hookenv.h):
 * no capability, the daemon's environment without systemd's variables,
 * and the index line's members as TRACEFLOW_<MEMBER>.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include <cap-ng.h>

#include "hookenv.h"
#include "log.h"
#include "xmalloc.h"

extern char **environ;

#define HOOK_ENV_PREFIX "TRACEFLOW_"

/*
 * Under systemd the daemon holds CAP_NET_RAW and CAP_NET_ADMIN in its
 * ambient set, which an exec passes on to any program: the hook would
 * sniff. Clearing ambient and inheritable keeps the permitted and effective
 * sets the daemon needs to reopen interfaces. Capabilities are per thread:
 * this is the main thread, the one that spawns.
 */
void
hookenv_clear_caps(void)
{
	int cap;

	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == -1 && errno != EINVAL)
		log_warn("on_file: clearing the ambient capabilities");
	if (capng_get_caps_process() != 0) {
		log_warnx("on_file: cannot read the capabilities");
		return;
	}
	/* Past the kernel's last capability capng_update fails: harmless. */
	for (cap = 0; cap < 64; cap++)
		capng_update(CAPNG_DROP, CAPNG_INHERITABLE, (unsigned)cap);
	if (capng_apply(CAPNG_SELECT_CAPS) != 0)
		log_warnx("on_file: cannot clear the inheritable capabilities");
}

/* Variables a child must not see: they would let it speak to systemd as the daemon. */
static int
env_hidden(const char *kv)
{
	static const char *const hidden[] = {"NOTIFY_SOCKET=", "WATCHDOG_USEC=", "WATCHDOG_PID=",
	    "LISTEN_FDS=", "LISTEN_PID=", "LISTEN_FDNAMES=", HOOK_ENV_PREFIX};
	size_t i;

	for (i = 0; i < sizeof hidden / sizeof hidden[0]; i++)
		if (strncmp(kv, hidden[i], strlen(hidden[i])) == 0)
			return 1;
	return 0;
}

char **
hookenv_base(void)
{
	size_t n = 0, i, k = 0;
	char **env;

	while (environ != NULL && environ[n] != NULL)
		n++;
	env = xcalloc(n + 1, sizeof *env);
	for (i = 0; i < n; i++)
		if (!env_hidden(environ[i]))
			env[k++] = xstrdup(environ[i]);
	return env;
}

/* A member's value as a shell reads it: text, numbers as the index writes them, "" for null. */
static char *
env_value(const json_t *v)
{
	char *s, *t;
	const json_t *e;
	size_t i;

	switch (json_typeof(v)) {
	case JSON_STRING:
		return xstrdup(json_string_value(v));
	case JSON_INTEGER:
		xasprintf(&s, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return s;
	case JSON_REAL:
		/* index.c writes times with %.17g: the same text, the same double. */
		xasprintf(&s, "%.17g", json_real_value(v));
		return s;
	case JSON_TRUE:
		return xstrdup("true");
	case JSON_FALSE:
		return xstrdup("false");
	case JSON_ARRAY: /* vlan: "100,200" */
		s = xstrdup("");
		json_array_foreach(v, i, e)
		{
			char *u;

			t = env_value(e);
			xasprintf(&u, "%s%s%s", s, i > 0 ? "," : "", t);
			free(t);
			free(s);
			s = u;
		}
		return s;
	default:
		return xstrdup("");
	}
}

char **
hookenv_job(char *const *base, const json_t *entry)
{
	const char *k;
	const json_t *v;
	char **env, *val, *p;
	size_t n = 0, i;

	while (base[n] != NULL)
		n++;
	env = xcalloc(n + json_object_size(entry) + 1, sizeof *env);
	for (i = 0; i < n; i++)
		env[i] = xstrdup(base[i]);
	json_object_foreach((json_t *)entry, k, v)
	{
		val = env_value(v);
		xasprintf(&env[n], HOOK_ENV_PREFIX "%s=%s", k, val);
		for (p = env[n] + strlen(HOOK_ENV_PREFIX); *p != '='; p++)
			if (*p >= 'a' && *p <= 'z')
				*p = (char)(*p - 'a' + 'A');
		n++;
		free(val);
	}
	return env;
}

void
hookenv_free(char **v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}
