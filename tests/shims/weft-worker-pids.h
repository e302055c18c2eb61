/* weft-worker-pids.h: finding this process's weft-worker children and their state, for tests that kill them. */
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

/* The state letter of process @pid as /proc shows it ('R' on a CPU or
 * waiting for one, 'S' asleep, 'Z' exited but not yet reaped, ...), or 0
 * when there is no such process. */
char weft_test_proc_state (pid_t pid);

#ifdef __cplusplus
}
#endif
