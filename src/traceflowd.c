/*
 * traceflowd.c: the command line. With --read it splits a capture file
 * offline; without, it is the live daemon (daemon.c). Both run the same
 * engine.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "config.h"
#include "daemon.h"
#include "duration.h"
#include "export.h"
#include "log.h"
#include "names.h"
#include "notify.h"
#include "offline.h"
#include "xmalloc.h"

#define EXIT_USAGE 2

static void __attribute__((noreturn)) usage(int status)
{
	FILE *fp = status ? stderr : stdout;

	fprintf(fp,
	    "usage: traceflowd [-c FILE] [-f] [-n] [-v] [-i IFACE]...\n"
	    "       traceflowd --read FILE|- --output DIR [options] [BPF expression]\n"
	    "daemon:\n"
	    "  -c, --config FILE        configuration (default %s)\n"
	    "  -f, --foreground         do not detach (for systemd)\n"
	    "  -n, --check              check the configuration and exit (-v: print it)\n"
	    "      --print-config json  print the configuration as JSON and exit\n"
	    "  -i, --interface IFACE    capture on IFACE (repeatable; replaces the config's)\n"
	    "offline:\n"
	    "  -r, --read FILE          capture file to split (pcap or pcapng, - = stdin)\n"
	    "  -o, --output DIR         output folder (created if missing)\n"
	    "  -F, --format FMT         %s (default pcap)\n"
	    "      --byteorder ORDER    little or big (default little)\n"
	    "      --nanosecond         nanosecond timestamps and labels\n"
	    "      --microsecond        microsecond timestamps and labels\n"
	    "                           (default: the input's precision)\n"
	    "      --flow-end MODE      teardown or first-fin (default teardown)\n"
	    "      --flow-key KEY       connection or directional (default connection)\n"
	    "      --label-time STYLE   fixed or shortest (default fixed)\n"
	    "      --compat pcapkit     pcapkit's files, labels and index (see traceflowd(8))\n"
	    "      --force              write into a non-empty output folder\n"
	    "      --layout PATTERN     strftime sub-folder for finished files (default flat)\n"
	    "      --idle-timeout DUR   end a flow idle this long (default 5m)\n"
	    "      --linger DUR         keep a torn-down flow this long (default 2s)\n"
	    "      --max-flows N        evict the longest-idle flow beyond N (default 1000000)\n"
	    "      --max-open-files N   descriptor budget (default 256)\n"
	    "      --segment-packets N  continue a flow in a new file after N packets\n"
	    "      --segment-size BYTES ... or after this many bytes (default no bound)\n"
	    "      --buffer-size BYTES  all write buffers together (default 268435456)\n"
	    "      --ipfix HOST:PORT    export every flow to this IPFIX collector\n"
	    "      --ipfix-transport T  udp or tcp (default udp)\n"
	    "      --observation-domain N, --ipfix-pen N   as in traceflow.conf(5)\n"
	    "  -v, --verbose            debug logging\n"
	    "  -V, --version            print the version\n"
	    "  -h, --help               this text\n",
	    CONFIG_PATH, names_format_list());
	exit(status);
}

/* A whole number in [min, max], or a usage error naming the option. */
static unsigned long long
num_arg(const char *opt, const char *arg, unsigned long long min, unsigned long long max)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || arg[0] == '-' || v < min || v > max) {
		log_warnx("%s: \"%s\" is not a number from %llu to %llu", opt, arg, min, max);
		exit(EXIT_USAGE);
	}
	return v;
}

/* A duration in [min, max] ns ("300", "5m", "0.5s"), or a usage error naming the option. */
static uint64_t
dur_arg(const char *opt, const char *arg, uint64_t min, uint64_t max)
{
	char lo[32], hi[32];
	uint64_t v;

	if (duration_parse(arg, &v) == -1 || v < min || v > max) {
		duration_format(lo, sizeof lo, min);
		duration_format(hi, sizeof hi, max);
		log_warnx("%s: \"%s\" is not a duration from %s to %s (%s)", opt, arg, lo, hi,
		    DURATION_FORMS);
		exit(EXIT_USAGE);
	}
	return v;
}

