/*
 * Prewarm — getxattr and friends, and statfs, for `prewarm check` (glibc, no extra library).
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef PREWARM_CXATTR_SHIM_H
#define PREWARM_CXATTR_SHIM_H
#include <sys/types.h>
#include <sys/xattr.h>
#include <sys/vfs.h>
#endif
