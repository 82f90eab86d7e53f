/*
 * Prewarm — predictive power management for Slurm.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Per-call cost of libprewarm_submit.so outside slurmctld: dlopens the library, initialises it with a
 * configuration naming MODEL, and calls prewarm_submit_profile on JOBS varied jobs (uids, limits, CPUs, names,
 * partitions) with a 4 KB batch script, as the job_submit plugin does. Prints percentiles of the per-call thread
 * CPU time and wall time. With --cold, a buffer larger than the last-level cache is walked between calls (not
 * timed), so that every call starts with cold caches, as it does inside slurmctld between submissions.
 *
 * Usage: submit-latency LIB CONF [JOBS] [--cold] [--quiet]
 * (bench/submit-latency builds this and writes CONF; run that.)
 *
 * PREWARM_BENCH_TRACE=FILE replays the jobs of a Standard Workload Format log (uncompressed) instead of the generated
 * ones: each job's user and group, requested processors and time, queue as the partition, and its submit time (the
 * log's UnixStartTime plus the job's offset), with one of the 64 scripts per (user, processors, time limit), as a
 * user resubmits a script; PREWARM_BENCH_TRACE_SKIP=N skips the log's first N jobs (those the model was trained on).
 * It measures the cost on a real cluster's submission stream, between the two extremes of the generated workloads.
 *
 * PREWARM_BENCH_DUMP=FILE writes every call's annotation (the warm-up calls too), one per line, to FILE, and
 * PREWARM_BENCH_NOW=T submits the first job at Unix time T instead of now: with both (and a fixed TZ), two builds
 * of the library can be compared byte for byte (`cmp` of the dumps) on the same sequence of jobs.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "prewarm_submit.h"
#include "swf-jobs.h"

typedef int (*init_fn)(const char *, prewarm_log_fn);
typedef int (*profile_fn)(const prewarm_job_t *, char *, size_t, int *);
typedef size_t (*stats_fn)(char *, size_t);
typedef void (*fini_fn)(void);

static int quiet;

static void _log(int level, const char *message)
{
	if (!quiet)
		fprintf(stderr, "%s: %s\n", level ? "error" : "info", message);
}

static uint64_t _ns(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

/* Resident memory of this process in KB (VmRSS), or -1. */
static long _rss_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* PREWARM_BENCH_LISTEN=PATH: a daemon's socket at PATH (the conf's NotifySocket), drained by a thread of its own, so
 * that the library's notifications are really sent and received, as with prewarmd running. */
static volatile unsigned long received;

static void *_drain(void *arg)
{
	int fd = *(int *) arg;
	char buf[65536];
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		for (ssize_t i = 0; i < n; i++) /* a notice per line */
			received += buf[i] == '\n';
		if (n > 0)
			received++;
	}
	return NULL;
}

static int _listen(const char *path)
{
	static int fd;
	struct sockaddr_un a;
	pthread_t t;
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(a.sun_path))
		return -1;
	strcpy(a.sun_path, path);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *) &a, sizeof(a)) != 0)
		return -1;
	return pthread_create(&t, NULL, _drain, &fd) == 0 ? 0 : -1;
}

/* One timed call, run on the calling thread or on a thread of its own. */
struct call {
	profile_fn profile;
	const prewarm_job_t *job;
	char *out;
	size_t out_len;
	int field, n;
	uint64_t cpu, wall;
};

static void *_timed_call(void *arg)
{
	struct call *c = arg;
	uint64_t c0 = _ns(CLOCK_THREAD_CPUTIME_ID), w0 = _ns(CLOCK_MONOTONIC);
	c->n = c->profile(c->job, c->out, c->out_len, &c->field);
	uint64_t w1 = _ns(CLOCK_MONOTONIC), c1 = _ns(CLOCK_THREAD_CPUTIME_ID);
	c->cpu = c1 - c0;
	c->wall = w1 - w0;
	return NULL;
}