/*
 * --print-config json: the effective configuration as the control
 * channel's config command renders it, so that traceflowctl -c reads a
 * file through this one parser. Defaults alone if the default file is
 * missing, as the daemon runs.
 */
static int
print_config(const struct daemon_opts *d, const char *format)
{
	struct tf_config cfg;
	char *cause = NULL;
	json_t *doc;

	if (strcmp(format, "json") != 0) {
		log_warnx("--print-config: unknown format \"%s\" (json)", format);
		return EXIT_USAGE;
	}
	if (!d->config_explicit && access(d->config, F_OK) == -1 && errno == ENOENT)
		config_defaults(&cfg);
	else if (config_load(d->config, &cfg, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
		return 1;
	}
	doc = config_json(&cfg);
	json_dumpf(doc, stdout, JSON_INDENT(2));
	putchar('\n');
	json_decref(doc);
	config_free(&cfg);
	return 0;
}

enum {
	OPT_BYTEORDER = 256,
	OPT_NANO,
	OPT_MICRO,
	OPT_FLOWEND,
	OPT_FORCE,
	OPT_LAYOUT,
	OPT_IDLE,
	OPT_LINGER,
	OPT_MAXFLOWS,
	OPT_MAXOPEN,
	OPT_SEGPKTS,
	OPT_SEGSIZE,
	OPT_BUFSIZE,
	OPT_IPFIX,
	OPT_IPFIX_TRANSPORT,
	OPT_IPFIX_DOMAIN,
	OPT_IPFIX_PEN,
	OPT_PRINTCONF,
	OPT_FLOWKEY,
	OPT_LABELTIME,
	OPT_COMPAT,
};

static const struct option longopts[] = {
    {"read", required_argument, NULL, 'r'},
    {"output", required_argument, NULL, 'o'},
    {"format", required_argument, NULL, 'F'},
    {"byteorder", required_argument, NULL, OPT_BYTEORDER},
    {"nanosecond", no_argument, NULL, OPT_NANO},
    {"microsecond", no_argument, NULL, OPT_MICRO},
    {"flow-end", required_argument, NULL, OPT_FLOWEND},
    {"force", no_argument, NULL, OPT_FORCE},
    {"layout", required_argument, NULL, OPT_LAYOUT},
    {"idle-timeout", required_argument, NULL, OPT_IDLE},
    {"linger", required_argument, NULL, OPT_LINGER},
    {"max-flows", required_argument, NULL, OPT_MAXFLOWS},
    {"max-open-files", required_argument, NULL, OPT_MAXOPEN},
    {"segment-packets", required_argument, NULL, OPT_SEGPKTS},
    {"segment-size", required_argument, NULL, OPT_SEGSIZE},
    {"buffer-size", required_argument, NULL, OPT_BUFSIZE},
    {"ipfix", required_argument, NULL, OPT_IPFIX},
    {"ipfix-transport", required_argument, NULL, OPT_IPFIX_TRANSPORT},
    {"observation-domain", required_argument, NULL, OPT_IPFIX_DOMAIN},
    {"ipfix-pen", required_argument, NULL, OPT_IPFIX_PEN},
    {"print-config", required_argument, NULL, OPT_PRINTCONF},
    {"flow-key", required_argument, NULL, OPT_FLOWKEY},
    {"label-time", required_argument, NULL, OPT_LABELTIME},
    {"compat", required_argument, NULL, OPT_COMPAT},
    {"verbose", no_argument, NULL, 'v'},
    {"version", no_argument, NULL, 'V'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Offline export starts from the config table's defaults, like the daemon's. */
static void
offline_export_defaults(struct export_config *x)
{
	struct engine_config ec;
	struct tf_config dc;

	config_defaults(&dc);
	config_to_engine(&dc, &ec);
	*x = ec.export;
	x->collector = NULL;
	config_free(&dc);
}

static char *
join_args(int argc, char **argv)
{
	size_t len = 0;
	char *s;
	int i;

	for (i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	s = xcalloc(1, len + 1);
	for (i = 0; i < argc; i++) {
		if (i > 0)
			strcat(s, " ");
		strcat(s, argv[i]);
	}
	return s;
}

/*
 * Settings given by option, for config_args: word settings go through the
 * config table, and the preset --compat must know what else was given.
 */
static struct config_arg cargs[16];
static size_t ncargs;

static void
given(const char *name, const char *value, const char *option)
{
	if (ncargs < sizeof cargs / sizeof cargs[0])
		cargs[ncargs++] = (struct config_arg){name, value, option};
}

static void
parse_opt(int ch, const char *arg, struct offline_opts *o)
{
	struct engine_config *c = &o->cfg;
	char *cause = NULL;

	switch (ch) {
	case 'r':
		o->input = arg;
		break;
	case 'o':
		c->outdir = arg;
		break;
	case 'F':
		if ((c->writer.format = names_format_parse(arg)) == -1) {
			log_warnx("unknown format \"%s\": valid formats are %s", arg,
			    names_format_list());
			exit(EXIT_USAGE);
		}
		break;
	case OPT_BYTEORDER:
		if (strcmp(arg, "little") != 0 && strcmp(arg, "big") != 0) {
			log_warnx("--byteorder: \"%s\" is neither little nor big", arg);
			exit(EXIT_USAGE);
		}
		c->writer.big = strcmp(arg, "big") == 0;
		break;
	case OPT_NANO:
	case OPT_MICRO:
		o->nanosecond = ch == OPT_NANO;
		break;
	case OPT_FLOWEND:
		given("flow_end", arg, "--flow-end");
		break;
	case OPT_FLOWKEY:
		given("flow_key", arg, "--flow-key");
		break;
	case OPT_LABELTIME:
		given("label_time", arg, "--label-time");
		break;
	case OPT_COMPAT:
		given("compat", arg, "--compat");
		break;
	case OPT_FORCE:
		o->force = 1;
		break;
	case OPT_LAYOUT:
		c->writer.layout = arg;
		break;
	case OPT_IDLE:
		c->flow.idle_ns =
		    dur_arg("--idle-timeout", arg, NS_PER_SEC, 86400 * 365 * NS_PER_SEC);
		given("idle_timeout", arg, "--idle-timeout");
		break;
	case OPT_LINGER:
		c->flow.linger_ns = dur_arg("--linger", arg, 0, 3600 * NS_PER_SEC);
		break;
	case OPT_MAXFLOWS:
		c->flow.max_flows = (uint32_t)num_arg("--max-flows", arg, 1, 100000000);
		break;
	case OPT_MAXOPEN:
		c->writer.max_open_files = (unsigned)num_arg("--max-open-files", arg, 1, 1000000);
		break;
	case OPT_SEGPKTS:
		c->flow.seg_packets = (uint32_t)num_arg("--segment-packets", arg, 1, UINT32_MAX);
		given("segment_packets", arg, "--segment-packets");
		break;
	case OPT_SEGSIZE:
		c->flow.seg_size = num_arg("--segment-size", arg, 1024, UINT64_MAX);
		given("segment_size", arg, "--segment-size");
		break;
	case OPT_BUFSIZE:
		c->writer.buffer_total = num_arg("--buffer-size", arg, 65536, UINT64_MAX);
		break;
	case OPT_IPFIX:
		if (export_check_collector(arg, &cause) == -1) {
			log_warnx("--ipfix: %s", cause);
			exit(EXIT_USAGE);
		}
		c->export.collector = arg;
		break;
	case OPT_IPFIX_TRANSPORT:
		if (strcmp(arg, "udp") != 0 && strcmp(arg, "tcp") != 0) {
			log_warnx("--ipfix-transport: \"%s\" is neither udp nor tcp", arg);
			exit(EXIT_USAGE);
		}
		c->export.transport = strcmp(arg, "tcp") == 0 ? EXPORT_TCP : EXPORT_UDP;
		break;
	case OPT_IPFIX_DOMAIN:
		c->export.domain = (uint32_t)num_arg("--observation-domain", arg, 0, UINT32_MAX);
		break;
	case OPT_IPFIX_PEN:
		c->export.pen = (uint32_t)num_arg("--ipfix-pen", arg, 0, UINT32_MAX);
		break;
	default:
		usage(EXIT_USAGE);
	}
}

/* The flow rule from the word options and --compat, through the config table. */
static void
offline_rule(struct offline_opts *o)
{
	struct tf_config tc;
	char *cause = NULL;

	if (config_args(&tc, cargs, ncargs, &cause) == -1) {
		log_warnx("%s", cause);
		exit(EXIT_USAGE);
	}
	config_flow_rule(&tc, &o->cfg.flow);
	config_free(&tc);
}

int
main(int argc, char **argv)
{
	struct offline_opts o;
	struct daemon_opts d;
	char *filter = NULL;
	const char *print_format = NULL;
	int ch, rc, verbose = 0;

	log_init(
	    "traceflowd", LOG_LVL_INFO, notify_under_systemd() ? LOG_TO_JOURNAL : LOG_TO_STDERR);
	memset(&o, 0, sizeof o);
	memset(&d, 0, sizeof d);
	d.config = CONFIG_PATH;
	engine_defaults(&o.cfg);
	offline_export_defaults(&o.cfg.export);
	o.nanosecond = -1;
	while ((ch = getopt_long(argc, argv, "r:o:F:c:fni:vVh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			d.config = optarg;
			d.config_explicit = 1;
			break;
		case 'f':
			d.foreground = 1;
			break;
		case 'n':
			d.check_only = 1;
			break;
		case 'i':
			d.interfaces =
			    xreallocarray(d.interfaces, d.ninterfaces + 1, sizeof *d.interfaces);
			d.interfaces[d.ninterfaces++] = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'V':
			printf("traceflowd %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(0);
		case OPT_PRINTCONF:
			print_format = optarg;
			break;
		default:
			parse_opt(ch, optarg, &o);
		}
	}
	if (verbose)
		log_setlevel(LOG_LVL_DEBUG);
	/*
	 * Modes of what we make are ours to say, not the caller's umask's:
	 * folders SPOOL_DIR_MODE, files SPOOL_FILE_MODE (spool.h).
	 */
	umask(027);
	if (print_format != NULL)
		return print_config(&d, print_format);
	if (o.input == NULL && o.cfg.outdir == NULL) {
		d.verbose = verbose;
		if (optind < argc) {
			log_warnx("unexpected argument \"%s\" (a filter goes in the config)",
			    argv[optind]);
			usage(EXIT_USAGE);
		}
		rc = daemon_main(&d);
		free(d.interfaces);
		return rc;
	}
	if (o.input == NULL || o.cfg.outdir == NULL) {
		log_warnx("offline mode needs both --read FILE and --output DIR");
		usage(EXIT_USAGE);
	}
	offline_rule(&o);
	if (optind < argc)
		o.filter = filter = join_args(argc - optind, argv + optind);
	/* Offline nobody watches .active/: write buffers out by size alone. */
	o.cfg.writer.flush_ns = 0;
	if (getrandom(&o.cfg.flow.seed, sizeof o.cfg.flow.seed, 0) != sizeof o.cfg.flow.seed)
		o.cfg.flow.seed = (uint64_t)getpid() * 0x9e3779b97f4a7c15ULL;
	rc = offline_run(&o);
	free(filter);
	return rc;
}
