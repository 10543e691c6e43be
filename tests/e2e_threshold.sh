#!/usr/bin/env bash
# End to end threshold decryption: five departments, threshold three. The
# dealer runs the key ceremony (shares sealed to each department's key, safe
# primes from tests/util/threshold_testkey.h so the test stays fast), five
# departments encrypt, anyone aggregates by region, three departments
# decrypt-share, combine equals `veil plainsum` of the clear data; a fourth
# department's tampered partial is named while the other three still succeed.
#
#   bash tests/e2e_threshold.sh <veil binary> <source dir>
set -euo pipefail
veil=$(realpath "$1")
src=$(realpath "${2:-$(dirname "$0")/..}")
work=$(mktemp -d "${TMPDIR:-/tmp}/veil-e2e-threshold-XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

depts="tax social health edu civil"

echo "== department key pairs, key ceremony"
seal=""
for d in $depts; do
    "$veil" threshold party-key --public "$d.ppk" --secret "$d.psk" >/dev/null
    seal="${seal:+$seal,}$d.ppk"
done
[ "$(stat -c %a tax.psk)" = 600 ] || fail "secret key mode"
hdr="$src/tests/util/threshold_testkey.h"
sed -n 's/^#define TK_P1_HEX "\(.*\)"$/\1/p' "$hdr" >primes
sed -n 's/^#define TK_Q1_HEX "\(.*\)"$/\1/p' "$hdr" >>primes
[ "$(wc -l <primes)" = 2 ] || fail "could not read the test primes"
"$veil" threshold keygen --parties 5 --threshold 3 --out-dir ceremony --safe-primes primes \
    --seal-to "$seal" >keygen.out
for i in 1 2 3 4 5; do
    [ "$(stat -c %a ceremony/share-$i.tsh)" = 600 ] || fail "share $i mode"
done
ok "ceremony wrote public.key, threshold.tkey and five sealed shares"
"$veil" threshold keygen --help | grep -q -- "--parties" || fail "keygen --help"
"$veil" threshold decrypt-share --help | grep -q -- "--share" || fail "decrypt-share --help"
"$veil" threshold combine --help | grep -q -- "--key" || fail "combine --help"

# Each department moves its own share; the dealer erases (rm here).
i=0
for d in $depts; do
    i=$((i + 1))
    mkdir "$d"
    mv "ceremony/share-$i.tsh" "$d/share.tsh"
done

echo "== five departments encrypt, anyone aggregates"
regions=(Beijing Shanghai Wuhan "Xi'an" Chengdu)
n=0
for d in $depts; do
    n=$((n + 7))
    {
        echo "region,amount"
        for r in $(seq 1 12); do
            v=$(( (r * 7919 + n * 104729) % 2000000 - 500000 ))
            printf '%s,%d.%02d\n' "${regions[$(( (r + n) % 5 ))]}" $((v / 100)) $(( (v < 0 ? -v : v) % 100 ))
        done
    } | sed 's/,-0\./,-0./' >"$d.csv"
    "$veil" encrypt --key ceremony/public.key --in "$d.csv" --column amount --scale 2 \
        --max-abs 100000 --group region --out "$d.vcol"
done
"$veil" aggregate --key ceremony/public.key --out region.vct tax.vcol social.vcol health.vcol \
    edu.vcol civil.vcol
"$veil" plainsum --column amount --scale 2 --group region --out want.csv \
    tax.csv social.csv health.csv edu.csv civil.csv
ok "aggregated $(($(wc -l <want.csv) - 2)) regions"

echo "== three departments decrypt-share, combine"
for d in health edu civil; do
    "$veil" threshold decrypt-share --share "$d/share.tsh" --party-key "$d.psk" \
        --out "$d.vpd" region.vct >/dev/null
done
"$veil" threshold combine --key ceremony/threshold.tkey --out got.csv region.vct \
    health.vpd edu.vpd civil.vpd 2>combine.err
cmp -s got.csv want.csv || { diff got.csv want.csv; fail "combined totals differ"; }
ok "combine of parties 3, 4, 5 equals plainsum"

echo "== a share without its department key, or with another's"
set +e
"$veil" threshold decrypt-share --share tax/share.tsh --out x.vpd region.vct 2>err.txt
rc=$?
"$veil" threshold decrypt-share --share tax/share.tsh --party-key edu.psk --out y.vpd \
    region.vct 2>err2.txt
rc2=$?
set -e
[ "$rc" = 2 ] && grep -q "sealed to a department key" err.txt || fail "unsealed use: $rc $(cat err.txt)"
[ "$rc2" = 4 ] && grep -q "another department" err2.txt || fail "wrong key: $rc2 $(cat err2.txt)"
[ ! -e x.vpd ] && [ ! -e y.vpd ] || fail "output left behind"
ok "sealed shares need their own department key"

echo "== two partials are not enough"
set +e
"$veil" threshold combine --key ceremony/threshold.tkey --out two.csv region.vct health.vpd \
    edu.vpd 2>err.txt
rc=$?
set -e
[ "$rc" = 4 ] && grep -q "only 2 valid partial decryptions" err.txt || fail "t-1: $rc $(cat err.txt)"
[ ! -e two.csv ] || fail "two.csv left behind"
ok "t-1 partials: clear error, exit 4"

echo "== the tax department tampers with its partial; it is named, the rest succeed"
"$veil" threshold decrypt-share --share tax/share.tsh --party-key tax.psk --out tax.vpd \
    region.vct >/dev/null
python3 - tax.vpd <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[-5] ^= 0x01  # inside the last item's response z
open(p, "wb").write(bytes(b))
PY
"$veil" threshold combine --key ceremony/threshold.tkey --out got2.csv region.vct tax.vpd \
    health.vpd edu.vpd civil.vpd 2>combine2.err
grep -q "party 1: proof of correct decryption failed for item" combine2.err ||
    fail "tampering not named: $(cat combine2.err)"
cmp -s got2.csv want.csv || fail "the three honest departments did not succeed"
ok "$(grep -o 'party 1: proof[^)]*)' combine2.err | head -1)"
set +e
"$veil" threshold combine --strict --key ceremony/threshold.tkey --out s.csv region.vct tax.vpd \
    health.vpd edu.vpd civil.vpd 2>/dev/null
rc=$?
set -e
[ "$rc" = 4 ] || fail "--strict should fail: $rc"
ok "--strict refuses a set with a bad partial"

echo "== a partial for another result file is named"
"$veil" aggregate --key ceremony/public.key --out other.vct tax.vcol social.vcol
"$veil" threshold decrypt-share --share social/share.tsh --party-key social.psk \
    --out social.vpd other.vct >/dev/null
"$veil" threshold combine --key ceremony/threshold.tkey --out got3.csv region.vct social.vpd \
    health.vpd edu.vpd civil.vpd 2>combine3.err
grep -q "party 2: the partial decryptions were made for another input" combine3.err ||
    fail "wrong input not named: $(cat combine3.err)"
cmp -s got3.csv want.csv || fail "combine with a foreign partial"
ok "partial for another input named"
echo "all threshold e2e checks passed"
