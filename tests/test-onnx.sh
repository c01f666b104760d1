#!/bin/sh
# tests/test-onnx.sh -- real models in (TAP): the ONNX fixtures made by scripts/make-onnx-fixtures
# (torchvision's MobileNet V2 0.35/96 with its batch-norm nodes, a V1 0.25/64 with batch norm
# folded, torchvision's V3-Small 0.5/96 (batch norm kept, opset 13: hard-swish as
# x * HardSigmoid(x)) and V3-Large 0.25/64 (opset 14: HardSwish nodes); 10 classes, random
# weights from fixed seeds) are converted by scripts/onnx2mobitune
# and run by mobitune on the fixture's input with every variant family, a tuned plan with
# fusion and two threads; the logits must match PyTorch's saved ones within
# 2e-5 + 1e-4 x max |logit| and give the same top-5.  The converter must refuse what it cannot
# map, naming the node.  Skipped with the reason where Debian's python3-onnx is missing.
set -u
R=${MBT_RUNNER:-}
M="${R:+$R }${MOBITUNE:-./mobitune}"
S=${srcdir:-.}
PY=/usr/bin/python3
T=$(mktemp -d /tmp/mbt-test-onnx-XXXXXX)
trap 'rm -rf "$T"' EXIT
if ! $PY -c 'import onnx, numpy' 2>/dev/null; then
  echo "1..0 # SKIP Debian's python3-onnx and python3-numpy are not installed (scripts/setup installs them)"
  exit 0
fi
. "${srcdir:-.}/tests/tap.sh"
# compare <expected.txt> <run --json output file>: max error within tolerance, same top-5
compare() {
  $PY - "$1" "$2" <<'EOF'
import json, sys
e = [float(x) for x in open(sys.argv[1])]
d = json.load(open(sys.argv[2]))
got = d["logits"]
err = max(abs(a - b) for a, b in zip(got, e))
tol = 2e-5 + 1e-4 * max(abs(x) for x in e)
t5 = sorted(range(len(e)), key=lambda i: -e[i])[:5]
g5 = sorted(range(len(got)), key=lambda i: -got[i])[:5]
print("max |logit - PyTorch| = %.3g (tolerance %.3g), top-5 %s" % (err, tol, "same" if t5 == g5 else "DIFFERS"))
sys.exit(0 if len(got) == len(e) and err <= tol and t5 == g5 else 1)
EOF
}
run_cmp() { # run_cmp <fixture> <description> <mobitune run options...>
  f=$1 d=$2; shift 2
  n=$((n + 1))
  if $M run --weights "$T/$f.mbtw" --input "$S/tests/fixtures/$f.input.f32" --json --runs 2 "$@" \
      >"$T/$f.json" 2>"$T/err" && compare "$S/tests/fixtures/$f.expected.txt" "$T/$f.json" >"$T/cmp"; then
    echo "ok $n - $f, $d: $(cat "$T/cmp")"
  else
    echo "not ok $n - $f, $d: $(cat "$T/cmp" 2>/dev/null)"; failed=$((failed + 1)); sed 's/^/# /' "$T/err" | tail -5
  fi
}

for f in v2-035-96 v1-025-64 v3s-05-96 v3l-025-64; do
  ok "$f: onnx2mobitune converts it" $PY "$S/scripts/onnx2mobitune" "$S/tests/fixtures/$f.onnx" "$T/$f.mbtw"
  ok "$f: the weight file checks" sh -c "$M weights --weights '$T/$f.mbtw' | grep -q 'checksum and shapes verified'"
  run_cmp $f "default plan" --data "$T/none"
  for v in ref scalar avx2 avx512f neon; do
    if $M info | grep -q "^ISA usable .*\b$v\b" || [ $v = ref ]; then
      run_cmp $f "every layer on a $v variant" --data "$T/none" --variant $v
    fi
  done
  for rows in 1 3 8; do
    run_cmp $f "every fusable pair and block fused, $rows-row strips" --data "$T/none" --fuse $rows
  done
  ok "$f: tune a plan for it (quick, with fusion)" $M tune --weights "$T/$f.mbtw" --quick --quiet --data "$T/d-$f"
  run_cmp $f "the tuned plan (fused pairs and blocks where they won)" --data "$T/d-$f"
  if [ -z "$R" ]; then
    run_cmp $f "2 threads" --data "$T/d-$f" --threads 2
    run_cmp $f "batch of 3" --data "$T/d-$f" --batch 3
  else
    n=$((n + 1)); echo "ok $n - # SKIP 2 threads and batches under an emulator"
  fi
done

# Refusals: a graph with a node the converter cannot map, and a graph that is not a MobileNet.
$PY - "$S/tests/fixtures/v1-025-64.onnx" "$T" <<'EOF'
import sys, onnx
m = onnx.load(sys.argv[1])
clip = next(n for n in m.graph.node if n.op_type == "Clip")
clip.op_type, clip.name = "Sigmoid", "the_sigmoid"
del clip.input[1:]
onnx.save(m, sys.argv[2] + "/sigmoid.onnx")
m = onnx.load(sys.argv[1])
conv = [n for n in m.graph.node if n.op_type == "Conv"][5]
for a in conv.attribute:
    if a.name == "pads":
        a.ints[:] = [0, 0, 1, 1]
conv.name = "asym_conv"
onnx.save(m, sys.argv[2] + "/pads.onnx")
EOF
fails_with "an unsupported node is refused, named" 1 "node 'the_sigmoid' (Sigmoid) is not supported" \
  $PY "$S/scripts/onnx2mobitune" "$T/sigmoid.onnx" "$T/x.mbtw"
fails_with "asymmetric padding is refused, naming the node" 1 "asym_conv.*padding \[0, 0, 1, 1\]" \
  $PY "$S/scripts/onnx2mobitune" "$T/pads.onnx" "$T/x.mbtw"
fails_with "a file that is not ONNX" 1 "cannot read the ONNX model" \
  $PY "$S/scripts/onnx2mobitune" "$S/tests/fixtures/v1-025-64.expected.txt" "$T/x.mbtw"
ok "no partial weight file is left by a refusal" test ! -e "$T/x.mbtw"
fails_with "run refuses a damaged weight file" 1 "checksum mismatch" sh -c \
  "cp '$T/v1-025-64.mbtw' '$T/bad.mbtw' && printf 'X' | dd of='$T/bad.mbtw' bs=1 seek=5000 conv=notrunc 2>/dev/null && $M run --weights '$T/bad.mbtw' --runs 1 --data '$T/none'"
fails_with "run refuses an input of the wrong size" 1 "not res x res x 3 float32" \
  $M run --weights "$T/v1-025-64.mbtw" --input "$S/tests/fixtures/v2-035-96.input.f32" --data "$T/none"
tap_done
