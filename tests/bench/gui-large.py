#!/usr/bin/env python3
"""gui-large: large documents in Weft beside GNOME Text Editor, measured from outside.

Run it inside tests/headless-session (its own Xvfb and session bus, with the
accessibility bus activatable, as on a GNOME desktop):

  tests/headless-session tests/bench/gui-large.py --weft build/src/app/weft \
      --xprobe build/tests/bench/weft-xprobe --schemas build/data [--lines 200000,1000000] [--runs 1]

For each editor and each generated file it records: time to the first
screenful and to fully loaded, main-loop stalls during the load (_NET_WM_PING
round trips every 10 ms), key-to-paint latency while typing at the end
(XTest + DAMAGE) and the stalls of Ctrl+End and Ctrl+Home, both right after
the load and again once the editor has gone idle, peak RSS; for Weft
also sorting the whole document and undoing it, and with --compare running
Compare from the stats panel (--backend picks threads or processes, as in
Preferences). It prints a side-by-side
table, then one JSON object per measurement (JSON Lines) with the fields
bench, backend, workers, input_bytes, runs, median_ms, min_ms, max_ms and
more. GNOME Text Editor is measured when installed (Debian's
gnome-text-editor); it is skipped with a note otherwise. Weft is fully
loaded when its progress bar has gone; GNOME Text Editor shows none, so it
is fully loaded when its process stops working.

--prose MB adds a generated prose document of that size (dictionary words,
some misspelled, 72 columns): the same measurements with spell-checking at
work while the text is typed into (no sort).
"""

import argparse
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def generate(path, n_lines):
    """Lines in a fixed scrambled order, so that sorting has work to do."""
    if os.path.exists(path):
        return
    rng = random.Random(n_lines)
    order = list(range(n_lines))
    rng.shuffle(order)
    with open(path + ".part", "w") as f:
        for k in order:
            f.write("%07d lorem ipsum dolor sit amet, consectetur adipiscing elit %04d\n" % (k, k % 9973))
    os.rename(path + ".part", path)


def generate_prose(path, n_bytes, dictionary="/usr/share/hunspell/en_US.dic"):
    """Prose of about @n_bytes: sentences of dictionary words, about one word
    in 25 misspelled, lines filled to 72 columns, blank lines between
    paragraphs: the kind of text issue 6 asks to check."""
    if os.path.exists(path):
        return
    with open(dictionary, encoding="utf-8", errors="replace") as f:
        next(f)
        words = [w for w in (line.split("/")[0].strip() for line in f) if w.isalpha() and w.islower()]
    rng = random.Random(n_bytes)
    size = 0
    with open(path + ".part", "w") as f:
        while size < n_bytes:
            paragraph = []
            for _ in range(rng.randint(3, 8)):
                sentence = []
                for _ in range(rng.randint(5, 18)):
                    w = rng.choice(words)
                    if len(w) > 3 and rng.random() < 0.04:
                        k = rng.randrange(len(w) - 1)
                        w = w[:k] + w[k + 1] + w[k] + w[k + 2:]
                    sentence.append(w)
                sentence[0] = sentence[0].capitalize()
                paragraph.append(" ".join(sentence) + rng.choice(".?!"))
            lines, line = [], ""
            for w in " ".join(paragraph).split(" "):
                if line and len(line) + 1 + len(w) > 72:
                    lines.append(line)
                    line = w
                else:
                    line = line + " " + w if line else w
            lines.append(line)
            text = "\n".join(lines) + "\n\n"
            f.write(text)
            size += len(text.encode("utf-8"))
    os.rename(path + ".part", path)


