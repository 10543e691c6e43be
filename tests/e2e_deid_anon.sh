#!/usr/bin/env bash
# End to end: risk of Adult before, optimal k=5 anonymization with 5 %
# suppression (and k=5 + distinct 2-diversity on salary-class), risk after,
# and an independent awk check that every class of the output has >= 5
# records (and >= 2 salary classes).
# Usage: e2e_deid_anon.sh VEIL_BIN SOURCE_DIR
set -euo pipefail
VEIL=$1
SRC=$2
D=$SRC/data/adult
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
QI=age,sex,race,marital-status,education,native-country,workclass,occupation
QH=""
for c in ${QI//,/ }; do QH="$QH${QH:+,}$c=$D/adult_hierarchy_$c.csv"; done

"$VEIL" deid risk --in "$D/adult.csv" --delimiter ';' --qi "$QI" --json > "$W/before.json"
grep -q '"records": 30162' "$W/before.json"
grep -q '"unique_records": 14021' "$W/before.json"

"$VEIL" deid anonymize --in "$D/adult.csv" --delimiter ';' --qi "$QH" --k 5 \
    --suppression 0.05 --out "$W/k5.csv" --report "$W/k5.json" 2> "$W/k5.log"
grep -q '"suppressed": 105' "$W/k5.json"
"$VEIL" deid risk --in "$W/k5.csv" --delimiter ';' --qi "$QI" --json > "$W/after.json"
grep -q '"unique_records": 0' "$W/after.json"
grep -q '"max": 0.2' "$W/after.json"
# Independent check: group by the 8 QI columns (fields 1-8).
awk -F';' 'NR > 1 { n[$1 FS $2 FS $3 FS $4 FS $5 FS $6 FS $7 FS $8]++ }
           END { for (k in n) if (n[k] < 5) { print "class of size " n[k] ": " k; bad = 1 }
                 exit bad }' "$W/k5.csv"
test "$(($(wc -l < "$W/k5.csv") - 1))" -eq $((30162 - 105))

"$VEIL" deid anonymize --in "$D/adult.csv" --delimiter ';' --qi "$QH" --k 5 --l 2 \
    --sensitive salary-class --suppression 0.05 --metric loss --out "$W/l2.csv" \
    --report "$W/l2.json" 2> "$W/l2.log"
grep -q '"metric": "loss"' "$W/l2.json"
awk -F';' 'NR > 1 { k = $1 FS $2 FS $3 FS $4 FS $5 FS $6 FS $7 FS $8; n[k]++
                    if (!((k, $9) in seen)) { seen[k, $9] = 1; d[k]++ } }
           END { for (k in n) if (n[k] < 5 || d[k] < 2) { print "bad class: " k; bad = 1 }
                 exit bad }' "$W/l2.csv"

# Refusals: an existing output without --force, an unknown hierarchy value.
if "$VEIL" deid anonymize --in "$D/adult.csv" --delimiter ';' --qi "$QH" --k 5 \
    --out "$W/k5.csv" 2> "$W/err.log"; then exit 1; fi
grep -q "exists" "$W/err.log"
printf 'age;sex\n39;Male\n39;Unknown\n' > "$W/bad.csv"
set +e
"$VEIL" deid anonymize --in "$W/bad.csv" --delimiter ';' \
    --qi "age=$D/adult_hierarchy_age.csv,sex=$D/adult_hierarchy_sex.csv" --k 2 \
    --out "$W/bad_out.csv" 2> "$W/err.log"
rc=$?
set -e
test $rc -eq 3
grep -q 'bad.csv:3: column sex: value "Unknown" is not in the hierarchy' "$W/err.log"
test ! -e "$W/bad_out.csv"
echo "e2e_deid_anon: ok"
