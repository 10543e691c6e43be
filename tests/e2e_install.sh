#!/usr/bin/env bash
# cmake --install into a temporary prefix, then build a program against the
# installed headers and libraries through pkg-config, shared and static,
# and check its answer: -12.50 + 10000.00 computed under encryption.
set -euo pipefail
veil="$1"
build="$(cd "$(dirname "$veil")/.." && pwd)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cmake --install "$build" --prefix "$work/prefix" >/dev/null
libdir=$(find "$work/prefix" -name veil_crypto.pc -printf '%h\n' | head -n 1)
test -n "$libdir" || { echo "veil_crypto.pc was not installed"; exit 1; }
export PKG_CONFIG_PATH="$libdir"
test -f "$work/prefix/include/veil/paillier.h" || { echo "headers not installed"; exit 1; }

# A sanitizer build installs instrumented libraries: build the program alike.
san=""
if grep -q '^VEIL_SANITIZE:BOOL=ON' "$build/CMakeCache.txt"; then
  san="-fsanitize=address,undefined"
fi

cat > "$work/app.c" <<'C'
#include <stdio.h>
#include <veil/encrypted.h>
int main(void)
{
    veil_err e;
    veil_paillier_priv *sk;
    if (veil_paillier_keygen(&sk, 2048, 1, &e) != VEIL_OK)
        return fprintf(stderr, "%s\n", e.msg), 1;
    const veil_paillier_pub *pk = veil_paillier_priv_pub(sk);
    veil_enc a, b;
    veil_enc_init(&a);
    veil_enc_init(&b);
    mpz_t v, w, bound;
    mpz_init_set_si(v, -1250);
    mpz_init_set_si(w, 1000000);
    mpz_init_set_ui(bound, 1000000);
    if (veil_enc_encrypt(&a, pk, v, 2, bound, &e) || veil_enc_encrypt(&b, pk, w, 2, bound, &e) ||
        veil_enc_add(&a, pk, &a, &b, &e) || veil_enc_decrypt(v, sk, &a, &e))
        return fprintf(stderr, "%s\n", e.msg), 1;
    gmp_printf("%Zd\n", v);
    veil_enc_clear(&a);
    veil_enc_clear(&b);
    mpz_clears(v, w, bound, NULL);
    veil_paillier_priv_free(sk);
    return 0;
}
C
cc -std=c11 $san "$work/app.c" $(pkg-config --cflags --libs veil_crypto) \
   -Wl,-rpath,"$(pkg-config --variable=libdir veil_crypto)" -o "$work/app-shared"
cc -std=c11 $san "$work/app.c" $(pkg-config --cflags veil_crypto) \
   "$(pkg-config --variable=libdir veil_crypto)/libveil_crypto.a" \
   $(pkg-config --libs --static veil_crypto | sed 's/-lveil_crypto//') -o "$work/app-static"
for app in app-shared app-static; do
  got=$("$work/$app")
  if [ "$got" != "998750" ]; then
    echo "$app printed '$got', expected 998750"
    exit 1
  fi
done
# The de-identification library's .pc pulls in veil_crypto.
pkg-config --libs veil_deid | grep -q -- -lveil_crypto

# libveil_share through its .pc (which pulls in veil_net and veil_crypto):
# share (-12.50, 7, 10^12) 3-of-5 and reconstruct from parties 2, 4, 5.
cat > "$work/share.c" <<'C'
#include <stdio.h>
#include <veil/share.h>
int main(void)
{
    veil_err e;
    veil_share_plan *p;
    veil_fe secret[3] = {veil_fe_from_i64(-1250), veil_fe_from_i64(700),
                         veil_fe_from_i64(100000000000000LL)};
    veil_fe sh[5][3], *out[5], got[3];
    uint8_t seed[VEIL_SHARE_SEED];
    if (veil_share_plan_new(&p, VEIL_SCHEME_SHAMIR, 5, 3, &e) != VEIL_OK)
        return fprintf(stderr, "%s\n", e.msg), 1;
    for (unsigned k = 0; k < 5; k++) {
        out[k] = sh[k];
        if (veil_share_plan_seed(p, k + 1, seed))
            veil_share_expand(sh[k], seed, 0, 3);
    }
    veil_share_plan_split(p, secret, 0, 3, out);
    veil_share_part parts[3] = {{2, sh[1]}, {4, sh[3]}, {5, sh[4]}};
    if (veil_share_reconstruct(got, VEIL_SCHEME_SHAMIR, 5, 3, parts, 3, 0, 3, &e) != VEIL_OK)
        return fprintf(stderr, "%s\n", e.msg), 1;
    for (int i = 0; i < 3; i++) {
        char buf[64];
        veil_i128_format(buf, sizeof buf, veil_fe_to_i128(got[i]), 2);
        printf("%s%s", i ? " " : "", buf);
    }
    printf("\n");
    veil_share_plan_free(p);
    return 0;
}
C
cc -std=c11 $san "$work/share.c" $(pkg-config --cflags --libs veil_share) \
   -Wl,-rpath,"$(pkg-config --variable=libdir veil_share)" -o "$work/share-shared"
got=$("$work/share-shared")
if [ "$got" != "-12.50 7.00 1000000000000.00" ]; then
  echo "share-shared printed '$got', expected '-12.50 7.00 1000000000000.00'"
  exit 1
fi
echo "2 passed, 0 failed"
