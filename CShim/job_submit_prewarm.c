/*
 * Prewarm — predictive power management for Slurm.
 * SPDX-License-Identifier: Apache-2.0
 *
 * job_submit/prewarm: hands every submission to the Prewarm profiler (libprewarm_submit.so, Swift) and writes its
 * annotation into the job (AdminComment by default). Built only against the installed public Slurm headers.
 *
 * Never fails a submission because of Prewarm: a missing library, config or model is logged once at init and
 * the plugin passes jobs through unchanged. The profiler does no disk I/O and never blocks on the submit path.
 *
 * Environment of slurmctld (optional):
 *   PREWARM_SUBMIT_LIBRARY  path of libprewarm_submit.so (default PREWARM_DEFAULT_LIBRARY)
 *   PREWARM_CONF            path of prewarm.conf (default /etc/slurm/prewarm.conf)
 */
#include <dlfcn.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <slurm/slurm.h>
#include <slurm/slurm_errno.h>
#include <slurm/slurm_version.h>

#include "prewarm_submit.h"

#ifndef PREWARM_DEFAULT_LIBRARY
#define PREWARM_DEFAULT_LIBRARY "/usr/lib/prewarm/libprewarm_submit.so"
#endif

typedef struct job_record job_record_t; /* opaque: only public headers */

/* Resolved from slurmctld (libslurmfull) when the plugin is loaded. */
extern char *slurm_xstrdup(const char *str);
extern void slurm_xfree(void **p);
extern void slurm_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern void slurm_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

const char plugin_name[] = "Prewarm job submit profiler";
const char plugin_type[] = "job_submit/prewarm";
const uint32_t plugin_version = SLURM_VERSION_NUMBER;

typedef int (*init_fn)(const char *, prewarm_log_fn);
typedef int (*profile_fn)(const prewarm_job_t *, char *, size_t, int *);
typedef size_t (*stats_fn)(char *, size_t);
typedef void (*fini_fn)(void);

static profile_fn _profile;
static stats_fn _stats;
static fini_fn _fini;

#define ANNOTATION_MAX 2048

static void _log(int level, const char *message)
{
	if (level)
		slurm_error("%s: %s", plugin_type, message ? message : "");
	else
		slurm_info("%s: %s", plugin_type, message ? message : "");
}

static int64_t _u32(uint32_t v)
{
	return (v >= NO_VAL) ? -1 : (int64_t) v;
}

static int64_t _u16(uint16_t v)
{
	return (v >= NO_VAL16) ? -1 : (int64_t) v;
}

int init(void)
{
	const char *path = getenv("PREWARM_SUBMIT_LIBRARY");
	const char *conf = getenv("PREWARM_CONF");
	void *lib;
	init_fn start;

	if (!path || !*path)
		path = PREWARM_DEFAULT_LIBRARY;
	/* RTLD_LOCAL: the Swift runtime inside stays private. Never dlclosed (the library is also NODELETE). */
	lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		slurm_error("%s: cannot load %s (%s); jobs pass through unprofiled", plugin_type, path, dlerror());
		return SLURM_SUCCESS;
	}
	start = (init_fn) dlsym(lib, "prewarm_submit_init");
	_profile = (profile_fn) dlsym(lib, "prewarm_submit_profile");
	_stats = (stats_fn) dlsym(lib, "prewarm_submit_stats");
	_fini = (fini_fn) dlsym(lib, "prewarm_submit_fini");
	if (!start || !_profile || !_stats || !_fini) {
		slurm_error("%s: %s lacks the prewarm_submit_* ABI; jobs pass through unprofiled", plugin_type, path);
		_profile = NULL;
		return SLURM_SUCCESS;
	}
	start(conf && *conf ? conf : NULL, _log);
	slurm_info("%s: loaded %s", plugin_type, path);
	return SLURM_SUCCESS;
}

int fini(void)
{
	char line[512];

	if (_profile) {
		_stats(line, sizeof(line));
		slurm_info("%s: %s", plugin_type, line);
		_fini();
		_profile = NULL;
	}
	return SLURM_SUCCESS;
}

/* tres_per_node, tres_per_job, tres_per_task joined by ',' into buf. */
static const char *_tres(const job_desc_msg_t *d, char *buf, size_t len)
{
	const char *parts[3] = { d->tres_per_node, d->tres_per_job, d->tres_per_task };
	size_t used = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < 3; i++) {
		int n;
		if (!parts[i] || !*parts[i])
			continue;
		n = snprintf(buf + used, len - used, "%s%s", used ? "," : "", parts[i]);
		if (n < 0 || (size_t) n >= len - used)
			break;
		used += (size_t) n;
	}
	return buf;
}

