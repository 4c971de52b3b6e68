/*
 * check_config.c: unit tests for the configuration table: defaults, parsing
 * with units, the error messages (file, line, setting, what is allowed), the
 * print -> load round trip, the reload check, the sample file in etc/, the
 * JSON rendering and the mapping onto the engine's config.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "duration.h"
#include "log.h"

#define SEC 1000000000ull
#define MiB (1024ull * 1024)

static char tmppath[64];

/* Write text to a fresh temporary file; its name stays in tmppath. */
static const char *
write_conf(const char *text)
{
	FILE *fp;
	int fd;

	strcpy(tmppath, "/tmp/check_config.XXXXXX");
	fd = mkstemp(tmppath);
	ck_assert_int_ge(fd, 0);
	fp = fdopen(fd, "w");
	ck_assert_ptr_nonnull(fp);
	fputs(text, fp);
	fclose(fp);
	return tmppath;
}

static void
remove_conf(void)
{
	if (tmppath[0] != '\0')
		unlink(tmppath);
	tmppath[0] = '\0';
}

/* Load text; expect failure; the message must start "FILE:LINE: setting NAME: ". */
static char *
load_error(const char *text, unsigned line, const char *name)
{
	struct tf_config c;
	char *cause = NULL, *want;
	const char *path = write_conf(text);

	ck_assert_int_eq(config_load(path, &c, &cause), -1);
	ck_assert_ptr_nonnull(cause);
	ck_assert_ptr_null(c.path);
	config_free(&c);
	if (name != NULL)
		ck_assert_int_ne(asprintf(&want, "%s:%u: setting %s: ", path, line, name), -1);
	else
		ck_assert_int_ne(asprintf(&want, "%s:%u: ", path, line), -1);
	ck_assert_msg(
	    strncmp(cause, want, strlen(want)) == 0, "got \"%s\", want prefix \"%s\"", cause, want);
	free(want);
	remove_conf();
	return cause;
}

static void
load_ok(const char *text, struct tf_config *c)
{
	char *cause = NULL;

	if (config_load(write_conf(text), c, &cause) != 0)
		ck_abort_msg("load failed: %s", cause);
	remove_conf();
}

/* Not inlined: GCC 12 then takes the stream's hold on &buf for a dangling pointer. */
static __attribute__((noinline)) char *
render(void (*fn)(FILE *, const struct tf_config *), const struct tf_config *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	fn(fp, c);
	fclose(fp);
	return buf;
}

static void
sample_fn(FILE *fp, const struct tf_config *c)
{
	(void)c;
	config_sample(fp);
}

static char *
read_whole(const char *path)
{
	char *buf = NULL;
	size_t len = 0, n;
	FILE *fp, *out;
	char chunk[4096];

	if ((fp = fopen(path, "r")) == NULL)
		return NULL;
	out = open_memstream(&buf, &len);
	while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
		fwrite(chunk, 1, n, out);
	fclose(fp);
	fclose(out);
	return buf;
}

START_TEST(test_defaults)
{
	struct tf_config c;

	config_defaults(&c);
	ck_assert_uint_eq(c.ninterfaces, 1);
	ck_assert_str_eq(c.interfaces[0], "any");
	ck_assert_str_eq(c.filter, "");
	ck_assert_int_eq(c.snaplen, 262144);
	ck_assert_int_eq(c.promisc, 1);
	ck_assert_uint_eq(c.buffer_size, 32 * MiB);
	ck_assert_int_eq(c.nanosecond, 0);
	ck_assert_str_eq(c.spool_dir, "/var/spool/traceflow");
	ck_assert_str_eq(c.layout, "");
	ck_assert_int_eq(c.format, FMT_PCAP);
	ck_assert_int_eq(c.byteorder_big, 0);
	ck_assert_int_eq(c.flow_end, FLOW_END_TEARDOWN);
	ck_assert_uint_eq(c.idle_timeout, 300 * SEC);
	ck_assert_uint_eq(c.linger, 2 * SEC);
	ck_assert_uint_eq(c.max_flows, 1000000);
	ck_assert_uint_eq(c.max_open_files, 256);
	ck_assert_uint_eq(c.segment_packets, 1000000);
	ck_assert_uint_eq(c.segment_size, 0);
	ck_assert_uint_eq(c.write_buffer, 256 * MiB);
	ck_assert_uint_eq(c.flush_interval, SEC);
	ck_assert_uint_eq(c.max_spool_size, 0);
	ck_assert_uint_eq(c.max_age, 0);
	ck_assert_str_eq(c.control_socket, "/run/traceflow/control.sock");
	ck_assert_int_eq(c.control_mode, 0660);
	ck_assert_str_eq(c.control_group, "traceflow");
	ck_assert_str_eq(c.admin_group, "");
	ck_assert_str_eq(c.user, "traceflow");
	ck_assert_str_eq(c.group, "traceflow");
	ck_assert_int_eq(c.log_level, LOG_LVL_INFO);
	ck_assert_ptr_null(c.path);
	config_free(&c);
	config_free(&c); /* harmless twice */
}
END_TEST

static const char full_conf[] = "# every setting\n"
                                "interfaces = [ \"eth0\", \"eth1\" ];\n"
                                "filter = \"port 443 or port 80\";\n"
                                "snaplen = 1500;\n"
                                "promisc = false;\n"
                                "buffer_size = \"64MiB\";\n"
                                "nanosecond = true;\n"
                                "spool_dir = \"/srv/flows\";\n"
                                "layout = \"%Y/%m/%d\";\n"
                                "format = \"json\";\n"
                                "byteorder = \"big\";\n"
                                "flow_end = \"first-fin\";\n"
                                "idle_timeout = \"5m\";\n"
                                "linger = \"500ms\";\n"
                                "max_flows = 5000;\n"
                                "max_open_files = 64;\n"
                                "segment_packets = 4294967295L;\n"
                                "segment_size = \"2G\";\n"
                                "write_buffer = 16777216;\n"
                                "flush_interval = 0.25;\n"
                                "max_spool_size = \"1T\";\n"
                                "max_age = \"7d\";\n"
                                "control_socket = \"/tmp/tf.sock\";\n"
                                "control_mode = 0640;\n"
                                "control_group = \"wheel\";\n"
                                "admin_group = \"adm\";\n"
                                "user = \"\";\n"
                                "group = \"nogroup\";\n"
                                "log_level = \"debug\";\n";

