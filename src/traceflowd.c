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

/*
 * What an option does. DO_SETTING: it sets the traceflow.conf(5) setting
 * its table entry names, read by the config table (offline_settings).
 */
enum opt_do {
	DO_CONFIG,
	DO_FOREGROUND,
	DO_CHECK,
	DO_PRINTCONF,
	DO_INTERFACE,
	DO_READ,
	DO_OUTPUT,
	DO_SETTING,
	DO_NANO,
	DO_MICRO,
	DO_FORCE,
	DO_QUIET,
	DO_SUMMARY,
	DO_VERBOSE,
	DO_VERSION,
	DO_HELP,
};

/* The heading an option is listed under in the usage text. */
enum opt_part { PART_DAEMON, PART_OFFLINE, PART_BOTH };

#define OPT_SYNOPSIS 0x1 /* in the daemon's synopsis line */
#define OPT_REPEAT   0x2 /* ... repeatable ("[-i IFACE]...") */
#define OPT_DEFAULT  0x4 /* the usage shows the setting's default */

/*
 * traceflowd's options, each stated once: this table makes getopt_long's
 * long options and its short-option string (opts_init), and the usage text
 * (usage); the defaults come from the config table. tests/daemon-options.sh
 * holds traceflowd(8) (and a completion, if one comes) to the usage text and
 * runs every option it names.
 */
static const struct dopt {
	const char *name;    /* the long form as typed: "--config" */
	char letter;         /* the short form; 0: none */
	const char *arg;     /* the value's name in the usage; NULL: takes none */
	enum opt_do what;    /* what it does */
	const char *setting; /* DO_SETTING: the setting it sets (and shows the default of) */
	unsigned flags;      /* OPT_* */
	enum opt_part part;  /* its heading */
	const char *help;    /* "\n" goes on in the help column; NULL: the setting's words */
} dopts[] = {
    {"--config", 'c', "FILE", DO_CONFIG, NULL, OPT_SYNOPSIS, PART_DAEMON,
        "configuration (default " CONFIG_PATH ")"},
    {"--foreground", 'f', NULL, DO_FOREGROUND, NULL, OPT_SYNOPSIS, PART_DAEMON,
        "do not detach (for systemd)"},
    {"--check", 'n', NULL, DO_CHECK, NULL, OPT_SYNOPSIS, PART_DAEMON,
        "check the configuration and exit (-v: print it)"},
    {"--print-config", 0, "json|sample", DO_PRINTCONF, NULL, 0, PART_DAEMON,
        "print the configuration as JSON, or the commented\nsample configuration, and exit"},
    {"--interface", 'i', "IFACE", DO_INTERFACE, NULL, OPT_SYNOPSIS | OPT_REPEAT, PART_DAEMON,
        "capture on IFACE (repeatable; replaces the config's)"},
    {"--read", 'r', "FILE", DO_READ, NULL, 0, PART_OFFLINE,
        "capture file to split (pcap or pcapng, - = stdin)"},
    {"--output", 'o', "DIR", DO_OUTPUT, NULL, 0, PART_OFFLINE,
        "output folder (created if missing)"},
    {"--format", 'F', "FMT", DO_SETTING, "format", OPT_DEFAULT, PART_OFFLINE, NULL},
    {"--byteorder", 0, "ORDER", DO_SETTING, "byteorder", OPT_DEFAULT, PART_OFFLINE, NULL},
    {"--nanosecond", 0, NULL, DO_NANO, NULL, 0, PART_OFFLINE, "nanosecond timestamps and labels"},
    {"--microsecond", 0, NULL, DO_MICRO, NULL, 0, PART_OFFLINE,
        "microsecond timestamps and labels\n(default: the input's precision)"},
    {"--flow-end", 0, "MODE", DO_SETTING, "flow_end", OPT_DEFAULT, PART_OFFLINE, NULL},
    {"--flow-key", 0, "KEY", DO_SETTING, "flow_key", OPT_DEFAULT, PART_OFFLINE, NULL},
    {"--label-time", 0, "STYLE", DO_SETTING, "label_time", OPT_DEFAULT, PART_OFFLINE, NULL},
    {"--compat", 0, "pcapkit", DO_SETTING, "compat", 0, PART_OFFLINE,
        "pcapkit's files, labels and index (see traceflowd(8))"},
    {"--force", 0, NULL, DO_FORCE, NULL, 0, PART_OFFLINE, "write into a non-empty output folder"},
    {"--quiet", 0, NULL, DO_QUIET, NULL, 0, PART_OFFLINE,
        "no progress on stderr (shown on a terminal)"},
    {"--summary", 0, "FORMAT", DO_SUMMARY, NULL, 0, PART_OFFLINE,
        "text or json: the end summary on stdout (default text)"},
    {"--layout", 0, "PATTERN", DO_SETTING, "layout", 0, PART_OFFLINE,
        "strftime sub-folder for finished files (default flat)"},
    {"--idle-timeout", 0, "DUR", DO_SETTING, "idle_timeout", OPT_DEFAULT, PART_OFFLINE,
        "end a flow idle this long"},
    {"--linger", 0, "DUR", DO_SETTING, "linger", OPT_DEFAULT, PART_OFFLINE,
        "keep a torn-down flow this long"},
    {"--half-open-timeout", 0, "DUR", DO_SETTING, "half_open_timeout", OPT_DEFAULT, PART_OFFLINE,
        "end a flow nothing answered idle this long; 0: as any"},
    {"--unanswered", 0, "MODE", DO_SETTING, "unanswered", OPT_DEFAULT, PART_OFFLINE,
        "shared, own-file, count"},
    {"--max-flows", 0, "N", DO_SETTING, "max_flows", OPT_DEFAULT, PART_OFFLINE,
        "evict the longest-idle flow beyond N"},
    {"--max-open-files", 0, "N", DO_SETTING, "max_open_files", OPT_DEFAULT, PART_OFFLINE,
        "descriptor budget"},
    {"--segment-packets", 0, "N", DO_SETTING, "segment_packets", OPT_DEFAULT, PART_OFFLINE,
        "continue a flow in a new file after N packets"},
    {"--segment-size", 0, "SIZE", DO_SETTING, "segment_size", OPT_DEFAULT, PART_OFFLINE,
        "... or after this many bytes; 0: no bound"},
    {"--buffer-size", 0, "SIZE", DO_SETTING, "write_buffer", OPT_DEFAULT, PART_OFFLINE,
        "all write buffers together"},
    {"--ipfix", 0, "HOST:PORT", DO_SETTING, "ipfix_collector", 0, PART_OFFLINE,
        "export every flow to this IPFIX collector"},
    {"--ipfix-transport", 0, "T", DO_SETTING, "ipfix_transport", OPT_DEFAULT, PART_OFFLINE, NULL},
    {"--observation-domain", 0, "N", DO_SETTING, "observation_domain", OPT_DEFAULT, PART_OFFLINE,
        "this sensor's id at the collector"},
    {"--ipfix-pen", 0, "N", DO_SETTING, "ipfix_pen", OPT_DEFAULT, PART_OFFLINE,
        "enterprise number of the label and file elements;\n0: leave them out"},
    {"--verbose", 'v', NULL, DO_VERBOSE, NULL, OPT_SYNOPSIS, PART_BOTH, "debug logging"},
    {"--version", 'V', NULL, DO_VERSION, NULL, 0, PART_BOTH, "print the version"},
    {"--help", 'h', NULL, DO_HELP, NULL, 0, PART_BOTH, "this text"},
};

