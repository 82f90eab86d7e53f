/*
 * Prewarm — predictive power management for Slurm.
 * SPDX-License-Identifier: Apache-2.0
 *
 * The jobs of a Standard Workload Format log, for the benchmarks that replay a real cluster's submission stream
 * (bench/submit-latency.c, bench/submit-api.c).
 */
#ifndef PREWARM_BENCH_SWF_JOBS_H
#define PREWARM_BENCH_SWF_JOBS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* A job of a replayed log: the fields the benchmarks pass on (submit: Unix time, limit: minutes or -1). */
struct swf_job {
	int64_t submit, procs, limit_min, uid, gid, queue;
};

/* Reads the jobs of the SWF log at PATH after its first SKIP ones; returns how many (0 on error, with a message). */
static inline size_t swf_read_jobs(const char *path, size_t skip, struct swf_job **out)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	long long base = 0;
	size_t n = 0, cap = 0, seen = 0, lineno = 0;
	struct swf_job *v = NULL;
	if (!f) {
		fprintf(stderr, "cannot read %s\n", path);
		return 0;
	}
	while (fgets(line, sizeof(line), f)) {
		long long x[18];
		lineno++;
		if (line[0] == ';') {
			sscanf(line, "; UnixStartTime: %lld", &base);
			continue;
		}
		int got = sscanf(line, "%lld %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld",
				 &x[0], &x[1], &x[2], &x[3], &x[4], &x[5], &x[6], &x[7], &x[8], &x[9], &x[10], &x[11],
				 &x[12], &x[13], &x[14], &x[15], &x[16], &x[17]);
		if (got <= 0)
			continue; /* a blank line */
		if (got != 18) {
			fprintf(stderr, "%s:%zu: expected 18 SWF fields, found %d\n", path, lineno, got);
			fclose(f);
			free(v);
			return 0;
		}
		if (seen++ < skip)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 4096;
			struct swf_job *w = realloc(v, cap * sizeof(*v));
			if (!w) {
				fclose(f);
				free(v);
				return 0;
			}
			v = w;
		}
		v[n].submit = base + x[1];
		v[n].procs = x[7] > 0 ? x[7] : x[4] > 0 ? x[4] : 1;
		v[n].limit_min = x[8] > 0 ? (x[8] + 59) / 60 : -1;
		v[n].uid = x[11] >= 0 ? x[11] : 1;
		v[n].gid = x[12];
		v[n].queue = x[14];
		n++;
	}
	fclose(f);
	*out = v;
	return n;
}

/* A number standing for a user's kind of job (user, processors, time limit): the benchmarks give every kind a
 * script of its own, as a user resubmits a script. */
static inline unsigned swf_job_kind(const struct swf_job *t)
{
	unsigned kind = (unsigned) (t->uid * 2654435761u) ^ (unsigned) (t->procs * 40503u) ^
			(unsigned) (t->limit_min * 2246822519u);
	return (kind ^ (kind >> 15)) * 2654435761u;
}

#endif
