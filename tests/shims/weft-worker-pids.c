/* weft-worker-pids.c: this process's weft-worker children and their state, read from /proc. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "weft-worker-pids.h"

size_t
weft_test_worker_pids (pid_t  *out,
                       size_t  max)
{
  DIR *dir = opendir ("/proc");
  struct dirent *e;
  size_t n_found = 0;

  while (dir != NULL && (e = readdir (dir)) != NULL)
    {
      char path[64], buf[512];
      pid_t pid = atoi (e->d_name);
      char *open_paren, *close_paren;
      int ppid = 0;
      char state;
      size_t n;
      FILE *f;

      if (pid <= 0)
        continue;
      snprintf (path, sizeof path, "/proc/%d/stat", pid);
      f = fopen (path, "r");
      if (f == NULL)
        continue;
      n = fread (buf, 1, sizeof buf - 1, f);
      fclose (f);
      buf[n] = '\0';
      /* "pid (comm) state ppid ...": comm may hold spaces, so parse from
       * the last ')'. */
      open_paren = strchr (buf, '(');
      close_paren = strrchr (buf, ')');
      if (open_paren == NULL || close_paren == NULL)
        continue;
      if (sscanf (close_paren + 1, " %c %d", &state, &ppid) != 2)
        continue;
      if (ppid != getpid () || state == 'Z' ||
          (size_t) (close_paren - open_paren - 1) != strlen ("weft-worker") ||
          strncmp (open_paren + 1, "weft-worker", strlen ("weft-worker")) != 0)
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
  char path[64], buf[512], state = 0;
  const char *close_paren;
  size_t n;
  FILE *f;

  snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
  f = fopen (path, "r");
  if (f == NULL)
    return 0;
  n = fread (buf, 1, sizeof buf - 1, f);
  fclose (f);
  buf[n] = '\0';
  /* "pid (comm) state ...": comm may hold spaces and parentheses. */
  close_paren = strrchr (buf, ')');
  if (close_paren == NULL || sscanf (close_paren + 1, " %c", &state) != 1)
    return 0;
  return state;
}