#define NDOPTS   (sizeof dopts / sizeof dopts[0])
#define OPT_LONG 256 /* getopt's value of dopts[i] without a letter: OPT_LONG + i */
#define HELP_COL 27  /* the usage text's column of help */

static struct option longopts[NDOPTS + 1];
static char shortopts[2 * NDOPTS + 1];

/* getopt_long's tables from dopts. */
static void
opts_init(void)
{
	size_t i, n = 0;

	for (i = 0; i < NDOPTS; i++) {
		longopts[i] = (struct option){dopts[i].name + 2,
		    dopts[i].arg ? required_argument : no_argument, NULL,
		    dopts[i].letter ? dopts[i].letter : OPT_LONG + (int)i};
		if (dopts[i].letter) {
			shortopts[n++] = dopts[i].letter;
			if (dopts[i].arg)
				shortopts[n++] = ':';
		}
	}
}

/* The entry getopt_long's ch stands for; NULL for its '?'. */
static const struct dopt *
opt_of(int ch)
{
	size_t i;

	if (ch >= OPT_LONG && (size_t)(ch - OPT_LONG) < NDOPTS)
		return &dopts[ch - OPT_LONG];
	for (i = 0; i < NDOPTS; i++)
		if (dopts[i].letter && dopts[i].letter == ch)
			return &dopts[i];
	return NULL;
}

/* A setting named as its option is: "flow_end" and "flow-end". */
static int
named_alike(const char *setting, const char *name)
{
	for (; *setting != '\0' && (*setting == *name || (*setting == '_' && *name == '-'));
	     setting++, name++)
		;
	return *setting == '\0' && *name == '\0';
}

