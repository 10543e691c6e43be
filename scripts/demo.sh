#!/usr/bin/env bash
# The cross-department demo: three departments (tax, social security, health)
# each encrypt one money column of their own records under the statistics
# bureau's public key; an aggregator adds the ciphertexts without decrypting
# anything; the bureau decrypts only the totals (overall and per region),
# which are printed beside the plaintext totals computed from the CSV files.
# Then the same per-region totals again by secret sharing: the three
# departments are also the compute parties of a secure sum over mutual TLS
# on 127.0.0.1, and the bureau is the output party. Then a cross-department
# query (veil query run, docs/query.md): tax, social security and education
# join their records privately on resident_id and the bureau gets count,
# total, mean and variance of income and of benefits per education level
# among the citizens known to all three, printed beside the plaintext answer
# (scripts/query_plain.py) with the time each took. Every step is recorded
# in a signed audit log, verified at the end.
#
#   bash scripts/demo.sh [ROWS]      (default 20000 rows per department)
#
# Everything is written under demo-out/ (kept for inspection).
set -euo pipefail
cd "$(dirname "$0")/.."
rows="${1:-20000}"

bash scripts/deps.sh
bash scripts/build.sh build >/dev/null
veil="$PWD/build/tools/veil"
scripts="$PWD/scripts"
out="$PWD/demo-out"
rm -rf "$out"
mkdir -p "$out"
cd "$out"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

# Every command that touches personal data or keys appends a signed entry
# to an audit log (docs/audit.md). The demo plays every party on one
# machine, so it keeps one log for all of them.
"$veil" audit init --dir audit --party demo-site >/dev/null
export VEIL_AUDIT_DIR="$out/audit"

step "1. Three departments hold records on overlapping sets of citizens (synthetic)"
run "$veil" gen --department tax    --rows "$rows" --seed 2026 --out tax.csv
run "$veil" gen --department social --rows "$rows" --seed 2026 --out social.csv
run "$veil" gen --department health --rows "$rows" --seed 2026 --out health.csv
head -n 3 tax.csv

step "2. The statistics bureau makes a key pair and publishes the public key"
run "$veil" keygen --public bureau.pub --private bureau.key --comment "statistics bureau demo key"
run "$veil" key show bureau.pub