class Probe:
    def __init__(self, path):
        self.path = path

    def run(self, *args, timeout=600):
        out = subprocess.run([self.path] + [str(a) for a in args], capture_output=True, text=True, timeout=timeout)
        if out.returncode not in (0, 1) or not out.stdout.strip():
            raise RuntimeError("weft-xprobe %s failed: %s" % (" ".join(map(str, args)), out.stderr.strip()))
        return json.loads(out.stdout.strip().splitlines()[-1])

    def now(self):
        return float(subprocess.run([self.path, "now"], capture_output=True, text=True).stdout)

    def start_ping(self, window):
        return subprocess.Popen([self.path, "ping", str(window), "10"], stdout=subprocess.PIPE, text=True)

    @staticmethod
    def stop_ping(proc):
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
        result = json.loads(out.strip().splitlines()[-1])
        result["stalls"] = [s for s in result["stalls"] if s is not None]
        return result


def cpu_busy_fraction(interval):
    """How busy all CPUs were over the next @interval seconds, 0 … 1, from /proc/stat."""
    def sample():
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
        idle = fields[3] + fields[4]
        return idle, sum(fields)
    idle0, total0 = sample()
    time.sleep(interval)
    idle1, total1 = sample()
    return 1.0 - (idle1 - idle0) / max(total1 - total0, 1)


def wait_until_idle(timeout, busy=0.15, quiet=2):
    """Waits until the CPUs have been under @busy for @quiet seconds in a row."""
    deadline = time.monotonic() + timeout
    calm = 0
    while time.monotonic() < deadline:
        calm = calm + 1 if cpu_busy_fraction(1.0) < busy else 0
        if calm >= quiet:
            return True
    raise RuntimeError("the machine did not go idle within %d s" % timeout)


def last_busy_ms(pid, probe, timeout, quiet_s=1.0):
    """Waits until process @pid has used under 5 % of a CPU for @quiet_s
    seconds; returns when it last worked, on weft-xprobe's clock."""
    tick = os.sysconf("SC_CLK_TCK")

    def cpu_s():
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tick

    deadline = time.monotonic() + timeout
    last_cpu, last_busy = cpu_s(), probe.now()
    while time.monotonic() < deadline:
        time.sleep(0.25)
        cpu, now = cpu_s(), probe.now()
        if cpu - last_cpu > 0.05 * 0.25:
            last_busy = now
        last_cpu = cpu
        if now - last_busy >= quiet_s * 1000:
            return last_busy
    raise RuntimeError("process %d was still busy after %d s" % (pid, timeout))


def peak_rss_kib(pid):
    """VmHWM of the process and of its children (worker processes)."""
    total = 0
    pids = [pid]
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            pids += [int(p) for p in f.read().split()]
    except OSError:
        pass
    for p in pids:
        try:
            with open("/proc/%d/status" % p) as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


class Editor:
    def __init__(self, name, argv, env):
        self.name = name
        self.argv = argv
        self.env = env


