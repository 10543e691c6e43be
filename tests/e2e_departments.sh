#!/usr/bin/env bash
# End to end, as the issue describes it: three departments each encrypt a
# 100,000-row CSV column (signed decimals at scale 2) under the statistics
# bureau's 2048-bit key, anyone aggregates the three column files, the
# bureau decrypts the total, and it must equal the plaintext sum computed
# here independently. Then the same by region on smaller files, a
# passphrase-protected key, and a python-paillier (phe) key and ciphertext
# round trip.
#
#   bash tests/e2e_departments.sh <veil binary> [<source dir>]
#
# VEIL_E2E_ROWS (default 100000) and VEIL_E2E_GROUP_ROWS (default 20000)
# change the file sizes, e.g. for a slower sanitizer build.
#
# Exactness: the CSVs are generated with awk from integer mantissas (cents)
# of at most 2 * 10^7, so every sum stays below 2^53 and awk's doubles add
# them exactly; sums are formatted from the integers, never from floats.
set -euo pipefail

veil=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
rows=${VEIL_E2E_ROWS:-100000}
grows=${VEIL_E2E_GROUP_ROWS:-20000}
work=$(mktemp -d "${TMPDIR:-/tmp}/veil-e2e-XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
TAB=$(printf '\t')

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

same() { # same GOT WANT WHAT
    if [ "$1" != "$2" ]; then
        printf 'FAIL: %s\n--- expected\n%s\n--- got\n%s\n' "$3" "$2" "$1" >&2
        exit 1
    fi
    echo "ok: $3"
}

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }

# gen NAME SEED ROWS LO HI: NAME.csv with columns id,region,amount (amount a
# uniform integer number of cents in [LO, HI]); NAME.sum holds "rows<TAB>sum
# of cents"; NAME.groups one "label<TAB>count<TAB>sum of cents" per region.
gen() {
    awk -v name="$1" -v seed="$2" -v n="$3" -v lo="$4" -v hi="$5" '
    function dec(m,    s, a, ip) {
        s = m < 0 ? "-" : ""; a = m < 0 ? -m : m; ip = int(a / 100)
        return sprintf("%s%.0f.%02d", s, ip, a - ip * 100)
    }
    BEGIN {
        srand(seed)
        nr = split("north|south|east|west|central|north, upper", R, "|")
        out = name ".csv"
        print "id,region,amount" > out
        for (i = 1; i <= n; i++) {
            m = lo + int(rand() * (hi - lo + 1))
            r = R[1 + int(rand() * nr)]
            printf "%d,%s,%s\n", i, (index(r, ",") ? "\"" r "\"" : r), dec(m) > out
            total += m; cnt[r]++; sum[r] += m
        }
        printf "%d\t%.0f\n", n, total > (name ".sum")
        for (r in cnt) printf "%s\t%d\t%.0f\n", r, cnt[r], sum[r] > (name ".groups")
    }'
}

# Formats an integer number of cents as veil prints a scale-2 sum.
cents() {
    awk -v m="$1" 'BEGIN { s = m < 0 ? "-" : ""; a = m < 0 ? -m : m; ip = int(a / 100)
                           printf "%s%.0f.%02d", s, ip, a - ip * 100 }'
}

echo "== key pair (2048 bits, sealed with a passphrase)"
printf 'department heads only\n' >pw
printf 'not the passphrase\n' >pw.bad
chmod 600 pw pw.bad
"$veil" keygen --public bureau.pub --private bureau.key --passphrase-file pw \
    --comment "statistics bureau" >keygen.txt
grep -q '^fingerprint: [0-9a-f]\{64\}$' keygen.txt || fail "keygen printed no fingerprint"
[ "$(stat -c %a bureau.key)" = 600 ] || fail "private key mode is not 0600"

echo "== three departments, $rows rows each"
gen tax 11 "$rows" -5000000 20000000      # incomes, some negative (losses)
gen social 22 "$rows" -50000 500000       # benefits and claw-backs
gen health 33 "$rows" -10000000 10000000  # adjustments around zero
t0=$(now)
for d in tax social health; do
    t=$(now)
    "$veil" encrypt --key bureau.pub --in "$d.csv" --column amount --scale 2 \
        --max-abs 200000 --out "$d.vcol"
    echo "   encrypted $d.csv in $(since "$t")"
done
echo "   encryption: $(since "$t0") for $((3 * rows)) values"

