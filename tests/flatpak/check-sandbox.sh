#!/bin/bash
# check-sandbox.sh SOURCE_DIR MANIFEST WORK_DIR LOG_DIR: the real manifest built with
# flatpak-builder, installed, and run in its sandbox under a headless X server.
#
# Needs an installation that holds org.gnome.Platform//50 and org.gnome.Sdk//50 (the real ones
# from Flathub or a local stand-in), named by WEFT_FLATPAK_RUNTIME_DIR. Without it the test is
# skipped (exit 77, which meson reports as SKIP, never as a pass). That installation is only read:
# it serves as Flatpak's system installation, and the app goes into a user installation of its
# own under WORK_DIR, so nothing outside the build tree changes.
set -uo pipefail

src=$(realpath "${1:?source dir}")
manifest=$(realpath "${2:?manifest}")
work=${3:?work dir}
logs=${4:?log dir}
here=$(cd "$(dirname "$0")" && pwd)
app_id=io.github.weftedit.Weft
t0=$(date +%s)
step () { echo "=== [$(($(date +%s) - t0))s] $*"; }

if [ -z "${WEFT_FLATPAK_RUNTIME_DIR:-}" ]; then
  echo "SKIP: WEFT_FLATPAK_RUNTIME_DIR does not name an installation with org.gnome.Platform//50"
  exit 77
fi
for tool in flatpak flatpak-builder xdotool import identify git; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool is not installed"; exit 1; }
done

mkdir -p "$work" "$logs"
work=$(realpath "$work")
export FLATPAK_SYSTEM_DIR=$(realpath "$WEFT_FLATPAK_RUNTIME_DIR")
export FLATPAK_USER_DIR=$work/installation
arch=$(flatpak --default-arch)
for ref in org.gnome.Platform org.gnome.Sdk; do
  if ! flatpak --system info "$ref//50" >/dev/null 2>&1; then
    echo "FAIL: $ref//50 is not installed in $FLATPAK_SYSTEM_DIR"
    exit 1
  fi
done
step "runtime: $(flatpak --system info org.gnome.Platform//50 | grep -E '^ *(Commit|Installed):' | xargs)"

# The project tree as git sees it (committed or not, minus ignored files): build trees and
# flatpak-builder's own state never get copied into the sandboxed build.
step "copy the source tree"
copy=$work/source
rm -rf "$copy"
mkdir -p "$copy"
( cd "$src" && git ls-files -z --cached --others --exclude-standard \
    | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
    | tar --null -T - -cf - ) | tar -C "$copy" -xf - || { echo "FAIL: copying the source tree"; exit 1; }
copied_manifest=$copy/${manifest#"$src"/}
[ -f "$copied_manifest" ] || { echo "FAIL: the manifest is not in the source tree"; exit 1; }

step "flatpak-builder --disable-download --install (log: $logs/flatpak-builder.log)"
if ! (cd "$work" && flatpak-builder --user --disable-download --force-clean --install \
        --state-dir="$work/builder-state" app-dir "$copied_manifest") >"$logs/flatpak-builder.log" 2>&1; then
  tail -n 60 "$logs/flatpak-builder.log"
  echo "FAIL: flatpak-builder"
  exit 1
fi
# What the compiler said about the newer GTK in the runtime, for the record.
warnings=$(grep -E 'warning:' "$logs/flatpak-builder.log" | sort -u)
if [ -n "$warnings" ]; then
  echo "compiler warnings in the Flatpak build:"
  echo "$warnings"
else
  echo "ok: the Flatpak build has no compiler warnings"
fi
flatpak --user info "$app_id" >/dev/null || { echo "FAIL: $app_id is not installed after the build"; exit 1; }
exports=$FLATPAK_USER_DIR/exports/share
# flatpak-builder 1.2 exports the metainfo under its older appdata name.
for f in applications/$app_id.desktop "metainfo/$app_id.*.xml" icons/hicolor/scalable/apps/$app_id.svg; do
  found=$(compgen -G "$exports/$f" | head -n 1)
  [ -n "$found" ] && echo "ok: exported ${found#"$exports"/}" || { echo "FAIL: $f not exported"; exit 1; }
done

step "flatpak run under a headless X server"
export WEFT_SANDBOX_LOGS=$logs
# The session's home holds the test's document and the app's ~/.var/app data, so the app must see
# it at the same path. The sandbox has its own /tmp and /var/tmp even with --filesystem=host: a
# build tree there gets a home under the user's cache folder instead. A file made on the host
# must be seen inside: a folder alone is not proof, as the sandbox's private /var/tmp may hold
# one of the same name.
rm -rf "$work"/weft-flatpak-home.*   # the last run's, kept in the build tree for a look
session_home=
for parent in "$work" "${XDG_CACHE_HOME:-$HOME/.cache}"; do
  mkdir -p "$parent"
  candidate=$(mktemp -d "$parent/weft-flatpak-home.XXXXXX")
  touch "$candidate/.seen-from-the-sandbox"
  if flatpak run --command=test "$app_id" -f "$candidate/.seen-from-the-sandbox" 2>/dev/null; then
    session_home=$candidate
    break
  fi
  rm -rf "$candidate"
done
if [ -z "$session_home" ]; then
  echo "FAIL: neither $work nor ${XDG_CACHE_HOME:-$HOME/.cache} is visible inside the sandbox"
  echo "      (Flatpak hides /tmp, /var/tmp and root's home: use a build tree elsewhere)"
  exit 1
fi
echo "session home: $session_home"
export WEFT_SESSION_HOME=$session_home
"$src/tests/headless-session" "$here/sandbox-session.sh"
rc=$?
case $session_home in "$work"/*) ;; *) rm -rf "$session_home" ;; esac
step "done (exit $rc)"
exit $rc