START_TEST(test_full)
{
	struct tf_config c;
	const char *path = write_conf(full_conf);
	char *cause = NULL;

	ck_assert_int_eq(config_load(path, &c, &cause), 0);
	ck_assert_str_eq(c.path, path);
	remove_conf();
	ck_assert_uint_eq(c.ninterfaces, 2);
	ck_assert_str_eq(c.interfaces[0], "eth0");
	ck_assert_str_eq(c.interfaces[1], "eth1");
	ck_assert_str_eq(c.filter, "port 443 or port 80");
	ck_assert_int_eq(c.snaplen, 1500);
	ck_assert_int_eq(c.promisc, 0);
	ck_assert_uint_eq(c.buffer_size, 64 * MiB);
	ck_assert_int_eq(c.nanosecond, 1);
	ck_assert_str_eq(c.spool_dir, "/srv/flows");
	ck_assert_str_eq(c.layout, "%Y/%m/%d");
	ck_assert_int_eq(c.format, FMT_JSON);
	ck_assert_int_eq(c.byteorder_big, 1);
	ck_assert_int_eq(c.flow_end, FLOW_END_FIRST_FIN);
	ck_assert_uint_eq(c.idle_timeout, 300 * SEC);
	ck_assert_uint_eq(c.linger, SEC / 2);
	ck_assert_uint_eq(c.max_flows, 5000);
	ck_assert_uint_eq(c.max_open_files, 64);
	ck_assert_uint_eq(c.segment_packets, 4294967295ull);
	ck_assert_uint_eq(c.segment_size, 2048 * MiB);
	ck_assert_uint_eq(c.write_buffer, 16 * MiB);
	ck_assert_uint_eq(c.flush_interval, SEC / 4);
	ck_assert_uint_eq(c.max_spool_size, 1024 * 1024 * MiB);
	ck_assert_uint_eq(c.max_age, 7 * 86400 * SEC);
	ck_assert_str_eq(c.control_socket, "/tmp/tf.sock");
	ck_assert_int_eq(c.control_mode, 0640);
	ck_assert_str_eq(c.control_group, "wheel");
	ck_assert_str_eq(c.admin_group, "adm");
	ck_assert_str_eq(c.user, "");
	ck_assert_str_eq(c.group, "nogroup");
	ck_assert_int_eq(c.log_level, LOG_LVL_DEBUG);
	config_free(&c);
}
END_TEST

/* The other spellings: a single interface, plain integers, unit variants, string modes. */
START_TEST(test_spellings)
{
	struct tf_config c;

	load_ok("interfaces = \"eth2\";\n"
	        "buffer_size = 1048576;\n"
	        "write_buffer = \"1 GiB\";\n"
	        "segment_size = \"1024kB\";\n"
	        "max_spool_size = \"2 GiB\";\n",
	    &c);
	ck_assert_uint_eq(c.ninterfaces, 1);
	ck_assert_str_eq(c.interfaces[0], "eth2");
	ck_assert_uint_eq(c.buffer_size, MiB);
	ck_assert_uint_eq(c.write_buffer, 1024 * MiB);
	ck_assert_uint_eq(c.segment_size, MiB);
	config_free(&c);

	load_ok("interfaces = [ \"lo\" ];\n"
	        "idle_timeout = 60;\n"
	        "linger = \"0\";\n"
	        "flush_interval = \"10ms\";\n"
	        "max_age = \"1h\";\n"
	        "control_mode = \"0750\";\n"
	        "format = \"xml\";\n"
	        "log_level = \"warning\";\n"
	        "segment_size = \"3M\";\n"
	        "max_spool_size = \"10g\";\n",
	    &c);
	ck_assert_str_eq(c.interfaces[0], "lo");
	ck_assert_uint_eq(c.idle_timeout, 60 * SEC);
	ck_assert_uint_eq(c.linger, 0);
	ck_assert_uint_eq(c.flush_interval, SEC / 100);
	ck_assert_uint_eq(c.max_age, 3600 * SEC);
	ck_assert_int_eq(c.control_mode, 0750);
	ck_assert_int_eq(c.format, FMT_PLIST);
	ck_assert_int_eq(c.log_level, LOG_LVL_WARN);
	ck_assert_uint_eq(c.segment_size, 3 * MiB);
	ck_assert_uint_eq(c.max_spool_size, 10240 * MiB);
	config_free(&c);

	/* Only valid on cooked captures (interface "any"): still accepted. */
	load_ok("filter = \"inbound and tcp port 22\";\n", &c);
	ck_assert_str_eq(c.filter, "inbound and tcp port 22");
	config_free(&c);
	load_ok("control_mode = 0x1ed;\n", &c);
	ck_assert_int_eq(c.control_mode, 0755);
	config_free(&c);
	load_ok("control_mode = 0;\n", &c);
	ck_assert_int_eq(c.control_mode, 0);
	config_free(&c);
	load_ok("ipfix_collector = \"[2001:db8::1]:4739\";\nipfix_transport = \"tcp\";\n"
	        "observation_domain = 4294967295;\nipfix_pen = 32473;\n",
	    &c);
	ck_assert_str_eq(c.ipfix_collector, "[2001:db8::1]:4739");
	ck_assert_int_eq(c.ipfix_transport, EXPORT_TCP);
	ck_assert_uint_eq(c.observation_domain, 4294967295ULL);
	ck_assert_uint_eq(c.ipfix_pen, 32473);
	config_free(&c);
	load_ok("metrics_listen = \"[::1]:9464\";\n", &c);
	ck_assert_str_eq(c.metrics_listen, "[::1]:9464");
	config_free(&c);
	config_defaults(&c);
	ck_assert_str_eq(c.metrics_listen, "");
	config_free(&c);
}
END_TEST

/* The one reader of durations: config file, traceflowd's options, traceflowctl --timeout. */
START_TEST(test_duration_parse)
{
	static const struct {
		const char *s;
		uint64_t ns;
	} good[] = {
	    {"10", 10 * SEC},
	    {"1.5", 3 * SEC / 2},
	    {"0", 0},
	    {"10s", 10 * SEC},
	    {"0.5s", SEC / 2},
	    {"1.25s", 1250000000},
	    {"2m", 120 * SEC},
	    {"1h30m", 5400 * SEC},
	    {"2d", 2 * 86400 * SEC},
	    {"1.5h", 5400 * SEC},
	    {"1m0.5s", 60 * SEC + SEC / 2},
	    {"1d2h3m4s5ms6us7ns", ((((1 * 24 + 2) * 60 + 3) * 60 + 4) * SEC) + 5006007},
	    {"500ms", SEC / 2},
	    {"0.1s", 100000000},
	    {"0.000000001s", 1},
	    {"0.0000000019s", 1}, /* beyond the ninth decimal: dropped */
	    {" 5 m ", 300 * SEC},
	    {"18446744073709551615ns", UINT64_MAX},
	};
	static const char *const bad[] = {"", " ", "s", "5x", "5 minutes", "-1s", "+1s", "1.s",
	    ".5s", "1,5s", "5M", "1h1h", "30m1h", "1s1", "1h 30", "1e3", "0x10", "5s junk",
	    "18446744073709551616ns", "213504d", "1..5s"};
	uint64_t v;
	char buf[32];
	size_t i;

	for (i = 0; i < sizeof good / sizeof good[0]; i++) {
		v = 42;
		ck_assert_msg(duration_parse(good[i].s, &v) == 0, "\"%s\" refused", good[i].s);
		ck_assert_msg(v == good[i].ns, "\"%s\" is %llu ns, not %llu", good[i].s,
		    (unsigned long long)v, (unsigned long long)good[i].ns);
	}
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		v = 42;
		ck_assert_msg(duration_parse(bad[i], &v) == -1, "\"%s\" accepted", bad[i]);
		ck_assert_uint_eq(v, 42);
	}
	duration_format(buf, sizeof buf, 5400 * SEC);
	ck_assert_str_eq(buf, "90m");
	duration_format(buf, sizeof buf, SEC / 2);
	ck_assert_str_eq(buf, "500ms");
	duration_format(buf, sizeof buf, 0);
	ck_assert_str_eq(buf, "0");
	duration_format(buf, sizeof buf, 1);
	ck_assert_str_eq(buf, "1ns");
}
END_TEST

