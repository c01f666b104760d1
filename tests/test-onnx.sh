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
run_cmp() { # run_cmp <fixture> <description> <mobitune run options...> (weights: $W or the fixture's)
  f=$1 d=$2; shift 2
  n=$((n + 1))
  if $M run --weights "${W:-$T/$f.mbtw}" --input "$S/tests/fixtures/$f.input.f32" --json --runs 2 "$@" \
      >"$T/$f.json" 2>"$T/err" && compare "$S/tests/fixtures/$f.expected.txt" "$T/$f.json" >"$T/cmp"; then
    echo "ok $n - $f, $d: $(cat "$T/cmp")"
  else
    echo "not ok $n - $f, $d: $(cat "$T/cmp" 2>/dev/null)"; failed=$((failed + 1)); sed 's/^/# /' "$T/err" | tail -5
  fi
}

for f in v2-035-96 v1-025-64 v3s-05-96 v3l-025-64 mnas-025-96 v2tf-035-96 v2tfc-035-96 v2w-96 effb0-025-64; do
  ok "$f: onnx2mobitune converts it" $PY "$S/scripts/onnx2mobitune" "$S/tests/fixtures/$f.onnx" "$T/$f.mbtw"
  ok "$f: the weight file checks" sh -c "$M weights --weights '$T/$f.mbtw' | grep -q 'checksum and shapes verified'"
  run_cmp $f "default plan" --data "$T/none"
  n=$((n + 1)) # a test on logits that ignore the input could not fail: another input must move them
  if $M run --weights "$T/$f.mbtw" --json --runs 1 --seed 5 --data "$T/none" >"$T/other.json" 2>/dev/null &&
     ! compare "$S/tests/fixtures/$f.expected.txt" "$T/other.json" >"$T/cmp"; then
    echo "ok $n - $f: another input gives other logits ($(cat "$T/cmp"))"
  else
    echo "not ok $n - $f: the logits do not depend on the input"; failed=$((failed + 1))
  fi
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

# Networks beyond the four: described in their weight files, named as such, and the whole tool
# works on them (model, tune, report); the built-in ones are still recognized.
for f in mnas-025-96 v2tf-035-96 v2tfc-035-96 v2w-96 effb0-025-64; do
  ok "$f: its weight file describes a network of its own" sh -c "$M weights --weights '$T/$f.mbtw' | grep -q 'network $f '"
done
ok "a converted V2 is still MobileNet V2" sh -c "$M weights --weights '$T/v2-035-96.mbtw' | grep -q 'MobileNet v2 alpha 0.35'"
ok "mobitune model works on a described network (MnasNet's 5x5 depthwise layers listed)" \
  sh -c "$M model --weights '$T/mnas-025-96.mbtw' --data '$T/none' | grep -q '^dw.* dwconv '"
ok "EfficientNet's SiLU epilogues and sigmoid gates are in its description" \
  sh -c "$M model --weights '$T/effb0-025-64.mbtw' --describe | grep -q '\"act\":\"silu\"' && $M model --weights '$T/effb0-025-64.mbtw' --describe | grep -q '\"act\":\"sigmoid\"'"
ok "the TensorFlow-padded V2 pads 0 before and 1 after its stride-2 layers" \
  sh -c "$M model --weights '$T/v2tf-035-96.mbtw' --describe | grep -q '\"stride\":2,\"pad\":\[0,1\]'"
ok "a quick machine profile for the report" $M roofline --quick --quiet --threads 1 --data "$T/d-mnas-025-96"
ok "a report for the tuned MnasNet" $M report --weights "$T/mnas-025-96.mbtw" --data "$T/d-mnas-025-96" --out "$T/mnas.html"
ok "the report names the network" grep -q "mnas-025-96" "$T/mnas.html"

