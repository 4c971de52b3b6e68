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

	/* Defaults come from the config table: this text cannot tell another story. */
	fprintf(fp,
	    "usage: traceflowd [-c FILE] [-f] [-n] [-v] [-i IFACE]...\n"
	    "       traceflowd --read FILE|- --output DIR [options] [BPF expression]\n"
	    "daemon:\n"
	    "  -c, --config FILE        configuration (default %s)\n"
	    "  -f, --foreground         do not detach (for systemd)\n"
	    "  -n, --check              check the configuration and exit (-v: print it)\n"
	    "      --print-config json  print the configuration as JSON and exit\n"
	    "      --print-config sample  print the commented sample configuration\n"
	    "  -i, --interface IFACE    capture on IFACE (repeatable; replaces the config's)\n"
	    "offline (each option sets the traceflow.conf(5) setting of the same name):\n"
	    "  -r, --read FILE          capture file to split (pcap or pcapng, - = stdin)\n"
	    "  -o, --output DIR         output folder (created if missing)\n",
	    CONFIG_PATH);
	fprintf(fp, "  -F, --format FMT         %s (default %s)\n", config_words("format"),
	    config_default("format"));
	fprintf(fp, "      --byteorder ORDER    little or big (default %s)\n",
	    config_default("byteorder"));
	fprintf(fp, "      --nanosecond         nanosecond timestamps and labels\n"
	            "      --microsecond        microsecond timestamps and labels\n"
	            "                           (default: the input's precision)\n");
	fprintf(fp, "      --flow-end MODE      teardown or first-fin (default %s)\n",
	    config_default("flow_end"));
	fprintf(fp, "      --flow-key KEY       connection or directional (default %s)\n",
	    config_default("flow_key"));
	fprintf(fp, "      --label-time STYLE   fixed or shortest (default %s)\n",
	    config_default("label_time"));
	fprintf(fp, "      --compat pcapkit     pcapkit's files, labels and index (see "
	            "traceflowd(8))\n"
	            "      --force              write into a non-empty output folder\n"
	            "      --quiet              no progress on stderr (shown on a terminal)\n"
	            "      --summary FORMAT     text or json: the end summary on stdout "
	            "(default text)\n"
	            "      --layout PATTERN     strftime sub-folder for finished files (default "
	            "flat)\n");
	fprintf(fp, "      --idle-timeout DUR   end a flow idle this long (default %s)\n",
	    config_default("idle_timeout"));
	fprintf(fp, "      --linger DUR         keep a torn-down flow this long (default %s)\n",
	    config_default("linger"));
	fprintf(fp,
	    "      --max-flows N        evict the longest-idle flow beyond N (default %s)\n",
	    config_default("max_flows"));
	fprintf(fp, "      --max-open-files N   descriptor budget (default %s)\n",
	    config_default("max_open_files"));
	fprintf(fp,
	    "      --segment-packets N  continue a flow in a new file after N packets "
	    "(default %s)\n",
	    config_default("segment_packets"));
	fprintf(fp,
	    "      --segment-size SIZE  ... or after this many bytes (default %s: no bound)\n",
	    config_default("segment_size"));
	fprintf(fp,
	    "      --buffer-size SIZE   all write buffers together (write_buffer, default %s)\n",
	    config_default("write_buffer"));
	fprintf(fp, "      --ipfix HOST:PORT    export every flow to this IPFIX collector\n"
	            "                           (ipfix_collector)\n");
	fprintf(fp, "      --ipfix-transport T  udp or tcp (default %s)\n",
	    config_default("ipfix_transport"));
	fprintf(fp, "      --observation-domain N, --ipfix-pen N   as in traceflow.conf(5)\n"
	            "  -v, --verbose            debug logging\n"
	            "  -V, --version            print the version\n"
	            "  -h, --help               this text\n");
	exit(status);
}

/*
 * --print-config json: the effective configuration as the control
 * channel's config command renders it, so that traceflowctl -c reads a
 * file through this one parser. Defaults alone if the default file is
 * missing, as the daemon runs. --print-config sample: the commented
 * sample, every setting at its default (what etc/traceflow.conf ships).
 */