step "3. Each department encrypts its money column (values never leave in clear)"
run "$veil" encrypt --key bureau.pub --in tax.csv    --column refund        --scale 2 --group region --out tax.vcol
run "$veil" encrypt --key bureau.pub --in social.csv --column benefit       --scale 2 --group region --out social.vcol
run "$veil" encrypt --key bureau.pub --in health.csv --column reimbursement --scale 2 --group region --out health.vcol
ls -l ./*.vcol

step "4. An aggregator adds the ciphertexts per region (it holds no private key)"
run "$veil" aggregate --key bureau.pub --out transfers.vct tax.vcol social.vcol health.vcol

step "5. The bureau decrypts only the totals"
run "$veil" decrypt --key bureau.key --out decrypted.csv transfers.vct

step "6. Check: plaintext totals computed directly from the three CSV files"
# The departments name their money columns differently: gather the three
# columns under one name, then sum exactly with veil plainsum (no floats).
{
  echo "region,amount"
  tail -n +2 tax.csv    | awk -F, '{print $2","$6}'
  tail -n +2 social.csv | awk -F, '{print $2","$5}'
  tail -n +2 health.csv | awk -F, '{print $2","$5}'
} > all-amounts.csv
"$veil" plainsum --group region --scale 2 --column amount --out plaintext.csv all-amounts.csv

printf '\n%-12s %10s %22s %22s  %s\n' region count "decrypted total" "plaintext total" match
paste -d, decrypted.csv plaintext.csv | tail -n +2 | while IFS=, read -r g c s g2 c2 s2; do
  ok=$([ "$g" = "$g2" ] && [ "$c" = "$c2" ] && [ "$s" = "$s2" ] && echo yes || echo NO)
  printf '%-12s %10s %22s %22s  %s\n' "$g" "$c" "$s" "$s2" "$ok"
done
if cmp -s decrypted.csv plaintext.csv; then
  printf '\nAll %s totals match the plaintext exactly.\n' "$(($(wc -l < decrypted.csv) - 1))"
else
  echo "MISMATCH between decrypted and plaintext totals" >&2
  exit 1
fi

step "7. The same per-region totals by secret sharing (no key holder at all)"
# Each party makes its identity once; the session file pins every
# certificate. The departments are input parties and also the three compute
# parties (any 2 of 3 suffice); the bureau is the output party.
mkdir -p id
for p in tax social health bureau; do
  "$veil" party init --id "$p" --dir "id/$p" --force >/dev/null
done
fp() { "$veil" party show --dir "id/$1" | grep -o 'sha256:[0-9a-f]\{64\}' | head -n 1; }
base=$((20000 + (RANDOM % 1200) * 10))
grep -v '^\*total\*,' plaintext.csv | tail -n +2 | cut -d, -f1 >regions.txt
cat >session.json <<JSON
{"version": 1, "session": "demo-$(date +%s)", "length": $(wc -l <regions.txt), "scale": 2,
 "threshold": 2, "timeouts": {"connect": 10, "io": 30, "inputs": 60, "results": 30},
 "parties": [
  {"id": "tax",    "roles": ["input", "compute"], "address": "127.0.0.1:$base",       "fingerprint": "$(fp tax)"},
  {"id": "social", "roles": ["input", "compute"], "address": "127.0.0.1:$((base + 1))", "fingerprint": "$(fp social)"},
  {"id": "health", "roles": ["input", "compute"], "address": "127.0.0.1:$((base + 2))", "fingerprint": "$(fp health)"},
  {"id": "bureau", "roles": ["output"],           "address": "127.0.0.1:$((base + 3))", "fingerprint": "$(fp bureau)"}
 ]}
JSON
cat session.json
# Each department's own per-region totals, one element per region.
vector() { # dept column
  "$veil" plainsum --group region --scale 2 --column "$2" --out "$1-regions.csv" "$1.csv"
  awk -F, 'NR == FNR { idx[$1] = NR - 1; next }
           FNR == 1 { print "element,amount"; next }
           ($1 in idx) { print idx[$1] "," $3 }' regions.txt "$1-regions.csv" >"$1-vector.csv"
}
vector tax refund; vector social benefit; vector health reimbursement
pids=()
for p in tax social health; do
  "$veil" sum serve --session session.json --party "$p" --identity "id/$p" 2>"serve-$p.log" &
  pids+=($!)
done
run "$veil" sum serve --session session.json --party bureau --identity id/bureau \
  --out sums.csv --report sum-report.json --force &
bureau=$!
sleep 0.5
for p in tax social health; do
  run "$veil" sum submit --session session.json --party "$p" --identity "id/$p" \
    --input "$p-vector.csv" --column amount --index-column element
done
wait "$bureau"
for pid in "${pids[@]}"; do wait "$pid"; done
printf '\n%-12s %22s %22s  %s\n' region "secure-sum total" "plaintext total" match
grep -v '^\*total\*,' plaintext.csv | tail -n +2 | cut -d, -f3 >plain-sums.txt
tail -n +2 sums.csv | cut -d, -f2 >secure-sums.txt
paste -d, regions.txt secure-sums.txt plain-sums.txt | while IFS=, read -r g a b; do
  printf '%-12s %22s %22s  %s\n' "$g" "$a" "$b" "$([ "$a" = "$b" ] && echo yes || echo NO)"
done
if cmp -s secure-sums.txt plain-sums.txt; then
  printf '\nAll %s secure-sum totals match the plaintext exactly.\n' "$(wc -l <regions.txt)"
else
  echo "MISMATCH between secure-sum and plaintext totals" >&2
  exit 1
fi

step "8. The statistics bureau asks: count, total, mean and variance of income and of benefits per education level, among citizens known to tax, social security and education"
run "$veil" gen --department education --rows "$rows" --seed 2026 --out education.csv
head -n 3 education.csv
"$veil" party init --id education --dir id/education --force >/dev/null
# The combiner (education: it holds the group-by column) listens on a free
# port below Linux's ephemeral range (32768-60999), so that no outgoing
# connection holds it; every other party connects to it.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port=$((20000 + RANDOM % 12000))
while ! port_free "$port"; do port=$((20000 + RANDOM % 12000)); done
cat >query.json <<JSON
{"query": "demo-edu-$(date +%s)", "key": "$("$veil" key show bureau.pub | sed -n 's/^fingerprint: *//p')",
 "join_key": "resident_id",
 "departments": [
  {"id": "tax",       "fingerprint": "$(fp tax)",    "values": [{"column": "income",  "scale": 2}]},
  {"id": "social",    "fingerprint": "$(fp social)", "values": [{"column": "benefit", "scale": 2}]},
  {"id": "education", "fingerprint": "$(fp education)",
   "address": "127.0.0.1:$port", "group_by": "level"}],
 "analyst": {"id": "bureau", "fingerprint": "$(fp bureau)"},
 "statistics": ["count", "sum", "mean", "variance"], "min_count": 10,
 "timeouts": {"connect": 10, "io": 60, "query": 300}}
