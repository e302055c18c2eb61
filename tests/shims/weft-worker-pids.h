/* weft-worker-pids.h: finding this process's weft-worker children, for tests that kill them. */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Writes the pids of this process's living weft-worker children (read
 * from /proc) to @out, at most @max; returns how many there are. */
size_t weft_test_worker_pids (pid_t  *out,
                              size_t  max);

#ifdef __cplusplus
}
#endif
