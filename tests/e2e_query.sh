#!/usr/bin/env bash
# End to end cross-department queries with real processes on 127.0.0.1:
# tax (income), social (benefit) and education (level, the combiner) join
# on resident_id and the bureau gets count, sum, mean and variance per
# level, equal to the same query computed in plaintext with sqlite3 on the
# generated CSVs; suppression and complementary suppression; a noisy query
# spends every department's budget ledger and the next one is refused; an
# unknown party, a mismatched key, a malformed query and a department that
# disconnects each give clear errors; the recorded protocol messages hold
# no resident ID, income, benefit or level in the clear. Every process runs
# under `timeout`; the trap kills whatever is left.
#
#   bash tests/e2e_query.sh <veil binary> <source dir> [<build dir>]
set -euo pipefail
veil=$(realpath "$1")
src=$(realpath "${2:-$(dirname "$0")/..}")
# shellcheck source=tests/query_e2e_lib.sh
source "$src/tests/query_e2e_lib.sh"

echo "== the grouped query: count, sum, mean, variance per level"
query q1.json edu-income-1 1 '["count", "sum", "mean", "variance"]'
mkdir trace
start=$(date +%s.%N)
run_all q1.json q1 --trace trace
for p in education tax social bureau; do
    [ "$(cat rc-q1-$p)" = 0 ] || fail "q1: $p exited $(cat rc-q1-$p)"
done
plain q1.json >q1.plain
diff -u q1.plain q1.csv || fail "q1: the released table differs from the plaintext answer"
matched=$(grep '^\*total\*' q1.csv | cut -d, -f3)
[ "$matched" -gt 0 ] || fail "q1: nobody matched"
ok "q1: $(($(wc -l <q1.csv) - 2)) levels and the total ($matched residents known to all three) equal sqlite3's answer ($(echo "$(date +%s.%N) - $start" | bc 2>/dev/null || echo '?') s)"

echo "== protocol messages hold no personal data in the clear"
[ -s trace/education.trace ] && [ -s trace/tax.trace ] && [ -s trace/social.trace ] &&
    [ -s trace/bureau.trace ] || { ls -la trace; fail "a party recorded no messages"; }
# A sample of IDs, incomes and benefits as they appear in the CSVs, and
# every education level (the analyst receives the released labels).
{ cut -d, -f1 tax.csv | sed -n '2,201p'; cut -d, -f1 social.csv | sed -n '2,201p'
  cut -d, -f1 education.csv | sed -n '2,201p'; } | sort -u >needles.ids
python3 - >needles.vals <<'EOF'
import csv
for f, c in (("tax.csv", "income"), ("social.csv", "benefit")):
    with open(f, newline="") as fh:
        for i, r in enumerate(csv.DictReader(fh)):
            if i >= 200: break
            if len(r[c]) >= 6: print(r[c])
EOF
cut -d, -f5 education.csv | sed 1d | sort -u >needles.levels
[ "$(wc -l <needles.ids)" -ge 200 ] && [ -s needles.vals ] && [ -s needles.levels ] ||
    fail "too few needles"
