/* weft-ipc-control.h: the page of memory a parent shares with one worker to reach it between messages. */
#pragma once

#include <stdatomic.h>
#include <stdint.h>

/* Mapped read-write by the parent and read-only by one worker, for the
 * worker's whole life (and its replacements'). Lock-free atomics work across
 * processes on shared memory. */
typedef struct
{
  /* The parent stores a running job's id here to ask the worker to stop it
   * (release); the worker polls it between chunks (acquire). Ids are never
   * reused, so a stale value matches no later job. */
  _Atomic uint64_t cancel_job_id;
} WeftIpcControl;
