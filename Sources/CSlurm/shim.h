/*
 * Prewarm — the parts of libslurm (public API, libslurm-dev) the daemon uses.
 * SPDX-License-Identifier: Apache-2.0
 *
 * SLURM_BIT(n) is a function-like macro, so Swift does not import the NODE_STATE_* flags: re-export them.
 */
#ifndef PREWARM_CSLURM_SHIM_H
#define PREWARM_CSLURM_SHIM_H
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <resolv.h>
#include <arpa/nameser.h>
#include <slurm/slurm.h>
#include <slurm/slurm_errno.h>

static const uint32_t CS_NODE_STATE_BASE = NODE_STATE_BASE;
static const uint32_t CS_NODE_STATE_CLOUD = NODE_STATE_CLOUD;
static const uint32_t CS_NODE_STATE_DRAIN = NODE_STATE_DRAIN;
static const uint32_t CS_NODE_STATE_COMPLETING = NODE_STATE_COMPLETING;
static const uint32_t CS_NODE_STATE_NO_RESPOND = NODE_STATE_NO_RESPOND;
static const uint32_t CS_NODE_STATE_POWERED_DOWN = NODE_STATE_POWERED_DOWN;
static const uint32_t CS_NODE_STATE_FAIL = NODE_STATE_FAIL;
static const uint32_t CS_NODE_STATE_POWERING_UP = NODE_STATE_POWERING_UP;
static const uint32_t CS_NODE_STATE_MAINT = NODE_STATE_MAINT;
static const uint32_t CS_NODE_STATE_POWERING_DOWN = NODE_STATE_POWERING_DOWN;
static const uint32_t CS_NODE_STATE_PLANNED = NODE_STATE_PLANNED;
static const uint32_t CS_NODE_STATE_POWER_DOWN = NODE_STATE_POWER_DOWN;
static const uint32_t CS_NODE_STATE_POWER_UP = NODE_STATE_POWER_UP;
static const uint32_t CS_NODE_STATE_POWER_DRAIN = NODE_STATE_POWER_DRAIN;
/* States SuspendExcStates may name, and the reboot flags that keep slurmctld from suspending a node. */
static const uint32_t CS_NODE_STATE_RES = NODE_STATE_RES;
static const uint32_t CS_NODE_STATE_DYNAMIC_FUTURE = NODE_STATE_DYNAMIC_FUTURE;
static const uint32_t CS_NODE_STATE_DYNAMIC_NORM = NODE_STATE_DYNAMIC_NORM;
static const uint32_t CS_NODE_STATE_INVALID_REG = NODE_STATE_INVALID_REG;
static const uint32_t CS_NODE_STATE_REBOOT_REQUESTED = NODE_STATE_REBOOT_REQUESTED;
static const uint32_t CS_NODE_STATE_REBOOT_ISSUED = NODE_STATE_REBOOT_ISSUED;
/* SuspendExcStates came with Slurm 23.02; NULL before. */
static inline const char *cs_suspend_exc_states(const slurm_conf_t *conf) {
#if SLURM_VERSION_NUMBER >= SLURM_VERSION_NUM(23, 2, 0)
	return conf->suspend_exc_states;
#else
	(void)conf;
	return NULL;
#endif
}
static const uint32_t CS_JOB_STATE_BASE = JOB_STATE_BASE;
static const uint32_t CS_NO_VAL = NO_VAL;
static const uint32_t CS_INFINITE = INFINITE;
static const uint64_t CS_NO_VAL64 = NO_VAL64;
static const uint64_t CS_INFINITE64 = INFINITE64;
static const uint64_t CS_MEM_PER_CPU = MEM_PER_CPU;
static const uint16_t CS_NO_VAL16 = NO_VAL16;
static const uint16_t CS_INFINITE16 = INFINITE16;
/* show_flags of slurm_load_*: 0x0001 in Slurm 22.05, SLURM_BIT(0) in 24.11. */
static const uint16_t CS_SHOW_ALL = SHOW_ALL;
/* PrivateData=cloud: in Slurm 22.05 powered-down CLOUD nodes are hidden from every query unless it is set; later
 * releases (24.11 and 26.05 here) show them always and have no such flag (0 here). */
#ifdef PRIVATE_CLOUD_NODES
static const uint16_t CS_PRIVATE_CLOUD_NODES = PRIVATE_CLOUD_NODES;
#else
static const uint16_t CS_PRIVATE_CLOUD_NODES = 0;
#endif
static const uint32_t CS_WAIT_HELD = WAIT_HELD;
static const uint32_t CS_WAIT_HELD_USER = WAIT_HELD_USER;
/* Limits that clear when a running job of the same array, user or group ends (LiveForecast's LimitWaits). */
static const uint32_t CS_WAIT_ARRAY_TASK_LIMIT = WAIT_ARRAY_TASK_LIMIT;
static const uint32_t CS_WAIT_QOS_MAX_JOB_PER_USER = WAIT_QOS_MAX_JOB_PER_USER;
static const uint32_t CS_WAIT_QOS_MAX_CPU_PER_USER = WAIT_QOS_MAX_CPU_PER_USER;
static const uint32_t CS_WAIT_QOS_MAX_NODE_PER_USER = WAIT_QOS_MAX_NODE_PER_USER;
static const uint32_t CS_WAIT_ASSOC_MAX_JOBS = WAIT_ASSOC_MAX_JOBS;
static const uint32_t CS_WAIT_ASSOC_GRP_JOB = WAIT_ASSOC_GRP_JOB;
static const uint32_t CS_WAIT_QOS_GRP_JOB = WAIT_QOS_GRP_JOB;

/*
 * The call that frees slurm_load_ctl_conf's result is slurm_free_ctl_conf in Slurm 22.05 and 24.11 and
 * slurm_free_conf in 26.05 (the releases seen; the rename's own release is not known here). Both are declared weak
 * and the one libslurm has is called, so the same source builds and runs with each.
 */
extern void slurm_free_ctl_conf(slurm_conf_t *slurm_conf_ptr) __attribute__((weak));
extern void slurm_free_conf(slurm_conf_t *slurm_conf_ptr) __attribute__((weak));
static inline void cs_free_ctl_conf(slurm_conf_t *conf) {
	if (slurm_free_conf)
		slurm_free_conf(conf);
	else if (slurm_free_ctl_conf)
		slurm_free_ctl_conf(conf);
}

/*
 * Whether DNS answers for the _slurmctld._tcp SRV record: the last place libslurm looks for a configless cluster's
 * controller (after SLURM_CONF, /etc/slurm/slurm.conf, slurmd's cache and SLURM_CONF_SERVER), asked the same way
 * (res_nsearch). 1 yes, 0 no. May wait for the resolver's timeouts; never called on the submit path.
 */
static inline int cs_has_slurmctld_srv_record(void) {
	struct __res_state state;
	unsigned char answer[1024];
	int n;
	memset(&state, 0, sizeof state);
	if (res_ninit(&state) != 0)
		return 0;
	n = res_nsearch(&state, "_slurmctld._tcp", C_IN, T_SRV, answer, sizeof answer);
	res_nclose(&state);
	return n > 0;
}

#endif