JSON
run cat query.json
# The dry run: every check the run makes, and who does what.
run "$veil" query check --query query.json --party education --input education.csv

step "9. Each party runs its side of the query: private join on resident_id, Paillier-encrypted sums, mutual TLS on 127.0.0.1"
declare -A qpid
qpids=()
trap 'for p in "${qpids[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT
qparty() { # PARTY ARGS...: one party in the background (under timeout), log in query-PARTY.log
  local p=$1
  shift
  printf '$ %s query run --query query.json --party %s --identity id/%s %s 2>query-%s.log &\n' \
    "$veil" "$p" "$p" "$*" "$p"
  timeout 360 "$veil" query run --query query.json --party "$p" --identity "id/$p" "$@" \
    2>"query-$p.log" &
  qpid[$p]=$!
  qpids+=($!)
}
start=$(date +%s.%N)
qparty education --key bureau.pub --input education.csv
qparty tax       --key bureau.pub --input tax.csv
qparty social    --key bureau.pub --input social.csv
qparty bureau    --key bureau.key --out result.csv
failed=0
for p in education tax social bureau; do
  wait "${qpid[$p]}" || { echo "veil query run --party $p failed (exit $?):" >&2; tail -n 5 "query-$p.log" >&2; failed=1; }
done
end=$(date +%s.%N)
qpids=() # all waited for: nothing left for the trap to kill
[ "$failed" = 0 ] || exit 1
for p in education tax social bureau; do
  printf '\n$ awk '\''NR <= 2 || /done in/'\'' query-%s.log\n' "$p"
  awk 'NR <= 2 || /done in/' "query-$p.log"
done
printf '\n$ cat result.csv\n'
cat result.csv

step "10. Check: the same query in plaintext (sqlite3 on the three CSV files, scripts/query_plain.py)"
printf '$ python3 %s/query_plain.py query.json tax=tax.csv social=social.csv education=education.csv >plain-result.csv\n' "$scripts"
python3 "$scripts/query_plain.py" query.json tax=tax.csv social=social.csv education=education.csv \
  >plain-result.csv 2>plain-result.time
# Columns: level,status,count,income_sum,income_mean,income_variance,
# benefit_sum,benefit_mean,benefit_variance. "match" compares whole rows
# (sums and variances too), not only the columns shown.
printf '\n%-16s %19s  %29s  %27s\n' "" count income_mean benefit_mean
printf '%-16s %9s %9s  %14s %14s  %13s %13s  %s\n' level released plaintext released plaintext released plaintext match
awk -F, 'NR == FNR { plain[FNR] = $0; c[FNR] = $3; i[FNR] = $5; b[FNR] = $8; next }
         FNR > 1 { printf "%-16s %9s %9s  %14s %14s  %13s %13s  %s\n", $1, $3, c[FNR],
                   $5, i[FNR], $8, b[FNR], ($0 == plain[FNR] ? "yes" : "NO") }' \
  plain-result.csv result.csv
if cmp -s result.csv plain-result.csv; then
  printf '\nAll %s rows match the plaintext answer exactly.\n' "$(($(wc -l <result.csv) - 1))"
else
  echo "MISMATCH between the released table and the plaintext answer:" >&2
  diff plain-result.csv result.csv >&2 || true
  exit 1
fi
printf 'private query (4 processes, wall clock): %s s; plaintext (sqlite3, all records in the clear): %s s\n' \
  "$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')" \
  "$(sed -n 's/^plaintext: \([0-9.]*\) s$/\1/p' plain-result.time)"

step "11. The audit trail: every step above is in a signed, hash-chained log"
printf '$ %s audit show | tail -n 8\n' "$veil"
"$veil" audit show | tail -n 8
run "$veil" audit verify
printf '\nFiles are in %s\n' "$out"
