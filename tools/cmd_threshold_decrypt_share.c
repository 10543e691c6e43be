/* veil threshold decrypt-share: a department's partial decryption of every
 * item of a result file, each with its proof, using only its share. */
#include <sodium.h>
#include <stdio.h>

#include "cliutil.h"
#include "commands.h"
#include "veil/ctfile.h"
#include "veil/threshold.h"

enum { O_SHARE = 1, O_PARTY, O_OUT, O_THREADS, O_FORCE };

static const veil_opt opts[] = {
    {"share", O_SHARE, "SHARE.tsh", "this department's share file", 1, VEIL_IO_IN},
    {"party-key", O_PARTY, "SEC",
     "this department's secret key, when the share is sealed (threshold party-key)", 0, VEIL_IO_IN},
    {"out", O_OUT, "FILE.vpd", "where to write the partial decryptions", 1, VEIL_IO_OUT},
    {"threads", O_THREADS, "N", "worker threads (default: one per CPU)", 0},
    {"force", O_FORCE, NULL, "replace an existing output file", 0},
    {NULL, 0, NULL, NULL, 0},
};

static int run(const veil_cmd *cmd, int argc, char **argv)
{
    veil_args a;
    int rc = veil_cli_begin(&a, cmd, argc, argv);
    if (rc >= 0)
        return rc;
    veil_err err;
    veil_err_clear(&err);
    const char *in = a.args[0];
    unsigned threads = 0;
    uint8_t pk[VEIL_PARTY_KEY_BYTES], sk[VEIL_PARTY_KEY_BYTES];
    veil_threshold_share *share = NULL;
    veil_result res;
    veil_threshold_partials parts;
    veil_result_init(&res);
    veil_threshold_partials_init(&parts);
    veil_status st = VEIL_OK;
    if (veil_cli_file_kind(in) != VEIL_FILE_RESULT)
        st = veil_err_set(&err, VEIL_ERR_USAGE,
                          "%s: expected a result file (.vct); threshold decryption is for "
                          "aggregated totals, not for row-level column files",
                          in);
    if (st == VEIL_OK && a.val[O_THREADS] != NULL)
        st = veil_cli_parse_uint(&threads, a.val[O_THREADS], 1, 1024, "threads", &err);
    if (st == VEIL_OK)
        st = veil_cli_check_distinct(in, a.val[O_OUT], &err);
    if (st == VEIL_OK)
        st = veil_cli_check_new(a.val[O_OUT], a.val[O_FORCE] != NULL, &err);
    if (st == VEIL_OK && a.val[O_PARTY] != NULL)
        st = veil_party_secret_load(pk, sk, a.val[O_PARTY], &err);
    if (st == VEIL_OK)
        st = veil_threshold_share_load(&share, a.val[O_SHARE], a.val[O_PARTY] ? pk : NULL,
                                       a.val[O_PARTY] ? sk : NULL, &err);
    sodium_memzero(sk, sizeof sk);
    if (st == VEIL_OK)
        st = veil_result_load(&res, in, veil_threshold_key_pub(veil_threshold_share_key(share)),
                              &err);
    if (st == VEIL_OK &&
        (st = veil_threshold_partials_make(&parts, share, &res, threads, &err)) != VEIL_OK)
        veil_err_prefix(&err, "%s", in);
    if (st == VEIL_OK)
        st = veil_threshold_partials_save(a.val[O_OUT], &parts, &err);
    if (st == VEIL_OK) {
        veil_audit_note("party_index", "%u", parts.index);
        veil_audit_note("partials", "%zu", parts.count);
    }
    if (st == VEIL_OK) {
        char fp[VEIL_FINGERPRINT_HEX];
        veil_threshold_key_fingerprint_hex(fp, veil_threshold_share_key(share));
        printf("party %u: %zu partial decryption%s of %s written to %s (threshold key %.16s)\n",
               parts.index, parts.count, parts.count == 1 ? "" : "s", in, a.val[O_OUT], fp);
    }
    veil_threshold_partials_clear(&parts);
    veil_result_clear(&res);
    veil_threshold_share_free(share);
    veil_args_free(&a);
    return st == VEIL_OK ? 0 : veil_cli_fail_err(cmd, &err);
}

const veil_cmd veil_cmd_threshold_decrypt_share = {
    .name = "threshold decrypt-share",
    .summary = "Partially decrypt a result file with one department's share.",
    .synopsis = "--share SHARE.tsh --out FILE.vpd [--party-key SEC] RESULT.vct",
    .description =
        "Computes this department's partial decryption of every item of the result file\n"
        "(each per-group sum and the total), each with a non-interactive proof that it\n"
        "was made with the department's real share, and writes them to FILE.vpd with\n"
        "the party index, the threshold key fingerprint and a digest of the result\n"
        "file's items. Needs only the share (no private key exists anywhere). Send\n"
        "FILE.vpd to whoever combines; on its own it reveals nothing about the totals.",
    .opts = opts,
    .min_args = 1,
    .max_args = 1,
    .example = "veil threshold decrypt-share --share share-2.tsh --party-key health.psk \\\n"
               "    --out health.vpd income-by-region.vct",
    .run = run,
    .audited = 1,
    .args_io = VEIL_IO_IN,
};