def measure(editor, path, probe, args, sort):
    """One run of one editor on one file: a dict of measurements in ms."""
    m = {}
    home = tempfile.mkdtemp(prefix="gui-large-home.")
    env = dict(os.environ, **editor.env)
    # A fresh home per run: no session, draft or window size carried over.
    for var, sub in (("XDG_CONFIG_HOME", ".config"), ("XDG_DATA_HOME", ".local/share"),
                     ("XDG_STATE_HOME", ".local/state"), ("XDG_CACHE_HOME", ".cache")):
        env[var] = os.path.join(home, sub)
        os.makedirs(env[var], exist_ok=True)
    os.makedirs(os.path.join(env["XDG_CONFIG_HOME"], "gtk-4.0"), exist_ok=True)
    if editor.name == "weft" and args.backend:
        # As a user who chose it in Preferences: GSettings keeps it in a key file.
        env["GSETTINGS_BACKEND"] = "keyfile"
        settings_dir = os.path.join(env["XDG_CONFIG_HOME"], "glib-2.0", "settings")
        os.makedirs(settings_dir, exist_ok=True)
        with open(os.path.join(settings_dir, "keyfile"), "w") as f:
            f.write("[io/github/weftedit/Weft]\nworker-backend='%s'\n" % args.backend)
    settings = os.path.join(os.environ.get("XDG_CONFIG_HOME", ""), "gtk-4.0", "settings.ini")
    if os.path.exists(settings):
        shutil.copy(settings, os.path.join(env["XDG_CONFIG_HOME"], "gtk-4.0"))

    t0 = probe.now()
    app = subprocess.Popen(editor.argv + [path], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        window = probe.run("find", app.pid, 60000)["window"]
        ping = probe.start_ping(window)
        seen = probe.run("watch", window, 600000)
        if seen["done"] < 0:
            raise RuntimeError("%s did not finish loading" % editor.name)
        m["first_screenful_ms"] = seen["first_text"] - t0
        m["loaded_ms"] = seen["done"] - t0
        if editor.name != "weft":
            # GNOME Text Editor shows no progress bar while it loads: the text
            # is in when its process stops working (it does nothing after).
            m["loaded_ms"] = last_busy_ms(app.pid, probe, 900) - t0
        # Work that a load leaves behind (line validation, highlighting)
        # counts as the load's.
        time.sleep(args.settle)
        m["load"] = Probe.stop_ping(ping)

        # Ctrl+End, type at the end, Ctrl+Home: right after the load, and
        # again once the editor has gone idle. Weft is editable once its
        # progress bar has gone, while GTK still measures every line in the
        # background; GNOME Text Editor is idle by the time it is loaded.
        # The second round compares the two in the same state.
        for suffix in ("", "_idle"):
            if suffix:
                m["idle_ms"] = last_busy_ms(app.pid, probe, 900) - t0
            for phase, keys, count, interval in (("scroll_end", ["ctrl+End"], 1, 1500),
                                                 ("typing", ["a", "b", "c", "space"], args.keys, 80),
                                                 ("scroll_start", ["ctrl+Home"], 1, 1500)):
                ping = probe.start_ping(window)
                keyed = probe.run("keys", window, count, interval, *keys)
                time.sleep(0.3)
                m[phase + suffix] = Probe.stop_ping(ping)
                m[phase + suffix]["keys"] = keyed

        # Before the sort, which only Weft does: the same work for both.
        m["peak_rss_kib"] = peak_rss_kib(app.pid)

        if editor.name == "weft" and sort:
            # Sort Lines (F9, then the dialog's _Sort), then Ctrl+Z: each a
            # replacement of the whole text that shows a progress bar.
            ping = probe.start_ping(window)
            probe.run("keys", window, 1, 0, "F9")
            dialog = probe.run("find", app.pid, 20000, window)["window"]
            start = probe.now()
            probe.run("keys", dialog, 1, 0, "alt+s")
            seen = probe.run("watch", window, 600000, "--bar")
            m["sort"] = Probe.stop_ping(ping)
            m["sort"]["ms"] = seen["done"] - start if seen["done"] > 0 else None
            ping = probe.start_ping(window)
            start = probe.now()
            probe.run("keys", window, 1, 0, "ctrl+z")
            seen = probe.run("watch", window, 600000, "--bar")
            m["undo"] = Probe.stop_ping(ping)
            m["undo"]["ms"] = seen["done"] - start if seen["done"] > 0 else None
            m["peak_rss_after_sort_kib"] = peak_rss_kib(app.pid)

        if editor.name == "weft" and args.compare:
            # The stats panel (F8), its Compare… button (Alt+C), then Start
            # (Alt+S) in the window that opens: every workload on both
            # backends for 1 … 2 × cores workers, on this document. The
            # editor's window is pinged all along; the run is over when the
            # machine has gone idle.
            ping = probe.start_ping(window)
            probe.run("keys", window, 1, 0, "F8")
            time.sleep(0.5)
            probe.run("keys", window, 1, 0, "alt+c")
            dialog = probe.run("find", app.pid, 20000, window)["window"]
            start = probe.now()
            probe.run("keys", dialog, 1, 0, "alt+s")
            time.sleep(1.0)
            wait_until_idle(600)
            m["compare"] = Probe.stop_ping(ping)
            m["compare"]["ms"] = probe.now() - start
            m["peak_rss_after_compare_kib"] = peak_rss_kib(app.pid)
    finally:
        app.terminate()
        try:
            app.wait(timeout=10)
        except subprocess.TimeoutExpired:
            app.kill()
            app.wait()
        shutil.rmtree(home, ignore_errors=True)
    return m


def stall_fields(runs, phase):
    """Ping round trips of one phase over all runs: p50/p99/max and the stalls over 16 ms."""
    p50 = [r[phase]["rtt"]["p50"] for r in runs]
    p99 = [r[phase]["rtt"]["p99"] for r in runs]
    mx = [r[phase]["rtt"]["max"] for r in runs]
    return {"median_ms": statistics.median(p99), "min_ms": min(p99), "max_ms": max(mx),
            "p50_ms": statistics.median(p50), "p99_ms": statistics.median(p99),
            "stalls_over_16ms": statistics.median(len(r[phase]["stalls"]) for r in runs),
            "pings": statistics.median(r[phase]["sent"] for r in runs),
            "lost": max(r[phase]["lost"] for r in runs)}


def records(editor, n_lines, size, runs):
    base = {"backend": editor, "workers": 0, "input_bytes": size, "runs": len(runs), "lines": n_lines}
    out = []

    def times(name, values, **extra):
        values = [v for v in values if v is not None]
        if values:
            out.append(dict(base, bench=name, median_ms=statistics.median(values), min_ms=min(values),
                            max_ms=max(values), **extra))

    times("gui-first-screenful", [r["first_screenful_ms"] for r in runs])
    times("gui-loaded", [r["loaded_ms"] for r in runs])
    times("gui-idle", [r["idle_ms"] for r in runs])
    out.append(dict(base, bench="gui-load-stalls", **stall_fields(runs, "load")))
    # Rows without a suffix: right after the load; "-idle": once the editor
    # has gone idle.
    for suffix in ("", "_idle"):
        name = suffix.replace("_", "-")
        lat = [r["typing" + suffix]["keys"]["latency"] for r in runs]
        out.append(dict(base, bench="gui-key-to-paint" + name, median_ms=statistics.median(l["p50"] for l in lat),
                        min_ms=min(l["min"] for l in lat), max_ms=max(l["max"] for l in lat),
                        p99_ms=statistics.median(l["p99"] for l in lat), keys=sum(l["n"] for l in lat),
                        timeouts=sum(r["typing" + suffix]["keys"]["timeouts"] for r in runs),
                        stall_p99_ms=statistics.median(r["typing" + suffix]["rtt"]["p99"] for r in runs),
                        stall_max_ms=max(r["typing" + suffix]["rtt"]["max"] for r in runs)))
        for phase in ("scroll_end", "scroll_start"):
            lat = [r[phase + suffix]["keys"]["latency"] for r in runs]
            out.append(dict(base, bench="gui-" + phase.replace("_", "-") + name,
                            median_ms=statistics.median(l["max"] for l in lat),
                            min_ms=min(l["max"] for l in lat), max_ms=max(l["max"] for l in lat),
                            stall_max_ms=max(r[phase + suffix]["rtt"]["max"] for r in runs)))
    rss = [r["peak_rss_kib"] / 1024.0 for r in runs]
    extra = {}
    if all("peak_rss_after_sort_kib" in r for r in runs):
        extra["peak_rss_after_sort_mib"] = statistics.median(r["peak_rss_after_sort_kib"] / 1024.0 for r in runs)
    out.append(dict(base, bench="gui-peak-rss", median_ms=None, min_ms=None, max_ms=None,
                    peak_rss_mib=statistics.median(rss), peak_rss_mib_max=max(rss), **extra))
    if all("peak_rss_after_compare_kib" in r for r in runs):
        out[-1]["peak_rss_after_compare_mib"] = statistics.median(r["peak_rss_after_compare_kib"] / 1024.0 for r in runs)
    for phase in ("sort", "undo", "compare"):
        if all(phase in r for r in runs):
            times("gui-" + phase, [r[phase]["ms"] for r in runs], **{
                "stall_" + k: v for k, v in stall_fields(runs, phase).items()
                if k in ("p50_ms", "p99_ms", "max_ms", "stalls_over_16ms")})
    return out


def fmt(v, unit=""):
    if v is None:
        return "—"
    return ("%.0f" % v if v >= 100 else "%.1f" % v) + unit


def print_table(all_records, editors):
    rows = [
        ("first screenful", "gui-first-screenful", lambda r: fmt(r["median_ms"], " ms")),
        ("fully loaded", "gui-loaded", lambda r: fmt(r["median_ms"], " ms")),
        ("load stalls p50/p99/max", "gui-load-stalls",
         lambda r: "%s/%s/%s" % (fmt(r["p50_ms"]), fmt(r["p99_ms"]), fmt(r["max_ms"], " ms"))),
        ("load stalls > 16 ms", "gui-load-stalls", lambda r: "%d" % r["stalls_over_16ms"]),
        ("idle (lines measured)", "gui-idle", lambda r: fmt(r["median_ms"], " ms")),
    ]
    for suffix, when in (("", "after load"), ("-idle", "once idle")):
        rows += [
            ("key→paint p50/p99/max, " + when, "gui-key-to-paint" + suffix,
             lambda r: "%s/%s/%s" % (fmt(r["median_ms"]), fmt(r["p99_ms"]), fmt(r["max_ms"], " ms"))),
            ("typing stalls p99/max, " + when, "gui-key-to-paint" + suffix,
             lambda r: "%s/%s" % (fmt(r["stall_p99_ms"]), fmt(r["stall_max_ms"], " ms"))),
            ("Ctrl+End paint/stall, " + when, "gui-scroll-end" + suffix,
             lambda r: "%s/%s" % (fmt(r["median_ms"]), fmt(r["stall_max_ms"], " ms"))),
            ("Ctrl+Home paint/stall, " + when, "gui-scroll-start" + suffix,
             lambda r: "%s/%s" % (fmt(r["median_ms"]), fmt(r["stall_max_ms"], " ms"))),
        ]
    rows += [
        ("peak RSS (load, typing)", "gui-peak-rss", lambda r: fmt(r["peak_rss_mib"], " MiB")),
        ("peak RSS after sort+undo", "gui-peak-rss", lambda r: fmt(r.get("peak_rss_after_sort_mib"), " MiB")),
        ("peak RSS after Compare", "gui-peak-rss", lambda r: fmt(r.get("peak_rss_after_compare_mib"), " MiB")),
        ("sort (whole text)", "gui-sort",
         lambda r: "%s, stalls p99 %s max %s" % (fmt(r["median_ms"], " ms"), fmt(r["stall_p99_ms"]),
                                                 fmt(r["stall_max_ms"], " ms"))),
        ("Compare (both backends)", "gui-compare",
         lambda r: "%s, stalls p99 %s max %s" % (fmt(r["median_ms"], " ms"), fmt(r["stall_p99_ms"]),
                                                 fmt(r["stall_max_ms"], " ms"))),
        ("undo of the sort", "gui-undo",
         lambda r: "%s, stalls p99 %s max %s" % (fmt(r["median_ms"], " ms"), fmt(r["stall_p99_ms"]),
                                                 fmt(r["stall_max_ms"], " ms"))),
    ]
    sizes = sorted({(r["lines"], r["input_bytes"], r["document"]) for r in all_records})
    for lines, size, kind in sizes:
        print("\n%s, %d lines, %.1f MB (medians of %d run(s))" % (kind, lines, size / 1e6, max(
            r["runs"] for r in all_records if r["lines"] == lines)))
        header = "%-38s" % "" + "".join("%-36s" % e for e in editors)
        print(header)
        for label, bench, show in rows:
            cells = []
            for e in editors:
                found = [r for r in all_records if r["lines"] == lines and r["document"] == kind
                         and r["backend"] == e and r["bench"] == bench]
                cells.append(show(found[0]) if found else "—")
            if any(c != "—" for c in cells):
                print("%-38s" % label + "".join("%-36s" % c for c in cells))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weft", required=True, help="the weft executable")
    parser.add_argument("--xprobe", required=True, help="the weft-xprobe executable")
    parser.add_argument("--schemas", help="GSETTINGS_SCHEMA_DIR for an uninstalled Weft")
    parser.add_argument("--peer", default=shutil.which("gnome-text-editor"),
                        help="GNOME Text Editor (default: from PATH)")
    parser.add_argument("--lines", default="200000,1000000",
                        help="comma-separated line counts (empty: none)")
    parser.add_argument("--prose", type=float, metavar="MB",
                        help="also a generated prose document of MB megabytes (typing with spelling checked)")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--keys", type=int, default=40, help="keys typed per run")
    parser.add_argument("--settle", type=float, default=1.0, help="seconds of pinging after a load")
    parser.add_argument("--no-sort", dest="sort", action="store_false")
    parser.add_argument("--backend", choices=["threads", "processes"],
                        help="Weft's workers, as chosen in Preferences (default: its default)")
    parser.add_argument("--compare", action="store_true",
                        help="after the sort, also run Compare from the stats panel and measure the stalls")
    parser.add_argument("--only", choices=["weft", "gnome-text-editor"])
    parser.add_argument("--data-dir", default=os.path.join(tempfile.gettempdir(), "weft-gui-large"))
    parser.add_argument("--json", action="store_true", help="print only the JSON Lines")
    args = parser.parse_args()

    if not os.environ.get("DISPLAY"):
        sys.exit("gui-large: no DISPLAY; run it inside tests/headless-session")
    probe = Probe(os.path.abspath(args.xprobe))
    weft_env = {"GSETTINGS_BACKEND": "memory"}
    if args.schemas:
        weft_env["GSETTINGS_SCHEMA_DIR"] = os.path.abspath(args.schemas)
    editors = [Editor("weft", [os.path.abspath(args.weft)], weft_env)]
    if args.peer:
        # --standalone: its own process, not a window of one already running.
        editors.append(Editor("gnome-text-editor", [args.peer, "--standalone"], {"GSETTINGS_BACKEND": "memory"}))
    else:
        log("gui-large: gnome-text-editor is not installed; measuring Weft alone")
    if args.only:
        editors = [e for e in editors if e.name == args.only]

    os.makedirs(args.data_dir, exist_ok=True)
    documents = []
    for n_lines in (int(x) for x in args.lines.split(",") if x):
        path = os.path.join(args.data_dir, "lines-%d.txt" % n_lines)
        generate(path, n_lines)
        documents.append(("lines", path, args.sort))
    if args.prose:
        path = os.path.join(args.data_dir, "prose-%gMB.txt" % args.prose)
        generate_prose(path, int(args.prose * 1024 * 1024))
        # Sorting prose says nothing the line files do not.
        documents.append(("prose", path, False))

    all_records = []
    for kind, path, sort in documents:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            n_lines = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
        for editor in editors:
            runs = []
            for i in range(args.runs):
                log("gui-large: %s, %s, %d lines, run %d" % (editor.name, kind, n_lines, i + 1))
                runs.append(measure(editor, path, probe, args, sort))
            all_records += [dict(r, document=kind) for r in records(editor.name, n_lines, size, runs)]

    if not args.json:
        print_table(all_records, [e.name for e in editors])
        print()
    for r in all_records:
        print(json.dumps(r))


if __name__ == "__main__":
    main()
