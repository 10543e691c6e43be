#!/usr/bin/env bash
# End to end secure sums with real processes on 127.0.0.1: three input
# parties and five compute parties (t = 3) sum a 100,000-element vector and
# the output equals the plaintext sum; a compute party killed mid-session
# is reported as dropped and the sum is still right; a party whose
# certificate is not in the roster is refused; messages that replay, belong
# to another session or carry bad data are refused; malformed or wrong
# session files give clear errors; the additive scheme sums too. Serving
# parties end by themselves (the session files' timeouts bound them),
# submissions run under `timeout`, and the trap kills whatever is left.
#
#   bash tests/e2e_sum.sh <veil binary> <source dir> [<test tools dir>]
set -euo pipefail
veil=$(realpath "$1")
src=$(realpath "${2:-$(dirname "$0")/..}")
tools=$(realpath "${3:-.}")
work=$(mktemp -d "${TMPDIR:-/tmp}/veil-e2e-sum-XXXXXX")
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
fail() {
    echo "FAIL: $*" >&2
    for f in *.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -n 20 "$f" >&2; }; done
    exit 1
}
ok() { echo "ok: $*"; }
LIMIT=240 # seconds one submission may take

inputs="tax health edu"
computes="c1 c2 c3 c4 c5"
N=100000

echo "== identities"
mkdir id
for p in $inputs $computes stats mallory; do
    "$veil" party init --id "$p" --dir "id/$p" >"id-$p.out"
    grep -o 'sha256:[0-9a-f]\{64\}' "id-$p.out" | head -n 1 >"id/$p.fp"
    [ -s "id/$p.fp" ] || fail "party init printed no fingerprint for $p"
done
[ "$(stat -c %a id/tax/party.key)" = 600 ] || fail "party.key mode"
ok "10 identities"

# Ports: a block of free ones, checked by trying to connect.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_base() {
    local tries=0 b
    while [ $tries -lt 50 ]; do
        b=$((20000 + (RANDOM % 1200) * 10))
        local all=1
        for k in 0 1 2 3 4 5 6 7; do port_free $((b + k)) || all=0; done
        [ $all = 1 ] && { echo "$b"; return; }
        tries=$((tries + 1))
    done
    fail "no free ports"
}

# session FILE ID LENGTH SCHEME T INPUTS_TIMEOUT RESULTS_TIMEOUT BASE_PORT [EXTRA_PARTY]
session() {
    local file=$1 id=$2 len=$3 scheme=$4 t=$5 tin=$6 tres=$7 base=$8 extra=${9:-}
    {
        printf '{"version": 1, "session": "%s", "length": %s, "scale": 2,\n' "$id" "$len"
        printf ' "scheme": "%s", "threshold": %s,\n' "$scheme" "$t"
        printf ' "timeouts": {"connect": 3, "io": 20, "inputs": %s, "results": %s},\n' "$tin" "$tres"
        printf ' "parties": [\n'
        for p in $inputs $extra; do
            printf '  {"id": "%s", "roles": ["input"], "fingerprint": "%s"},\n' "$p" "$(cat "id/$p.fp")"
        done
        local k=0
        for p in $computes; do
            printf '  {"id": "%s", "roles": ["compute"], "address": "127.0.0.1:%d", "fingerprint": "%s"},\n' \
                "$p" $((base + k)) "$(cat "id/$p.fp")"
            k=$((k + 1))
        done
        printf '  {"id": "stats", "roles": ["output"], "address": "127.0.0.1:%d", "fingerprint": "%s"}\n' \
            $((base + 7)) "$(cat id/stats.fp)"
        printf ' ]}\n'
    } >"$file"
}

# Start compute parties and the output party of a session in the background.
serve_all() {
    local s=$1 tag=$2
    for p in $computes; do
        "$veil" sum serve --session "$s" --party "$p" --identity "id/$p" \
            >"$tag-$p.out" 2>"$tag-$p.log" &
        pids+=($!)
        eval "pid_$p=$!"
    done
    "$veil" sum serve --session "$s" --party stats --identity id/stats \
        --out "$tag-sums.csv" --report "$tag-report.json" >"$tag-stats.out" 2>"$tag-stats.log" &
    pids+=($!)
    pid_stats=$!
}

submit() {
    local s=$1 p=$2 tag=$3
    shift 3
    timeout -k 5 $LIMIT "$veil" sum submit --session "$s" --party "$p" --identity "id/$p" "$@" \
        2>"$tag-submit-$p.log"
}

echo "== data: three departments, $N elements, negative values and cents"
d=0
for p in $inputs; do
    d=$((d + 1))
    awk -v n=$N -v d=$d 'BEGIN {
        print "id,value"
        for (i = 0; i < n; i++) {
            v = ((i * 7919 + d * 104729) % 2000001) - 1000000
            if (d == 3) v = v * 1000003          # up to about 10^10 in value
            a = v < 0 ? -v : v; w = int(a / 100)
            printf "%d,%s%.0f.%02d\n", i, (v < 0 ? "-" : ""), w, a - w * 100
        }
    }' >"$p.csv"
