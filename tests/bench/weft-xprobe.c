/* weft-xprobe.c: measures any X11 application from outside — main-loop stalls, key-to-paint latency, first paint.
 *
 *   weft-xprobe now
 *       CLOCK_MONOTONIC in ms: the clock of every time printed here and of X event times.
 *   weft-xprobe find PID TIMEOUT_MS [EXCLUDE_WINDOW]
 *       waits for a shown top-level window of process PID (by _NET_WM_PID), the largest
 *       if several, other than EXCLUDE_WINDOW (to find a dialog), and prints its id.
 *   weft-xprobe ping WINDOW INTERVAL_MS
 *       sends _NET_WM_PING every INTERVAL_MS until SIGTERM or SIGINT. A toolkit answers
 *       it from its main loop, so each round trip is how long that loop could not
 *       answer: a loop blocked for 300 ms answers in about 300 ms.
 *   weft-xprobe watch WINDOW TIMEOUT_MS [--bar]
 *       looks at the window every 15 ms and prints when text first shows (the middle of
 *       the window partly dark) and when it shows with no progress bar (accent blue)
 *       left: the first screenful, and the end of a load or of a long replacement.
 *   weft-xprobe keys WINDOW COUNT INTERVAL_MS KEY [KEY…]
 *       focuses the window and sends each key with XTest (KEY like "a", "ctrl+End"),
 *       timing each until the window is next damaged, that is repainted.
 *
 * Each measuring command prints one JSON object on stdout. Needs no window
 * manager: the server must have the DAMAGE and XTEST extensions (Xvfb has).
 */
#define _POSIX_C_SOURCE 200809L

#include <X11/Xatom.h>
#include <X11/Xlib.h>
#include <X11/Xutil.h>
#include <X11/extensions/Xdamage.h>
#include <X11/extensions/XTest.h>
#include <X11/keysym.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static volatile sig_atomic_t stop_requested;

static double
now_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec * 1000.0 + (double) ts.tv_nsec / 1e6;
}

