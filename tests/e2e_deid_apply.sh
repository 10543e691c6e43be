#!/usr/bin/env bash
# End to end for `veil deid keygen` and `veil deid apply`: two departments
# holding the same key file get the same pseudonyms for the same citizens
# (so their outputs join), a third key gives different ones; outputs and
# key files are mode 0600; bad input stops the command with file:line and
# leaves no output file behind.
#
#   bash tests/e2e_deid_apply.sh <veil binary> [<source dir>]
set -euo pipefail

veil=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
work=$(mktemp -d "${TMPDIR:-/tmp}/veil-deid-e2e-XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

cat > tax.csv <<'CSV'
resident_id,name,income
11010519491231002X,张三丰,12000.50
440306198507151231,李四,8500.00
CSV
cat > health.csv <<'CSV'
resident_id,visits
440306198507151231,3
11010519491231002X,7
CSV
cat > tax.json <<'JSON'
{ "version": 1,
  "columns": {
    "resident_id": {"level": "L4", "action": "pseudonymize", "domain": "citizen"},
    "name": {"level": "L4", "action": "drop"},
    "income": {"level": "L3", "action": "generalize", "interval": "5000", "scale": 2}
  } }
JSON
cat > health.json <<'JSON'
{ "version": 1, "unlisted": "keep",
  "columns": { "resident_id": {"level": "L4", "action": "pseudonymize", "domain": "citizen"} } }
JSON

"$veil" deid keygen --out shared.key > keygen.out
grep -q "key id" keygen.out || fail "keygen prints no key id"
[ "$(stat -c %a shared.key)" = 600 ] || fail "key file mode is not 0600"
"$veil" deid keygen --out other.key > /dev/null
if "$veil" deid keygen --out shared.key 2> err.txt; then fail "keygen overwrote a key"; fi

"$veil" deid apply --policy tax.json --in tax.csv --out tax.out --key-file shared.key 2> /dev/null
"$veil" deid apply --policy health.json --in health.csv --out health.out --key-file shared.key --quiet
"$veil" deid apply --policy health.json --in health.csv --out health2.out --key-file other.key --quiet
[ "$(stat -c %a tax.out)" = 600 ] || fail "output mode is not 0600"
[ "$(head -1 tax.out)" = "resident_id,income" ] || fail "tax header: $(head -1 tax.out)"
grep -q '"\[10000.00,15000.00)"' tax.out || fail "income not generalized"
t1=$(sed -n 2p tax.out | cut -d, -f1)
h2=$(sed -n 3p health.out | cut -d, -f1)
o2=$(sed -n 3p health2.out | cut -d, -f1)
[ ${#t1} = 32 ] || fail "pseudonym length ${#t1}"
[ "$t1" = "$h2" ] || fail "same key, same citizen, different pseudonyms"
[ "$t1" != "$o2" ] || fail "another key gave the same pseudonym"
"$veil" deid apply --policy tax.json --in tax.csv --out tax.again --key-file shared.key --quiet
cmp -s tax.out tax.again || fail "a second run differs"

# errors: missing key, world-readable key, ragged row, unknown preset
if "$veil" deid apply --policy tax.json --in tax.csv --out x.out 2> err.txt; then fail "ran without key"; fi
grep -q "give --key-file" err.txt || fail "no key message: $(cat err.txt)"
cp shared.key open.key && chmod 644 open.key
if "$veil" deid apply --policy tax.json --in tax.csv --out x.out --key-file open.key 2> err.txt; then
    fail "accepted a world-readable key"
fi
grep -q "chmod 600" err.txt || fail "mode message: $(cat err.txt)"
printf 'resident_id,name,income\n11010519491231002X,a\n' > ragged.csv
set +e
"$veil" deid apply --policy tax.json --in ragged.csv --out x.out --key-file shared.key 2> err.txt
rc=$?
set -e
[ $rc = 3 ] || fail "ragged row exit code $rc"
grep -q "ragged.csv:2: row has 2 fields but the header has 3" err.txt || fail "ragged: $(cat err.txt)"
[ ! -e x.out ] || fail "an output file was left behind"
sed 's/"drop"}/"mask", "preset": "nam"}/' tax.json > bad.json
if "$veil" deid apply --policy bad.json --in tax.csv --out x.out --key-file shared.key 2> err.txt; then
    fail "accepted an unknown preset"
fi
grep -q 'bad.json:4: column "name": unknown preset "nam"' err.txt || fail "preset: $(cat err.txt)"
# Differential privacy: the epsilon spent is reported, per column and in
# total, even with --quiet.
cat > noise.json <<'JSON'
{
  "version": 1,
  "unlisted": "drop",
  "columns": {
    "income": {"level": "L3", "action": "noise", "epsilon": 0.5, "sensitivity": "100", "scale": 2}
  }
}
JSON
"$veil" deid apply --quiet --policy noise.json --in tax.csv --out noised.csv 2> eps.txt ||
    fail "noise policy: $(cat eps.txt)"
grep -q 'column "income": Laplace noise, epsilon 0.5 per person' eps.txt || fail "epsilon: $(cat eps.txt)"
grep -q 'epsilon spent 0.5 per person (1 noised column)' eps.txt || fail "epsilon total: $(cat eps.txt)"
[ "$(wc -l < noised.csv)" -eq 3 ] || fail "noised output: $(cat noised.csv)"
echo "e2e_deid_apply: all checks passed"