/* Durations with units and decimals in the file; bad ones named by file, line and setting. */
START_TEST(test_duration_settings)
{
	struct tf_config c;
	char *cause;

	load_ok("idle_timeout = \"1h30m\";\n"
	        "linger = \"0.5s\";\n"
	        "flush_interval = \"1.5s\";\n"
	        "max_age = \"2d\";\n",
	    &c);
	ck_assert_uint_eq(c.idle_timeout, 5400 * SEC);
	ck_assert_uint_eq(c.linger, SEC / 2);
	ck_assert_uint_eq(c.flush_interval, 3 * SEC / 2);
	ck_assert_uint_eq(c.max_age, 2 * 86400 * SEC);
	config_free(&c);
	load_ok("idle_timeout = 90;\nlinger = 0.25;\n", &c);
	ck_assert_uint_eq(c.idle_timeout, 90 * SEC);
	ck_assert_uint_eq(c.linger, SEC / 4);
	config_free(&c);

	cause = load_error(
	    "snaplen = 100;\nlinger = \"0.5 s\";\nidle_timeout = \"1h30\";\n", 3, "idle_timeout");
	ck_assert_ptr_nonnull(strstr(cause, "\"1h30\" is not a duration (seconds, or numbers"));
	free(cause);
	cause = load_error("\n\nlinger = \"30m1h\";\n", 3, "linger");
	ck_assert_ptr_nonnull(strstr(cause, "\"30m1h\" is not a duration"));
	free(cause);
	cause = load_error("linger = \"1.5h\";\n", 1, "linger");
	ck_assert_ptr_nonnull(strstr(cause, "1.5h is out of range 0..1h"));
	free(cause);
	cause = load_error("idle_timeout = \"0.5s\";\n", 1, "idle_timeout");
	ck_assert_ptr_nonnull(strstr(cause, "0.5s is out of range 1s..365d"));
	free(cause);
}
END_TEST

START_TEST(test_unknown)
{
	char *cause = load_error("snaplen = 100;\n\nsnap_len = 100;\n", 3, "snap_len");

	ck_assert_ptr_nonnull(strstr(cause, "unknown setting"));
	free(cause);
}
END_TEST

START_TEST(test_bad_type)
{
	char *cause;

	cause = load_error("# comment\nsnaplen = \"big\";\n", 2, "snaplen");
	ck_assert_ptr_nonnull(strstr(cause, "expects an integer, not a string"));
	free(cause);
	cause = load_error("promisc = 1;\n", 1, "promisc");
	ck_assert_ptr_nonnull(strstr(cause, "expects true or false, not an integer"));
	free(cause);
	cause = load_error("user = 0;\n", 1, "user");
	ck_assert_ptr_nonnull(strstr(cause, "expects a string, not an integer"));
	free(cause);
	cause = load_error("\n\ninterfaces = ( \"eth0\", 5 );\n", 3, "interfaces");
	ck_assert_ptr_nonnull(strstr(cause, "element 2 is an integer, not a string"));
	free(cause);
	cause = load_error("interfaces = [ ];\n", 1, "interfaces");
	ck_assert_ptr_nonnull(strstr(cause, "0 elements"));
	free(cause);
	cause = load_error("idle_timeout = true;\n", 1, "idle_timeout");
	ck_assert_ptr_nonnull(strstr(cause, "expects a duration"));
	free(cause);
	cause = load_error("idle_timeout = \"5 minutes\";\n", 1, "idle_timeout");
	ck_assert_ptr_nonnull(strstr(cause, "\"5 minutes\" is not a duration"));
	free(cause);
	cause = load_error("buffer_size = \"64X\";\n", 1, "buffer_size");
	ck_assert_ptr_nonnull(strstr(cause, "\"64X\" is not a size"));
	free(cause);
	cause = load_error("control_mode = 0690;\n", 1, "control_mode");
	ck_assert_ptr_nonnull(strstr(cause, "not an octal mode"));
	free(cause);
	cause = load_error("filter = \"port port\";\n", 1, "filter");
	ck_assert_ptr_nonnull(strstr(cause, "bad filter"));
	free(cause);
	cause = load_error("spool_dir = \"spool\";\n", 1, "spool_dir");
	ck_assert_ptr_nonnull(strstr(cause, "not an absolute path"));
	free(cause);
	cause = load_error("\nipfix_collector = \"collector\";\n", 2, "ipfix_collector");
	ck_assert_ptr_nonnull(strstr(cause, "is not host:port"));
	free(cause);
	cause = load_error("ipfix_collector = \"::1:4739\";\n", 1, "ipfix_collector");
	ck_assert_ptr_nonnull(strstr(cause, "in brackets"));
	free(cause);
	cause = load_error("ipfix_collector = \"h:0\";\n", 1, "ipfix_collector");
	free(cause);
	cause = load_error("ipfix_transport = \"sctp\";\n", 1, "ipfix_transport");
	free(cause);
	cause = load_error("metrics_listen = \"9464\";\n", 1, "metrics_listen");
	ck_assert_ptr_nonnull(strstr(cause, "is not host:port"));
	free(cause);
	cause = load_error("metrics_listen = \"127.0.0.1:65536\";\n", 1, "metrics_listen");
	free(cause);
	cause = load_error("layout = \"../%Y\";\n", 1, "layout");
	ck_assert_ptr_nonnull(strstr(cause, "no \"..\""));
	free(cause);
	cause = load_error("grp = { a = 1; };\n", 1, "grp");
	ck_assert_ptr_nonnull(strstr(cause, "unknown setting"));
	free(cause);
}
END_TEST