static int
print_config(const struct daemon_opts *d, const char *format)
{
	struct tf_config cfg;
	char *cause = NULL;
	json_t *doc;

	if (strcmp(format, "sample") == 0) {
		config_sample(stdout);
		return 0;
	}
	if (strcmp(format, "json") != 0) {
		log_warnx("--print-config: unknown format \"%s\" (json, sample)", format);
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
	OPT_QUIET,
	OPT_SUMMARY,
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
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"summary", required_argument, NULL, OPT_SUMMARY},
    {"verbose", no_argument, NULL, 'v'},
    {"version", no_argument, NULL, 'V'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

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
 * Settings given by option, for config_args: every one is read by the
 * config table (its bounds, its messages), and the preset --compat must
 * know what else was given.
 */
static struct config_arg cargs[64];
static size_t ncargs;

static void
given(const char *name, const char *value, const char *option)
{
	if (ncargs == sizeof cargs / sizeof cargs[0]) {
		log_warnx("too many options");
		exit(EXIT_USAGE);
	}
	cargs[ncargs++] = (struct config_arg){name, value, option};
}

static void
parse_opt(int ch, const char *arg, struct offline_opts *o, const char **outdir)
{
	switch (ch) {
	case 'r':
		o->input = arg;
		break;
	case 'o':
		*outdir = arg;
		break;
	case 'F':
		given("format", arg, "--format");
		break;
	case OPT_BYTEORDER:
		given("byteorder", arg, "--byteorder");
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
	case OPT_QUIET: /* how it reports, not how it splits: no setting */
		o->quiet = 1;
		break;
	case OPT_SUMMARY:
		if (strcmp(arg, "json") != 0 && strcmp(arg, "text") != 0) {
			log_warnx("--summary %s: text or json", arg);
			usage(EXIT_USAGE);
		}
		o->summary_json = strcmp(arg, "json") == 0;
		break;
	case OPT_LAYOUT:
		given("layout", arg, "--layout");
		break;
	case OPT_IDLE:
		given("idle_timeout", arg, "--idle-timeout");
		break;
	case OPT_LINGER:
		given("linger", arg, "--linger");
		break;
	case OPT_MAXFLOWS:
		given("max_flows", arg, "--max-flows");
		break;
	case OPT_MAXOPEN:
		given("max_open_files", arg, "--max-open-files");
		break;
	case OPT_SEGPKTS:
		given("segment_packets", arg, "--segment-packets");
		break;
	case OPT_SEGSIZE:
		given("segment_size", arg, "--segment-size");
		break;
	case OPT_BUFSIZE:
		given("write_buffer", arg, "--buffer-size");
		break;
	case OPT_IPFIX:
		given("ipfix_collector", arg, "--ipfix");
		break;
	case OPT_IPFIX_TRANSPORT:
		given("ipfix_transport", arg, "--ipfix-transport");
		break;
	case OPT_IPFIX_DOMAIN:
		given("observation_domain", arg, "--observation-domain");
		break;
	case OPT_IPFIX_PEN:
		given("ipfix_pen", arg, "--ipfix-pen");
		break;
	default:
		usage(EXIT_USAGE);
	}
}

/*
 * Offline settings: the config table's defaults and the options, read by
 * the table (as a file's settings are), preset included; then the engine's
 * view of them. tc lives as long as the run: the engine's strings point
 * into it.
 */
static void
offline_settings(struct offline_opts *o, struct tf_config *tc, const char *outdir)
{
	char *cause = NULL;

	if (config_args(tc, cargs, ncargs, &cause) == -1) {
		log_warnx("%s", cause);
		exit(EXIT_USAGE);
	}
	config_to_engine(tc, &o->cfg);
	o->cfg.outdir = outdir;
}

int
main(int argc, char **argv)
{
	struct offline_opts o;
	struct daemon_opts d;
	struct tf_config tc;
	const char *outdir = NULL;
	char *filter = NULL;
	const char *print_format = NULL;
	int ch, rc, verbose = 0;

	log_init(
	    "traceflowd", LOG_LVL_INFO, notify_under_systemd() ? LOG_TO_JOURNAL : LOG_TO_STDERR);
	memset(&o, 0, sizeof o);
	memset(&d, 0, sizeof d);
	d.config = CONFIG_PATH;
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
			parse_opt(ch, optarg, &o, &outdir);
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
	if (o.input == NULL && outdir == NULL) {
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
	if (o.input == NULL || outdir == NULL) {
		log_warnx("offline mode needs both --read FILE and --output DIR");
		usage(EXIT_USAGE);
	}
	offline_settings(&o, &tc, outdir);
	if (optind < argc)
		o.filter = filter = join_args(argc - optind, argv + optind);
	/* Offline nobody watches .active/: write buffers out by size alone. */
	o.cfg.writer.flush_ns = 0;
	rc = offline_run(&o);
	config_free(&tc);
	free(filter);
	return rc;
}
