/* weft-sandbox.c: the worker's seccomp filter, built with libseccomp. */
#include "config.h"

#include <errno.h>
#include <seccomp.h>

#include "weft-error.h"
#include "weft-sandbox.h"

/* Resolved by name, so that a syscall this libseccomp or architecture does
 * not know is skipped rather than failing the whole filter. */
static const char * const denied_eperm[] = {
  "open", "openat", "openat2", "creat", "open_by_handle_at",
  "socket", "socketpair", "connect", "bind", "listen", "accept", "accept4",
  "ptrace", "process_vm_readv", "process_vm_writev",
};

static const char * const denied_kill[] = {
  "execve", "execveat",
};

static gboolean
add_rules (scmp_filter_ctx     filter,
           uint32_t            action,
           const char * const *names,
           size_t              n_names,
           GError            **error)
{
  for (size_t i = 0; i < n_names; i++)
    {
      int nr = seccomp_syscall_resolve_name (names[i]);
      int rc;

      if (nr == __NR_SCMP_ERROR)
        continue;
      rc = seccomp_rule_add (filter, action, nr, 0);
      if (rc < 0)
        {
          g_set_error (error, WEFT_ERROR, WEFT_ERROR_FAILED,
                       "Could not filter %s: %s", names[i], g_strerror (-rc));
          return FALSE;
        }
    }
  return TRUE;
}

gboolean
weft_sandbox_enter (GError **error)
{
  scmp_filter_ctx filter = seccomp_init (SCMP_ACT_ALLOW);
  gboolean ok = FALSE;
  int rc;

  if (filter == NULL)
    {
      g_set_error_literal (error, WEFT_ERROR, WEFT_ERROR_FAILED,
                           "Could not create a seccomp filter");
      return FALSE;
    }

  /* Sanitizer runtimes start helper threads (TSan's background thread); the
   * filter must bind them too. Those runtimes read /proc/self/maps when they
   * start, before this filter exists, which is why sanitized workers run; but
   * a report raised later cannot open files to symbolize itself, and the
   * leak check at exit never runs because workers are stopped with SIGKILL. */
  rc = seccomp_attr_set (filter, SCMP_FLTATR_CTL_TSYNC, 1);
  if (rc < 0)
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_FAILED,
                   "Could not ask for a filter on every thread: %s", g_strerror (-rc));
      goto out;
    }

  if (!add_rules (filter, SCMP_ACT_ERRNO (EPERM), denied_eperm, G_N_ELEMENTS (denied_eperm), error) ||
      !add_rules (filter, SCMP_ACT_KILL_PROCESS, denied_kill, G_N_ELEMENTS (denied_kill), error))
    goto out;

  rc = seccomp_load (filter);
  if (rc < 0)
    {
      g_set_error (error, WEFT_ERROR, WEFT_ERROR_FAILED,
                   "Could not load the seccomp filter: %s", g_strerror (-rc));
      goto out;
    }
  ok = TRUE;

out:
  seccomp_release (filter);
  return ok;
}
