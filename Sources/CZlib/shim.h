/* Prewarm — system zlib for reading .swf.gz workload logs. */
#ifndef PREWARM_CZLIB_SHIM_H
#define PREWARM_CZLIB_SHIM_H
#include <zlib.h>
#endif