# Preprocessing: a non-square photo through torchvision's eval transform (Resize(110),
# CenterCrop(96) on the float tensor), against torchvision's own tensor and PyTorch's logits.
P=$S/tests/fixtures/photo-157x103.png
ok "run --image --preprocess torchvision writes the input it computed (--save-input)" \
  $M run --weights "$T/v2-035-96.mbtw" --image "$P" --preprocess torchvision --save-input "$T/photo.f32" --runs 1 --data "$T/none"
ok "that input is torchvision's transform of the photo within 5e-5 (normalized units: 0.003 of one 8-bit level; float rounding)" $PY - "$T/photo.f32" "$S/tests/fixtures/photo.v2-035-96.input.f32" <<'EOF'
import sys
import numpy as np
a, b = (np.fromfile(f, "<f4") for f in sys.argv[1:])
err = float(np.abs(a - b).max())
print("# max |input - torchvision's| = %.3g over %d values (values span %.2f)" % (err, a.size, float(b.max() - b.min())))
sys.exit(0 if a.shape == b.shape and err <= 5e-5 else 1)
EOF
n=$((n + 1))
if $M run --weights "$T/v2-035-96.mbtw" --image "$P" --json --runs 2 --data "$T/none" >"$T/photo.json" 2>"$T/err" &&
   compare "$S/tests/fixtures/photo.v2-035-96.expected.txt" "$T/photo.json" >"$T/cmp"; then
  echo "ok $n - the photo's logits (the file records torchvision preprocessing): $(cat "$T/cmp")"
else
  echo "not ok $n - the photo's logits: $(cat "$T/cmp" 2>/dev/null)"; failed=$((failed + 1)); sed 's/^/# /' "$T/err" | tail -5
fi
ok "the weight file records the preprocessing it was converted with" sh -c \
  "$PY '$S/scripts/onnx2mobitune' '$S/tests/fixtures/v2-035-96.onnx' '$T/tf.mbtw' --preprocess tf --mean 0.5,0.5,0.5 --std 0.5,0.5,0.5 >/dev/null && $M run --weights '$T/tf.mbtw' --image '$P' --runs 1 --data '$T/none' | grep -q 'tf: central crop of 0.875'"
ok "--preprocess tf differs from torchvision's on the photo" sh -c \
  "$M run --weights '$T/v2-035-96.mbtw' --image '$P' --preprocess tf --save-input '$T/photo-tf.f32' --runs 1 --data '$T/none' >/dev/null && ! cmp -s '$T/photo-tf.f32' '$T/photo.f32'"
fails_with "--resize with tf preprocessing is refused" 2 "tf preprocessing crops" \
  $M run --weights "$T/v2-035-96.mbtw" --image "$P" --preprocess tf --resize 120 --data "$T/none"
fails_with "--resize below the input size is refused" 1 "smaller than the 96 x 96 crop" \
  $M run --weights "$T/v2-035-96.mbtw" --image "$P" --resize 90 --data "$T/none"
fails_with "--preprocess without --image is refused" 2 "give --image" \
  $M run --weights "$T/v2-035-96.mbtw" --preprocess tf --data "$T/none"
fails_with "an unknown --preprocess" 2 "not torchvision or tf" \
  $M run --weights "$T/v2-035-96.mbtw" --image "$P" --preprocess keras --data "$T/none"

# Refusals: a node the converter cannot map, padding it cannot express, a Softmax inside the
# graph (it would be dropped: the logits of another network), a reshaped feature map.
$PY - "$S/tests/fixtures/v1-025-64.onnx" "$S/tests/fixtures/v2-035-96.onnx" "$T" <<'EOF'
import sys, onnx
from onnx import helper
m = onnx.load(sys.argv[1])
clip = next(n for n in m.graph.node if n.op_type == "Clip")
clip.op_type, clip.name = "Elu", "the_elu"
del clip.input[1:]
onnx.save(m, sys.argv[3] + "/elu.onnx")
m = onnx.load(sys.argv[1])
conv = [n for n in m.graph.node if n.op_type == "Conv"][5]
for a in conv.attribute:
    if a.name == "pads":
        a.ints[:] = [0, 1, 1, 0]
