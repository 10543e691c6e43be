/* Fixed safe primes for the threshold Paillier tests, so that the suites do
 * not spend time on safe-prime generation (threshold keys are dealt from
 * them with veil_threshold_deal, which is fast).
 *
 * Each is a 1024-bit safe prime p = 2p' + 1 (p' prime) with its top two bits
 * set, so n = p q has exactly 2048 bits. They were generated once with the
 * library's own search:
 *
 *     mpz_t p; mpz_init(p);
 *     for (int i = 0; i < 4; i++) {
 *         veil_threshold_safe_prime(p, 1024, NULL, NULL, 0, 1, &err);
 *         gmp_printf("%Zx\n", p);
 *     }
 *
 * and checked independently (Miller-Rabin on p and (p - 1) / 2 in Python).
 * Key A is (P1, Q1), key B (a different modulus) is (P2, Q2). These are
 * TEST keys: their factors are public. tests/e2e_threshold.sh reads the
 * hex strings below with sed; keep each on one line. */
#ifndef VEIL_THRESHOLD_TESTKEY_H
#define VEIL_THRESHOLD_TESTKEY_H

/* One define per line: tests/e2e_threshold.sh reads these lines with sed. */
// clang-format off
#define TK_P1_HEX "e1ff608d2e57455598b8ad8739947a73d2783523397aec467dd3361d03b11fb4da97d66560376655bd3c27ed220df01efc37d4604c24f7c7f87fabcb5f51b1cd9ee26ff17c03325e39dd266495540bc85c8b58639f41a3de0bdd74925b563916184bfef066f9fdbc048d43def77a0a099dd44a72009435b691c005ed21cfef17"
#define TK_Q1_HEX "dfbc2727b6dc9b8daa4055c1e731deba5fcfc09d0f3ab667803385fd5d86d265b9ba01f17f2fc56894b56ac3e316adf18b725e8412a1865324ff73f589b5e859eac126d5a13654a0412d4faed62000f025263a765193e6e9d8d16fcb2daf0a6b4ada3d138187b5e919fdc31f25621828c4872c04cc413c8a34ee341e201d6f1f"
#define TK_P2_HEX "ce772bcda9a74b3165a33eaea0ad582b7ff91d1f06508577f0e3225ea7de6b748882a059547d99f69fa0daa9fb94750aa350d5687652906dea34ac916c6af0154a8c314ed9ea52865ca8308cac7d1e6069737b8664d87a8ae6b5af123da4d6a922bc752ecd7a2dffb8a7f6c84598c95b9c8963afe037e086b499e0df78c83613"
#define TK_Q2_HEX "db6b80c527b1432760160c3c36d97ad55bce4b49751826a9a743f2d6541573e064310979aef0546af7c2eaa8e1cb593e70b5426f5d1ba248d4f94cd8b46c348f2df9392d8e2798c9f33ded6078f53e794485f74130e588bafb939f8abf258e187827fdc7673775693a86bb890a7ef00f00c379c12c068eb7a100f1b24548dcb7"
// clang-format on

#endif
