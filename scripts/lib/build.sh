# Configure and build into a reused build directory (source it; needs $root).
#   ksync_build MODE [TARGET...]   MODE = release | asan ; sets $build; no target = everything
ksync_build() {
  local mode=$1 extra=() targets=()
  shift
  for t in "$@"; do targets+=(--target "$t"); done
  build="$root/build/$mode"
  [[ $mode == asan ]] && extra+=(-DKSYNC_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug -DKSYNC_BUILD_BENCH=OFF)
  [[ $mode == release ]] && extra+=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
  # ccache: a warm cache survives across clones on the same machine; paths are made relative so
  # a fresh clone in another folder still hits it.
  export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1
  if [[ ! -f "$build/CMakeCache.txt" ]]; then
    cmake -S "$root" -B "$build" -G Ninja "${extra[@]}" >/dev/null
  fi
  cmake --build "$build" -j "$(nproc)" "${targets[@]}"
}