conv.name = "asym_conv"
onnx.save(m, sys.argv[3] + "/pads.onnx")
def after(m, i, node):
    """Insert @p node after node @p i, reading its output, and rewire the readers to it."""
    g = m.graph
    x = g.node[i].output[0]
    for n in g.node:
        for j, name in enumerate(n.input):
            if name == x:
                n.input[j] = node.output[0]
    node.input[0] = x
    g.node.insert(i + 1, node)
m = onnx.load(sys.argv[2])
i = [k for k, n in enumerate(m.graph.node) if n.op_type == "Clip"][6]
after(m, i, helper.make_node("Softmax", ["?"], ["sm"], name="mid_softmax", axis=1))
onnx.save(m, sys.argv[3] + "/midsoftmax.onnx")
m = onnx.load(sys.argv[1])
last = m.graph.output[0].name
m.graph.node.append(helper.make_node("Softmax", [last], ["prob"], name="final_softmax", axis=1))
m.graph.output[0].name = "prob"
onnx.save(m, sys.argv[3] + "/softmax.onnx")
m = onnx.load(sys.argv[1])
i = [k for k, n in enumerate(m.graph.node) if n.op_type == "Clip"][3]
m.graph.initializer.append(helper.make_tensor("shape", onnx.TensorProto.INT64, [4], [1, -1, 1, 1]))
after(m, i, helper.make_node("Reshape", ["?", "shape"], ["rs"], name="map_reshape"))
onnx.save(m, sys.argv[3] + "/reshape.onnx")
EOF
fails_with "an unsupported node is refused, named" 1 "node 'the_elu' (Elu) is not supported" \
  $PY "$S/scripts/onnx2mobitune" "$T/elu.onnx" "$T/x.mbtw"
fails_with "padding that differs between rows and columns is refused, naming the node" 1 \
  "asym_conv.*padding \[0, 1, 1, 0\]" $PY "$S/scripts/onnx2mobitune" "$T/pads.onnx" "$T/x.mbtw"
fails_with "a Softmax inside the graph is refused, naming the node that reads it" 1 \
  "reads the Softmax node 'mid_softmax'" $PY "$S/scripts/onnx2mobitune" "$T/midsoftmax.onnx" "$T/x.mbtw"
fails_with "a Reshape of a feature map is refused" 1 "map_reshape.*a Reshape of a feature map" \
  $PY "$S/scripts/onnx2mobitune" "$T/reshape.onnx" "$T/x.mbtw"
ok "a final Softmax converts, said to be mobitune's class probabilities" sh -c \
  "$PY '$S/scripts/onnx2mobitune' '$T/softmax.onnx' '$T/sm.mbtw' | grep -q 'final Softmax is mobitune.s class probabilities'"
W="$T/sm.mbtw"
run_cmp v1-025-64 "ending in a Softmax: the logits before it" --data "$T/none"
W=
fails_with "a file that is not ONNX" 1 "cannot read the ONNX model" \
  $PY "$S/scripts/onnx2mobitune" "$S/tests/fixtures/v1-025-64.expected.txt" "$T/x.mbtw"
ok "no partial weight file is left by a refusal" test ! -e "$T/x.mbtw"
fails_with "run refuses a damaged weight file" 1 "checksum mismatch" sh -c \
  "cp '$T/v1-025-64.mbtw' '$T/bad.mbtw' && printf 'X' | dd of='$T/bad.mbtw' bs=1 seek=5000 conv=notrunc 2>/dev/null && $M run --weights '$T/bad.mbtw' --runs 1 --data '$T/none'"
fails_with "run refuses an input of the wrong size" 1 "not res x res x 3 float32" \
  $M run --weights "$T/v1-025-64.mbtw" --input "$S/tests/fixtures/v2-035-96.input.f32" --data "$T/none"
tap_done
