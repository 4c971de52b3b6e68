/*
 * spoolfill.c: bench/spool's helper. Fills DIR with N files of a 24-byte
 * pcap header named like finished flows, in one flat folder, as a spool of
 * the version before the catalog was left (no catalog, no index):
 *
 *     spoolfill DIR N
 *
 * The names are tests/spool-catalog.sh's (section 4), which makes 200,000
 * the same way in Python: SRC_PORT-DST_PORT-SECONDS.000000.pcap with a
 * source address and port from the file's number, unique up to 2^24 files.
 *
 * A name that exists is skipped (a run that stopped goes on where it was).
 * ext4 without the large_dir feature holds some 6.4 million such names in
 * one folder ("index full, reach max htree level :2", ENOSPC with room on
 * the disk): then the rest go into DIR/2024/01/01, as a spool whose layout
 * had been set to "%Y/%m/%d" would hold them. The last line on stderr says
 * how many files each folder got.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	static const uint32_t hdr[6] = {0xa1b2c3d4, 2 | (4u << 16), 0, 0, 65535, 1};
	char name[128];
	unsigned long n, i, intop = 0, insub = 0;
	int d, sd, fd, sub = 0;

	if (argc != 3 || (n = strtoul(argv[2], NULL, 10)) == 0 || n > (1ul << 24)) {
		fprintf(stderr, "usage: spoolfill DIR N (N at most 16777216)\n");
		return 2;
	}
	if ((d = open(argv[1], O_RDONLY | O_DIRECTORY)) == -1) {
		perror(argv[1]);
		return 1;
	}
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof name, "10.%lu.%lu.%lu_%lu-10.255.0.1_80-%lu.000000.pcap",
		    (i >> 16) & 255, (i >> 8) & 255, i & 255, 1024 + i % 60000, 1700000000 + i);
		fd = openat(d, name, O_WRONLY | O_CREAT | O_EXCL, 0640);
		if (fd == -1 && errno == EEXIST) {
			if (sub)
				insub++;
			else
				intop++;
			continue;
		}
		if (fd == -1 && errno == ENOSPC && !sub) {
			/* The folder is full (no large_dir), or the disk: a sub-folder tells which.
			 */
			if ((mkdirat(d, "2024", 0750) == -1 && errno != EEXIST) ||
			    (mkdirat(d, "2024/01", 0750) == -1 && errno != EEXIST) ||
			    (mkdirat(d, "2024/01/01", 0750) == -1 && errno != EEXIST) ||
			    (sd = openat(d, "2024/01/01", O_RDONLY | O_DIRECTORY)) == -1) {
				fprintf(stderr, "spoolfill: %s/2024/01/01: %s\n", argv[1],
				    strerror(errno));
				return 1;
			}
			fprintf(stderr,
			    "spoolfill: %s full after %lu files, the rest into 2024/01/01\n",
			    argv[1], intop);
			d = sd;
			sub = 1;
			fd = openat(d, name, O_WRONLY | O_CREAT | O_EXCL, 0640);
			if (fd == -1 && errno == EEXIST) {
				insub++;
				continue;
			}
		}
		if (fd == -1 || write(fd, hdr, sizeof hdr) != (ssize_t)sizeof hdr ||
		    close(fd) == -1) {
			fprintf(stderr, "spoolfill: %s after %lu files: %s\n", name, i,
			    strerror(errno));
			return 1;
		}
		if (sub)
			insub++;
		else
			intop++;
		if ((i + 1) % 1000000 == 0)
			fprintf(stderr, "spoolfill: %lu files\n", i + 1);
	}
	fprintf(stderr, "spoolfill: %lu files in %s, %lu in %s/2024/01/01\n", intop, argv[1], insub,
	    argv[1]);
	return 0;
}
