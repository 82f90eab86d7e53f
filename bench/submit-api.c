/*
 * Prewarm — predictive power management for Slurm.
 * SPDX-License-Identifier: Apache-2.0
 *
 * bench/submit-api: submits JOBS held batch jobs with a given script through Slurm's C API
 * (slurm_submit_batch_job), from THREADS threads of one process, and prints the wall time in seconds.
 * Used by bench/submit-throughput --api: without an sbatch process per job (fork, exec, option parsing, a
 * munge client each), the controller is the bottleneck and its cost per job is what the benchmark sees.
 *
 * Usage: submit-api SCRIPT JOBS THREADS [--distinct|--varied|--replay SWF SKIP]   (SLURM_CONF names the cluster).
 * --distinct: every job's script differs (a comment with a sequence number is appended). --varied: that, and every
 * job asks for its own time limit (1-1440 minutes) and task count (1-64), so no two jobs look alike to the profiler.
 * --replay: the jobs of the Standard Workload Format log SWF after its first SKIP, in the log's order (the threads
 * take the next one in turn): each with the log's user and group ids (root may submit for any uid, even one without
 * an account here: the jobs are held and never run), requested processors and time limit, and one of 64 scripts
 * per (user, processors, limit), as users resubmit their scripts. The controller stamps every job with the time of
 * its submission, so a log's weeks arrive within a minute or two.
 * Exit 1 if any submission failed (the count is printed on stderr).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <slurm/slurm.h>
#include <slurm/slurm_errno.h>

#include "swf-jobs.h"

static char *script;
static char cwd[4096];
static char *env[] = {"PATH=/usr/bin:/bin", "HOME=/tmp", "PREWARM_BENCH=1", NULL};
static long per_thread;
static int distinct;
static int varied;
static size_t script_len;
static long failures;
static struct swf_job *replay;
static size_t replay_jobs, replay_next;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void *submitter(void *arg)
{
	long failed = 0;
	long thread = (long)arg;
	char *own = distinct ? malloc(script_len + 64) : NULL;
	if (own)
		memcpy(own, script, script_len);
	for (long i = 0; i < per_thread; i++) {
		job_desc_msg_t d;
		submit_response_msg_t *resp = NULL;
		slurm_init_job_desc_msg(&d);
		d.name = "bench";
		d.script = script;
		if (own) {
			snprintf(own + script_len, 64, "# seq %ld-%ld\n", thread, i);
			d.script = own;
		}
		d.environment = env;
		d.env_size = 3;
		d.work_dir = cwd;
		d.std_out = "/dev/null";
		d.user_id = getuid();
		d.group_id = getgid();
		d.priority = 0; /* held, like sbatch -H */
		d.num_tasks = 4;
		d.min_cpus = 4;
		d.time_limit = 120;
		if (replay && own) {
			size_t at = __atomic_fetch_add(&replay_next, 1, __ATOMIC_RELAXED);
			const struct swf_job *t = &replay[at % replay_jobs];
			snprintf(own + script_len, 64, "# kind %u\n", (swf_job_kind(t) >> 8) % 64);
			d.user_id = (uint32_t)t->uid;
			d.group_id = (uint32_t)(t->gid >= 0 ? t->gid : t->uid);
			d.num_tasks = d.min_cpus = (uint32_t)t->procs;
			d.time_limit = t->limit_min > 0 ? (uint32_t)t->limit_min : NO_VAL;
		}
		if (varied) {
			unsigned long long k = (unsigned long long)(thread * 1000003 + i) * 2654435761ULL;
			d.time_limit = 1 + (uint32_t)((k >> 7) % 1440);
			d.num_tasks = d.min_cpus = 1 + (uint32_t)((k >> 17) % 64);
		}
		if (!replay)
			d.pn_min_memory = 100 | MEM_PER_CPU;
		if (slurm_submit_batch_job(&d, &resp) != SLURM_SUCCESS) {
			if (failed == 0)
				fprintf(stderr, "submit-api: %s\n", slurm_strerror(slurm_get_errno()));
			failed++;
		}
		if (resp)
			slurm_free_submit_response_response_msg(resp);
	}
	free(own);
	pthread_mutex_lock(&lock);
	failures += failed;
	pthread_mutex_unlock(&lock);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 4 && !(argc == 5 && (!strcmp(argv[4], "--distinct") || !strcmp(argv[4], "--varied"))) &&
	    !(argc == 7 && !strcmp(argv[4], "--replay"))) {
		fprintf(stderr, "usage: %s SCRIPT JOBS THREADS [--distinct|--varied|--replay SWF SKIP]\n", argv[0]);
		return 2;
	}
	varied = argc == 5 && !strcmp(argv[4], "--varied");
	distinct = argc >= 5;
	if (argc == 7) {
		replay_jobs = swf_read_jobs(argv[5], strtoul(argv[6], NULL, 10), &replay);
		if (replay_jobs == 0) {
			fprintf(stderr, "submit-api: no jobs to replay in %s after the first %s\n", argv[5], argv[6]);
			return 2;
		}
	}
	FILE *f = fopen(argv[1], "r");
	if (!f) {
		fprintf(stderr, "submit-api: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	static char buf[1 << 20];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	script = buf;
	script_len = n;
	long jobs = atol(argv[2]);
	long threads = atol(argv[3]);
	if (jobs < 1 || threads < 1 || threads > 256) {
		fprintf(stderr, "submit-api: JOBS and THREADS (1-256) must be positive\n");
		return 2;
	}
	per_thread = jobs / threads;
	if (replay && (size_t)(per_thread * threads) > replay_jobs) {
		fprintf(stderr, "submit-api: %s has %zu jobs after the skipped ones, fewer than %ld\n", argv[5], replay_jobs,
			per_thread * threads);
		return 2;
	}
	if (!getcwd(cwd, sizeof(cwd)))
		strcpy(cwd, "/tmp");
	slurm_init(NULL);
	pthread_t t[256];
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, submitter, (void *)i);
	for (long i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%.3f\n", (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9);
	if (failures) {
		fprintf(stderr, "submit-api: %ld of %ld submissions failed\n", failures, per_thread * threads);
		return 1;
	}
	slurm_fini();
	return 0;
}