START_TEST(test_bounds)
{
	char *cause;

	cause = load_error("snaplen = 63;\n", 1, "snaplen");
	ck_assert_str_eq(strstr(cause, "63"), "63 is out of range 64..262144");
	free(cause);
	cause = load_error("snaplen = -1;\n", 1, "snaplen");
	ck_assert_ptr_nonnull(strstr(cause, "-1 is out of range 64..262144"));
	free(cause);
	cause = load_error("\nbuffer_size = \"4G\";\n", 2, "buffer_size");
	ck_assert_ptr_nonnull(strstr(cause, "4G is out of range 1M..2G"));
	free(cause);
	cause = load_error("segment_size = \"512k\";\n", 1, "segment_size");
	ck_assert_ptr_nonnull(strstr(cause, "512k is out of range 0 or 1M..1T"));
	free(cause);
	cause = load_error("idle_timeout = \"500ms\";\n", 1, "idle_timeout");
	ck_assert_ptr_nonnull(strstr(cause, "500ms is out of range 1s..365d"));
	free(cause);
	cause = load_error("flush_interval = 0;\n", 1, "flush_interval");
	ck_assert_ptr_nonnull(strstr(cause, "0 is out of range 10ms..1h"));
	free(cause);
	cause = load_error("max_flows = 100000001;\n", 1, "max_flows");
	ck_assert_ptr_nonnull(strstr(cause, "out of range 1..100000000"));
	free(cause);
	cause = load_error("control_mode = \"01777\";\n", 1, "control_mode");
	ck_assert_ptr_nonnull(strstr(cause, "01777 is out of range 0000..0777"));
	free(cause);
	cause = load_error("capture_threads = 0;\n", 1, "capture_threads");
	ck_assert_ptr_nonnull(strstr(cause, "0 is out of range \"auto\" or 1..64"));
	free(cause);
	cause = load_error("capture_threads = 65;\n", 1, "capture_threads");
	ck_assert_ptr_nonnull(strstr(cause, "65 is out of range \"auto\" or 1..64"));
	free(cause);
	cause = load_error("capture_threads = \"all\";\n", 1, "capture_threads");
	free(cause);
}
END_TEST

/* capture_threads: a count, or "auto" (kept as 0, printed back as "auto"). */
START_TEST(test_auto)
{
	struct tf_config c;
	json_t *o;
	char *printed;

	config_defaults(&c);
	ck_assert_uint_eq(c.capture_threads, 1);
	config_free(&c);
	load_ok("capture_threads = 3;\n", &c);
	ck_assert_uint_eq(c.capture_threads, 3);
	config_free(&c);
	load_ok("capture_threads = \"auto\";\n", &c);
	ck_assert_uint_eq(c.capture_threads, 0);
	printed = render(config_print, &c);
	ck_assert_ptr_nonnull(strstr(printed, "capture_threads = \"auto\";"));
	o = config_json(&c);
	ck_assert_str_eq(json_string_value(json_object_get(o, "capture_threads")), "auto");
	json_decref(o);
	free(printed);
	config_free(&c);
}
END_TEST

/*
 * Integers beyond 32 bits without an L suffix: libconfig 1.5 cuts them to
 * an int (5000000000 -> 705032704), and every version cuts hex ones.
 */
START_TEST(test_int64)
{
	struct tf_config c;
	char *pa;

	load_ok("max_spool_size = 5000000000;\n", &c);
	ck_assert_uint_eq(c.max_spool_size, 5000000000ull);
	pa = render(config_print, &c);
	ck_assert_ptr_nonnull(strstr(pa, "max_spool_size = 5000000000L;\n"));
	free(pa);
	config_free(&c);

	load_ok("max_spool_size = 5000000000L;\nsegment_packets = 4294967295;\n", &c);
	ck_assert_uint_eq(c.max_spool_size, 5000000000ull);
	ck_assert_uint_eq(c.segment_packets, 4294967295ull);
	config_free(&c);

	load_ok("max_spool_size = \"5G\";\nsegment_size = \"5G\";\nwrite_buffer = \"5GiB\";\n", &c);
	ck_assert_uint_eq(c.max_spool_size, 5 * 1024 * MiB);
	ck_assert_uint_eq(c.segment_size, 5 * 1024 * MiB);
	ck_assert_uint_eq(c.write_buffer, 5 * 1024 * MiB);
	config_free(&c);

	load_ok("max_spool_size = 0x140000000;\nsegment_size = +5368709120;\n", &c);
	ck_assert_uint_eq(c.max_spool_size, 5 * 1024 * MiB);
	ck_assert_uint_eq(c.segment_size, 5 * 1024 * MiB);
	config_free(&c);

	/* The number is found again past comments, strings and line breaks. */
	load_ok("# max_spool_size = 1;\n"
	        "admin_group = \"a\nb \\\"max_spool_size = 2\\\" \\\\\" \"\";\n"
	        "/* max_spool_size = 3;\n*/ snaplen = 1500; max_spool_size /* = 4 */\n"
	        "  :\n  5000000001 ; // 5\n"
	        "segment_packets=4000000000,max_flows = 100000000;\n"
	        "segment_size = 5368709120max_open_files=0x12c\n",
	    &c);
	ck_assert_uint_eq(c.max_spool_size, 5000000001ull);
	ck_assert_uint_eq(c.segment_packets, 4000000000ull);
	ck_assert_uint_eq(c.max_flows, 100000000);
	ck_assert_int_eq(c.snaplen, 1500);
	ck_assert_uint_eq(c.segment_size, 5 * 1024 * MiB);
	ck_assert_uint_eq(c.max_open_files, 300);
	ck_assert_str_eq(c.admin_group, "a\nb \"max_spool_size = 2\" \\");
	config_free(&c);
}
END_TEST

/* Beyond a setting's bounds or its field: FILE:LINE: setting NAME. */
START_TEST(test_int64_bounds)
{
	char *cause;

	cause = load_error("promisc = true;\nsnaplen = 4294967360;\n", 2, "snaplen");
	ck_assert_str_eq(strstr(cause, "4294967360"), "4294967360 is out of range 64..262144");
	free(cause);
	cause = load_error("\n\n\nmax_open_files = 4294967304;\n", 4, "max_open_files");
	ck_assert_ptr_nonnull(strstr(cause, "4294967304 is out of range 8..1000000"));
	free(cause);
	cause = load_error(
	    "snaplen = 100; max_open_files = 4294967304; linger = 1;\n", 1, "max_open_files");
	ck_assert_ptr_nonnull(strstr(cause, "4294967304 is out of range 8..1000000"));
	free(cause);
	cause = load_error("max_flows = 99999999999999999999;\n", 1, "max_flows");
	ck_assert_ptr_nonnull(strstr(cause, "99999999999999999999 is out of range 1..100000000"));
	free(cause);
	cause = load_error("segment_packets = 4294967296;\n", 1, "segment_packets");
	ck_assert_ptr_nonnull(strstr(cause, "4294967296 is out of range 1..4294967295"));
	free(cause);
	cause = load_error("idle_timeout = 4294967296;\n", 1, "idle_timeout");
	ck_assert_ptr_nonnull(strstr(cause, "4294967296 is out of range 1s..365d"));
	free(cause);
	cause = load_error("snaplen = 0x100000040;\n", 1, "snaplen");
	ck_assert_ptr_nonnull(strstr(cause, "4294967360 is out of range 64..262144"));
	free(cause);
	cause = load_error("control_mode = 0100000000000;\n", 1, "control_mode");
	ck_assert_ptr_nonnull(strstr(cause, "0100000000000 is out of range 0000..0777"));
	free(cause);
	cause = load_error("max_spool_size = \"2E\";\n", 1, "max_spool_size");
	ck_assert_ptr_nonnull(strstr(cause, "2E is out of range 0 or 1M..1E"));
	free(cause);
	cause = load_error("max_spool_size = \"16E\";\n", 1, "max_spool_size");
	ck_assert_ptr_nonnull(strstr(cause, "\"16E\" is not a size"));
	free(cause);
}
END_TEST

