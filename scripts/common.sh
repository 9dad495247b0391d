# shellcheck shell=bash
# Helpers shared by the scripts in this folder (sourced, not run).

# Deletes build directory $1 when its CMakeCache.txt was made for a different source tree
# (a moved or copied checkout, or a build tree that came in through version control), which
# CMake would otherwise refuse to reuse.
reset_foreign_build_dir() {
  local dir=$1 cache=$1/CMakeCache.txt home
  [[ -f "$cache" ]] || return 0
  home=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$cache")
  if [[ -z "$home" || ! "$home" -ef "$PWD" ]]; then
    echo "note: $dir/ was configured for ${home:-an unknown source tree}, not $PWD; starting it afresh"
    rm -rf "$dir"
  fi
}