done
# edu sends its rows shuffled and placed by --index-column.
{ head -n 1 edu.csv; tail -n +2 edu.csv | awk 'NR % 2 == 0' ; tail -n +2 edu.csv | awk 'NR % 2 == 1'; } >edu-shuffled.csv
awk -v n=$N 'BEGIN {
    print "element,sum"
    for (i = 0; i < n; i++) {
        s = 0
        for (d = 1; d <= 3; d++) {
            v = ((i * 7919 + d * 104729) % 2000001) - 1000000
            if (d == 3) v = v * 1000003
            s += v
        }
        a = s < 0 ? -s : s; w = int(a / 100)
        printf "%d,%s%.0f.%02d\n", i, (s < 0 ? "-" : ""), w, a - w * 100
    }
}' >expected.csv

echo "== session 1: 3 input parties, 5 compute parties, t = 3"
base=$(pick_base)
session s1.json e2e-s1 $N shamir 3 60 30 "$base"
# A party whose certificate is not in the roster: mallory's own copy of
# the session lists her, the compute parties' copy does not.
session mallory.json e2e-s1 $N shamir 3 60 30 "$base" mallory
serve_all s1.json s1
sleep 0.3
if submit mallory.json mallory s1 --input tax.csv --column value; then
    fail "mallory's shares were accepted"
fi
grep -q "compute parties accepted" s1-submit-mallory.log || fail "mallory's submit did not explain: $(cat s1-submit-mallory.log)"
ok "a party not in the roster is refused: $(grep -m1 'c1' s1-submit-mallory.log || true)"

# A party in the roster that misbehaves inside its TLS connection: each
# message is refused and the real submission afterwards still counts.
rogue="$tools/sum_rogue"
[ -x "$rogue" ] || fail "test tool $rogue missing (pass the tests build dir as third argument)"
for m in replay other-session bad-element short; do
    timeout -k 5 60 "$rogue" "$m" s1.json tax id/tax c1 2>"rogue-$m.log" || fail "c1 accepted a $m message: $(cat "rogue-$m.log")"
done
submit s1.json tax s1 --input tax.csv --column value || fail "tax submit"
submit s1.json health s1 --input health.csv --column value || fail "health submit"
submit s1.json edu s1 --input edu-shuffled.csv --column value --index-column id || fail "edu submit"
grep -q "accepted by 5 of 5 compute parties" s1-submit-tax.log || fail "tax: $(cat s1-submit-tax.log)"
wait "$pid_stats" || fail "output party failed"
for p in $computes; do eval "wait \$pid_$p" || fail "$p failed"; done
cmp -s s1-sums.csv expected.csv || fail "sums differ from the plaintext sum: $(diff s1-sums.csv expected.csv | head -5)"
[ "$(stat -c %a s1-sums.csv)" = 600 ] || fail "sums file mode"
grep -q '"included": \[' s1-report.json || fail "report"
tr -d ' \n' <s1-report.json | grep -q '"inputs":{"included":\["tax","health","edu"\],"dropped":\[\]}' ||
    fail "report inputs: $(cat s1-report.json)"
tr -d ' \n' <s1-report.json | grep -q '"compute":{"used":\["c1","c2","c3","c4","c5"\],"excluded":\[\],"dropped":\[\]}' ||
    fail "report compute: $(cat s1-report.json)"
for p in $computes; do
    grep -q "not in the roster" "s1-$p.log" || fail "$p did not log mallory's refusal"
done
grep -q "summed the shares of 3 of 3 input parties" s1-c1.log || fail "c1 summary"
grep -q "tax.*message 1 replayed (expected 2)" s1-c1.log || fail "c1 did not log the replay"
grep -q 'tax.*belongs to session "another-session", not to session "e2e-s1"' s1-c1.log ||
    fail "c1 did not log the other session"
grep -q "tax: element 0: field element out of range" s1-c1.log || fail "c1 did not log the bad element"
grep -q "tax: sent a done (type 4) where a chunk was expected" s1-c1.log || fail "c1 did not log the short share"
ok "replayed, other-session, out-of-field and short messages refused; tax's real shares still counted"
ok "100,000-element sum equals the plaintext sum; mallory refused by every compute party"

echo "== session 2: c5 killed mid-session"
session s2.json e2e-s2 $N shamir 3 15 3 "$(pick_base)"
serve_all s2.json s2
sleep 0.3
submit s2.json tax s2 --input tax.csv --column value || fail "tax submit (s2)"
kill -9 "$pid_c5"
wait "$pid_c5" 2>/dev/null || true
submit s2.json health s2 --input health.csv --column value || fail "health submit (s2)"
submit s2.json edu s2 --input edu.csv --column value || fail "edu submit (s2)"
grep -q "accepted by 4 of 5 compute parties.*failed: c5" s2-submit-health.log ||
    fail "health did not report c5: $(cat s2-submit-health.log)"