static int
compare_doubles (const void *a,
                 const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted values. */
static double
percentile (const double *sorted,
            int           n,
            double        p)
{
  int rank;

  if (n == 0)
    return -1;
  rank = (int) (p / 100.0 * n + 0.999999) - 1;
  if (rank < 0)
    rank = 0;
  if (rank >= n)
    rank = n - 1;
  return sorted[rank];
}

static void
print_summary (const char *name,
               double     *values,
               int         n)
{
  qsort (values, (size_t) n, sizeof *values, compare_doubles);
  printf ("\"%s\":{\"n\":%d,\"p50\":%.2f,\"p99\":%.2f,\"max\":%.2f,\"min\":%.2f}", name, n,
          percentile (values, n, 50), percentile (values, n, 99), n ? values[n - 1] : -1.0, n ? values[0] : -1.0);
}

static void
wait_readable (Display *d,
               double   timeout_ms)
{
  struct pollfd p = { ConnectionNumber (d), POLLIN, 0 };

  if (timeout_ms < 0)
    timeout_ms = 0;
  if (XPending (d) == 0)
    poll (&p, 1, (int) (timeout_ms + 0.999));
}

static Display *
open_display (void)
{
  Display *d = XOpenDisplay (NULL);

  if (d == NULL)
    {
      fprintf (stderr, "weft-xprobe: cannot open the display\n");
      exit (1);
    }
  return d;
}

static long
window_pid (Display *d,
            Window   w,
            Atom     net_wm_pid)
{
  Atom type;
  int format;
  unsigned long n, after;
  unsigned char *data = NULL;
  long pid = -1;

  if (XGetWindowProperty (d, w, net_wm_pid, 0, 1, False, XA_CARDINAL, &type, &format, &n, &after, &data) == Success &&
      data != NULL && n == 1 && format == 32)
    pid = (long) *(unsigned long *) data;
  if (data != NULL)
    XFree (data);
  return pid;
}

static int
command_find (int    argc,
              char **argv)
{
  Display *d;
  Atom net_wm_pid;
  long pid;
  double deadline;
  Window exclude;

  if (argc < 4)
    return 2;
  pid = atol (argv[2]);
  exclude = argc > 4 ? strtoul (argv[4], NULL, 0) : None;
  deadline = now_ms () + atof (argv[3]);
  d = open_display ();
  net_wm_pid = XInternAtom (d, "_NET_WM_PID", False);

  while (now_ms () < deadline)
    {
      Window root, parent, *children = NULL, found = None;
      unsigned int n = 0;
      int best_area = 0;

      if (XQueryTree (d, DefaultRootWindow (d), &root, &parent, &children, &n))
        {
          for (unsigned int i = 0; i < n; i++)
            {
              XWindowAttributes attrs;

              if (!XGetWindowAttributes (d, children[i], &attrs) || attrs.map_state != IsViewable ||
                  attrs.override_redirect || children[i] == exclude ||
                  window_pid (d, children[i], net_wm_pid) != pid)
                continue;
              /* The main window, not a tooltip or popover that came first. */
              if (attrs.width * attrs.height > best_area)
                {
                  best_area = attrs.width * attrs.height;
                  found = children[i];
                }
            }
          if (children != NULL)
            XFree (children);
        }
      if (found != None)
        {
          printf ("{\"window\":%lu,\"t\":%.1f}\n", (unsigned long) found, now_ms ());
          XCloseDisplay (d);
          return 0;
        }
      struct timespec pause = { 0, 10 * 1000 * 1000 };
      nanosleep (&pause, NULL);
    }
  fprintf (stderr, "weft-xprobe: no window of process %ld\n", pid);
  XCloseDisplay (d);
  return 1;
}

static void
on_stop (int signal_number)
{
  (void) signal_number;
  stop_requested = 1;
}

static int
command_ping (int    argc,
              char **argv)
{
  Display *d;
  Window w;
  Atom wm_protocols, net_wm_ping;
  double interval, next, first_reply = -1, stop_time = 0;
  int capacity = 1 << 16, n_sent = 0, n_replies = 0;
  double *sent, *rtt, *replies;
  struct sigaction action = { 0 };

  if (argc < 4)
    return 2;
  w = strtoul (argv[2], NULL, 0);
  interval = atof (argv[3]);
  action.sa_handler = on_stop;
  sigaction (SIGTERM, &action, NULL);
  sigaction (SIGINT, &action, NULL);

  d = open_display ();
  wm_protocols = XInternAtom (d, "WM_PROTOCOLS", False);
  net_wm_ping = XInternAtom (d, "_NET_WM_PING", False);
  /* The reply goes to the root window: listen there. */
  XSelectInput (d, DefaultRootWindow (d), SubstructureNotifyMask);
  XSync (d, False);

  sent = calloc ((size_t) capacity, sizeof *sent);
  rtt = calloc ((size_t) capacity, sizeof *rtt);
  next = now_ms ();
  for (;;)
    {
      double t = now_ms ();

      if (stop_requested && stop_time == 0)
        stop_time = t;
      /* After a stop, wait a little for the replies still out. */
      if (stop_time != 0 && (n_replies == n_sent || t > stop_time + 2000))
        break;
      if (stop_time == 0 && t >= next)
        {
          XEvent ev;

          if (n_sent == capacity)
            {
              capacity *= 2;
              sent = realloc (sent, (size_t) capacity * sizeof *sent);
              rtt = realloc (rtt, (size_t) capacity * sizeof *rtt);
              memset (rtt + n_sent, 0, (size_t) (capacity - n_sent) * sizeof *rtt);
            }
          memset (&ev, 0, sizeof ev);
          ev.xclient.type = ClientMessage;
          ev.xclient.window = w;
          ev.xclient.message_type = wm_protocols;
          ev.xclient.format = 32;
          ev.xclient.data.l[0] = (long) net_wm_ping;
          ev.xclient.data.l[1] = n_sent + 1;   /* the "timestamp" carries our sequence number */
          ev.xclient.data.l[2] = (long) w;
          XSendEvent (d, w, False, NoEventMask, &ev);
          XFlush (d);
          sent[n_sent++] = t;
          /* A blocked loop must not turn into a burst of pings later. */
          next = next + interval > t ? next + interval : t + interval;
        }
      while (XPending (d))
        {
          XEvent ev;

          XNextEvent (d, &ev);
          if (ev.type == ClientMessage && ev.xclient.message_type == wm_protocols &&
              (Atom) ev.xclient.data.l[0] == net_wm_ping && (Window) ev.xclient.data.l[2] == w)
            {
              long id = ev.xclient.data.l[1];

              if (id >= 1 && id <= n_sent && rtt[id - 1] == 0)
                {
                  rtt[id - 1] = now_ms () - sent[id - 1];
                  if (rtt[id - 1] <= 0)
                    rtt[id - 1] = 0.001;
                  if (first_reply < 0)
                    first_reply = now_ms ();
                  n_replies++;
                }
            }
        }
      wait_readable (d, stop_time != 0 ? 5 : next - now_ms ());
    }

  replies = calloc ((size_t) n_replies + 1, sizeof *replies);
  printf ("{\"sent\":%d,\"lost\":%d,\"first_reply\":%.1f,\"stalls\":[", n_sent, n_sent - n_replies, first_reply);
  {
    int k = 0, in_stall = 0;
    double stall_start = 0, stall_max = 0;

    for (int i = 0; i < n_sent; i++)
      {
        if (rtt[i] > 0)
          replies[k++] = rtt[i];
        /* Runs of replies over 16 ms: one entry per stall, not per ping. */
        if (rtt[i] > 16)
          {
            if (!in_stall)
              stall_start = sent[i], stall_max = 0;
            in_stall = 1;
            if (rtt[i] > stall_max)
              stall_max = rtt[i];
          }
        else if (in_stall && rtt[i] > 0)
          {
            printf ("[%.1f,%.1f],", stall_start, stall_max);
            in_stall = 0;
          }
      }
    if (in_stall)
      printf ("[%.1f,%.1f],", stall_start, stall_max);
    printf ("null],");
    print_summary ("rtt", replies, k);
  }
  printf ("}\n");
  XCloseDisplay (d);
  return n_replies > 0 ? 0 : 1;
}

/* What one look at the window found: how much of its middle is dark (text
 * on a light background), and whether a progress bar (the accent blue,
 * #3584e4 in Adwaita) shows anywhere in it. */
typedef struct
{
  double text_fraction;
  int    bar_pixels;
} Look;

static int
look (Display *d,
      Window   w,
      Look    *out)
{
  XWindowAttributes attrs;
  XImage *image;
  long dark = 0, middle = 0;

  if (!XGetWindowAttributes (d, w, &attrs))
    return 0;
  image = XGetImage (d, w, 0, 0, (unsigned) attrs.width, (unsigned) attrs.height, AllPlanes, ZPixmap);
  if (image == NULL)
    return 0;
  out->bar_pixels = 0;
  for (int j = 0; j < attrs.height; j++)
    for (int i = 0; i < attrs.width; i++)
      {
        unsigned long pixel = XGetPixel (image, i, j);
        unsigned r = (pixel >> 16) & 0xff, g = (pixel >> 8) & 0xff, b = pixel & 0xff;

        if (r < 90 && g > 100 && g < 170 && b > 190)
          out->bar_pixels++;
        /* The middle: below a header bar, right of a line-number gutter,
         * above a status bar. */
        if (i >= attrs.width * 15 / 100 && i < attrs.width * 85 / 100 &&
            j >= attrs.height * 25 / 100 && j < attrs.height * 85 / 100)
          {
            middle++;
            if (r * 3 + g * 6 + b < 128 * 10)
              dark++;
          }
      }
  XDestroyImage (image);
  out->text_fraction = middle ? (double) dark / (double) middle : 0;
  return 1;
}

/* Text counts as shown when a few percent of the middle is dark; a window
 * not drawn yet reads as black. */
#define SHOWS_TEXT(l) ((l).text_fraction >= 0.01 && (l).text_fraction < 0.5)
#define SHOWS_BAR(l)  ((l).bar_pixels >= 6)
/* A bar that has just appeared may be a few pixels wide (1% of a million
 * lines): done means no bar for this long. */
#define QUIET_MS 500

/* watch WINDOW TIMEOUT_MS [--bar]: the time text first shows, and the time
 * from which it shows with no progress bar for QUIET_MS. With --bar, a bar
 * must have been seen first: for work that starts after the command. */
static int
command_watch (int    argc,
               char **argv)
{
  Display *d;
  Window w;
  double deadline, first_text = -1, first_bar = -1, done = -1, quiet_since = -1;
  int need_bar, quiet = 0;

  if (argc < 4)
    return 2;
  w = strtoul (argv[2], NULL, 0);
  deadline = now_ms () + atof (argv[3]);
  need_bar = argc > 4 && strcmp (argv[4], "--bar") == 0;
  d = open_display ();

  while (now_ms () < deadline && done < 0)
    {
      Look l;
      double t = now_ms ();

      if (!look (d, w, &l))
        break;
      if (first_text < 0 && SHOWS_TEXT (l))
        first_text = t;
      if (first_bar < 0 && SHOWS_BAR (l))
        first_bar = t;
      if (SHOWS_TEXT (l) && !SHOWS_BAR (l) && (!need_bar || first_bar >= 0))
        {
          if (quiet++ == 0)
            quiet_since = t;
          if (t - quiet_since >= QUIET_MS)
            done = quiet_since;
        }
      else
        quiet = 0;
      struct timespec pause = { 0, 15 * 1000 * 1000 };
      nanosleep (&pause, NULL);
    }
  printf ("{\"first_text\":%.1f,\"first_bar\":%.1f,\"done\":%.1f}\n", first_text, first_bar, done);
  XCloseDisplay (d);
  return done >= 0 ? 0 : 1;
}

static KeySym
modifier_keysym (const char *name)
{
  if (strcasecmp (name, "ctrl") == 0 || strcasecmp (name, "control") == 0)
    return XK_Control_L;
  if (strcasecmp (name, "shift") == 0)
    return XK_Shift_L;
  if (strcasecmp (name, "alt") == 0)
    return XK_Alt_L;
  return NoSymbol;
}

/* Presses the keys of @combo ("ctrl+End") in order and releases them in reverse. */
static int
send_combo (Display    *d,
            const char *combo)
{
  char copy[128];
  KeyCode codes[8];
  int n = 0;
  char *saveptr = NULL;

  snprintf (copy, sizeof copy, "%s", combo);
  for (char *part = strtok_r (copy, "+", &saveptr); part != NULL && n < 8; part = strtok_r (NULL, "+", &saveptr))
    {
      KeySym sym = modifier_keysym (part);

      if (sym == NoSymbol)
        sym = XStringToKeysym (part);
      if (sym == NoSymbol)
        {
          fprintf (stderr, "weft-xprobe: unknown key “%s”\n", part);
          return 0;
        }
      codes[n++] = XKeysymToKeycode (d, sym);
    }
  for (int i = 0; i < n; i++)
    XTestFakeKeyEvent (d, codes[i], True, CurrentTime);
  for (int i = n - 1; i >= 0; i--)
    XTestFakeKeyEvent (d, codes[i], False, CurrentTime);
  XFlush (d);
  return 1;
}

/* Reads events until none has come for @quiet_ms (or @limit_ms has passed),
 * so that a probe does not time an earlier repaint. */
static void
settle (Display *d,
        Damage   damage,
        int      damage_event,
        double   quiet_ms,
        double   limit_ms)
{
  double start = now_ms (), quiet_since = start;

  while (now_ms () - quiet_since < quiet_ms && now_ms () - start < limit_ms)
    {
      XDamageSubtract (d, damage, None, None);
      XSync (d, False);
      while (XPending (d))
        {
          XEvent ev;

          XNextEvent (d, &ev);
          if (ev.type == damage_event + XDamageNotify)
            quiet_since = now_ms ();
        }
      wait_readable (d, 5);
    }
  XDamageSubtract (d, damage, None, None);
  XSync (d, False);
  while (XPending (d))
    {
      XEvent ev;

      XNextEvent (d, &ev);
    }
}

static int
command_keys (int    argc,
              char **argv)
{
  Display *d;
  Window w;
  int count, damage_event, damage_error, xtest_event, xtest_error, major, minor, n = 0, timeouts = 0;
  double interval, timeout_ms = 10000;
  double *latencies;
  Damage damage;

  if (argc < 6)
    return 2;
  w = strtoul (argv[2], NULL, 0);
  count = atoi (argv[3]);
  interval = atof (argv[4]);
  d = open_display ();
  if (!XDamageQueryExtension (d, &damage_event, &damage_error) ||
      !XTestQueryExtension (d, &xtest_event, &xtest_error, &major, &minor))
    {
      fprintf (stderr, "weft-xprobe: the X server lacks DAMAGE or XTEST\n");
      return 1;
    }
  damage = XDamageCreate (d, w, XDamageReportNonEmpty);
  latencies = calloc ((size_t) count + 1, sizeof *latencies);

  printf ("{\"keys\":[");
  for (int i = 0; i < count; i++)
    {
      const char *key = argv[5 + i % (argc - 5)];
      double t0, got = -1;

      XSetInputFocus (d, w, RevertToParent, CurrentTime);
      settle (d, damage, damage_event, 30, 1000);
      t0 = now_ms ();
      if (!send_combo (d, key))
        return 2;
      while (got < 0 && now_ms () - t0 < timeout_ms)
        {
          wait_readable (d, 5);
          while (XPending (d))
            {
              XEvent ev;

              XNextEvent (d, &ev);
              if (ev.type == damage_event + XDamageNotify && got < 0)
                got = now_ms () - t0;
            }
        }
      if (got >= 0)
        latencies[n++] = got;
      else
        timeouts++;
      printf ("%s[%.1f,%.2f]", i ? "," : "", t0, got);
      fflush (stdout);
      while (now_ms () < t0 + interval)
        {
          wait_readable (d, t0 + interval - now_ms ());
          while (XPending (d))
            {
              XEvent ev;

              XNextEvent (d, &ev);
            }
        }
    }
  printf ("],\"timeouts\":%d,", timeouts);
  print_summary ("latency", latencies, n);
  printf ("}\n");
  XDamageDestroy (d, damage);
  XCloseDisplay (d);
  return 0;
}

int
main (int    argc,
      char **argv)
{
  int status = 2;

  setvbuf (stdout, NULL, _IOLBF, 0);
  if (argc >= 2 && strcmp (argv[1], "now") == 0)
    {
      printf ("%.1f\n", now_ms ());
      return 0;
    }
  if (argc >= 2 && strcmp (argv[1], "find") == 0)
    status = command_find (argc, argv);
  else if (argc >= 2 && strcmp (argv[1], "ping") == 0)
    status = command_ping (argc, argv);
  else if (argc >= 2 && strcmp (argv[1], "watch") == 0)
    status = command_watch (argc, argv);
  else if (argc >= 2 && strcmp (argv[1], "keys") == 0)
    status = command_keys (argc, argv);
  if (status == 2)
    fprintf (stderr,
             "usage: weft-xprobe now | find PID TIMEOUT_MS [EXCLUDE] | ping WINDOW INTERVAL_MS\n"
             "       | watch WINDOW TIMEOUT_MS [--bar] | keys WINDOW COUNT INTERVAL_MS KEY…\n");
  return status;
}