t=$(now)
"$veil" aggregate --key bureau.pub --out total.vct tax.vcol social.vcol health.vcol
echo "   aggregate: $(since "$t")"
"$veil" decrypt --key bureau.key --passphrase-file pw --out total.csv total.vct
want_sum=$(cat tax.sum social.sum health.sum | awk -F'\t' '{ s += $2 } END { printf "%.0f", s }')
same "$(cat total.csv)" "$(printf 'count,sum\n%d,%s' $((3 * rows)) "$(cents "$want_sum")")" \
    "decrypted total equals the plaintext sum of $((3 * rows)) values"

echo "== wrong passphrase"
set +e
"$veil" decrypt --key bureau.key --passphrase-file pw.bad --out bad.csv total.vct 2>err.txt
rc=$?
set -e
same "$rc" 4 "wrong passphrase exits 4"
grep -q "wrong passphrase" err.txt || fail "no 'wrong passphrase' message: $(cat err.txt)"
[ ! -e bad.csv ] || fail "bad.csv left behind"

echo "== by region, $grows rows each"
gen gtax 44 "$grows" -5000000 20000000
gen gsocial 55 "$grows" -50000 500000
gen ghealth 66 "$grows" -10000000 10000000
t=$(now)
for d in gtax gsocial ghealth; do
    "$veil" encrypt --key bureau.pub --in "$d.csv" --column amount --scale 2 \
        --max-abs 200000 --group region --out "$d.vcol"
done
echo "   encryption: $(since "$t") for $((3 * grows)) values"
"$veil" aggregate --key bureau.pub --out region.vct gtax.vcol gsocial.vcol ghealth.vcol
"$veil" decrypt --key bureau.key --passphrase-file pw --out region.csv region.vct
want=$(
    echo "group,count,sum"
    cat gtax.groups gsocial.groups ghealth.groups |
        awk -F'\t' '{ c[$1] += $2; s[$1] += $3 } END { for (r in c) printf "%s\t%d\t%.0f\n", r, c[r], s[r] }' |
        LC_ALL=C sort -t "$TAB" -k1,1 |
        while IFS="$TAB" read -r label count sum; do
            case $label in *,*) label="\"$label\"" ;; esac
            echo "$label,$count,$(cents "$sum")"
        done
    total=$(cat gtax.sum gsocial.sum ghealth.sum | awk -F'\t' '{ s += $2 } END { printf "%.0f", s }')
    echo "*total*,$((3 * grows)),$(cents "$total")"
)
same "$(cat region.csv)" "$want" "per-region sums equal the plaintext sums"

echo "== hierarchical: regional results summed again"
"$veil" aggregate --key bureau.pub --out r1.vct gtax.vcol
"$veil" aggregate --key bureau.pub --out r23.vct gsocial.vcol ghealth.vcol
"$veil" aggregate --key bureau.pub --out r123.vct r1.vct r23.vct
"$veil" decrypt --key bureau.key --passphrase-file pw --out r123.csv r123.vct
same "$(cat r123.csv)" "$want" "sum of partial results equals the direct sum"

echo "== python-paillier interchange"
"$veil" key export --to phe --public --out phe-pub.json bureau.key
"$veil" key import --from phe --public --out phe.pub phe-pub.json >import.txt
grep -q "$(sed -n 's/^fingerprint: //p' keygen.txt)" import.txt || fail "imported key differs"
printf 'n\n7\n-3\n1000\n' >small.csv
"$veil" encrypt --key phe.pub --in small.csv --column n --out small.vcol
"$veil" aggregate --key phe.pub --out small.vct small.vcol
"$veil" ciphertext export --to phe --key bureau.pub --in small.vct --out small.json
"$veil" ciphertext import --from phe --key bureau.pub --in small.json --max-abs 1e6 \
    --out small2.vct
"$veil" decrypt --key bureau.key --passphrase-file pw --out small2.csv small2.vct
same "$(cat small2.csv)" "$(printf 'count,sum\n1,1004')" "phe export/import keeps the sum"
"$veil" key export --to phe --passphrase-file pw --out phe-priv.json bureau.key
[ "$(stat -c %a phe-priv.json)" = 600 ] || fail "exported private key is not 0600"
"$veil" key import --from phe --private --passphrase-file pw --out again.key phe-priv.json >/dev/null
"$veil" decrypt --key again.key --passphrase-file pw --out small3.csv small.vct
same "$(cat small3.csv)" "$(printf 'count,sum\n3,1004')" "re-imported private key decrypts"

echo "e2e: all checks passed"