/* No setting takes a negative number, however it is written. */
START_TEST(test_negative)
{
	char *cause;

	cause = load_error("snaplen = -4294967232;\n", 1, "snaplen");
	ck_assert_ptr_nonnull(strstr(cause, "-4294967232 is out of range 64..262144"));
	free(cause);
	cause = load_error("\nmax_spool_size = -4294967296;\n", 2, "max_spool_size");
	ck_assert_ptr_nonnull(strstr(cause, "-4294967296 is out of range 0 or 1M..1E"));
	free(cause);
	cause = load_error("max_spool_size = -5000000000;\n", 1, "max_spool_size");
	ck_assert_ptr_nonnull(strstr(cause, "-5000000000 is out of range"));
	free(cause);
	cause = load_error("max_spool_size = -1;\n", 1, "max_spool_size");
	ck_assert_ptr_nonnull(strstr(cause, "-1 is out of range 0 or 1M..1E"));
	free(cause);
	cause = load_error("max_open_files = -8L;\n", 1, "max_open_files");
	ck_assert_ptr_nonnull(strstr(cause, "-8 is out of range 8..1000000"));
	free(cause);
	cause = load_error("max_spool_size = \"-5G\";\n", 1, "max_spool_size");
	ck_assert_ptr_nonnull(strstr(cause, "\"-5G\" is not a size"));
	free(cause);
	cause = load_error("linger = -1;\n", 1, "linger");
	ck_assert_ptr_nonnull(strstr(cause, "-1 is out of range 0..1h"));
	free(cause);
	cause = load_error("linger = -0.5;\n", 1, "linger");
	ck_assert_ptr_nonnull(strstr(cause, "-0.5 is out of range 0..1h"));
	free(cause);
	cause = load_error("linger = \"-1s\";\n", 1, "linger");
	ck_assert_ptr_nonnull(strstr(cause, "\"-1s\" is not a duration"));
	free(cause);
	cause = load_error("control_mode = -1;\n", 1, "control_mode");
	ck_assert_ptr_nonnull(strstr(cause, "not"));
	free(cause);
}
END_TEST

/* A big number in an included file is read from that file. */
START_TEST(test_int64_include)
{
	struct tf_config c;
	char inc[64], *text, *cause = NULL, *want;
	FILE *fp;
	int fd;

	strcpy(inc, "/tmp/check_config_inc.XXXXXX");
	fd = mkstemp(inc);
	ck_assert_int_ge(fd, 0);
	fp = fdopen(fd, "w");
	fputs("# included\nmax_spool_size = 6000000000;\n", fp);
	fclose(fp);
	ck_assert_int_ne(asprintf(&text, "format = \"tree\";\n@include \"%s\"\n", inc), -1);
	load_ok(text, &c);
	ck_assert_uint_eq(c.max_spool_size, 6000000000ull);
	config_free(&c);
	free(text);

	fp = fopen(inc, "w");
	fputs("\n\nsnaplen = 4294967360;\n", fp);
	fclose(fp);
	ck_assert_int_ne(asprintf(&text, "format = \"tree\";\n@include \"%s\"\n", inc), -1);
	ck_assert_int_ne(
	    asprintf(&want, "%s:3: setting snaplen: 4294967360 is out of range", inc), -1);
	ck_assert_int_eq(config_load(write_conf(text), &c, &cause), -1);
	remove_conf();
	ck_assert_msg(
	    strncmp(cause, want, strlen(want)) == 0, "got \"%s\", want prefix \"%s\"", cause, want);
	free(cause);
	free(text);
	free(want);
	unlink(inc);
}
END_TEST

START_TEST(test_bad_enum)
{
	char *cause;

	cause = load_error("snaplen = 100;\nformat = \"pcapx\";\n", 2, "format");
	ck_assert_ptr_nonnull(strstr(
	    cause, "unknown word \"pcapx\" (allowed: pcap, json, plist, tree, none, pcapng)"));
	free(cause);
	cause = load_error("flow_end = \"fin\";\n", 1, "flow_end");
	ck_assert_ptr_nonnull(strstr(cause, "(allowed: teardown, first-fin)"));
	free(cause);
	cause = load_error("byteorder = 1;\n", 1, "byteorder");
	ck_assert_ptr_nonnull(strstr(cause, "expects one of little, big, not an integer"));
	free(cause);
	cause = load_error("log_level = \"trace\";\n", 1, "log_level");
	ck_assert_ptr_nonnull(strstr(cause, "(allowed: error, warning, info, debug)"));
	free(cause);
}
END_TEST

START_TEST(test_syntax)
{
	char *cause;

	cause = load_error("snaplen = 100;\npromisc = true;\nformat = ;\n", 3, NULL);
	ck_assert_ptr_nonnull(strstr(cause, "syntax error"));
	free(cause);
	cause = load_error("snaplen = 100;\nsnaplen = 200;\n", 2, NULL);
	ck_assert_ptr_nonnull(strstr(cause, "duplicate setting"));
	free(cause);
}
END_TEST

START_TEST(test_missing_file)
{
	struct tf_config c;
	char *cause = NULL;

	ck_assert_int_eq(config_load("/nonexistent/traceflow.conf", &c, &cause), -1);
	ck_assert_str_eq(cause, "/nonexistent/traceflow.conf: No such file or directory");
	free(cause);
	config_free(&c);
}
END_TEST

/* An error in an included file names that file. */
START_TEST(test_include)
{
	struct tf_config c;
	char inc[64], *text, *cause = NULL, *want;
	FILE *fp;
	int fd;

	strcpy(inc, "/tmp/check_config_inc.XXXXXX");
	fd = mkstemp(inc);
	ck_assert_int_ge(fd, 0);
	fp = fdopen(fd, "w");
	fputs("snaplen = 100;\nlinger = \"forever\";\n", fp);
	fclose(fp);
	ck_assert_int_ne(asprintf(&text, "format = \"tree\";\n@include \"%s\"\n", inc), -1);
	ck_assert_int_ne(asprintf(&want, "%s:2: setting linger: ", inc), -1);
	ck_assert_int_eq(config_load(write_conf(text), &c, &cause), -1);
	remove_conf();
	ck_assert_msg(
	    strncmp(cause, want, strlen(want)) == 0, "got \"%s\", want prefix \"%s\"", cause, want);
	ck_assert_ptr_nonnull(strstr(cause, "\"forever\" is not a duration"));
	free(cause);
	free(text);
	free(want);
	unlink(inc);
}
END_TEST

