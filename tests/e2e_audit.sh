#!/usr/bin/env bash
# End to end for the audit log of the `veil` command: real commands append
# signed, chained entries (operation, options, digests of the files read
# and written, exit status and error message, never a personal value);
# `veil audit verify` catches a flipped byte naming the entry, reports an
# interrupted write, which the next command repairs; another party's key
# does not verify the log; export names every entry; two loops of
# commands appending at once lose nothing. Commands without an audit
# configuration are refused.
#
#   bash tests/e2e_audit.sh <veil binary> <source dir> [<tests build dir>]
set -euo pipefail
unset VEIL_NO_AUDIT VEIL_AUDIT_DIR

veil=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
work=$(mktemp -d "${TMPDIR:-/tmp}/veil-audit-e2e-XXXXXX")
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

fail() {
    echo "FAIL: $*" >&2
    exit 1
}
b2() { b2sum -l 256 "$1" | cut -d' ' -f1; }
v() { timeout 120 "$veil" "$@"; }
# Runs python3 on the JSON of `veil audit show --json` (file show.json).
show_json() {
    v audit show --json > show.json
    python3 - "$@"
}

echo "== audit init"
v audit init --dir aud --party tax > init.txt
grep -q '^public key: [0-9a-f]\{64\}$' init.txt || fail "init printed no public key: $(cat init.txt)"
[ "$(stat -c %a aud/audit.key)" = 600 ] || fail "audit.key mode is not 0600"
v audit init --dir other --party health > /dev/null
if v audit init --dir aud --party tax 2> err.txt; then fail "init replaced an audit dir"; fi
export VEIL_AUDIT_DIR=$work/aud
v audit verify > verify.txt
grep -q '^0 entries verified' verify.txt || fail "empty log: $(cat verify.txt)"

echo "== a day's work"
printf 'department heads only\n' > pw
printf 'not the passphrase\n' > pw.bad
chmod 600 pw pw.bad
v gen --department tax --rows 200 --seed 7 --out tax.csv # synthetic data: not audited
v keygen --public k.pub --private k.key --passphrase-file pw > /dev/null
v encrypt --key k.pub --in tax.csv --column income --scale 2 --out income.vcol
v encrypt --key k.pub --in tax.csv --column refund --scale 2 --out refund.vcol
v aggregate --key k.pub --out total.vct income.vcol refund.vcol
v decrypt --key k.key --passphrase-file pw --out total.csv total.vct
v plainsum --column income --scale 2 --out plain.csv tax.csv
cat > noise.json <<'JSON'
{ "version": 1, "unlisted": "drop",
  "columns": {
    "region": {"level": "L1", "action": "keep"},
    "income": {"level": "L3", "action": "noise", "epsilon": 0.5, "sensitivity": "100", "scale": 2}
  } }
JSON
v deid apply --quiet --policy noise.json --in tax.csv --out noised.csv 2> /dev/null
v share split --input tax.csv --column income --scale 2 --parties 3 --threshold 2 \
    --out-dir shares --prefix income 2> /dev/null
v share combine --out combined.csv shares/income.1.vsh shares/income.3.vsh
v audit verify > verify.txt
grep -q '^9 entries verified; head seq 8 hash [0-9a-f]\{64\}$' verify.txt ||
    fail "verify after 9 commands: $(cat verify.txt)"

show_json "$(b2 tax.csv)" "$(b2 shares/income.2.vsh)" "$(b2 k.key)" <<'PY' || fail "show --json"
import json, sys
tax, share2, key = sys.argv[1:4]
d = json.load(open("show.json"))
ops = [e["operation"] for e in d["entries"]]
want = ["keygen", "encrypt", "encrypt", "aggregate", "decrypt", "plainsum", "deid apply",
        "share split", "share combine"]
assert ops == want, ops
assert [e["seq"] for e in d["entries"]] == list(range(9))
assert all(e["status"] == 0 and e["party"] == "tax" for e in d["entries"])
assert d["complete"] and d["count"] == 9 and d["head"]["seq"] == 8
def params(e): return {p["name"]: p["value"] for p in e["params"]}
def files(e, k): return {f["path"]: f for f in e[k]}
kg, enc, dec, ps, deid, split = (d["entries"][i] for i in (0, 1, 4, 5, 6, 7))
# a passphrase file is recorded by its path, never digested
assert params(kg)["passphrase-file"] == "pw" and "pw" not in files(kg, "inputs"), kg
assert files(kg, "outputs")["k.key"]["blake2b_256"] == key
assert params(enc) == {"column": "income", "scale": "2"}, enc
assert files(enc, "inputs")["tax.csv"]["blake2b_256"] == tax
assert files(enc, "inputs")["tax.csv"]["size"] > 0
assert set(files(dec, "inputs")) == {"k.key", "total.vct"}, dec
assert files(ps, "inputs")["tax.csv"]["blake2b_256"] == tax
assert files(ps, "outputs")["plain.csv"]["present"]
assert float(params(deid)["epsilon_spent"]) == 0.5, deid
assert params(split)["n"] == "3" and params(split)["t"] == "2", split
assert files(split, "outputs")["shares/income.2.vsh"]["blake2b_256"] == share2, split
PY
# Option values, paths and digests only: no resident id, no income.
for v_ in $(sed -n '2,4p' tax.csv | cut -d, -f1,5 | tr , ' '); do
    if grep -qaF -- "$v_" aud/audit.log; then fail "personal value $v_ in the audit log"; fi