static int _cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
	return x < y ? -1 : x > y;
}

static void _report(const char *what, uint64_t *v, size_t n)
{
	double sum = 0;
	size_t i;
	if (!n)
		return;
	qsort(v, n, sizeof(*v), _cmp);
	for (i = 0; i < n; i++)
		sum += (double) v[i];
	printf("%-5s per call (us): mean %.2f  p50 %.2f  p90 %.2f  p99 %.2f  max %.2f  (%zu calls)\n", what,
	       sum / n / 1000, v[n / 2] / 1000.0, v[n * 9 / 10] / 1000.0, v[n * 99 / 100] / 1000.0,
	       v[n - 1] / 1000.0, n);
}

/* A 4 KB batch script like bench/submit-throughput's, with a per-job executable and module list. */
static size_t _script(char *buf, size_t cap, unsigned k)
{
	static const char *exes[] = { "lmp", "gmx_mpi", "vasp_std", "python3 train.py", "namd2", "./a.out", "cp2k.psmp" };
	static const char *mods[] = { "gcc/12 openmpi/4.1", "intel/2023 impi", "cuda/12.2 python/3.11", "gromacs/2023" };
	size_t n = 0;
	int i = 0;
	n += snprintf(buf + n, cap - n,
		      "#!/bin/bash\n# seq 00000000\n#SBATCH --time=%u:00:00\n#SBATCH --ntasks=%u\n"
		      "#SBATCH --mem-per-cpu=100\n#SBATCH --job-name=run%u\nmodule load %s\nexport OMP_NUM_THREADS=1\n",
		      1 + k % 12, 1 << (k % 6), k % 97, mods[k % 4]);
	while (n < 4000 && cap - n > 200) {
		n += snprintf(buf + n, cap - n, "cp input.%d work/  # stage the input of step %d for the solver run\n", i, i);
		i++;
	}
	n += snprintf(buf + n, cap - n, "srun %s -in in.lj\n", exes[k % 7]);
	return n;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s LIB CONF [JOBS] [--cold] [--quiet]\n", argv[0]);
		return 2;
	}
	size_t jobs = 20000;
	int cold = 0;
	int no_script = getenv("PREWARM_BENCH_NO_SCRIPT") != NULL; /* to split the cost: no batch script */
	/* Every job a script of its own (a sequence number in a comment): the library's script cache never hits.
	 * Without it, the jobs cycle through 64 scripts, as a cluster's users resubmit theirs. */
	int distinct = getenv("PREWARM_BENCH_DISTINCT_SCRIPTS") != NULL;
	/* Every job the same request and script (a user's loop of `sbatch job.sh`, bench/submit-throughput's default
	 * workload): only the submit time differs. */
	int same = getenv("PREWARM_BENCH_SAME_JOB") != NULL;
	/* Every call on a new thread, as slurmctld serves every RPC (so every submission) on a thread of its own:
	 * the library's per-thread state (thread-local storage, malloc's thread cache) starts empty each time. */
	int thread_per_call = getenv("PREWARM_BENCH_THREAD_PER_CALL") != NULL;
	for (int a = 3; a < argc; a++) {
		if (!strcmp(argv[a], "--cold"))
			cold = 1;
		else if (!strcmp(argv[a], "--quiet"))
			quiet = 1;
		else
			jobs = strtoul(argv[a], NULL, 10);
	}
	const char *trace_path = getenv("PREWARM_BENCH_TRACE");
	struct swf_job *trace = NULL;
	size_t trace_jobs = 0;
	if (trace_path && *trace_path) {
		const char *skip = getenv("PREWARM_BENCH_TRACE_SKIP");
		trace_jobs = swf_read_jobs(trace_path, skip ? strtoul(skip, NULL, 10) : 0, &trace);
		if (trace_jobs <= 200) {
			fprintf(stderr, "PREWARM_BENCH_TRACE: %s has %zu jobs after the skipped ones (need more than 200)\n",
				trace_path, trace_jobs);
			return 1;
		}
		if (jobs > trace_jobs - 200)
			jobs = trace_jobs - 200;
	}
	const char *listen_path = getenv("PREWARM_BENCH_LISTEN");
	if (listen_path && !*listen_path)
		listen_path = NULL;
	if (listen_path && _listen(listen_path) != 0) {
		fprintf(stderr, "PREWARM_BENCH_LISTEN: cannot listen at %s\n", listen_path);
		return 1;
	}
	long rss0 = _rss_kb();
	void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		return 1;
	}
	init_fn init = (init_fn) dlsym(lib, "prewarm_submit_init");
	profile_fn profile = (profile_fn) dlsym(lib, "prewarm_submit_profile");
	stats_fn stats = (stats_fn) dlsym(lib, "prewarm_submit_stats");
	fini_fn fini = (fini_fn) dlsym(lib, "prewarm_submit_fini");
	if (!init || !profile || !stats || !fini) {
		fprintf(stderr, "missing prewarm_submit_* symbols\n");
		return 1;
	}
	init(argv[2], _log);
	long rss1 = _rss_kb();

	enum { SCRIPTS = 64 };
	static char scripts[SCRIPTS][4600];
	static size_t lengths[SCRIPTS];
	for (unsigned s = 0; s < SCRIPTS; s++)
		lengths[s] = _script(scripts[s], sizeof(scripts[s]), s);
	static const char *parts[] = { "debug", "batch", "gpu", "long" };
	static const char *accounts[] = { "phys", "chem", "bio", "cs", "astro" };
	/* PREWARM_BENCH_FLUSH_MB: the size of the buffer --cold walks (default 64 MB, beyond the last-level cache;
	 * 2 MB evicts a core's private caches and leaves the rest in the shared one, as slurmctld's own work does). */
	const char *flush_mb = getenv("PREWARM_BENCH_FLUSH_MB");
	size_t flush_len = cold ? (size_t) (flush_mb ? strtoul(flush_mb, NULL, 10) : 64) << 20 : 0;
	volatile unsigned char *flush = cold ? calloc(flush_len, 1) : NULL;
	uint64_t *cpu = calloc(jobs, sizeof(uint64_t)), *wall = calloc(jobs, sizeof(uint64_t));
	char out[2048], name[32], account[32], partition[32];
	size_t total_len = 0;
	time_t now = time(NULL);
	const char *fixed_now = getenv("PREWARM_BENCH_NOW");
	if (fixed_now && *fixed_now)
		now = (time_t) strtoll(fixed_now, NULL, 10);
	const char *dump_path = getenv("PREWARM_BENCH_DUMP");
	FILE *dump = dump_path && *dump_path ? fopen(dump_path, "w") : NULL;
	if (dump_path && *dump_path && !dump) {
		fprintf(stderr, "PREWARM_BENCH_DUMP: cannot write %s\n", dump_path);
		return 1;
	}
	for (size_t i = 0; i < jobs + 200; i++) {
		unsigned k = same ? 12345u : (unsigned) (i * 2654435761u);
		prewarm_job_t j;
		memset(&j, 0, sizeof(j));
		j.abi = PREWARM_SUBMIT_ABI;
		j.uid = 1 + (k >> 8) % 60; /* users the bundled trace (and so the model's history) knows */
		j.gid = 100;
		j.job_id = -1;
		j.min_cpus = -1;
		j.min_nodes = 1 + (k >> 4) % 4;
		j.num_tasks = 1 << ((k >> 12) % 6);
		j.cpus_per_task = -1;
		j.mem_per_node_mb = -1;
		j.mem_per_cpu_mb = 100;
		j.time_limit_min = 60 * (1 + (k >> 16) % 12);
		j.time_min_min = -1;
		j.nice = -1;
		j.priority = -1;
		j.begin_time = -1;
		j.submit_time = now + (time_t) i;
		j.account = accounts[(k >> 20) % 5];
		j.partition = parts[(k >> 22) % 4];
		j.qos = "normal";
		snprintf(name, sizeof(name), "run%u", (k >> 10) % 97);
		j.name = name;
		j.tres = (k >> 22) % 4 == 2 ? "gres/gpu:1" : "";
		j.admin_comment = NULL;
		j.comment = NULL;
		j.script = scripts[(k >> 6) % SCRIPTS];
		if (distinct) {
			char seq[24];
			snprintf(seq, sizeof(seq), "%08zx", i);
			memcpy(scripts[(k >> 6) % SCRIPTS] + 18, seq, 8); /* "#!/bin/bash\n# seq " is 18 bytes */
		}
		j.script_len = no_script ? 0 : lengths[(k >> 6) % SCRIPTS];
		if (trace) {
			const struct swf_job *t = &trace[i];
			unsigned kind = swf_job_kind(t); /* a script per kind of job */
			j.uid = t->uid;
			j.gid = t->gid >= 0 ? t->gid : 100;
			j.min_nodes = -1;
			j.num_tasks = t->procs;
			j.mem_per_cpu_mb = -1;
			j.time_limit_min = t->limit_min;
			j.submit_time = t->submit;
			snprintf(account, sizeof(account), "g%lld", (long long) t->gid);
			j.account = account;
			snprintf(partition, sizeof(partition), "q%lld", (long long) t->queue);
			j.partition = partition;
			snprintf(name, sizeof(name), "job%u", kind % 97);
			j.tres = "";
			j.script = scripts[(kind >> 8) % SCRIPTS];
			j.script_len = no_script ? 0 : lengths[(kind >> 8) % SCRIPTS];
		}
		if (cold) {
			for (size_t b = 0; b < flush_len; b += 64)
				flush[b]++;
		}
		struct call c = { .profile = profile, .job = &j, .out = out, .out_len = sizeof(out) };
		if (thread_per_call) {
			pthread_t t;
			if (pthread_create(&t, NULL, _timed_call, &c) != 0 || pthread_join(t, NULL) != 0) {
				fprintf(stderr, "pthread_create failed\n");
				return 1;
			}
		} else {
			_timed_call(&c);
		}
		if (dump)
			fprintf(dump, "%d %.*s\n", c.field, c.n > 0 ? c.n : 0, out);
		if (i >= 200) { /* the first calls warm up */
			cpu[i - 200] = c.cpu;
			wall[i - 200] = c.wall;
			total_len += (size_t) c.n;
		}
		if (i == 200 && !quiet)
			printf("annotation: %s\n", out);
	}
	printf("%s caches, %s, %zu %s jobs, 4 KB scripts (%s), mean annotation %zu bytes\n", cold ? "cold" : "warm",
	       thread_per_call ? "a new thread per call" : "one thread", jobs,
	       trace ? "replayed" : same ? "identical" : "varied",
	       no_script ? "none" : trace ? "one per user, size and limit" : distinct ? "a new one per job" : same ? "the same one" : "64 scripts, resubmitted",
	       jobs ? total_len / jobs : 0);
	if (!quiet)
		printf("memory: the library with its model added %.1f MB resident after init, %.1f MB after the calls\n",
		       (rss1 - rss0) / 1024.0, (_rss_kb() - rss0 - (long) (flush_len >> 10)) / 1024.0);
	_report("cpu", cpu, jobs);
	_report("wall", wall, jobs);
	if (!quiet) {
		stats(out, sizeof(out));
		printf("library stats: %s\n", out);
	}
	if (dump)
		fclose(dump);
	fini(); /* sends what the notifier still holds */
	if (listen_path) {
		usleep(200000); /* the listener's thread reads them */
		printf("notifications received by the listener: %lu of %zu\n", received, jobs + 200);
	}
	return 0;
}
