/* weft-sandbox.h: the seccomp confinement a worker process puts itself in. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Installs, for every thread of the calling process and irrevocably, a filter
 * under which opening files (open, openat, openat2, creat, open_by_handle_at)
 * and using sockets other than inherited ones (socket, socketpair, connect,
 * bind, listen, accept) fail with EPERM, and execve/execveat kill the process.
 * Everything else stays allowed: the worker needs memory, mmap of the
 * descriptors it is passed, and its socket. */
gboolean weft_sandbox_enter (GError **error);

G_END_DECLS