done

echo "== a failing command is logged with its status and message"
set +e
v decrypt --key k.key --passphrase-file pw.bad --out bad.csv total.vct 2> err.txt
rc=$?
set -e
[ "$rc" = 4 ] || fail "wrong passphrase: exit $rc: $(cat err.txt)"
show_json <<'PY' || fail "failed decrypt not logged"
import json
e = json.load(open("show.json"))["entries"][-1]
assert e["operation"] == "decrypt" and e["status"] == 4, e
assert "passphrase" in e["message"], e
assert not e["outputs"][0]["present"], e
PY

# Error messages quote the offending cell value: the log keeps the message
# with the value redacted.
if v plainsum --column income tax.csv > /dev/null 2> err.txt; then fail "scale 0 accepted"; fi
grep -q "tax.csv:2: column \"income\": '$(sed -n 2p tax.csv | cut -d, -f5)' has 2 decimal" err.txt ||
    fail "plainsum error: $(cat err.txt)"
show_json <<'PY' || fail "redacted message"
import json
e = json.load(open("show.json"))["entries"][-1]
assert e["status"] == 3 and "column \"income\": '<value>' has 2 decimal places" in e["message"], e
PY
for v_ in $(sed -n '2,4p' tax.csv | cut -d, -f1,5 | tr , ' '); do
    if grep -qaF -- "$v_" aud/audit.log; then fail "personal value $v_ in the audit log"; fi
done

echo "== without an audit configuration: refused; --no-audit runs"
n_before=$(wc -c < aud/audit.log)
set +e
env -u VEIL_AUDIT_DIR "$veil" plainsum --column income --scale 2 tax.csv > out.txt 2> err.txt
rc=$?
set -e
[ "$rc" = 2 ] || fail "unconfigured plainsum: exit $rc"
grep -q 'no audit log configured' err.txt || fail "refusal message: $(cat err.txt)"
grep -q "veil audit init --dir DIR --party ID" err.txt || fail "no hint: $(cat err.txt)"
grep -q -- "--no-audit" err.txt || fail "no --no-audit hint: $(cat err.txt)"
[ ! -s out.txt ] || fail "the refused command printed output"
env -u VEIL_AUDIT_DIR "$veil" plainsum --no-audit --column income --scale 2 tax.csv > /dev/null
VEIL_NO_AUDIT=1 v plainsum --column income --scale 2 tax.csv > /dev/null
[ "$(wc -c < aud/audit.log)" = "$n_before" ] || fail "an unaudited run was logged"
if v plainsum --audit "$work/nowhere" --column income --scale 2 tax.csv > /dev/null 2> err.txt; then
    fail "ran with a missing audit dir"
fi
grep -q 'nowhere' err.txt || fail "missing audit dir: $(cat err.txt)"

echo "== a flipped byte in a middle entry"
v audit verify > verify.txt
grep -q '^11 entries verified' verify.txt || fail "11 entries: $(cat verify.txt)"
off=$(show_json <<'PY'
import json
print(json.load(open("show.json"))["entries"][4]["offset"])
PY
)
cp aud/audit.log copy.log
python3 - "$off" <<'PY'
import sys
off = int(sys.argv[1]) + 24  # inside entry 4's bytes, past the length prefix
b = bytearray(open("copy.log", "rb").read())
b[off] ^= 0x01
open("copy.log", "wb").write(b)
PY
set +e
v audit verify --log copy.log --pub aud/audit.pub > verify.txt 2> err.txt
rc=$?
set -e
[ "$rc" = 3 ] || [ "$rc" = 4 ] || fail "flipped byte: exit $rc"
grep -q 'entry 4' err.txt || fail "flipped byte: the error does not name entry 4: $(cat err.txt)"
v audit verify --log aud/audit.log --pub aud/audit.pub > /dev/null # the original still verifies

