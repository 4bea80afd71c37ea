#!/usr/bin/env bash
# packaging/smoke.sh BUILD_DIR [PART...]: checks what a user installs, from a built tree.
#   man         the man page renders without a warning and documents every command and option
#               the binary's --help lists
#   completion  the bash completion loads, offers every command and option of --help, and
#               completes bottle names (honouring --specs) and spec files
#   unit        etc/systemd/user/bottle-supervisor.service is the template for ~/.local, and
#               systemd-analyze verify has nothing to say about it
#   install     cmake --install into a prefix under $HOME and into a system-like prefix: every
#               file lands where systemd, man and bash-completion look; the installed unit verifies
#   deb         cpack -G DEB, then (root only) dpkg -i, --version, man -w, completion, verify,
#               dpkg -r: the machine is left as it was
# No PART: all of them. Exit 0 ok, 1 a check failed, 77 skipped (ctest's SKIP_RETURN_CODE).
set -euo pipefail

build=$(cd "${1:?usage: smoke.sh BUILD_DIR [man|completion|unit|install|deb]...}" && pwd)
shift
parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(man completion unit install deb)
src=$(cd "$(dirname "$0")/.." && pwd)
bin=$build/bottle-supervisor
version=$(sed -n 's/^project(bottle-supervisor VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")

work=$(mktemp -d /tmp/bs-smoke.XXXXXX)
cleanup_steps=()
cleanup() {
  local i
  for ((i = ${#cleanup_steps[@]} - 1; i >= 0; i--)); do eval "${cleanup_steps[i]}" || true; done
  rm -rf "$work"
}
trap cleanup EXIT

failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }
# A skipped part still fails if an earlier check of it did.
skip() { [ "$failures" -eq 0 ] || exit 1; echo "SKIP: $*"; exit 77; }
need() { command -v "$1" >/dev/null || skip "$1 is not installed (scripts/install-deps.sh installs it)"; }

[ -x "$bin" ] || { echo "FAIL: $bin is not built" >&2; exit 1; }

# ---- what --help says exists -------------------------------------------------------------------
help_commands() {  # the command names of the top-level help
  "$bin" --help | sed -n '/^commands:/,/^$/p' | awk 'NR > 1 && NF { print $1 }' | sort -u
}
help_options() {  # help_options COMMAND: the long options of `COMMAND --help`
  "$bin" "$1" --help | grep -oE '^ +(-h, +)?--[a-z][a-z-]*' | grep -oE -- '--[a-z-]+' | sort -u
}

# ---- man -----------------------------------------------------------------------------------------
check_man() {
  need groff
  need col
  local page=$src/doc/bottle-supervisor.1 warnings text
  warnings=$(groff -t -man -Tutf8 -ww -z "$page" 2>&1) || fail "groff failed on $page"
  if [ -n "$warnings" ]; then fail "groff warns about $page:"$'\n'"$warnings"; else ok "man page renders cleanly"; fi
  # ASCII rendering, hyphenation and adjustment off, so every word can be grepped whole.
  text=$(printf '.nh\n.na\n' | cat - "$page" | groff -t -man -Tascii 2>/dev/null | col -b)
  local c o missing=()
  for c in $(help_commands); do
    grep -qE "^ {7}$c( |$)" <<<"$text" || missing+=("command $c")
    for o in $(help_options "$c"); do
      grep -qF -- "$o" <<<"$text" || missing+=("$c $o")
    done
  done
  for section in NAME SYNOPSIS DESCRIPTION COMMANDS OPTIONS "EXIT STATUS" FILES "SPEC FORMAT" \
                 CONFIGURATION ENVIRONMENT "SECURITY MODEL" EXAMPLES "SEE ALSO"; do
    grep -qx "$section" <<<"$text" || missing+=("section $section")
  done
  for word in HOME XDG_CONFIG_HOME XDG_STATE_HOME XDG_DATA_HOME XDG_CACHE_HOME XDG_RUNTIME_DIR \
              SMOLVM_DATA_DIR NOTIFY_SOCKET JOURNAL_STREAM NO_COLOR; do
    grep -qF "$word" <<<"$text" || missing+=("environment $word")
  done
  # Every key of the example config (CONTRACT §4) is described.
  # shellcheck disable=SC2013 # keys are single words
  for key in $(sed -n 's/^#\{0,1\}\([a-z_]*\) = .*/\1/p' "$src/etc/config.toml.example"); do
    grep -qE "(^| )$key = " <<<"$text" || missing+=("config key $key")
  done
  if [ ${#missing[@]} -gt 0 ]; then fail "the man page lacks: ${missing[*]}"; else ok "man page covers --help, sections, environment, config keys"; fi
  return 0
}

# ---- completion ----------------------------------------------------------------------------------
# complete_line FILE WORD...: what the completion offers for the last WORD (COMP_WORDS as given),
# sorted, one line.
complete_line() {
  local file=$1
  shift
  HOME=$work/home XDG_CONFIG_HOME='' bash -c '
    source "$1"; shift
    COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
    _bottle_supervisor
    printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " " | sed "s/ $//"' _ "$file" "$@"
}

expect_completion() {  # expect_completion FILE "EXPECTED" WORD...
  local file=$1 expected=$2 got
  shift 2
  got=$(complete_line "$file" "$@")
  if [ "$got" != "$expected" ]; then fail "completion of '$*': expected '$expected', got '$got'"; fi
}

check_completion_file() {  # check_completion_file FILE
  local file=$1 registered
  registered=$(bash -c 'source "$1"; complete -p bottle-supervisor' _ "$file" 2>&1) ||
    { fail "sourcing $file: $registered"; return; }
  [ "$registered" = "complete -F _bottle_supervisor bottle-supervisor" ] ||
    fail "$file registers '$registered'"
  local before=$failures
  # Every command and option --help lists is offered.
  expect_completion "$file" "$(help_commands | tr '\n' ' ' | sed 's/ $//')" bottle-supervisor ""
  local c
  for c in $(help_commands); do
    local offered missing=()
    offered=" $(complete_line "$file" bottle-supervisor "$c" --) "
    for o in $(help_options "$c"); do
      [[ $offered == *" $o "* ]] || missing+=("$o")
    done
    [ ${#missing[@]} -eq 0 ] || fail "completion of '$c --' lacks ${missing[*]} (offers:$offered)"
  done
  # Bottle names: from the default folder, from --specs (both spellings), from the config's specs.
  local specs=$work/home/.config/bottle-supervisor/bottles other=$work/other config=$work/home/cfg.toml
  mkdir -p "$specs" "$other" "$work/files/sub"
  touch "$specs/web-1.toml" "$specs/web-2.toml" "$specs/db.toml" "$specs/.hidden.toml" "$specs/notes.txt"
  touch "$other/far.toml"
  printf 'specs = "%s"\n[smolvm]\nbin = "smolvm"\n' "$other" >"$config"
  expect_completion "$file" "db web-1 web-2" bottle-supervisor status ""
  expect_completion "$file" "web-1 web-2" bottle-supervisor status --json web
  expect_completion "$file" "far" bottle-supervisor status --specs "$other" ""
  expect_completion "$file" "far" bottle-supervisor status "--specs=$other" ""
  expect_completion "$file" "far" bottle-supervisor status --specs = "$other" ""
  expect_completion "$file" "far" bottle-supervisor status --config "$config" ""
  expect_completion "$file" "db web-1 web-2" bottle-supervisor events --bottle ""
  expect_completion "$file" "far" bottle-supervisor events --specs "$other" --bottle ""
  expect_completion "$file" "--bottle=db" bottle-supervisor events --bottle=d
  expect_completion "$file" "db" bottle-supervisor events --bottle = d
  expect_completion "$file" "--json" bottle-supervisor events --j
  expect_completion "$file" "--once" bottle-supervisor reconcile --o
  expect_completion "$file" "" bottle-supervisor run ""
  # validate: spec files and folders, not other files.
  touch "$work/files/a.toml" "$work/files/b.txt"
  expect_completion "$file" "$work/files/a.toml $work/files/sub" bottle-supervisor validate "$work/files/"
  expect_completion "$file" "$work/files/sub" bottle-supervisor run --specs "$work/files/"
  [ "$failures" -eq "$before" ] && ok "completion ($file): commands, options, bottle names, spec files"
  return 0
}

check_completion() { check_completion_file "$src/etc/completion/bottle-supervisor.bash"; }

# ---- unit ----------------------------------------------------------------------------------------
# verify_unit FILE HOME [user-only]: systemd-analyze verify as a user manager with HOME (%h) and
# a throwaway XDG_RUNTIME_DIR (%t), and as the system manager unless the unit names %h (which is
# /root there); any line it prints about the unit is a failure.
verify_unit() {
  local unit=$1 home=$2 out="" rc=0 rc_user=0
  if [ "${3:-}" != user-only ]; then
    out=$(cd "$work" && systemd-analyze verify --man=no "$unit" 2>&1) || rc=$?
  fi
  mkdir -p "$work/runtime" && chmod 700 "$work/runtime"
  out+=$(cd "$work" && HOME=$home XDG_RUNTIME_DIR=$work/runtime systemd-analyze --user verify --man=no "$unit" 2>&1) ||
    rc_user=$?
  if [ $rc -ne 0 ] || [ $rc_user -ne 0 ] || grep -q "bottle-supervisor" <<<"$out"; then
    fail "systemd-analyze verify $unit (exit $rc/$rc_user):"$'\n'"$out"
  else
    ok "systemd-analyze verify $unit"
  fi
}

check_unit() {
  need systemd-analyze
  local template=$src/etc/systemd/user/bottle-supervisor.service.in
  local plain=$src/etc/systemd/user/bottle-supervisor.service
  if sed 's|@CMAKE_INSTALL_FULL_BINDIR@|%h/.local/bin|' "$template" | cmp -s - "$plain"; then
    ok "$plain is the template with ExecStart=%h/.local/bin/bottle-supervisor"
  else
    fail "$plain differs from $template with @CMAKE_INSTALL_FULL_BINDIR@ = %h/.local/bin; regenerate it:"$'\n'"  sed 's|@CMAKE_INSTALL_FULL_BINDIR@|%h/.local/bin|' $template > $plain"
  fi
  local unit
  unit=$(grep -vE '^#|^$' "$template")
  # The settings the VMs' survival and the daemon's contract depend on.
  for line in Type=notify NotifyAccess=main KillMode=process Restart=on-failure RestartSec=2s \
              WatchdogSec=30s RuntimeDirectory=bottle-supervisor RuntimeDirectoryMode=0700 \
              "ExecReload=/bin/kill -HUP \$MAINPID" WantedBy=default.target; do
    grep -qxF "$line" <<<"$unit" || fail "the unit lacks '$line'"
  done
  for forbidden in PrivateNetwork PrivateDevices PrivatePIDs PrivateUsers ProtectSystem ProtectHome; do
    grep -qE "^$forbidden=" <<<"$unit" && fail "the unit sets $forbidden= (it breaks the VMs or their confinement checks)"
  done
  local home=$work/unit-home
  mkdir -p "$home/.local/bin"
  cp "$bin" "$home/.local/bin/bottle-supervisor"
  verify_unit "$plain" "$home" user-only

  # The macOS LaunchAgent cannot be loaded here; at least it must be a well-formed plist that
  # runs `bottle-supervisor run`, restarts on a crash only, and leaves VMs alone on exit.
  local plist=$src/etc/launchd/io.github.bottle-supervisor.plist
  if command -v python3 >/dev/null; then
    local problem
    problem=$(python3 - "$plist" <<'PY'
import plistlib, sys
d = plistlib.load(open(sys.argv[1], "rb"))
want = {"Label": "io.github.bottle-supervisor", "RunAtLoad": True, "KeepAlive": {"SuccessfulExit": False},
        "AbandonProcessGroup": True}
bad = [k for k, v in want.items() if d.get(k) != v]
args = d.get("ProgramArguments", [])
if len(args) != 2 or not args[0].endswith("/bottle-supervisor") or args[1] != "run":
    bad.append("ProgramArguments")
if not d.get("StandardErrorPath", "").endswith("/Library/Logs/bottle-supervisor.log"):
    bad.append("StandardErrorPath")
print(" ".join(bad))
PY
) || problem="not a valid plist"
    if [ -n "$problem" ]; then fail "$plist: $problem"; else ok "launchd plist parses and has the expected keys"; fi
  fi
  return 0
}

# ---- install -------------------------------------------------------------------------------------
expect_file() {  # expect_file PATH [MODE]
  if [ ! -f "$1" ]; then fail "not installed: $1"; return; fi
  if [ $# -gt 1 ] && [ "$(stat -c %a "$1")" != "$2" ]; then fail "$1 has mode $(stat -c %a "$1"), want $2"; fi
}

installed_files_check() {  # installed_files_check PREFIX UNIT_DIR
  local prefix=$1 unitdir=$2
  expect_file "$prefix/bin/bottle-supervisor" 755
  expect_file "$unitdir/bottle-supervisor.service" 644
  expect_file "$prefix/share/man/man1/bottle-supervisor.1.gz" 644
  expect_file "$prefix/share/bash-completion/completions/bottle-supervisor" 644
  expect_file "$prefix/share/doc/bottle-supervisor/config.toml.example" 644
  expect_file "$prefix/share/doc/bottle-supervisor/README.md" 644
  local exec
  exec=$(sed -n 's/^ExecStart=//p' "$unitdir/bottle-supervisor.service" 2>/dev/null)
  [ "$exec" = "$prefix/bin/bottle-supervisor run" ] || fail "installed unit says ExecStart=$exec, want $prefix/bin/bottle-supervisor run"
  local v
  v=$("$prefix/bin/bottle-supervisor" --version 2>&1) || true
  [ "$v" = "bottle-supervisor $version" ] || fail "$prefix/bin/bottle-supervisor --version printed '$v'"
}

check_install() {
  need cmake
  # A user install: the prefix is under HOME, so the unit goes where the user's systemd looks.
  local home=$work/inst-home prefix
  prefix=$home/.local
  mkdir -p "$home"
  local log=$work/install.log
  if ! HOME=$home cmake --install "$build" --prefix "$prefix" >"$log" 2>&1; then
    fail "cmake --install --prefix $prefix:"$'\n'"$(cat "$log")"
    return
  fi
  local before=$failures
  installed_files_check "$prefix" "$prefix/share/systemd/user"
  [ ! -e "$prefix/lib/systemd/user/bottle-supervisor.service" ] || fail "a prefix under HOME also got lib/systemd/user"
  MANPATH=$prefix/share/man man -w bottle-supervisor >/dev/null 2>&1 || fail "man -w does not find the page under $prefix/share/man"
  check_completion_file "$prefix/share/bash-completion/completions/bottle-supervisor"
  command -v systemd-analyze >/dev/null && verify_unit "$prefix/share/systemd/user/bottle-supervisor.service" "$home"
  [ "$failures" -eq "$before" ] && ok "cmake --install --prefix ~/.local"

  # A system-like prefix (not under HOME): lib/systemd/user. DESTDIR staging keeps the prefix
  # the unit names, as the .deb does.
  before=$failures
  local dest=$work/destdir sysprefix=/opt/bs-smoke-prefix
  if ! HOME=$home DESTDIR=$dest cmake --install "$build" --prefix "$sysprefix" >"$log" 2>&1; then
    fail "DESTDIR=$dest cmake --install --prefix $sysprefix:"$'\n'"$(cat "$log")"
    return
  fi
  expect_file "$dest$sysprefix/lib/systemd/user/bottle-supervisor.service" 644
  local exec
  exec=$(sed -n 's/^ExecStart=//p' "$dest$sysprefix/lib/systemd/user/bottle-supervisor.service" 2>/dev/null)
  [ "$exec" = "$sysprefix/bin/bottle-supervisor run" ] || fail "staged unit says ExecStart=$exec, want $sysprefix/bin/bottle-supervisor run"
  [ ! -e "$sysprefix" ] || fail "DESTDIR install wrote to $sysprefix itself"
  [ "$failures" -eq "$before" ] && ok "DESTDIR install into a system prefix uses lib/systemd/user"
  return 0
}

# ---- deb -----------------------------------------------------------------------------------------
dpkg_locked() {  # dpkg_locked ARGS...: dpkg, waiting out another package manager's lock
  local out
  for _ in $(seq 60); do
    if out=$(dpkg "$@" 2>&1); then printf '%s\n' "$out"; return 0; fi
    grep -qi "lock" <<<"$out" || { printf '%s\n' "$out" >&2; return 1; }
    sleep 2
  done
  printf '%s\n' "$out" >&2
  return 1
}

check_deb() {
  need cpack
  need dpkg-deb
  local out=$work/deb log=$work/cpack.log
  mkdir -p "$out"
  if ! (cd "$build" && cpack -G DEB -B "$out") >"$log" 2>&1; then
    fail "cpack -G DEB:"$'\n'"$(cat "$log")"
    return
  fi
  local arch deb
  arch=$(dpkg --print-architecture)
  deb=$out/bottle-supervisor_${version}_$arch.deb
  [ -f "$deb" ] || { fail "cpack made no $deb:"$'\n'"$(ls "$out")"; return; }
  local before=$failures
  field() { dpkg-deb -f "$deb" "$1"; }
  [ "$(field Package)" = bottle-supervisor ] || fail "Package: $(field Package)"
  [ "$(field Version)" = "$version" ] || fail "Version: $(field Version)"
  [ "$(field Architecture)" = "$arch" ] || fail "Architecture: $(field Architecture)"
  [ -n "$(field Maintainer)" ] || fail "no Maintainer"
  [ -n "$(field Description)" ] || fail "no Description"
  local dep
  # Debian's names (spdlog's is libspdlog1.10-fmt9 on 12); dpkg-shlibdeps finds them.
  for dep in libuv1 libsqlite3-0 libsystemd0 libmd0 'libspdlog1[.0-9]*(-fmt[0-9]+)?' 'libfmt[0-9]+' procps; do
    grep -qE "(^|, )$dep( |,|$)" <<<"$(field Depends)" || fail "Depends lacks $dep: $(field Depends)"
  done
  local contents
  contents=$(dpkg-deb -c "$deb" | awk '{ print $NF }')
  for f in ./usr/bin/bottle-supervisor ./usr/lib/systemd/user/bottle-supervisor.service \
           ./usr/share/man/man1/bottle-supervisor.1.gz ./usr/share/bash-completion/completions/bottle-supervisor \
           ./usr/share/doc/bottle-supervisor/config.toml.example ./usr/share/doc/bottle-supervisor/README.md; do
    grep -qxF "$f" <<<"$contents" || fail "the package lacks $f"
  done
  grep -q '_CPack_Packages\|/tmp/' <<<"$(dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/lib/systemd/user/bottle-supervisor.service)" &&
    fail "the packaged unit names the staging folder"
  [ "$failures" -eq "$before" ] && ok "cpack -G DEB: $(basename "$deb"), Depends: $(field Depends)"

  [ "$(id -u)" -eq 0 ] || skip "dpkg -i needs root (the package itself was built and checked)"
  # One dpkg round at a time on this machine, whichever build folder runs it.
  exec 9>/tmp/bottle-supervisor-smoke-deb.lock
  flock -w 600 9 || { fail "another packaging smoke test holds /tmp/bottle-supervisor-smoke-deb.lock"; return; }
  if dpkg -s bottle-supervisor >/dev/null 2>&1; then
    skip "bottle-supervisor is already installed here; not replacing it"
  fi
  before=$failures
  cleanup_steps+=("dpkg_locked -r bottle-supervisor >/dev/null; dpkg -s bottle-supervisor >/dev/null 2>&1 && dpkg_locked --purge bottle-supervisor >/dev/null")
  dpkg_locked -i "$deb" >"$log" 2>&1 || { fail "dpkg -i $deb:"$'\n'"$(cat "$log")"; return; }
  local v
  v=$(/usr/bin/bottle-supervisor --version 2>&1) || true
  [ "$v" = "bottle-supervisor $version" ] || fail "/usr/bin/bottle-supervisor --version printed '$v'"
  local page
  page=$(man -w bottle-supervisor 2>&1) || fail "man -w bottle-supervisor: $page"
  [ "$page" = /usr/share/man/man1/bottle-supervisor.1.gz ] || fail "man -w found '$page'"
  check_completion_file /usr/share/bash-completion/completions/bottle-supervisor
  command -v systemd-analyze >/dev/null && verify_unit /usr/lib/systemd/user/bottle-supervisor.service "$work"
  [ "$(sed -n 's/^ExecStart=//p' /usr/lib/systemd/user/bottle-supervisor.service)" = "/usr/bin/bottle-supervisor run" ] ||
    fail "the installed unit does not start /usr/bin/bottle-supervisor"
  dpkg_locked -r bottle-supervisor >"$log" 2>&1 || fail "dpkg -r bottle-supervisor:"$'\n'"$(cat "$log")"
  [ ! -e /usr/bin/bottle-supervisor ] || fail "dpkg -r left /usr/bin/bottle-supervisor"
  [ ! -e /usr/lib/systemd/user/bottle-supervisor.service ] || fail "dpkg -r left the unit"
  [ "$failures" -eq "$before" ] && ok "dpkg -i, --version, man -w, completion, systemd-analyze verify, dpkg -r"
  return 0
}

for part in "${parts[@]}"; do
  case $part in
    man) check_man ;;
    completion) check_completion ;;
    unit) check_unit ;;
    install) check_install ;;
    deb) check_deb ;;
    *) echo "smoke.sh: unknown part '$part' (man, completion, unit, install, deb)" >&2; exit 2 ;;
  esac
done
if [ "$failures" -gt 0 ]; then
  echo "$failures check(s) failed" >&2
  exit 1
fi
