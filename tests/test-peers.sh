#!/bin/sh
# tests/test-peers.sh -- the oneDNN comparison builds every network it claims (TAP): small V1,
# V2, V3-Small and V3-Large (described by 'mobitune model --describe') run through
# bench/bench-onednn, plain and with its fused depthwise post-op, on 2 threads (so the per-layer
# timing table, a 1-thread figure, is left out), and both paths' logits must be within 1e-4 of
# mobitune's reference kernels'.  Before the V3 networks were built (hard-swish, the folded
# hard sigmoid, squeeze-and-excitation as pooling, inner products and a binary multiply), a
# hard sigmoid written out as relu6(x + 3) / 6 gave logits 0.06 away: the check catches an
# epilogue or a gate built wrong; under the sanitizers it caught V3-Large's 81 layers written
# past a table of 64.  No timing is checked.  Skipped where configure found no oneDNN.
set -u
R=${MBT_RUNNER:-}
M="${R:+$R }${MOBITUNE:-./mobitune}"
B=./bench/bench-onednn
T=$(mktemp -d /tmp/mbt-test-peers-XXXXXX)
trap 'rm -rf "$T"' EXIT
if [ ! -x "$B" ]; then
  echo "1..0 # SKIP bench/bench-onednn is not built (configure found no oneDNN: scripts/setup --bench)"
  exit 0
fi
. "${srcdir:-.}/tests/tap.sh"

# agree <file>: the bench's output names both oneDNN paths' max |logit - reference| within 1e-4
agree() {
  line=$(grep '^# max |logit - mobitune reference|' "$1") || { echo "no logit line"; return 1; }
  echo "$line"
  echo "$line" | awk -F'[:,]' '{
    n = 0
    for (i = 2; i <= NF; i++) { k = split($i, w, " "); v = w[k] + 0; if ($i ~ /oneDNN/) { n++; if (w[k] !~ /^[0-9.e+-]+$/ || !(v <= 1e-4)) bad = 1 } }
    exit (n == 2 && !bad) ? 0 : 1 }'
}

# peer <net> <alpha> <res>: describe the network, run the comparison, check the logits
peer() {
  $M model --net "$1" --alpha "$2" --res "$3" --describe > "$T/$1.json" || return 1
  $R $B --net-file "$T/$1.json" --threads 2 --runs 2 --plan "$T/none.txt" > "$T/$1.out" 2>&1
  rc=$?
  tail -5 "$T/$1.out" # shown on a failure (a sanitizer's report, a refusal)
  [ "$rc" = 0 ] && agree "$T/$1.out"
}

ok "v1 0.25/64 through oneDNN: logits of both paths within 1e-4 of the reference" peer v1 0.25 64
ok "v2 0.35/96 (residual adds) through oneDNN: logits within 1e-4" peer v2 0.35 96
ok "v3-small 0.5/96 (hard-swish, squeeze-and-excitation) through oneDNN: logits within 1e-4" \
  peer v3-small 0.5 96
ok "v3-large 0.25/64 through oneDNN: logits within 1e-4" peer v3-large 0.25 64
ok "v1: oneDNN's fused path ran its depthwise 3x3 layers as post-ops of the 1x1 before them" \
  grep -Eq '^# oneDNN fused dw: [1-9][0-9]* depthwise' "$T/v1.out"
tap_done
