# tests/tap.sh -- TAP helpers shared by the shell tests (sourced; $T is the test's scratch
# directory).  ok: the command must exit 0; fails_with: it must exit with the given code and
# print the given text.  Each failure shows the command's last lines as TAP comments.
# tap_done, the script's last line: the plan, then exit 0 even when some results are "not ok"
# (the driver counts each as a FAIL; an exit status would count it again as an ERROR, which is
# left to a script that dies before its plan).
n=0 failed=0
ok() { # ok <description> <command...>
  d=$1; shift; n=$((n + 1))
  if "$@" >"$T/out" 2>&1; then echo "ok $n - $d"; else
    echo "not ok $n - $d"; failed=$((failed + 1)); sed 's/^/# /' "$T/out" | tail -20; fi
}
fails_with() { # fails_with <description> <exit code> <text expected in stderr/stdout> <command...>
  d=$1 code=$2 text=$3; shift 3; n=$((n + 1))
  "$@" >"$T/out" 2>&1; rc=$?
  if [ "$rc" = "$code" ] && grep -q -- "$text" "$T/out"; then echo "ok $n - $d"; else
    echo "not ok $n - $d (exit $rc, wanted $code and '$text')"; failed=$((failed + 1))
    sed 's/^/# /' "$T/out" | tail -10; fi
}
tap_done() { # tap_done: print the plan and end the script
  if [ "$failed" != 0 ]; then echo "# $failed of $n failed"; fi
  echo "1..$n"
  exit 0
}
