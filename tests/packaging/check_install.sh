#!/usr/bin/env bash
# Packaging check (issue 13): what `cmake --install` and the .deb lay out, and whether it works.
#   tests/packaging/check_install.sh BUILD_DIR
# Needs: a built kayako-sync in BUILD_DIR, $KSYNC_TEST_PG_DSN (scripts/lib/pg.sh's pg_start),
# systemd-analyze, cpack, dpkg-deb, dpkg-shlibdeps, psql and unprivileged user namespaces
# (unshare -r). No root (only write access to BUILD_DIR, where cmake --install writes its
# install_manifest_runtime.txt). Run by ctest as the `packaging` label (scripts/test -L packaging).
#
#  1. cmake --install BUILD --component runtime into a scratch DESTDIR; the files installed are
#     exactly the documented layout (cmake/KsyncPackaging.cmake, README "Install and run under
#     systemd"), relative to the build's CMAKE_INSTALL_PREFIX.
#  2. systemd-analyze verify passes for both installed units, with no warning. verify insists
#     that ExecStart='s binary exists, and --root= needs a whole OS tree (sysinit.target, ...),
#     so each unit is verified as a copy whose ExecStart= path alone is rewritten from
#     PREFIX/bin/kayako-sync to the same file inside the scratch root (checked to exist there).
#  3. systemd-analyze security --offline=true on the installed units: exposure <= 2.0.
#  4. The installed binary, run in a chroot of the scratch root (user + mount namespace; only
#     the system libraries, /etc, /dev and /proc of the host are bound in, so the source tree's
#     migrations are out of reach): --version prints the project version, and `migrate` against
#     a fresh database applies every migration from PREFIX/share/kayako-sync/migrations.
#  5. cpack builds the .deb; `dpkg-deb -c` lists the same files; Depends has the libraries.
set -euo pipefail

max_exposure=2.0

die() { echo "check_install: FAIL: $*" >&2; exit 1; }
say() { echo "check_install: $*"; }