static void _fill(prewarm_job_t *j, const job_desc_msg_t *d, uint32_t submit_uid, char *tres, size_t tres_len)
{
	memset(j, 0, sizeof(*j));
	j->abi = PREWARM_SUBMIT_ABI;
	j->uid = _u32(d->user_id) >= 0 ? _u32(d->user_id) : (int64_t) submit_uid;
	j->gid = _u32(d->group_id);
	j->job_id = -1;
	j->min_cpus = _u32(d->min_cpus);
	j->min_nodes = _u32(d->min_nodes);
	j->num_tasks = _u32(d->num_tasks);
	j->cpus_per_task = _u16(d->cpus_per_task);
	j->mem_per_node_mb = -1;
	j->mem_per_cpu_mb = -1;
	if (d->pn_min_memory < NO_VAL64) {
		if (d->pn_min_memory & MEM_PER_CPU)
			j->mem_per_cpu_mb = (int64_t) (d->pn_min_memory & ~MEM_PER_CPU);
		else
			j->mem_per_node_mb = (int64_t) d->pn_min_memory;
	}
	j->time_limit_min = _u32(d->time_limit);
	j->time_min_min = _u32(d->time_min);
	j->nice = _u32(d->nice);
	j->priority = _u32(d->priority);
	j->begin_time = d->begin_time > 0 ? (int64_t) d->begin_time : -1;
	j->submit_time = (int64_t) time(NULL);
	j->account = d->account;
	j->partition = d->partition;
	j->qos = d->qos;
	j->name = d->name;
	j->tres = _tres(d, tres, tres_len);
	j->array_spec = d->array_inx;
	j->dependency = d->dependency;
	j->admin_comment = d->admin_comment;
	j->comment = d->comment;
	j->script = d->script;
	j->script_len = d->script ? strnlen(d->script, 16u << 20) : 0;
}

static void _apply(job_desc_msg_t *d, const char *text, int field)
{
	char **target = NULL;

	if (field == PREWARM_FIELD_ADMIN_COMMENT)
		target = &d->admin_comment;
	else if (field == PREWARM_FIELD_COMMENT)
		target = &d->comment;
	if (!target)
		return;
	if (*target)
		slurm_xfree((void **) target);
	*target = slurm_xstrdup(text);
}

extern int job_submit(job_desc_msg_t *job_desc, uint32_t submit_uid, char **err_msg)
{
	prewarm_job_t j;
	char tres[512];
	char out[ANNOTATION_MAX];
	int field = PREWARM_FIELD_NONE;

	(void) err_msg;
	if (!_profile || !job_desc)
		return SLURM_SUCCESS;
	_fill(&j, job_desc, submit_uid, tres, sizeof(tres));
	j.is_modify = 0;
	if (_profile(&j, out, sizeof(out), &field) > 0) {
		_apply(job_desc, out, field);
	}
	return SLURM_SUCCESS;
}

/*
 * Slurm 22.05 calls job_modify(job_desc, job_ptr, submit_uid); 24.11 (Debian 13's, built and run by
 * scripts/slurm-compat) passes err_msg as well. It is never read, so a release between the two is served whether it
 * passes it or not.
 */
#if SLURM_VERSION_NUMBER >= SLURM_VERSION_NUM(23, 2, 0)
extern int job_modify(job_desc_msg_t *job_desc, job_record_t *job_ptr, uint32_t submit_uid, char **err_msg)
#else
extern int job_modify(job_desc_msg_t *job_desc, job_record_t *job_ptr, uint32_t submit_uid)
#endif
{
	prewarm_job_t j;
	char tres[512];
	char out[ANNOTATION_MAX];
	int field = PREWARM_FIELD_NONE;

	(void) job_ptr;
#if SLURM_VERSION_NUMBER >= SLURM_VERSION_NUM(23, 2, 0)
	(void) err_msg;
#endif
	if (!_profile || !job_desc)
		return SLURM_SUCCESS;
	/* Re-profile only when the limits change, and never over an AdminComment/Comment set by this update. */
	if (job_desc->time_limit == NO_VAL && job_desc->min_cpus == NO_VAL && job_desc->min_nodes == NO_VAL &&
	    job_desc->num_tasks == NO_VAL && !job_desc->partition && !job_desc->qos)
		return SLURM_SUCCESS;
	if (job_desc->admin_comment || job_desc->comment)
		return SLURM_SUCCESS;
	_fill(&j, job_desc, submit_uid, tres, sizeof(tres));
	j.is_modify = 1;
	/*
	 * An update names its requester (root or SlurmUser, for an AdminComment), not the job's owner, whose uid the
	 * public API does not give here: the re-prediction is made without a user's history rather than with root's.
	 */
	if (_u32(job_desc->user_id) < 0)
		j.uid = -1;
#if SLURM_VERSION_NUMBER >= SLURM_VERSION_NUM(26, 5, 0)
	/* 26.05 keys the API by step id (its release notes: slurm_step_id_t in lieu of a job_id). */
	j.job_id = _u32(job_desc->step_id.job_id);
#else
	j.job_id = _u32(job_desc->job_id);
#endif
	j.script = NULL;
	j.script_len = 0;
	if (_profile(&j, out, sizeof(out), &field) <= 0)
		return SLURM_SUCCESS;
	/*
	 * Slurm applies an update's AdminComment only for root, SlurmUser and accounting administrators, and refuses
	 * the whole update of anyone else (ESLURM_ACCESS_DENIED) when it carries one. So the AdminComment is
	 * re-annotated only for root and SlurmUser (the user slurmctld runs as); anyone else's update goes through
	 * unchanged and the job keeps its submit-time annotation.
	 */
	if (field == PREWARM_FIELD_ADMIN_COMMENT && submit_uid != 0 && submit_uid != (uint32_t) getuid())
		return SLURM_SUCCESS;
	_apply(job_desc, out, field);
	return SLURM_SUCCESS;
}
