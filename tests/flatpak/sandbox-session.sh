#!/bin/bash
# sandbox-session.sh: run by check-sandbox.sh inside tests/headless-session (its own Xvfb,
# session bus and throw-away HOME). Starts the installed Flatpak with a file, edits, autosaves
# and saves it through the sandbox on both worker backends, checks the spelling dictionaries
# inside the sandbox, and takes a screenshot. Every wait ends on a condition or a timeout.
set -uo pipefail

app_id=io.github.weftedit.Weft
schema=io.github.weftedit.Weft
logs=${WEFT_SANDBOX_LOGS:?}
app_log=$logs/flatpak-app.log
failures=0
ok () { echo "ok: $*"; }
fail () { echo "FAIL: $*"; failures=$((failures + 1)); }

# wait_for SECONDS COMMAND…: polls COMMAND every 0.1 s until it succeeds or SECONDS pass.
# COMMAND runs anew each time, so it must be a function or program, not a $(…) expanded once.
wait_for () {
  local deadline=$(($(date +%s) + $1)); shift
  until "$@"; do
    [ "$(date +%s)" -ge "$deadline" ] && return 1
    sleep 0.1
  done
}

in_sandbox () { flatpak run --command="$1" "$app_id" "${@:2}"; }

# Settings go through GSettings inside the sandbox, where the app keeps them in its own
# keyfile: a short autosave delay, and the processes backend with at most two workers.
in_sandbox gsettings set "$schema" autosave-delay 1
in_sandbox gsettings set "$schema" worker-backend processes
in_sandbox gsettings set "$schema" worker-count 2
got=$(in_sandbox gsettings get "$schema" worker-backend 2>&1)
[ "$got" = "'processes'" ] && ok "settings written inside the sandbox" || fail "gsettings inside the sandbox: $got"

# Dictionaries: Enchant inside the sandbox lists en_US and flags a misspelt word with it.
dicts=$(in_sandbox enchant-lsmod-2 -list-dicts 2>&1)
if grep -q '^en_US' <<<"$dicts"; then ok "en_US dictionary inside the sandbox"; else fail "no en_US dictionary: $dicts"; fi
flagged=$(printf 'The quick brwn fox\n' | in_sandbox enchant-2 -l -d en_US 2>&1)
[ "$flagged" = brwn ] && ok "Enchant in the sandbox flags 'brwn'" || fail "enchant-2 -l in the sandbox said: $flagged"

doc=$HOME/Documents/notes.txt
mkdir -p "$(dirname "$doc")"
printf 'Thiss line has a mispelled word.\nSecond line.\n' >"$doc"

flatpak run "$app_id" "$doc" >"$app_log" 2>&1 &
launcher=$!
stop_app () {
  flatpak kill "$app_id" 2>/dev/null
  kill "$launcher" 2>/dev/null
  wait "$launcher" 2>/dev/null
}
trap stop_app EXIT

