#!/bin/sh
# tests/test-report-data.sh -- the report renders saved data only (TAP): a small network is
# profiled and tuned quickly, and its data directory is made foreign (another fingerprint, CPU,
# cores and caches in the plan, the profile and the report data tune saved; another kernel
# registry in the plan).  The report of it must show that machine and its timings, as the
# report of the original shows the host and the same timings; without report data (a directory
# from before it was saved) the page still renders, saying the machine is not recorded.
set -u
R=${MBT_RUNNER:-}
M="${R:+$R }${MOBITUNE:-./mobitune}"
T=$(mktemp -d /tmp/mbt-test-report-data-XXXXXX)
trap 'rm -rf "$T"' EXIT
. "${srcdir:-.}/tests/tap.sh"
D=$T/data F=$T/foreign O=$T/old
NET="--net v2 --alpha 0.35 --res 64"
ok "the data: roofline and tune (quick)" sh -c "$M roofline --quick --quiet --data '$D' && $M tune $NET --quick --quiet --data '$D'"
ok "tune saved the report data: the host, a row per layer, the fusion groups" \
  python3 - "$D" "$M" <<'EOF'
import glob, json, subprocess, sys
d, m = sys.argv[1], sys.argv[2]
files = glob.glob(d + '/report-data-v2-0.35-64-t1.json')
assert len(files) == 1, glob.glob(d + '/*')
r = json.load(open(files[0]))
host = json.loads(subprocess.run(m.split() + ['info', '--json'], check=True, capture_output=True).stdout)
assert r['format'] == 'mobitune-report-data' and r['version'] == 1, r['format']
assert r['machine']['fingerprint'] == host['fingerprint'] and r['machine']['cores'] == host['cores']
model = json.loads(subprocess.run(m.split() + ['model', '--net', 'v2', '--alpha', '0.35', '--res', '64', '--json'], check=True, capture_output=True).stdout)
assert [l['name'] for l in r['layers']] == [l['name'] for l in model['layers']]
assert all(l['candidates'] for l in r['layers']), 'a layer without candidates'
assert r['groups'] and all(g['layers'] in (2, 3) and g['key'] for g in r['groups']), r['groups'][:2]
EOF
ok "the data made foreign: another fingerprint, CPU, cores, caches and kernel registry" \
  python3 - "$D" "$F" <<'EOF'
import json, os, re, shutil, sys
d, f = sys.argv[1:]
shutil.copytree(d, f)
fp = '0123456789abcdef'
plan = open(f + '/plan.txt').read()
plan = re.sub(r'^fingerprint \w+$', 'fingerprint ' + fp, plan, flags=re.M)
plan = re.sub(r'^registry \w+$', 'registry feedfacefeedface', plan, flags=re.M)
plan = re.sub(r'cpu="[^"]*"', 'cpu="Foreign Test CPU 9000"', plan)
open(f + '/plan.txt', 'w').write(plan)
p = json.load(open(f + '/profile.json'))
p['fingerprint'] = fp
json.dump(p, open(f + '/profile.json', 'w'), indent=1)
path = f + '/report-data-v2-0.35-64-t1.json'
r = json.load(open(path))
r['machine'].update(model='Foreign Test CPU 9000', vendor='Elsewhere Inc.', fingerprint=fp,
                    cores=64, threads=128, numa_nodes=4, features='neon asimd')
r['machine']['caches'] = [{'level': 1, 'size': 65536, 'line': 64, 'assoc': 4, 'shared_by': 1,
                           'instances': 64}, {'level': 2, 'size': 1 << 20, 'line': 64,
                           'assoc': 8, 'shared_by': 1, 'instances': 64}]
json.dump(r, open(path, 'w'), indent=1)
EOF
ok "report from the original data" $M report $NET --data "$D"
ok "report from the foreign data: its plan is shown, not rejected" sh -c "$M report $NET --data '$F' 2>'$T/err' && ! grep -q 'rejected\|no timings' '$T/err'"
ok "the foreign page shows that machine: its CPU, fingerprint, cores and caches, not the host's" \
  python3 - "$F" "$M" <<'EOF'
import json, re, subprocess, sys
f, m = sys.argv[1], sys.argv[2]
host = json.loads(subprocess.run(m.split() + ['info', '--json'], check=True, capture_output=True).stdout)
page = open(f + '/report.html').read()
card = re.search(r"<dl id='machine'>(.*?)</dl>", page, re.S).group(1)
for want in ('Foreign Test CPU 9000 (Elsewhere Inc.)', '64 cores, 128 threads, 4 NUMA node(s)',
             'L1 64 KiB (shared by 1) L2 1024 KiB', '0123456789abcdef (profile 0123456789abcdef',
             'neon asimd'):
    assert want in card, (want, card)
assert host['fingerprint'] not in page, 'the host fingerprint is on the page'
assert not host.get('model') or host['model'] not in card, 'the host CPU is on the card'
j = json.load(open(f + '/report.json'))['machine']
assert j['cpu'] == 'Foreign Test CPU 9000' and j['cores'] == 64 and j['fingerprint'] == '0123456789abcdef', j
EOF
ok "the foreign page has that machine's timings: the same as the original's, row by row" \
  python3 - "$D" "$F" <<'EOF'
import csv, json, sys
d, f = sys.argv[1:]
a, b = (list(csv.DictReader(open(x + '/report.csv'))) for x in (d, f))
assert len(a) == len(b) > 50 and all(float(r['time_us']) > 0 for r in b), 'untimed rows'
for k in ('layer', 'time_us', 'variant', 'speedup_over_best_fixed', 'best_fixed_note', 'intensity_counted'):
    assert [r[k] for r in a] == [r[k] for r in b], k
ja, jb = (json.load(open(x + '/report.json'))['networks'][0] for x in (d, f))
assert [l['fused'] for l in ja['layers']] == [l['fused'] for l in jb['layers']]
assert ja['tuned_sum_ms'] == jb['tuned_sum_ms'] > 0 and ja['fusion_saved_ms'] == jb['fusion_saved_ms']
EOF
ok "without report data (an older directory) the page renders, the machine not recorded" sh -c \
  "cp -r '$D' '$O' && rm '$O'/report-data-*.json && $M report $NET --data '$O' && grep -q 'not recorded (no report data: tune again)' '$O/report.html' && grep -q 'n/a: not saved' '$O/report.html'"
tap_done
