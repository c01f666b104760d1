#!/bin/sh
# tests/test-fuzz.sh -- a short smoke of every fuzz target (TAP), where the build has them
# (./configure --enable-fuzz CC=clang): each committed reproducer (fuzz/regress/TARGET) runs
# once, each seed of the corpus made by scripts/make-fuzz-corpus (in the build's fuzz/corpus,
# made here when missing) runs once, then each target fuzzes that corpus for 10 seconds
# (FUZZ_SMOKE_TIME).  A refused input is
# fine; a crash, a sanitizer report, a leak or a broken harness invariant fails.  Reproducers of
# what failed are kept in the build's fuzz/crashes.  Skipped with the reason otherwise.
set -u
if [ "${MBT_FUZZ:-no}" != yes ]; then
  echo "1..0 # SKIP fuzzing is not configured (./configure --enable-fuzz CC=clang; scripts/setup --fuzz)"
  exit 0
fi
if [ -n "${MBT_RUNNER:-}" ]; then
  echo "1..0 # SKIP the fuzz targets run natively (not under an emulator)"
  exit 0
fi
T=$(mktemp -d /tmp/mbt-test-fuzz-XXXXXX)
trap 'rm -rf "$T"' EXIT
. "${srcdir:-.}/tests/tap.sh"
B=${MBT_FUZZ_DIR:?}
S=${srcdir:-.}/fuzz
SMOKE=${FUZZ_SMOKE_TIME:-10}
if [ ! -d "$B/corpus/plan" ] || [ ! -d "$B/corpus/netdesc" ]; then
  ok "the seed corpora are made by mobitune (scripts/make-fuzz-corpus)" \
    sh "${srcdir:-.}/scripts/make-fuzz-corpus" "$B/corpus"
fi
mkdir -p "$B/crashes"
for t in plan plan-roundtrip profile weights image netdesc; do
  case $t in plan|plan-roundtrip) c=plan dict="-dict=$S/plan.dict" ;; *) c=$t dict="" ;; esac
  ok "fuzz-$t is built" test -x "$B/fuzz-$t"
  ok "fuzz-$t: every reproducer in fuzz/regress/$t is refused or loaded, without a crash" \
    sh -c '[ -n "$(ls "$2")" ] && "$1" -artifact_prefix="$3" "$2"/*' sh "$B/fuzz-$t" "$S/regress/$t" \
    "$B/crashes/$t-"
  mkdir -p "$T/$t"
  cp "$B/corpus/$c"/* "$T/$t"/
  ok "fuzz-$t: every seed of the corpus runs once" \
    "$B/fuzz-$t" -runs=0 -artifact_prefix="$B/crashes/$t-" "$T/$t"
  # shellcheck disable=SC2086
  ok "fuzz-$t: ${SMOKE} seconds of fuzzing find nothing" \
    "$B/fuzz-$t" -max_total_time="$SMOKE" -timeout=25 -rss_limit_mb=2560 $dict \
    -artifact_prefix="$B/crashes/$t-" "$T/$t"
done
tap_done