for t in trace/*.trace; do
    if grep -a -F -f needles.ids "$t" >/dev/null; then fail "$t holds a resident ID"; fi
    if grep -a -F -f needles.vals "$t" >/dev/null; then fail "$t holds an income or benefit"; fi
done
for d in education tax social; do
    if grep -a -F -f needles.levels "trace/$d.trace" >/dev/null; then
        fail "trace/$d.trace holds an education level"
    fi
done
# The check itself can fail: the needles are found in the CSVs.
grep -a -F -f needles.ids tax.csv education.csv >/dev/null || fail "needle check is broken"
ok "$(wc -l <needles.ids) IDs, $(wc -l <needles.vals) amounts and $(wc -l <needles.levels) levels: none in the 4 parties' messages (labels only in the analyst's result)"

echo "== suppression: primary and complementary"
# min_count just above the smallest level that has matches, so exactly that
# level is below it and complementary suppression must take one more.
min=$(awk -F, 'NR > 1 && $1 != "*total*" && $3 > 0 {print $3}' q1.csv | sort -n | head -n 1)
min=$((min + 1))
query q2.json edu-income-2 "$min" '["count", "sum", "mean"]'
run_all q2.json q2
for p in education tax social bureau; do
    [ "$(cat rc-q2-$p)" = 0 ] || fail "q2: $p exited $(cat rc-q2-$p)"
done
plain q2.json >q2.plain
diff -u q2.plain q2.csv || fail "q2: the released table differs from the plaintext answer"
nsup=$(grep -c ',suppressed' q2.csv || true)
below=$(awk -F, -v m="$min" 'NR > 1 && $1 != "*total*" && $3 < m' q1.csv | wc -l)
[ "$nsup" -gt "$below" ] || fail "q2: no complementary suppression ($nsup suppressed, $below below $min)"
grep -q '^\*total\*,released' q2.csv || fail "q2: the total should be released"
ok "q2: min_count $min: $below level(s) below, $nsup suppressed (complementary included)"

echo "== noise and the budget ledger"
for d in tax social education; do
    "$veil" ledger init --dataset "$d" --budget 1 --out "$d.ledger" >/dev/null
done
query q3.json edu-income-3 1 '["count", "sum"]' 0.6
LEDGERS=1 run_all q3.json q3
for p in education tax social bureau; do
    [ "$(cat rc-q3-$p)" = 0 ] || fail "q3: $p exited $(cat rc-q3-$p)"
done
plain q3.json >q3.plain
# Noisy counts are near the exact ones (Laplace scale 2/0.3 per cell: a
# difference over 200 has probability below 1e-12).
paste -d, <(cut -d, -f1,3 q3.plain) <(cut -d, -f3 q3.csv) | sed 1d |
    awk -F, '{d = $2 - $3; if (d < 0) d = -d; if (d > 200) bad = 1} END {exit bad}' ||
    fail "q3: noisy counts far from the exact ones"
cmp -s <(cut -d, -f3 q3.plain) <(cut -d, -f3 q3.csv) && fail "q3: no noise was added"
for d in tax social education; do
    "$veil" ledger show "$d.ledger" >"$d.ledger.txt"
    grep -q 'spent: *0.6' "$d.ledger.txt" || fail "q3: $d's ledger does not show 0.6 spent"
done
ok "q3: epsilon 0.6: noisy table released; every ledger shows 0.6 spent"
query q4.json edu-income-4 1 '["count", "sum"]' 0.6
cp tax.ledger tax.ledger.before
LEDGERS=1 DEPT_DELAY=0.5 run_all q4.json q4
[ "$(cat rc-q4-tax)" != 0 ] || fail "q4: tax accepted an over-budget query"
grep -q 'dataset tax: this query needs epsilon 0.6 but only 0.4 of 1 is left' q4-tax.log ||
    fail "q4: tax's refusal is not the expected message"
[ "$(cat rc-q4-bureau)" != 0 ] || fail "q4: the analyst got a result"
grep -q 'only 0.4 of 1 is left' q4-bureau.log || fail "q4: the analyst was not told why"
cmp -s tax.ledger tax.ledger.before || fail "q4: the refused query changed tax's ledger"
ok "q4: the over-budget query is refused with the ledger's message at every party"
# Only the combiner is short of budget: every party checks before anything
# runs and spends only when its data is about to leave, so the refusal
# costs tax and social nothing.
"$veil" ledger init --dataset tax --budget 1 --out tax.ledger --force >/dev/null
"$veil" ledger init --dataset social --budget 1 --out social.ledger --force >/dev/null
cp tax.ledger tax.ledger.before
cp social.ledger social.ledger.before
query q4b.json edu-income-4b 1 '["count", "sum"]' 0.6
LEDGERS=1 run_all q4b.json q4b
for p in education tax social bureau; do
    [ "$(cat rc-q4b-$p)" != 0 ] || fail "q4b: $p succeeded although education is over budget"
done
grep -q 'dataset education: this query needs epsilon 0.6 but only 0.4 of 1 is left' \
    q4b-education.log || fail "q4b: the combiner's refusal is not the expected message"
grep -q 'only 0.4 of 1 is left' q4b-tax.log || fail "q4b: tax was not told why"
cmp -s tax.ledger tax.ledger.before || fail "q4b: the refused query spent tax's budget"
cmp -s social.ledger social.ledger.before || fail "q4b: the refused query spent social's budget"
ok "q4b: the combiner over budget: refused everywhere, tax's and social's ledgers untouched"

echo "== clear errors"
rc=0
"$veil" query run --query q1.json --party mallory --identity id/mallory --key bureau.pub \
    --input tax.csv >unknown.log 2>&1 || rc=$?
[ $rc != 0 ] && grep -q 'party mallory is not part of query edu-income-1' unknown.log ||
    fail "unknown party: $(cat unknown.log)"
ok "unknown party: $(grep error: unknown.log | tail -n 1)"
rc=0
"$veil" query run --query q1.json --party tax --identity id/tax --key other.pub \
    --input tax.csv >mismatch.log 2>&1 || rc=$?
[ $rc != 0 ] && grep -q "but query edu-income-1 names $key" mismatch.log ||
    fail "mismatched key: $(cat mismatch.log)"
ok "mismatched key: $(grep error: mismatch.log | tail -n 1)"
rc=0
"$veil" query run --query q1.json --party bureau --identity id/bureau --key other.key \
    >mismatch2.log 2>&1 || rc=$?
[ $rc != 0 ] && grep -q "private key has fingerprint" mismatch2.log ||
    fail "mismatched private key: $(cat mismatch2.log)"
ok "mismatched private key: $(grep error: mismatch2.log | tail -n 1)"
head -c 200 q1.json >bad.json
rc=0
"$veil" query run --query bad.json --party tax --identity id/tax --key bureau.pub \
    --input tax.csv >malformed.log 2>&1 || rc=$?
[ $rc != 0 ] && grep -q 'bad.json' malformed.log || fail "malformed query: $(cat malformed.log)"
ok "malformed query: $(grep error: malformed.log | tail -n 1)"

echo "== a threshold key: 2 of 3 share holders decrypt, no private key anywhere"
hdr="$src/tests/util/threshold_testkey.h"
sed -n 's/^#define TK_P1_HEX "\(.*\)"$/\1/p' "$hdr" >primes
sed -n 's/^#define TK_Q1_HEX "\(.*\)"$/\1/p' "$hdr" >>primes
"$veil" threshold party-key --public tax.ppk --secret tax.psk >/dev/null
"$veil" threshold party-key --public education.ppk --secret education.psk >/dev/null
"$veil" threshold party-key --public bureau.ppk --secret bureau.psk >/dev/null
"$veil" threshold keygen --parties 3 --threshold 2 --out-dir thr --safe-primes primes \
    --seal-to tax.ppk,education.ppk,bureau.ppk >thr-keygen.txt
tpub=$(sed -n 's/^public key: .*(fingerprint \([0-9a-f]\{64\}\))$/\1/p' thr-keygen.txt)
tfp=$(sed -n 's/^threshold key: .*(fingerprint \([0-9a-f]\{64\}\))$/\1/p' thr-keygen.txt)
[ ${#tpub} = 64 ] && [ ${#tfp} = 64 ] || fail "threshold keygen printed no fingerprints"
# Holders: tax (share 1), the combiner education (share 2), the analyst
# (share 3); social holds none and gives only the public key.
THR="{\"key\": \"$tfp\", \"holders\": [{\"id\": \"tax\", \"index\": 1}, {\"id\": \"education\", \"index\": 2}, {\"id\": \"bureau\", \"index\": 3}]}" \
    QKEY=$tpub query q6.json edu-income-6 1 '["count", "sum", "mean", "variance"]'
mkdir -p trace6
run_party q6-education.log education --query q6.json --threshold-key thr/threshold.tkey \
    --share thr/share-2.tsh --party-key education.psk --input education.csv --trace trace6
pe=$!
run_party q6-tax.log tax --query q6.json --share thr/share-1.tsh --party-key tax.psk \
    --input tax.csv --trace trace6
pt=$!
run_party q6-social.log social --query q6.json --key thr/public.key --input social.csv \
    --trace trace6
ps=$!
run_party q6-bureau.log bureau --query q6.json --threshold-key thr/threshold.tkey \
    --share thr/share-3.tsh --party-key bureau.psk --out q6.csv --trace trace6
pb=$!
for p in $pe $pt $ps $pb; do wait $p || fail "q6: a party failed"; done
plain q6.json >q6.plain
diff -u q6.plain q6.csv || fail "q6: the threshold-decrypted table differs from the plaintext answer"
grep -q 'combined the partial decryptions of 2 share holders' q6-bureau.log ||
    fail "q6: the analyst did not combine 2 holders' partials"
grep -q 'partially decrypting' q6-tax.log || fail "q6: tax made no partial decryptions"
if grep -q 'partially decrypting' q6-social.log; then fail "q6: social holds no share"; fi
for t in trace6/*.trace; do
    if grep -a -F -f needles.ids "$t" >/dev/null; then fail "$t holds a resident ID"; fi
    if grep -a -F -f needles.vals "$t" >/dev/null; then fail "$t holds an income or benefit"; fi
done
ok "q6: 2-of-3 threshold key (holders tax, education, bureau): table equals sqlite3's; no IDs or amounts in the messages"
# What each party must give, checked before anything is sent.
tq() { # LOG PARTY ARGS...: one party of q6 that must fail at once
    local log=$1 party=$2
    shift 2
    local rc=0
    timeout 60 "$veil" query run --query q6.json --party "$party" --identity "id/$party" "$@" \
        >"$log" 2>&1 || rc=$?
    [ $rc != 0 ] || fail "$log: $party was accepted"
}
tq thr-e1.log tax --key thr/public.key --input tax.csv
grep -q 'query edu-income-6 names tax a share holder (share 1): it needs its share (--share)' \
    thr-e1.log || fail "holder without share: $(cat thr-e1.log)"
tq thr-e2.log tax --share thr/share-3.tsh --party-key bureau.psk --input tax.csv
grep -q 'tax gives share 3, but query edu-income-6 gives it share 1' thr-e2.log ||
    fail "wrong share: $(cat thr-e2.log)"
tq thr-e3.log bureau --key bureau.key --out x.csv
grep -q 'the analyst gives --threshold-key, not --key' thr-e3.log ||
    fail "analyst with a private key: $(cat thr-e3.log)"
tq thr-e4.log social --threshold-key thr/threshold.tkey --share thr/share-1.tsh \
    --party-key tax.psk --input social.csv
grep -q 'social gives a threshold share, but query edu-income-6 does not name it a holder' \
    thr-e4.log || fail "share of a non-holder: $(cat thr-e4.log)"
tq thr-e5.log tax --threshold-key thr/threshold.tkey --input tax.csv --key bureau.pub \
    --share thr/share-1.tsh --party-key tax.psk
grep -q 'but query edu-income-6 names' thr-e5.log || fail "threshold query, other public key: $(cat thr-e5.log)"
rc=0
timeout 60 "$veil" query run --query q1.json --party tax --identity id/tax \
    --threshold-key thr/threshold.tkey --input tax.csv >thr-e6.log 2>&1 || rc=$?
[ $rc != 0 ] || fail "thr-e6: accepted"
grep -q 'query edu-income-1 has no threshold key' thr-e6.log ||
    fail "threshold key for a plain query: $(cat thr-e6.log)"
ok "threshold errors: $(grep -h error: thr-e1.log thr-e2.log thr-e3.log | cut -c1-90 | tr '\n' ';')"

echo "== veil query check: the dry run"
"$veil" query check --query q1.json >check1.txt || fail "check q1: $(cat check1.txt)"
grep -q "^  education        combiner, listens on 127.0.0.1:[0-9]*; groups by level; no value columns$" \
    check1.txt || fail "check q1: no combiner line: $(cat check1.txt)"
grep -q '^  tax              values income (scale 2)$' check1.txt || fail "check q1: tax's line"
grep -q '^decryption:  the analyst.s private key$' check1.txt || fail "check q1: decryption line"
"$veil" query check --query q6.json >check6.txt || fail "check q6"
grep -q "^decryption:  threshold key $tfp by the holders tax (share 1), education (share 2), bureau (share 3)$" \
    check6.txt || fail "check q6: $(grep decryption check6.txt)"
"$veil" query check --query q1.json --party education --input education.csv >check2.txt ||
    fail "check education: $(cat check2.txt)"
levels=$(($(wc -l <q1.csv) - 2))
grep -q "^input:       education.csv: $N rows for education, $levels distinct values of level$" \
    check2.txt || fail "check education: $(tail -n 1 check2.txt)"
rc=0
"$veil" query check --query q1.json --party education --input tax.csv >check3.txt 2>&1 || rc=$?
[ $rc = 3 ] && grep -q "tax.csv:1: no column 'level' in the header" check3.txt ||
    fail "check, wrong file: rc $rc: $(cat check3.txt)"
rc=0
"$veil" query check --query q1.json --party bureau --input tax.csv >check4.txt 2>&1 || rc=$?
[ $rc = 2 ] && grep -q 'bureau is not a department of query edu-income-1' check4.txt ||
    fail "check, analyst as department: rc $rc: $(cat check4.txt)"
rc=0
"$veil" query check --query q1.json --party tax >check5.txt 2>&1 || rc=$?
[ $rc = 2 ] && grep -q -- '--party and --input go together' check5.txt ||
    fail "check, --party alone: rc $rc: $(cat check5.txt)"
rc=0
"$veil" query check --query bad.json >check6.txt 2>&1 || rc=$?
[ $rc = 3 ] && grep -q 'bad.json:3:54' check6.txt || fail "check, malformed: rc $rc: $(cat check6.txt)"
ok "query check: summary, threshold holders, records read as the run reads them, errors named"

echo "== a department that disconnects"
"$veil" gen --department social --rows 40000 --seed 7 --out social-big.csv
query q5.json edu-income-5 1 '["count", "sum"]'
run_party q5-education.log education --query q5.json --key bureau.pub --input education.csv
pe=$!
run_party q5-tax.log tax --query q5.json --key bureau.pub --input tax.csv
pt=$!
run_party q5-bureau.log bureau --query q5.json --key bureau.key --out q5.csv
pb=$!
run_party q5-social.log social --query q5.json --key bureau.pub --input social-big.csv
ps=$!
for _ in $(seq 600); do
    grep -q 'connected to the combiner' q5-social.log 2>/dev/null && break
    sleep 0.05
done
pkill -9 -P $ps || fail "q5: social was not running"
for p in $pe $pt $pb; do
    rc=0
    wait $p || rc=$?
    [ $rc != 0 ] || fail "q5: a party succeeded although social disconnected"
done
grep -q 'social' q5-education.log || fail "q5: the combiner does not name social"
grep -q 'stopped the query' q5-bureau.log || fail "q5: the analyst was not told"
[ ! -e q5.csv ] || fail "q5: the analyst wrote a result"
ok "q5: social killed: combiner says '$(grep -o 'social[^\\n]*' q5-education.log | tail -n 1 | cut -c1-100)'"
echo "all query checks passed"
