/*
 * bench/synccost.c: what one synced write of a small record costs on this
 * disk, by way of writing it (branch sync, issue 12).
 *
 *   synccost MODE DIR N PROCS GAP_US
 *
 * PROCS processes (1 or more) each write N records of 128 bytes to a file
 * of their own in DIR, all starting each write at the same moment (a shared
 * barrier: the master and its standby sync side by side), then wait GAP_US.
 * MODE says how a record is made durable:
 *   append   write(2) at the end of a growing file, then fdatasync(2): what
 *            LevelDB's log does (the file's size changes: ext4 commits its
 *            journal for it)
 *   over     pwrite(2) into a file written and synced before (no size or
 *            block change), then fdatasync(2)
 *   dsync    pwritev2(2) with RWF_DSYNC into such a file: one syscall
 *   range    pwrite(2) into such a file, sync_file_range(2) of its bytes
 *            (data only: no inode write for the new mtime), then
 *            fdatasync(2) of a clean file beside it: the device's cache
 *            flushed, nothing else written
 * Prints, per mode, the p50 / p90 / p99 of one write + sync in ms, over
 * every process's writes. Figures, not assertions.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define REC 128

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int
one(const char *mode, const char *dir, int id, int n, int gap, pthread_barrier_t *bar, double *out)
{
	char path[4096], rec[REC];
	int fd, ffd = -1, i, append = strcmp(mode, "append") == 0;
	off_t size = (off_t)n * REC + 4096;

	snprintf(path, sizeof(path), "%s/synccost.%d", dir, id);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | (append ? O_APPEND : 0), 0600);
	if (fd < 0) {
		perror(path);
		return -1;
	}
	memset(rec, 'x', sizeof(rec));
	if (strcmp(mode, "range") == 0) {
		snprintf(path, sizeof(path), "%s/synccost.%d.flush", dir, id);
		if ((ffd = open(path, O_WRONLY | O_CREAT, 0600)) < 0 || fsync(ffd) < 0) {
			perror(path);
			return -1;
		}
		unlink(path);
	}
	if (!append) {
		/* written and synced once: later writes change no block or size */
		char *z = calloc(1, (size_t)size);

		if (z == NULL || pwrite(fd, z, (size_t)size, 0) != size || fsync(fd) < 0) {
			perror("prefill");
			return -1;
		}
		free(z);
	}
	for (i = 0; i < n; i++) {
		double t0;
		int rc;

		pthread_barrier_wait(bar);
		t0 = now_ms();
		if (append)
			rc = write(fd, rec, REC) == REC && fdatasync(fd) == 0;
		else if (strcmp(mode, "over") == 0)
			rc = pwrite(fd, rec, REC, (off_t)i * REC) == REC && fdatasync(fd) == 0;
		else if (ffd >= 0)
			rc = pwrite(fd, rec, REC, (off_t)i * REC) == REC &&
			    sync_file_range(fd, (off_t)i * REC, REC, SYNC_FILE_RANGE_WAIT_BEFORE |
			    SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER) == 0 && fdatasync(ffd) == 0;
		else {
			struct iovec iov = { rec, REC };

			rc = pwritev2(fd, &iov, 1, (off_t)i * REC, RWF_DSYNC) == REC;
		}
		out[i] = now_ms() - t0;
		if (!rc) {
			perror(mode);
			return -1;
		}
		if (gap > 0)
			usleep((useconds_t)gap);
	}
	close(fd);
	unlink(path);
	return 0;
}

int
main(int argc, char **argv)
{
	pthread_barrierattr_t ba;
	pthread_barrier_t *bar;
	double *all;
	int n, procs, gap, p, bad = 0;
	size_t tot;

	if (argc != 6) {
		fprintf(stderr, "usage: synccost append|over|dsync|range DIR N PROCS GAP_US\n");
		return 2;
	}
	n = atoi(argv[3]);
	procs = atoi(argv[4]);
	gap = atoi(argv[5]);
	if (n < 1 || procs < 1) {
		fprintf(stderr, "synccost: N and PROCS must be positive\n");
		return 2;
	}
	tot = (size_t)n * (size_t)procs;
	bar = mmap(NULL, sizeof(*bar) + tot * sizeof(double), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (bar == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	all = (double *)(bar + 1);
	pthread_barrierattr_init(&ba);
	pthread_barrierattr_setpshared(&ba, PTHREAD_PROCESS_SHARED);
	pthread_barrier_init(bar, &ba, (unsigned)procs);
	for (p = 0; p < procs; p++) {
		pid_t c = fork();

		if (c == 0)
			_exit(one(argv[1], argv[2], p, n, gap, bar, all + (size_t)p * (size_t)n) < 0);
		if (c < 0) {
			perror("fork");
			return 1;
		}
	}
	for (p = 0; p < procs; p++) {
		int st;

		if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			bad = 1;
	}
	if (bad)
		return 1;
	qsort(all, tot, sizeof(double), cmp);
	printf("%s procs %d: p50 %.3f p90 %.3f p99 %.3f ms (%zu writes)\n", argv[1], procs,
	    all[tot / 2], all[tot * 9 / 10], all[tot * 99 / 100], tot);
	return 0;
}