/* "  -c, --config FILE        configuration (default ...)", and its next lines. */
static void
usage_opt(FILE *fp, const struct dopt *o)
{
	const char *h = o->help ? o->help : config_words(o->setting);
	int n, alike, dflt = (o->flags & OPT_DEFAULT) != 0;

	n = fprintf(fp, "  %c%c%s%s%s%s", o->letter ? '-' : ' ', o->letter ? o->letter : ' ',
	    o->letter ? ", " : "  ", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
	if (n < HELP_COL)
		fprintf(fp, "%*s", HELP_COL - n, "");
	else
		fprintf(fp, "\n%*s", HELP_COL, "");
	for (; *h != '\0'; h++) {
		if (*h == '\n')
			fprintf(fp, "\n%*s", HELP_COL, "");
		else
			fputc(*h, fp);
	}
	/* The setting it sets where its name is another, and the default. */
	if (o->what == DO_SETTING) {
		alike = named_alike(o->setting, o->name + 2);
		if (!alike || dflt)
			fprintf(fp, " (%s%s%s%s)", alike ? "" : o->setting,
			    !alike && dflt ? ", " : "", dflt ? "default " : "",
			    dflt ? config_default(o->setting) : "");
	}
	fputc('\n', fp);
}

static void __attribute__((noreturn)) usage(int status)
{
	static const char *const heading[] = {
	    [PART_DAEMON] = "daemon:\n",
	    [PART_OFFLINE] = "offline (each option sets the traceflow.conf(5) setting of the same "
	                     "name):\n",
	    [PART_BOTH] = "either:\n",
	};
	FILE *fp = status ? stderr : stdout;
	size_t i;

	fputs("usage: traceflowd", fp);
	for (i = 0; i < NDOPTS; i++)
		if (dopts[i].flags & OPT_SYNOPSIS)
			fprintf(fp, " [-%c%s%s]%s", dopts[i].letter, dopts[i].arg ? " " : "",
			    dopts[i].arg ? dopts[i].arg : "",
			    dopts[i].flags & OPT_REPEAT ? "..." : "");
	fputs("\n       traceflowd --read FILE|- --output DIR [options] [BPF expression]\n", fp);
	for (i = 0; i < NDOPTS; i++) {
		if (i == 0 || dopts[i].part != dopts[i - 1].part)
			fputs(heading[dopts[i].part], fp);
		usage_opt(fp, &dopts[i]);
	}
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

/* An option of offline mode (those of the daemon are main's). */
static void
parse_opt(const struct dopt *op, const char *arg, struct offline_opts *o, const char **outdir)
{
	switch (op->what) {
	case DO_READ:
		o->input = arg;
		break;
	case DO_OUTPUT:
		*outdir = arg;
		break;
	case DO_SETTING:
		given(op->setting, arg, op->name);
		break;
	case DO_NANO:
	case DO_MICRO:
		o->nanosecond = op->what == DO_NANO;
		break;
	case DO_FORCE:
		o->force = 1;
		break;
	case DO_QUIET: /* how it reports, not how it splits: no setting */
		o->quiet = 1;
		break;
	case DO_SUMMARY:
		if (strcmp(arg, "json") != 0 && strcmp(arg, "text") != 0) {
			log_warnx("--summary %s: text or json", arg);
			usage(EXIT_USAGE);
		}
		o->summary_json = strcmp(arg, "json") == 0;
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
	const struct dopt *op;
	int ch, rc, verbose = 0;

	log_init(
	    "traceflowd", LOG_LVL_INFO, notify_under_systemd() ? LOG_TO_JOURNAL : LOG_TO_STDERR);
	memset(&o, 0, sizeof o);
	memset(&d, 0, sizeof d);
	d.config = CONFIG_PATH;
	o.nanosecond = -1;
	opts_init();
	while ((ch = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		if ((op = opt_of(ch)) == NULL)
			usage(EXIT_USAGE);
		switch (op->what) {
		case DO_CONFIG:
			d.config = optarg;
			d.config_explicit = 1;
			break;
		case DO_FOREGROUND:
			d.foreground = 1;
			break;
		case DO_CHECK:
			d.check_only = 1;
			break;
		case DO_INTERFACE:
			/* The bound of the setting interfaces, which these replace. */
			if (d.ninterfaces == CONFIG_INTERFACES_MAX) {
				log_warnx(
				    "--interface: at most %d interfaces", CONFIG_INTERFACES_MAX);
				exit(EXIT_USAGE);
			}
			d.interfaces =
			    xreallocarray(d.interfaces, d.ninterfaces + 1, sizeof *d.interfaces);
			d.interfaces[d.ninterfaces++] = optarg;
			break;
		case DO_VERBOSE:
			verbose = 1;
			break;
		case DO_VERSION:
			printf("traceflowd %s\n", PACKAGE_VERSION);
			return 0;
		case DO_HELP:
			usage(0);
		case DO_PRINTCONF:
			print_format = optarg;
			break;
		default:
			parse_opt(op, optarg, &o, &outdir);
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
