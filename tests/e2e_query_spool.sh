#!/usr/bin/env bash
# End to end cross-department query over the file exchange (--spool): the
# three departments and the bureau run as separate processes that share
# only a spool directory (no party listens on a port), and the released
# table equals the plaintext answer of sqlite3, as in tests/e2e_query.sh;
# the spool is empty of messages afterwards; a leftover of an earlier run
# is refused; a department's message file altered in the spool stops the
# query with an error naming the file, and the parties that wrote to the
# stopped combiner time out naming the file they waited for; a party that
# never shows up stops every other with a clear timeout error. Every
# process runs under `timeout`, and the waits are seconds long.
#
#   bash tests/e2e_query_spool.sh <veil binary> <source dir> [<build dir>]
set -euo pipefail
veil=$(realpath "$1")
src=$(realpath "${2:-$(dirname "$0")/..}")
E2E_NAME=query-spool
VEIL_E2E_QUERY_ROWS=${VEIL_E2E_QUERY_ROWS:-2000}
# shellcheck source=tests/query_e2e_lib.sh
source "$src/tests/query_e2e_lib.sh"
LIMIT=60

echo "== the grouped query through a spool directory"
query s1.json edu-spool-1 1 '["count", "sum", "mean", "variance"]'
mkdir spool1
run_all s1.json s1 --spool "$work/spool1"
for p in education tax social bureau; do
    [ "$(cat rc-s1-$p)" = 0 ] || fail "s1: $p exited $(cat rc-s1-$p)"
done
plain s1.json >s1.plain
diff -u s1.plain s1.csv || fail "s1: the released table differs from the plaintext answer"
grep -q 'waiting in the spool' s1-education.log || fail "s1: the combiner did not use the spool"
left=$(find spool1 -maxdepth 1 -name '*.msg' | wc -l)
[ "$left" = 0 ] || { ls -la spool1; fail "s1: $left message files left in the spool"; }
for p in education tax social bureau; do
    [ -f "spool1/certs/$p.crt" ] || fail "s1: $p published no certificate"
done
sent=$(sed -n 's/.*; \([0-9]*\) bytes sent.*/\1/p' s1-tax.log)
[ "${sent:-0}" -gt 0 ] || fail "s1: tax reports no bytes sent"
ok "s1: $(($(wc -l <s1.csv) - 2)) levels and the total equal sqlite3's answer; spool empty; tax wrote $sent bytes of files"

echo "== a leftover of an earlier run is refused"
mkdir spool2
query s2.json edu-spool-2 1 '["count"]'
echo stale >"spool2/edu-spool-2,tax,education,1.msg"
rc=0
timeout 60 "$veil" query run --party tax --identity id/tax --query s2.json --key bureau.pub \
    --input tax.csv --spool "$work/spool2" >s2-tax.log 2>&1 || rc=$?
[ "$rc" != 0 ] || fail "s2: tax accepted a spool holding its own stale file"
grep -q 'edu-spool-2,tax,education,1.msg, a message of session edu-spool-2 sent by tax in an earlier run' s2-tax.log ||
    fail "s2: unclear error: $(cat s2-tax.log)"
ok "s2: $(grep -o 'spool directory.*earlier run' s2-tax.log | head -n 1)"

echo "== a department's message file altered in the spool"
mkdir -p spool3/certs
IO_TIMEOUT=4 QUERY_TIMEOUT=6 query s3.json edu-spool-3 1 '["count"]'
# The combiner's certificate is already published (as from an earlier
# run), so tax writes its hello before the combiner starts.
cp id/education/party.crt spool3/certs/education.crt
run_party s3-tax.log tax --query s3.json --key bureau.pub --input tax.csv --spool "$work/spool3"
tpid=$!
f="spool3/edu-spool-3,tax,education,1.msg"
for _ in $(seq 200); do [ -f "$f" ] && break; sleep 0.1; done
[ -f "$f" ] || fail "s3: tax wrote no hello file"
[ "$(stat -c %a "$f")" = 600 ] || fail "s3: $f has mode $(stat -c %a "$f")"
python3 - "$f" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[40] ^= 1
open(p, "r+b").write(b)
PY
run_party s3-education.log education --query s3.json --key bureau.pub --input education.csv \
    --spool "$work/spool3"
epid=$!
run_party s3-social.log social --query s3.json --key bureau.pub --input social.csv \
    --spool "$work/spool3"
spid=$!
run_party s3-bureau.log bureau --query s3.json --key bureau.key --out s3.csv --spool "$work/spool3"
bpid=$!
rc=0
wait "$epid" || rc=$?
[ "$rc" != 0 ] || fail "s3: the combiner accepted an altered file"
grep -q "tax (spool file $work/spool3/edu-spool-3,tax,education,1.msg): cannot be opened: it is not sealed to education, or it was altered" s3-education.log ||
    fail "s3: unclear error: $(tail -n 3 s3-education.log)"
for p in $tpid $spid $bpid; do
    rc=0
    wait "$p" || rc=$?
    [ "$rc" != 0 ] || fail "s3: a party succeeded after the combiner stopped"
done
[ -f "$f" ] || fail "s3: the rejected file was removed"
[ ! -e s3.csv ] || fail "s3: the bureau wrote a result"
# The combiner told tax why; social and bureau wrote their hellos after it
# had stopped, and no file answers them: they time out, naming the file.
grep -q 'stopped the query' s3-tax.log || fail "s3: tax was not told: $(tail -n 2 s3-tax.log)"
grep -q "timed out after 6 s waiting for $work/spool3/edu-spool-3,education,social,1.msg" \
    s3-social.log || fail "s3: social: $(tail -n 2 s3-social.log)"
grep -q "timed out after 6 s waiting for $work/spool3/edu-spool-3,education,bureau,1.msg" \
    s3-bureau.log || fail "s3: bureau: $(tail -n 2 s3-bureau.log)"
ok "s3: $(grep -o 'tax (spool file.*altered' s3-education.log | head -n 1 | sed "s|$work/||")"

echo "== a party that never shows up"
mkdir spool4
IO_TIMEOUT=3 QUERY_TIMEOUT=5 query s4.json edu-spool-4 1 '["count"]'
start=$(date +%s)
declare -A p4
for d in education tax social; do
    run_party "s4-$d.log" "$d" --query s4.json --key bureau.pub --input "$d.csv" \
        --spool "$work/spool4"
    p4[$d]=$!
done
for d in education tax social; do
    rc=0
    wait "${p4[$d]}" || rc=$?
    [ "$rc" != 0 ] || fail "s4: $d succeeded without the analyst"
    [ "$rc" != 124 ] || fail "s4: $d hung until the test's own timeout"
done
took=$(($(date +%s) - start))
[ "$took" -le 20 ] || fail "s4: the parties took $took s to give up"
grep -q 'no connection from bureau within 3 s' s4-education.log ||
    fail "s4: combiner: $(tail -n 2 s4-education.log)"
for d in tax social; do
    grep -q 'no connection from bureau within 3 s' "s4-$d.log" ||
        fail "s4: $d was not told why: $(tail -n 2 "s4-$d.log")"
done
ok "s4: bureau absent: every party stopped in $took s: $(grep -o 'no connection from bureau within 3 s' s4-education.log | head -n 1)"
echo "all spool query tests passed"