[[ $# -eq 1 ]] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
build=$(cd "$1" && pwd)
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
[[ -f $build/CMakeCache.txt ]] || die "$build is not a configured build directory"
[[ -x $build/daemon/kayako-sync ]] || die "$build/daemon/kayako-sync is not built"
for tool in systemd-analyze cpack dpkg-deb dpkg-shlibdeps psql unshare chroot; do
  command -v "$tool" >/dev/null || die "$tool not found (scripts/deps installs it)"
done
[[ -n ${KSYNC_TEST_PG_DSN:-} ]] || die "KSYNC_TEST_PG_DSN is not set (source scripts/lib/pg.sh; pg_start)"

cache_value() { sed -n "s/^$1:[A-Z]*=//p" "$build/CMakeCache.txt" | head -n1; }
prefix=$(cache_value CMAKE_INSTALL_PREFIX)
version=$(cache_value CMAKE_PROJECT_VERSION)
[[ -n $prefix && -n $version ]] || die "cannot read CMAKE_INSTALL_PREFIX/CMAKE_PROJECT_VERSION"
p=${prefix#/}   # prefix without its leading slash, as in archive listings

scratch=$(mktemp -d "${TMPDIR:-/tmp}/ksync-pkg.XXXXXX")
db=""
cleanup() {
  if [[ -n $db ]]; then psql "$KSYNC_TEST_PG_DSN" -qAtX -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true; fi
  rm -rf "$scratch"
}
trap cleanup EXIT

# ---------------------------------------------------------------------------------------------
# The documented layout: every file, relative to /.
expected="$scratch/expected"
{
  echo "$p/bin/kayako-sync"
  echo "$p/lib/systemd/system/kayako-sync.service"
  echo "$p/lib/systemd/system/kayako-sync@.service"
  for f in "$src"/migrations/*.sql; do echo "$p/share/kayako-sync/migrations/$(basename "$f")"; done
  echo "$p/share/doc/kayako-sync/README.md"
  echo "$p/share/doc/kayako-sync/examples/kayako-sync.example.yaml"
} | LC_ALL=C sort >"$expected"

compare_layout() {  # $1 = what, $2 = file with the actual list
  if ! diff -u "$expected" "$2" >"$scratch/layout.diff"; then
    cat "$scratch/layout.diff" >&2
    die "$1 does not match the documented layout (- documented, + actual)"
  fi
}

# ---------------------------------------------------------------------------------------------
say "1. cmake --install (component runtime, prefix $prefix) into a scratch root"
root="$scratch/root"
DESTDIR="$root" cmake --install "$build" --component runtime >"$scratch/install.log" 2>&1 ||
  { cat "$scratch/install.log" >&2; die "cmake --install failed"; }
(cd "$root" && find . ! -type d | sed 's#^\./##' | LC_ALL=C sort) >"$scratch/installed"
compare_layout "cmake --install" "$scratch/installed"
[[ -x $root$prefix/bin/kayako-sync ]] || die "installed binary is not executable"
say "   layout OK ($(wc -l <"$scratch/installed") files)"

# ---------------------------------------------------------------------------------------------
say "2. systemd-analyze verify"
units=(kayako-sync.service kayako-sync@.service)
mkdir "$scratch/verify"
for u in "${units[@]}"; do
  installed_unit="$root$prefix/lib/systemd/system/$u"
  grep -q "^ExecStart=$prefix/bin/kayako-sync " "$installed_unit" ||
    die "$u: ExecStart= does not start $prefix/bin/kayako-sync"
  grep -q "^Documentation=file:$prefix/share/doc/kayako-sync/README.md\$" "$installed_unit" ||
    die "$u: Documentation= does not name the installed README"
  sed "s#^ExecStart=$prefix/bin/kayako-sync #ExecStart=$root$prefix/bin/kayako-sync #" \
    "$installed_unit" >"$scratch/verify/$u"
  if ! systemd-analyze verify "$scratch/verify/$u" >"$scratch/verify.log" 2>&1 || [[ -s $scratch/verify.log ]]; then
    cat "$scratch/verify.log" >&2
    die "systemd-analyze verify $u reported problems"
  fi
  say "   $u: verify OK"
done

# ---------------------------------------------------------------------------------------------
say "3. systemd-analyze security --offline=true (exposure <= $max_exposure)"
for u in "${units[@]}"; do
  systemd-analyze security --offline=true "$root$prefix/lib/systemd/system/$u" \
    >"$scratch/security.log" 2>&1 || true
  exposure=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9][0-9.]*\).*/\1/p' "$scratch/security.log")
  [[ -n $exposure ]] || { cat "$scratch/security.log" >&2; die "$u: no exposure level in the output"; }
  if awk -v e="$exposure" -v m="$max_exposure" 'BEGIN { exit !(e > m) }'; then
    grep '✗' "$scratch/security.log" >&2 || true
    die "$u: exposure $exposure is above $max_exposure"
  fi
  say "   $u: exposure $exposure"
done

# ---------------------------------------------------------------------------------------------
say "4. the installed binary in a chroot of the scratch root"
run="$scratch/run"
mkdir -p "$run"/{etc,dev,proc,tmp,cfg} "$run$prefix/bin" "$run$prefix/share/kayako-sync/migrations"
binds=("/etc:/etc" "/dev:/dev" "/proc:/proc"
       "$root$prefix/bin:$prefix/bin"
       "$root$prefix/share/kayako-sync/migrations:$prefix/share/kayako-sync/migrations")
# System libraries and the dynamic loader: /usr/lib* bound, /lib* as on the host (symlinks on a
# merged-/usr system, bound directories otherwise).
for d in /usr/lib /usr/lib64 /usr/lib32 /usr/libx32 /lib /lib64 /lib32 /libx32; do
  if [[ -L $d ]]; then
    mkdir -p "$run$(dirname "$d")"
    ln -s "$(readlink "$d")" "$run$d"
  elif [[ -d $d ]]; then
    mkdir -p "$run$d"
    binds=("$d:$d" "${binds[@]}")   # before the prefix binds (prefix may be /usr)
  fi
done
in_root() {  # run a command inside the chroot (which has no env, no shell: only kayako-sync)
  env -u KSYNC_MIGRATIONS_DIR ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
  unshare --user --map-root-user --mount -- /bin/sh -c '
    set -e
    run=$1; nbinds=$2; shift 2
    i=0
    while [ "$i" -lt "$nbinds" ]; do
      from=${1%%:*}; to=${1#*:}; shift
      mount --rbind "$from" "$run$to"
      i=$((i + 1))
    done
    exec chroot "$run" "$@"' sh "$run" "${#binds[@]}" "${binds[@]}" "$@"
}
out=$(in_root "$prefix/bin/kayako-sync" --version 2>&1) || die "kayako-sync --version failed: $out"
[[ $out == "kayako-sync $version" ]] || die "kayako-sync --version printed '$out', expected 'kayako-sync $version'"
say "   --version: $out"

# A fresh database in the throwaway cluster; the config reaches it over TCP.
dsn_value() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$KSYNC_TEST_PG_DSN"; }
pg_host=$(dsn_value host); pg_port=$(dsn_value port); pg_user=$(dsn_value user)
[[ -n $pg_host && -n $pg_port && -n $pg_user ]] || die "cannot parse KSYNC_TEST_PG_DSN ($KSYNC_TEST_PG_DSN)"
db="ksync_pkg_$$_$RANDOM"
psql "$KSYNC_TEST_PG_DSN" -qAtX -v ON_ERROR_STOP=1 -c "CREATE DATABASE $db" >/dev/null ||
  die "cannot create database $db"
printf 'not-a-real-secret\n' >"$run/cfg/api-secret"
chmod 600 "$run/cfg/api-secret"
cat >"$run/cfg/kayako-sync.yaml" <<EOF
kayako:
  base_url: https://helpdesk.example.com/api/
  api_key: 00000000-0000-0000-0000-000000000000
  secret_file: api-secret
postgres:
  host: $pg_host
  port: $pg_port
  dbname: $db
  user: $pg_user
  sslmode: disable
EOF
migrations=$(ls "$src"/migrations/*.sql | wc -l)
last=$(basename "$(ls "$src"/migrations/*.sql | sort | tail -n1)" | sed 's/^0*\([0-9][0-9]*\)_.*/\1/')
out=$(in_root "$prefix/bin/kayako-sync" --config /cfg/kayako-sync.yaml migrate 2>&1) ||
  die "kayako-sync migrate (installed binary, installed migrations) failed: $out"
applied=$(grep -c '^applied migration ' <<<"$out" || true)
[[ $applied -eq $migrations ]] || die "migrate applied $applied migrations, expected $migrations: $out"
grep -qx "schema version $last" <<<"$out" || die "migrate did not reach schema version $last: $out"
say "   migrate: $applied migrations from $prefix/share/kayako-sync/migrations, schema version $last"

# ---------------------------------------------------------------------------------------------
say "5. cpack: the .deb"
cpack --config "$build/CPackConfig.cmake" -B "$scratch/deb" >"$scratch/cpack.log" 2>&1 ||
  { cat "$scratch/cpack.log" >&2; die "cpack failed"; }
deb=$(ls "$scratch"/deb/*.deb 2>/dev/null | head -n1)
[[ -n $deb ]] || { cat "$scratch/cpack.log" >&2; die "cpack made no .deb"; }
dpkg-deb -c "$deb" | awk '$1 !~ /^d/ { print $6 }' | sed 's#^\./##' | LC_ALL=C sort >"$scratch/deb-files"
compare_layout "dpkg-deb -c $(basename "$deb")" "$scratch/deb-files"
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libpqxx-6.4 libpq5 libssl3 libxml2 libyaml-cpp libspdlog libfmt libstdc++6 libc6 procps; do
  grep -q "\\b$lib" <<<"$depends" || die "Depends of $(basename "$deb") lacks $lib: $depends"
done
for script in postinst prerm postrm; do
  dpkg-deb -I "$deb" "$script" >/dev/null 2>&1 || die "$(basename "$deb") has no $script"
done
say "   $(basename "$deb"): $(wc -l <"$scratch/deb-files") files, layout OK"
say "   Depends: $depends"
say "OK"