START_TEST(test_round_trip)
{
	struct tf_config a, b;
	char *pa, *pb, *cause = NULL;
	const char *path;

	load_ok(full_conf, &a);
	free(a.filter);
	a.filter = strdup("host 10.0.0.1 and not (port 22)");
	free(a.group);
	a.group = strdup("odd \"name\"\\x");
	a.write_buffer = 1000 * MiB + 1; /* no unit fits */
	a.segment_size = 3 * 1024 * MiB;
	pa = render(config_print, &a);
	path = write_conf(pa);
	if (config_load(path, &b, &cause) != 0)
		ck_abort_msg("reload of printed config failed: %s\n%s", cause, pa);
	remove_conf();
	pb = render(config_print, &b);
	ck_assert_str_eq(pa, pb);
	ck_assert_str_eq(b.group, "odd \"name\"\\x");
	ck_assert_uint_eq(b.write_buffer, 1000 * MiB + 1);
	ck_assert_ptr_null(config_changes(&a, &b));
	free(pa);
	free(pb);
	config_free(&a);
	config_free(&b);

	/* The defaults too. */
	config_defaults(&a);
	pa = render(config_print, &a);
	load_ok(pa, &b);
	pb = render(config_print, &b);
	ck_assert_str_eq(pa, pb);
	ck_assert_ptr_nonnull(strstr(pa, "control_mode = 0660;\n"));
	ck_assert_ptr_nonnull(strstr(pa, "idle_timeout = \"5m\";\n"));
	ck_assert_ptr_nonnull(strstr(pa, "interfaces = [ \"any\" ];\n"));
	free(pa);
	free(pb);
	config_free(&a);
	config_free(&b);
}
END_TEST

START_TEST(test_reload)
{
	struct tf_config old, new_;
	char *cause = NULL, *changes, *want;

	config_defaults(&old);
	load_ok(
	    "interfaces = [ \"eth0\", \"eth1\" ];\nfilter = \"port 80\";\nlinger = 5;\n", &new_);
	ck_assert_int_eq(config_reload_check(&old, &new_, &cause), 0);
	ck_assert_ptr_null(cause);
	changes = config_changes(&old, &new_);
	ck_assert_str_eq(changes, "interfaces, filter, linger");
	free(changes);
	config_free(&new_);

	/* The refusal names where the setting is, the file kept to be named. */
	ck_assert_int_eq(
	    config_load(write_conf("filter = \"port 80\";\nuser = \"nobody\";\n"), &new_, &cause),
	    0);
	ck_assert_int_eq(config_reload_check(&old, &new_, &cause), -1);
	ck_assert_int_ne(
	    asprintf(
	        &want, "%s:2: setting user: cannot change on reload: restart traceflowd", tmppath),
	    -1);
	ck_assert_str_eq(cause, want);
	free(want);
	/* config_where: the line of a setting, the file for one left at its default. */
	ck_assert_int_ne(asprintf(&want, "%s:1", tmppath), -1);
	ck_assert_str_eq(config_where(&new_, "filter"), want);
	ck_assert_str_eq(config_where(&new_, "linger"), tmppath);
	ck_assert_str_eq(config_where(&old, "user"), "defaults");
	free(want);
	free(cause);
	config_free(&new_);
	remove_conf();

	cause = NULL;
	load_ok("control_socket = \"/run/other.sock\";\n", &new_);
	ck_assert_int_eq(config_reload_check(&old, &new_, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "setting control_socket: cannot change"));
	free(cause);
	config_free(&new_);
	config_free(&old);
}
END_TEST

/*
 * The sample with every "#name = value;" line uncommented, and how many
 * such lines it has; each must follow one line of documentation.
 */
