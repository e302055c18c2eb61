#!/bin/bash
# check-install.sh SOURCE_DIR MANIFEST WORK_DIR: what the Flatpak build will install, checked
# without any runtime. The manifest must parse with no warning; `meson install` with prefix /app
# into a DESTDIR (what flatpak-builder does inside the Sdk) must hold every file the app needs;
# every file Flatpak exports must be named after the app ID; the desktop file and the metainfo
# must validate. WORK_DIR keeps the /app build between runs, so a second run only rebuilds
# what changed.
set -uo pipefail

src=$(realpath "${1:?source dir}")
manifest=$(realpath "${2:?manifest}")
work=${3:?work dir}
mkdir -p "$work"
work=$(realpath "$work")

failures=0
ok () { echo "ok: $*"; }
fail () { echo "FAIL: $*"; failures=$((failures + 1)); }

for tool in flatpak-builder meson desktop-file-validate appstreamcli python3; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool is not installed (./dev test installs it)"; exit 1; }
done

# 1. flatpak-builder only warns about keys it does not know and still exits 0, so a warning
#    (a misspelt key silently ignored) counts as a failure here.
if flatpak-builder --show-manifest "$manifest" >"$work/manifest.json" 2>"$work/manifest.err"; then
  if grep -q WARNING "$work/manifest.err"; then
    fail "manifest warnings: $(cat "$work/manifest.err")"
  else
    ok "manifest parses with no warning"
  fi
else
  fail "manifest does not parse: $(cat "$work/manifest.err")"
  exit 1
fi

read -r app_id command runtime runtime_version < <(python3 - "$work/manifest.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
print(m.get("id") or m.get("app-id"), m.get("command", "-"), m.get("runtime"), m.get("runtime-version"))
PY
)
[ "$app_id" = io.github.weftedit.Weft ] && ok "app ID $app_id" || fail "app ID is '$app_id'"
[ "$runtime//$runtime_version" = org.gnome.Platform//50 ] && ok "runtime $runtime//$runtime_version" \
  || fail "runtime is $runtime//$runtime_version, expected org.gnome.Platform//50"

# The manifest's own meson options, so this build is configured as the Flatpak one is.
mapfile -t config_opts < <(python3 - "$work/manifest.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
weft = [mod for mod in m["modules"] if isinstance(mod, dict) and mod.get("name") == "weft"][0]
for opt in weft.get("config-opts", []):
    print(opt)
PY
)

# 2. Build and install as flatpak-builder does: prefix /app, lib and libexec under it.
build=$work/app-build
dest=$work/dest
log=$work/meson.log
: >"$log"
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" "$src" --prefix=/app --libdir=lib "${config_opts[@]}" >>"$log" 2>&1 \
    || { cat "$log"; fail "meson setup --prefix=/app"; exit 1; }
fi
rm -rf "$dest"
if meson compile -C "$build" >>"$log" 2>&1 && meson install -C "$build" --destdir "$dest" >>"$log" 2>&1; then
  ok "meson install --destdir with prefix /app"
else
  tail -n 40 "$log"
  fail "meson build or install, log in $log"
  exit 1
fi
app=$dest/app

need () {   # need DESCRIPTION TEST-ARGS…
  local what=$1; shift
  if test "$@"; then ok "$what"; else fail "$what (missing: ${*: -1})"; fi
}
need "the command /app/bin/$command" -x "$app/bin/$command"
need "the helper /app/libexec/weft-worker" -x "$app/libexec/weft-worker"
need "desktop file" -f "$app/share/applications/$app_id.desktop"
need "metainfo" -f "$app/share/metainfo/$app_id.metainfo.xml"
need "scalable icon" -f "$app/share/icons/hicolor/scalable/apps/$app_id.svg"
need "symbolic icon" -f "$app/share/icons/hicolor/symbolic/apps/$app_id-symbolic.svg"
need "GSettings schema" -f "$app/share/glib-2.0/schemas/$app_id.gschema.xml"
for lang in $(grep -v '^#' "$src/po/LINGUAS"); do
  need "$lang translations" -f "$app/share/locale/$lang/LC_MESSAGES/weft.mo"
done

# The installed binary looks for its helper and its translations where they were installed.
if grep -aq "/app/libexec" "$app/bin/$command" && grep -aq "/app/share/locale" "$app/bin/$command"; then
  ok "weft looks in /app/libexec and /app/share/locale"
else
  fail "weft was not built for prefix /app"
fi

# 3. Flatpak exports only files under these folders whose names start with the app ID; any
#    other name would silently never reach the desktop.
exported=0
while IFS= read -r -d '' f; do
  exported=$((exported + 1))
  case "$(basename "$f")" in
    "$app_id".* | "$app_id"-*) ;;
    *) fail "would not be exported (name must start with $app_id): ${f#"$app"/}" ;;
  esac
done < <(cd "$app/share" && find applications metainfo icons dbus-1 gnome-shell mime -type f -print0 2>/dev/null)
[ "$exported" -ge 4 ] && ok "$exported exported files, each named after the app ID" \
  || fail "only $exported exported files found"

# 4. Validators, with their output shown: a warning is a failure too.
if out=$(desktop-file-validate "$app/share/applications/$app_id.desktop" 2>&1) && [ -z "$out" ]; then
  ok "desktop-file-validate"
else
  fail "desktop-file-validate: $out"
fi
if out=$(appstreamcli validate --no-net --pedantic "$app/share/metainfo/$app_id.metainfo.xml" 2>&1); then
  ok "appstreamcli validate --no-net --pedantic"
else
  fail "appstreamcli validate: $out"
fi

if [ "$failures" -gt 0 ]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all install checks passed"