# The processes started under the launcher (bwrap and everything in the sandbox).
descendants () {
  local -A parent_of
  local stat pid ppid
  for stat in /proc/[0-9]*/stat; do
    read -r pid _ _ ppid _ 2>/dev/null <"$stat" || continue
    # A command name with spaces would shift the fields; Weft's have none.
    parent_of[$pid]=$ppid
  done
  local -a queue=("$launcher")
  while [ ${#queue[@]} -gt 0 ]; do
    local p=${queue[0]}; queue=("${queue[@]:1}")
    for pid in "${!parent_of[@]}"; do
      if [ "${parent_of[$pid]}" = "$p" ]; then echo "$pid"; queue+=("$pid"); fi
    done
  done
}
# PIDs of processes called $1 inside this app's sandbox.
sandboxed () {
  local pid
  for pid in $(descendants); do
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$1" ] || continue
    grep -qx "name=$app_id" "/proc/$pid/root/.flatpak-info" 2>/dev/null && echo "$pid"
  done
}
count_workers () { sandboxed weft-worker | wc -l; }
workers_are () { [ "$(count_workers)" -eq "$1" ]; }

window_id () { xdotool search --onlyvisible --name "^notes.txt — Weft\$" 2>/dev/null | head -n 1; }
has_window () { [ -n "$(window_id)" ]; }
if wait_for 90 has_window; then
  wid=$(window_id)
  ok "the window shows notes.txt"
else
  fail "no window titled 'notes.txt — Weft' within 90 s"
  cat "$app_log"
  exit 1
fi
weft_pid=$(sandboxed weft | head -n 1)
[ -n "$weft_pid" ] && ok "weft runs inside the sandbox (pid $weft_pid)" || fail "no weft process in the sandbox"

# Spell-checking in the window, on the sandboxed worker processes: the first pass underlines
# "Thiss" and "mispelled" with Pango's error underline, drawn reddish (antialiased to pink on
# the current line's background). Nothing else in the window leans to red, so reddish pixels
# in the text's top lines are the underlines; the screenshot is polled until they appear.
probe=$logs/flatpak-spell-probe.png
underlined () {
  import -window "$wid" "$probe" 2>/dev/null || return 1
  local red
  red=$(convert "$probe" -gravity NorthWest -crop 100%x30%+0+0 +repage \
          -fx '(r-g>0.07 && r-b>0.07) ? 1 : 0' -format '%[fx:round(mean*w*h)]' info: 2>/dev/null)
  [ "${red:-0}" -ge 8 ]
}
if wait_for 90 underlined; then
  ok "misspelled words underlined in the window ($probe)"
else
  fail "no spelling underline appeared within 90 s ($probe)"
fi

# Typing makes a draft in the sandboxed data directory.
drafts=$HOME/.var/app/$app_id/data/weft/drafts
draft_holds () { grep -rqsF -- "$1" "$drafts"; }
xdotool windowactivate --sync "$wid" 2>/dev/null || xdotool windowfocus --sync "$wid"
xdotool type --delay 20 --window "$wid" "Typed in the sandbox. "
if wait_for 30 draft_holds "Typed in the sandbox. Thiss line"; then
  ok "draft written under ~/.var/app/$app_id/data/weft/drafts"
  ls -l "$drafts"
else
  fail "no draft with the typed text in $drafts"
  ls -lR "$HOME/.var/app/$app_id" 2>&1 | head -n 40
fi

# The processes backend: the draft came from weft-worker helpers (started when the first job
# comes, at most worker-count of them), inside the app's sandbox and its PID namespace, each
# under one more seccomp filter than the editor (its own, stacked on Flatpak's).
worker_pids=$(sandboxed weft-worker | xargs)
n_workers=$(wc -w <<<"$worker_pids")
if [ "$n_workers" -ge 1 ] && [ "$n_workers" -le 2 ]; then
  ok "$n_workers weft-worker process(es) inside the sandbox: $worker_pids"
else
  fail "expected 1 or 2 weft-worker processes in the sandbox, found $n_workers"
fi
e_filters=$(awk '/^Seccomp_filters:/{print $2}' "/proc/$weft_pid/status")
for pid in $worker_pids; do
  w_filters=$(awk '/^Seccomp_filters:/{print $2}' "/proc/$pid/status")
  nspid=$(awk '/^NSpid:/{print NF - 1}' "/proc/$pid/status")
  [ "$nspid" -ge 2 ] && ok "worker $pid is in a PID namespace of its own" || fail "worker $pid is in the host's PID namespace"
  if [ -n "$w_filters" ] && [ -n "$e_filters" ]; then
    [ "$w_filters" -gt "$e_filters" ] && ok "worker $pid: $w_filters seccomp filters, editor $e_filters" \
      || fail "worker $pid has no seccomp filter of its own ($w_filters vs $e_filters)"
  fi
done

shot=$logs/flatpak-window.png
import -window "$wid" "$shot"
colours=$(identify -format %k "$shot" 2>/dev/null || echo 0)
if [ "${colours:-0}" -ge 16 ]; then ok "screenshot $shot ($colours colours)"; else fail "screenshot looks blank ($colours colours)"; fi

# Saving writes the real file on the host through the sandbox.
xdotool key --window "$wid" ctrl+s
if wait_for 20 grep -qF "Typed in the sandbox. Thiss line" "$doc"; then
  ok "Ctrl+S saved $doc through the sandbox"
else
  fail "the file on the host was not saved: $(cat "$doc")"
fi

# Switched to threads while running: the helpers go away and drafts still appear.
in_sandbox gsettings set "$schema" worker-backend threads
if [ "$n_workers" -ge 1 ] && wait_for 30 workers_are 0; then
  ok "threads backend: the weft-worker processes have ended"
else
  fail "still $(count_workers) weft-worker processes after switching to threads"
fi
xdotool type --delay 20 --window "$wid" "Then threads. "
if wait_for 30 draft_holds "Typed in the sandbox. Then threads. Thiss line"; then
  ok "threads backend: draft updated"
else
  fail "no draft from the threads backend"
fi

if ! kill -0 "$launcher" 2>/dev/null; then
  fail "the app exited during the test"
fi
stop_app
trap - EXIT
if grep -E 'CRITICAL|Segmentation|core dumped' "$app_log"; then fail "errors in the app's output"; fi
echo "--- app output ($app_log):"
cat "$app_log"

[ "$failures" -eq 0 ] || { echo "$failures check(s) failed"; exit 1; }
echo "all sandbox checks passed"