wait "$pid_stats" || fail "output party failed (s2)"
cmp -s s2-sums.csv expected.csv || fail "s2 sums differ"
tr -d ' \n' <s2-report.json | grep -q '"compute":{"used":\["c1","c2","c3","c4"\],"excluded":\[\],"dropped":\["c5"\]}' ||
    fail "report does not name c5 as dropped: $(cat s2-report.json)"
grep -q "dropped: c5" s2-stats.log || fail "stats log does not name c5"
ok "c5 killed: the sum is still exact and c5 is reported dropped"

echo "== session 3: additive 6-of-6 on 1,000 elements; tax is also a compute party; edu absent"
head -n 1001 tax.csv >tax-1k.csv
head -n 1001 health.csv >health-1k.csv
base3=$(pick_base)
session s3.json e2e-s3 1000 additive 6 4 3 "$base3"
# tax takes the compute role too: it listens, and its own submission goes
# to its own server over TLS like everyone else's.
sed -i "s|{\"id\": \"tax\", \"roles\": \[\"input\"\],|{\"id\": \"tax\", \"roles\": [\"input\", \"compute\"], \"address\": \"127.0.0.1:$((base3 + 6))\",|" s3.json
grep -q '"roles": \["input", "compute"\]' s3.json || fail "could not give tax the compute role"
serve_all s3.json s3
"$veil" sum serve --session s3.json --party tax --identity id/tax >s3-tax.out 2>s3-tax.log &
pids+=($!)
pid_tax=$!
sleep 0.3
submit s3.json tax s3 --input tax-1k.csv --column value || fail "tax submit (s3)"
submit s3.json health s3 --input health-1k.csv --column value || fail "health submit (s3)"
grep -q "accepted by 6 of 6 compute parties (tax, c1" s3-submit-tax.log || fail "tax did not reach its own server: $(cat s3-submit-tax.log)"
wait "$pid_stats" || fail "output party failed (s3)"
wait "$pid_tax" || fail "tax's server failed (s3)"
paste -d, <(tail -n +2 tax-1k.csv | cut -d, -f2 | tr -d .) <(tail -n +2 health-1k.csv | cut -d, -f2 | tr -d .) |
    awk -F, 'BEGIN { print "element,sum" } { s = $1 + $2; a = s < 0 ? -s : s; w = int(a / 100);
             printf "%d,%s%.0f.%02d\n", NR - 1, (s < 0 ? "-" : ""), w, a - w * 100 }' >expected-s3.csv
cmp -s s3-sums.csv expected-s3.csv || fail "additive sums differ: $(diff s3-sums.csv expected-s3.csv | head -3)"
tr -d ' \n' <s3-report.json | grep -q '"inputs":{"included":\["tax","health"\],"dropped":\["edu"\]}' ||
    fail "report does not name edu as dropped: $(cat s3-report.json)"
tr -d ' \n' <s3-report.json | grep -q '"used":\["tax","c1","c2","c3","c4","c5"\]' ||
    fail "report does not list tax as a compute party: $(cat s3-report.json)"
ok "additive scheme with a party in two roles: exact, edu reported dropped"

echo "== bad session files and arguments"
printf '{"version": 1, "session": "x", "length": 10, "scale": 2, "threshold": 9, "parties": []}\n' >bad.json
set +e
"$veil" sum serve --session bad.json --party c1 --identity id/c1 2>bad.err
rc=$?
set -e
[ $rc = 3 ] || fail "bad session: exit $rc"
grep -q "bad.json: parties: no party has the role \"input\"" bad.err || fail "bad session message: $(cat bad.err)"
sed 's/"scale": 2/"scale": 2, "sacle": 2/' s1.json >typo.json
set +e
"$veil" sum submit --session typo.json --party tax --identity id/tax --input tax.csv --column value 2>typo.err
rc=$?
set -e
[ $rc = 3 ] || fail "typo session: exit $rc"
grep -q 'typo.json: "sacle": unknown field' typo.err || fail "typo message: $(cat typo.err)"
printf '{"version": 1,' >trunc.json
set +e
"$veil" sum serve --session trunc.json --party c1 --identity id/c1 2>trunc.err
rc=$?
set -e
[ $rc = 3 ] && grep -q "trunc.json:1:" trunc.err || fail "truncated session: exit $rc $(cat trunc.err)"
set +e
"$veil" sum serve --session s1.json --party nobody --identity id/c1 2>nobody.err
rc=$?
set -e
[ $rc = 2 ] && grep -q 'no party "nobody" in session e2e-s1' nobody.err || fail "unknown party: $rc $(cat nobody.err)"
set +e
"$veil" sum serve --session s1.json --party c1 --identity id/c2 2>wrongid.err
rc=$?
set -e
[ $rc != 0 ] || fail "serving c1 with c2's identity succeeded"
"$veil" sum serve --help | grep -q -- "--session" || fail "serve --help"
"$veil" sum submit --help | grep -q -- "--index-column" || fail "submit --help"
ok "bad session files and arguments give clear errors"

for p in "${pids[@]}"; do
    if kill -0 "$p" 2>/dev/null; then fail "process $p still running"; fi
done
ok "no process left behind"
