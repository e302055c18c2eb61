/* weft-worker-pids.c: this process's weft-worker children and their state, read from /proc. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "weft-worker-pids.h"

/* Reads /proc/@pid/stat, "pid (comm) state ppid ...", into @buf; returns
 * 0 when there is no such process, else 1 with *@comm and *@comm_len the
 * command name and *@rest what follows it. comm may hold spaces and
 * parentheses, so it ends at the last ')'. */
static int
read_stat (pid_t        pid,
           char        *buf,
           size_t       size,
           const char **comm,
           size_t      *comm_len,
           const char **rest)
{
  char path[64];
  const char *open_paren, *close_paren;
  size_t n;
  FILE *f;

  snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
  f = fopen (path, "r");
  if (f == NULL)
    return 0;
  n = fread (buf, 1, size - 1, f);
  fclose (f);
  buf[n] = '\0';
  open_paren = strchr (buf, '(');
  close_paren = strrchr (buf, ')');
  if (open_paren == NULL || close_paren == NULL || close_paren < open_paren)
    return 0;
  *comm = open_paren + 1;
  *comm_len = (size_t) (close_paren - open_paren - 1);
  *rest = close_paren + 1;
  return 1;
}

size_t
weft_test_worker_pids (pid_t  *out,
                       size_t  max)
{
  DIR *dir = opendir ("/proc");
  struct dirent *e;
  size_t n_found = 0;

  while (dir != NULL && (e = readdir (dir)) != NULL)
    {
      char buf[512];
      const char *comm, *rest;
      size_t comm_len;
      pid_t pid = atoi (e->d_name);
      int ppid = 0;
      char state;

      if (pid <= 0 || !read_stat (pid, buf, sizeof buf, &comm, &comm_len, &rest))
        continue;
      if (sscanf (rest, " %c %d", &state, &ppid) != 2)
        continue;
      if (ppid != getpid () || state == 'Z' ||
          comm_len != strlen ("weft-worker") || strncmp (comm, "weft-worker", comm_len) != 0)
        continue;
      if (n_found < max)
        out[n_found] = pid;
      n_found++;
    }
  if (dir != NULL)
    closedir (dir);
  return n_found;
}

char
weft_test_proc_state (pid_t pid)
{
  char buf[512], state = 0;
  const char *comm, *rest;
  size_t comm_len;

  if (!read_stat (pid, buf, sizeof buf, &comm, &comm_len, &rest) || sscanf (rest, " %c", &state) != 1)
    return 0;
  return state;
}
