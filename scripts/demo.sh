#!/usr/bin/env bash
# The cross-department demo: three departments (tax, social security, health)
# each encrypt one money column of their own records under the statistics
# bureau's public key; an aggregator adds the ciphertexts without decrypting
# anything; the bureau decrypts only the totals (overall and per region),
# which are printed beside the plaintext totals computed from the CSV files.
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
out="$PWD/demo-out"
rm -rf "$out"
mkdir -p "$out"
cd "$out"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

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
  printf '\nAll %s totals match the plaintext exactly. Files are in %s\n' \
    "$(($(wc -l < decrypted.csv) - 1))" "$out"
else
  echo "MISMATCH between decrypted and plaintext totals" >&2
  exit 1
fi
