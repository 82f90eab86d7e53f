/*
 * Prewarm — predictive power management for Slurm.
 * SPDX-License-Identifier: Apache-2.0
 *
 * The C ABI between the job_submit plugin (CShim/job_submit_prewarm.c) and the in-controller Swift library
 * (libprewarm_submit.so, Sources/PrewarmSubmit). The plugin copies what it needs out of job_desc_msg_t into a
 * prewarm_job_t; the library never sees a Slurm type and never calls back into slurmctld except through the
 * log function the plugin hands it.
 *
 * Numbers the user did not give are -1 (the plugin maps NO_VAL, NO_VAL16, NO_VAL64 and INFINITE to -1);
 * strings may be NULL.
 */
#ifndef PREWARM_SUBMIT_H
#define PREWARM_SUBMIT_H

#include <stddef.h>
#include <stdint.h>

#define PREWARM_SUBMIT_ABI 1

/* Where the plugin writes the annotation. */
#define PREWARM_FIELD_NONE 0
#define PREWARM_FIELD_ADMIN_COMMENT 1
#define PREWARM_FIELD_COMMENT 2

/* level: 0 = info, 1 = error. The message is a NUL-terminated line without a trailing newline. */
typedef void (*prewarm_log_fn)(int level, const char *message);

typedef struct prewarm_job {
	uint32_t abi;		/* PREWARM_SUBMIT_ABI */
	uint32_t is_modify;	/* 1 from job_modify: only the changed fields are set */
	int64_t uid;
	int64_t gid;
	int64_t job_id;		/* job_modify only, else -1 */
	int64_t min_cpus;
	int64_t min_nodes;
	int64_t num_tasks;
	int64_t cpus_per_task;
	int64_t mem_per_node_mb;
	int64_t mem_per_cpu_mb;
	int64_t time_limit_min;
	int64_t time_min_min;
	int64_t nice;
	int64_t priority;
	int64_t begin_time;
	int64_t submit_time;	/* time(NULL) at the call */
	const char *account;
	const char *partition;
	const char *qos;
	const char *name;
	const char *tres;	/* tres_per_node, tres_per_job, ... joined by ',' */
	const char *array_spec;
	const char *dependency;
	const char *admin_comment;	/* current AdminComment (kept in front of the annotation) */
	const char *comment;	/* current Comment */
	const char *script;	/* batch script, not necessarily NUL-terminated */
	size_t script_len;
} prewarm_job_t;

/* Reads the configuration (conf_path, or the default when NULL), loads the model if there is one and starts the
 * background reloader. Never fails the plugin: problems are logged once and the library passes jobs through.
 * Returns 0. */
int prewarm_submit_init(const char *conf_path, prewarm_log_fn log);

/* Profiles one job. Writes a NUL-terminated annotation into out (at most out_len bytes, out_len >= 2) and the
 * field to put it in into *field; returns the annotation's length, or 0 when the job is to be left unchanged.
 * Bounded work, no disk I/O, never blocks; never returns an error. */
int prewarm_submit_profile(const prewarm_job_t *job, char *out, size_t out_len, int *field);

/* Writes the counters and the latency histogram summary as one NUL-terminated line; returns its length. */
size_t prewarm_submit_stats(char *out, size_t out_len);

/* Stops the reloader (waits at most about a second) and writes the stats file one last time. */
void prewarm_submit_fini(void);

#endif