static char *
uncomment_sample(const char *sample, size_t *n)
{
	char *out = NULL, *copy = strdup(sample), *line, *save, *prev = NULL;
	size_t len = 0, namelen;
	FILE *fp = open_memstream(&out, &len);

	*n = 0;
	for (line = strtok_r(copy, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		namelen = strspn(line + 1, "abcdefghijklmnopqrstuvwxyz_");
		if (line[0] == '#' && namelen > 0 && strncmp(line + 1 + namelen, " = ", 3) == 0) {
			ck_assert_msg(prev != NULL && strncmp(prev, "# ", 2) == 0 &&
			                  strncmp(prev, "# ---", 5) != 0,
			    "%s: no line of documentation above it", line);
			fprintf(fp, "%s\n", line + 1);
			(*n)++;
		}
		prev = line;
	}
	fclose(fp);
	free(copy);
	return out;
}

/*
 * etc/traceflow.conf is exactly config_sample(); as shipped it sets
 * nothing, and with every setting uncommented it names each setting of
 * the table once, at its default.
 */
START_TEST(test_sample_file)
{
	struct tf_config def, c;
	const char *top = getenv("top_srcdir");
	char *path, *file, *sample, *uncommented, *pd, *pc, *cause = NULL;
	size_t n, settings = 0;

	ck_assert_int_ne(asprintf(&path, "%s/etc/traceflow.conf", top ? top : ".."), -1);
	file = read_whole(path);
	ck_assert_msg(file != NULL, "cannot read %s", path);
	sample = render(sample_fn, NULL);
	ck_assert_msg(strcmp(file, sample) == 0,
	    "%s differs from config_sample(): tests/check_config --sample > etc/traceflow.conf",
	    path);

	config_defaults(&def);
	pd = render(config_print, &def);
	for (pc = pd; (pc = strchr(pc, '\n')) != NULL; pc++)
		settings++;
	ck_assert_int_eq(config_load(path, &c, &cause), 0);
	pc = render(config_print, &c);
	ck_assert_str_eq(pd, pc);
	ck_assert_ptr_null(strstr(sample, "\ninterfaces ="));
	free(pc);
	config_free(&c);

	uncommented = uncomment_sample(sample, &n);
	ck_assert_uint_eq(n, settings);
	load_ok(uncommented, &c);
	pc = render(config_print, &c);
	ck_assert_str_eq(pd, pc);
	ck_assert_ptr_nonnull(strstr(sample, "\n#snaplen = 262144;\n"));
	ck_assert_ptr_nonnull(strstr(sample, "\n#interfaces = [ \"any\" ];\n"));
	free(uncommented);
	free(pd);
	free(pc);
	config_free(&def);
	config_free(&c);
	free(sample);
	free(file);
	free(path);
}
END_TEST

START_TEST(test_json)
{
	struct tf_config c;
	json_t *o, *v;
	char *printed, *line, *save, *name;
	size_t n = 0;

	load_ok("interfaces = [ \"eth0\", \"eth1\" ];\nlinger = \"250ms\";\n", &c);
	o = config_json(&c);
	printed = render(config_print, &c);
	/* Every setting config_print writes is in the object, and nothing else. */
	for (line = strtok_r(printed, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		name = strndup(line, strcspn(line, " "));
		ck_assert_msg(json_object_get(o, name) != NULL, "%s missing from JSON", name);
		free(name);
		n++;
	}
	ck_assert_uint_eq(json_object_size(o), n);
	ck_assert_uint_eq(n, 50);

	ck_assert_int_eq(json_integer_value(json_object_get(o, "idle_timeout")), 300);
	ck_assert_double_eq_tol(json_real_value(json_object_get(o, "linger")), 0.25, 1e-9);
	ck_assert_int_eq(json_integer_value(json_object_get(o, "buffer_size")), 32 * MiB);
	ck_assert_int_eq(json_integer_value(json_object_get(o, "snaplen")), 262144);
	ck_assert(json_is_true(json_object_get(o, "promisc")));
	ck_assert_str_eq(json_string_value(json_object_get(o, "format")), "pcap");
	ck_assert_str_eq(json_string_value(json_object_get(o, "byteorder")), "little");
	ck_assert_str_eq(json_string_value(json_object_get(o, "log_level")), "info");
	ck_assert_str_eq(json_string_value(json_object_get(o, "control_mode")), "0660");
	v = json_object_get(o, "interfaces");
	ck_assert_uint_eq(json_array_size(v), 2);
	ck_assert_str_eq(json_string_value(json_array_get(v, 1)), "eth1");
	json_decref(o);
	free(printed);
	config_free(&c);
}
END_TEST

START_TEST(test_engine)
{
	struct tf_config c;
	struct engine_config e;

	load_ok(full_conf, &c);
	config_to_engine(&c, &e);
	ck_assert_str_eq(e.outdir, "/srv/flows");
	ck_assert_uint_eq(e.flow.idle_ns, 300 * SEC);
	ck_assert_uint_eq(e.flow.linger_ns, SEC / 2);
	ck_assert_uint_eq(e.flow.max_flows, 5000);
	ck_assert_int_eq(e.flow.end_mode, FLOW_END_FIRST_FIN);
	ck_assert_uint_eq(e.flow.seg_packets, 4294967295u);
	ck_assert_uint_eq(e.flow.seg_size, 2048 * MiB);
	ck_assert_int_eq(e.writer.format, FMT_JSON);
	ck_assert_int_eq(e.writer.big, 1);
	ck_assert_int_eq(e.writer.nanosecond, 1);
	ck_assert_str_eq(e.writer.layout, "%Y/%m/%d");
	ck_assert_uint_eq(e.writer.max_open_files, 64);
	ck_assert_uint_eq(e.writer.buffer_total, 16 * MiB);
	ck_assert_uint_eq(e.writer.flush_ns, SEC / 4);
	ck_assert_uint_le(e.writer.flow_buffer, e.writer.buffer_total);
	ck_assert_uint_gt(e.frag_max, 0);
	config_free(&c);
}
END_TEST

/* --- compat = "pcapkit" ------------------------------------------------ */

/* The preset in a file: pcapkit's rule; the daemon keeps its idle timeout and segments. */
START_TEST(test_compat_file)
{
	struct tf_config c;
	struct engine_config e;

	load_ok("compat = \"pcapkit\";\n", &c);
	ck_assert_int_eq(c.compat, CONFIG_COMPAT_PCAPKIT);
	ck_assert_int_eq(c.flow_end, FLOW_END_FIRST_FIN);
	ck_assert_int_eq(c.flow_key, FLOW_KEY_DIRECTIONAL);
	ck_assert_int_eq(c.label_time, LABEL_TIME_SHORTEST);
	ck_assert_uint_eq(c.idle_timeout, 300 * SEC);
	config_to_engine(&c, &e);
	ck_assert_int_eq(e.flow.end_mode, FLOW_END_FIRST_FIN);
	ck_assert_int_eq(e.flow.key_mode, FLOW_KEY_DIRECTIONAL);
	ck_assert_int_eq(e.flow.key_bare, 1);
	ck_assert_int_eq(e.flow.label_time, LABEL_TIME_SHORTEST);
	ck_assert_uint_eq(e.flow.idle_ns, 300 * SEC);
	ck_assert_uint_eq(e.flow.seg_packets, 1000000);
	config_free(&c);

	/* The settings alone, without the preset: no bare key. */
	load_ok("flow_key = \"directional\";\nlabel_time = \"shortest\";\n", &c);
	config_to_engine(&c, &e);
	ck_assert_int_eq(e.flow.key_mode, FLOW_KEY_DIRECTIONAL);
	ck_assert_int_eq(e.flow.key_bare, 0);
	ck_assert_int_eq(e.flow.end_mode, FLOW_END_TEARDOWN);
	ck_assert_int_eq(e.flow.label_time, LABEL_TIME_SHORTEST);
	config_free(&c);
}
END_TEST

/* A setting the preset makes, set too: an error at compat's line naming the other's. */
START_TEST(test_compat_conflict)
{
	static const struct {
		const char *text;
		unsigned line;   /* compat's */
		const char *why; /* %s: the file */
	} cases[] = {
	    {"compat = \"pcapkit\";\nsnaplen = 100;\nflow_end = \"teardown\";\n", 1,
	        "compat = pcapkit sets flow_end; flow_end = teardown also set at %s:3"},
	    {"flow_key = \"connection\";\ncompat = \"pcapkit\";\n", 2,
	        "compat = pcapkit sets flow_key; flow_key = connection also set at %s:1"},
	    {"\n\nlabel_time = \"shortest\";\ncompat = \"pcapkit\";\n", 4,
	        "compat = pcapkit sets label_time; label_time = shortest also set at %s:3"},
	    /* Even to the value the preset gives. */
	    {"compat = \"pcapkit\";\nflow_end = \"first-fin\";\n", 1,
	        "compat = pcapkit sets flow_end; flow_end = first-fin also set at %s:2"},
	};
	struct tf_config c;
	char *cause, *want, *path;
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cause = load_error(cases[i].text, cases[i].line, "compat");
		/* load_error checked the "FILE:LINE: setting compat: " prefix. */
		path = strndup(cause, (size_t)(strchr(cause, ':') - cause));
		ck_assert_int_ne(asprintf(&want, cases[i].why, path), -1);
		ck_assert_msg(strstr(cause, want) != NULL, "got \"%s\", want \"%s\"", cause, want);
		free(want);
		free(path);
		free(cause);
	}
	/* The idle timeout and segments are the daemon's bounds: no conflict there. */
	load_ok("compat = \"pcapkit\";\nidle_timeout = 60;\nsegment_packets = 10;\n", &c);
	ck_assert_uint_eq(c.idle_timeout, 60 * SEC);
	ck_assert_uint_eq(c.segment_packets, 10);
	config_free(&c);
}
END_TEST

/* Printed, the preset's settings are comments: the output loads back to the same. */
START_TEST(test_compat_round_trip)
{
	struct tf_config a, b;
	char *pa, *pb;

	load_ok("compat = \"pcapkit\";\n", &a);
	pa = render(config_print, &a);
	ck_assert_ptr_nonnull(strstr(pa, "compat = \"pcapkit\";\n"));
	ck_assert_ptr_nonnull(strstr(pa, "# set by compat: flow_end = \"first-fin\";\n"));
	ck_assert_ptr_nonnull(strstr(pa, "# set by compat: flow_key = \"directional\";\n"));
	ck_assert_ptr_nonnull(strstr(pa, "# set by compat: label_time = \"shortest\";\n"));
	load_ok(pa, &b);
	pb = render(config_print, &b);
	ck_assert_str_eq(pa, pb);
	ck_assert_ptr_null(config_changes(&a, &b));
	free(pa);
	free(pb);
	config_free(&a);
	config_free(&b);
}
END_TEST

/* Neither compat nor the key nor the label time change on a reload. */
START_TEST(test_compat_reload)
{
	struct tf_config a, b;
	char *cause = NULL;

	config_defaults(&a);
	load_ok("compat = \"pcapkit\";\n", &b);
	ck_assert_int_eq(config_reload_check(&a, &b, &cause), -1);
	/* where it was set, too: FILE:1 */
	ck_assert_ptr_nonnull(
	    strstr(cause, ":1: setting compat: cannot change on reload: restart traceflowd"));
	free(cause);
	config_free(&b);
	load_ok("flow_key = \"directional\";\n", &b);
	ck_assert_int_eq(config_reload_check(&a, &b, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "flow_key"));
	free(cause);
	config_free(&a);
	config_free(&b);
}
END_TEST

/* The command line: words through the table, the preset and its offline part. */
START_TEST(test_compat_args)
{
	static const struct config_arg compat = {"compat", "pcapkit", "--compat"};
	struct config_arg args[3];
	struct tf_config c;
	struct flow_config f;
	char *cause = NULL;

	args[0] = compat;
	ck_assert_int_eq(config_args(&c, args, 1, &cause), 0);
	memset(&f, 0, sizeof f);
	f.idle_ns = 300 * SEC;
	f.seg_packets = 1000000;
	config_flow_rule(&c, &f);
	ck_assert_int_eq(f.end_mode, FLOW_END_FIRST_FIN);
	ck_assert_int_eq(f.key_mode, FLOW_KEY_DIRECTIONAL);
	ck_assert_int_eq(f.key_bare, 1);
	ck_assert_int_eq(f.label_time, LABEL_TIME_SHORTEST);
	ck_assert_uint_eq(f.idle_ns, 0); /* offline: no timeout, as pcapkit */
	ck_assert_uint_eq(f.seg_packets, 0);
	ck_assert_uint_eq(f.seg_size, 0);
	config_free(&c);

	/* Conflicts name both options, whichever comes first. */
	args[0] = (struct config_arg){"flow_end", "first-fin", "--flow-end"};
	args[1] = compat;
	ck_assert_int_eq(config_args(&c, args, 2, &cause), -1);
	ck_assert_str_eq(cause, "--compat pcapkit sets flow_end; --flow-end first-fin also given");
	free(cause);
	args[0] = compat;
	args[1] = (struct config_arg){"label_time", "fixed", "--label-time"};
	ck_assert_int_eq(config_args(&c, args, 2, &cause), -1);
	ck_assert_str_eq(cause, "--compat pcapkit sets label_time; --label-time fixed also given");
	free(cause);
	args[1] = (struct config_arg){"idle_timeout", "60", "--idle-timeout"};
	ck_assert_int_eq(config_args(&c, args, 2, &cause), -1);
	ck_assert_str_eq(cause, "--compat pcapkit sets idle_timeout; --idle-timeout 60 also given");
	free(cause);
	args[1] = (struct config_arg){"segment_size", "1048576", "--segment-size"};
	ck_assert_int_eq(config_args(&c, args, 2, &cause), -1);
	ck_assert_str_eq(
	    cause, "--compat pcapkit sets segment_size; --segment-size 1048576 also given");
	free(cause);

	/* A bad word, with what is allowed. */
	args[0] = (struct config_arg){"flow_key", "both", "--flow-key"};
	ck_assert_int_eq(config_args(&c, args, 1, &cause), -1);
	ck_assert_str_eq(
	    cause, "--flow-key: unknown word \"both\" (allowed: connection, directional)");
	free(cause);

	/* Without the preset: the words alone, the timeout left to the caller. */
	args[0] = (struct config_arg){"flow_key", "directional", "--flow-key"};
	args[1] = (struct config_arg){"idle_timeout", "60", "--idle-timeout"};
	ck_assert_int_eq(config_args(&c, args, 2, &cause), 0);
	f.idle_ns = 60 * SEC;
	config_flow_rule(&c, &f);
	ck_assert_int_eq(f.key_mode, FLOW_KEY_DIRECTIONAL);
	ck_assert_int_eq(f.end_mode, FLOW_END_TEARDOWN);
	ck_assert_int_eq(f.label_time, LABEL_TIME_FIXED);
	ck_assert_uint_eq(f.idle_ns, 60 * SEC);
	config_free(&c);
}
END_TEST

/* In the sample the preset's settings are comments, so compat = "pcapkit" just works there. */
START_TEST(test_compat_sample)
{
	static const char from[] = "\n#compat = \"none\";\n";
	static const char note[] =
	    "# (compat = \"pcapkit\" sets it: uncomment only without compat)\n";
	struct tf_config c;
	char *sample = render(sample_fn, NULL), *edited;
	size_t at;

	ck_assert_ptr_nonnull(strstr(sample, "\n#flow_end = \"teardown\";\n"));
	ck_assert_ptr_nonnull(strstr(sample, "\n#flow_key = \"connection\";\n"));
	ck_assert_ptr_nonnull(strstr(sample, "\n#label_time = \"fixed\";\n"));
	ck_assert_ptr_nonnull(strstr(sample, note));
	ck_assert_ptr_nonnull(strstr(sample, from));
	at = strlen(sample) - strlen(strstr(sample, from));
	ck_assert_int_ne(asprintf(&edited, "%.*s\ncompat = \"pcapkit\";\n%s", (int)at, sample,
	                     sample + at + strlen(from)),
	    -1);
	load_ok(edited, &c);
	ck_assert_int_eq(c.flow_key, FLOW_KEY_DIRECTIONAL);
	config_free(&c);
	free(edited);
	free(sample);
}
END_TEST

static Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_full);
	tcase_add_test(tc, test_spellings);
	tcase_add_test(tc, test_duration_parse);
	tcase_add_test(tc, test_duration_settings);
	tcase_add_test(tc, test_unknown);
	tcase_add_test(tc, test_bad_type);
	tcase_add_test(tc, test_bounds);
	tcase_add_test(tc, test_auto);
	tcase_add_test(tc, test_int64);
	tcase_add_test(tc, test_int64_bounds);
	tcase_add_test(tc, test_negative);
	tcase_add_test(tc, test_int64_include);
	tcase_add_test(tc, test_bad_enum);
	tcase_add_test(tc, test_syntax);
	tcase_add_test(tc, test_missing_file);
	tcase_add_test(tc, test_include);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_reload);
	tcase_add_test(tc, test_sample_file);
	tcase_add_test(tc, test_json);
	tcase_add_test(tc, test_engine);
	suite_add_tcase(s, tc);

	tc = tcase_create("compat");
	tcase_add_test(tc, test_compat_file);
	tcase_add_test(tc, test_compat_conflict);
	tcase_add_test(tc, test_compat_round_trip);
	tcase_add_test(tc, test_compat_reload);
	tcase_add_test(tc, test_compat_args);
	tcase_add_test(tc, test_compat_sample);
	suite_add_tcase(s, tc);
	return s;
}

/* "check_config --sample > etc/traceflow.conf" regenerates the sample. */
int
main(int argc, char **argv)
{
	SRunner *sr;
	int failed;

	if (argc > 1 && strcmp(argv[1], "--sample") == 0) {
		config_sample(stdout);
		return EXIT_SUCCESS;
	}
	sr = srunner_create(config_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