echo "== an entry that cannot be appended after a successful command"
cp -a aud aud2
off=$(show_json <<'PY'
import json
print(json.load(open("show.json"))["entries"][-1]["offset"])
PY
)
python3 - "$off" <<'PY'
import sys
off = int(sys.argv[1]) + 24  # inside the last entry: appending must refuse a broken chain
b = bytearray(open("aud2/audit.log", "rb").read())
b[off] ^= 0x01
open("aud2/audit.log", "wb").write(b)
PY
set +e
v plainsum --audit "$work/aud2" --column income --scale 2 --out late.csv tax.csv 2> err.txt
rc=$?
set -e
[ "$rc" = 5 ] || fail "append to a broken log: exit $rc: $(cat err.txt)"
grep -q "output was written but its audit entry could not be" err.txt || fail "$(cat err.txt)"
[ -s late.csv ] || fail "the command's output is missing"
# The audit options belong to audited commands only, and exclude each other.
set +e
v key show --audit aud k.pub > /dev/null 2> err.txt
rc1=$?
v plainsum --audit aud --no-audit --column income --scale 2 tax.csv > /dev/null 2> err2.txt
rc2=$?
set -e
[ "$rc1" = 2 ] && grep -q "unknown option '--audit'" err.txt || fail "key show --audit: $rc1"
[ "$rc2" = 2 ] && grep -q "give one of --audit DIR and --no-audit" err2.txt || fail "both: $rc2"

echo "== another party's public key"
set +e
v audit verify --log aud/audit.log --pub other/audit.pub > /dev/null 2> err.txt
rc=$?
set -e
[ "$rc" = 4 ] || fail "wrong key: exit $rc: $(cat err.txt)"

echo "== an interrupted write"
read -r last_off last_seq < <(show_json <<'PY'
import json
e = json.load(open("show.json"))["entries"][-1]
print(e["offset"], e["seq"])
PY
)
size=$(stat -c %s aud/audit.log)
truncate -s $((last_off + (size - last_off) / 2)) aud/audit.log
v audit verify > verify.txt
grep -q "valid up to entry $((last_seq - 1))" verify.txt || fail "truncated: $(cat verify.txt)"
grep -q "incomplete entry (an interrupted write)" verify.txt || fail "truncated: $(cat verify.txt)"
set +e
v audit verify --strict > /dev/null 2> err.txt
rc=$?
set -e
[ "$rc" = 3 ] || fail "--strict on a truncated log: exit $rc"
if v audit export --out cut.json 2> err.txt; then fail "exported a truncated log"; fi
v plainsum --column income --scale 2 tax.csv > /dev/null
v audit verify > verify.txt
grep -q "^$((last_seq + 2)) entries verified; head seq $((last_seq + 1)) " verify.txt ||
    fail "after recovery: $(cat verify.txt)"
show_json "$last_seq" <<'PY' || fail "no recovery entry"
import json, sys
n = int(sys.argv[1])
es = json.load(open("show.json"))["entries"]
assert "recover" in es[n]["operation"], es[n]
assert es[n + 1]["operation"] == "plainsum" and es[n + 1]["status"] == 0, es[n + 1]
PY

echo "== two writers at once"
before=$(show_json <<'PY'
import json
print(json.load(open("show.json"))["count"])
PY
)
for w in 1 2; do
    (for i in $(seq 15); do
        v plainsum --column income --scale 2 tax.csv > /dev/null || exit 1
    done) &
    pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a concurrent writer failed"; done
pids=()
v audit verify > verify.txt
grep -q "^$((before + 30)) entries verified" verify.txt || fail "concurrent: $(cat verify.txt)"

echo "== export"
v audit export --out bundle.json > export.txt
[ "$(stat -c %a bundle.json)" = 600 ] || fail "bundle mode"
python3 - "$((before + 30))" "$(cat aud/audit.pub)" <<'PY' || fail "export bundle"
import base64, json, sys
n, pub = int(sys.argv[1]), sys.argv[2]
d = json.load(open("bundle.json"))
assert d["party"] == "tax" and d["public_key"] == pub, d["public_key"]
assert d["count"] == n and [e["seq"] for e in d["entries"]] == list(range(n))
assert d["head"]["seq"] == n - 1
for e in d["entries"]:
    assert len(bytes.fromhex(e["signature_hex"])) == 64, e
    assert len(base64.b64decode(e["entry_base64"])) > 0, e
    assert e["signature_verifies"] is True, e
    assert "operation" in e and "hash" in e
PY
if v audit export --out bundle.json 2> err.txt; then fail "export replaced a bundle"; fi
echo "PASS"
