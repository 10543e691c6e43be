/* Epsilons as exact millionths (veil/disclosure.h). */
#include <stdio.h>
#include <string.h>

#include "veil/disclosure.h"
#include "veil/dp.h"

veil_status veil_eps_parse(uint64_t *out, const char *text, veil_err *err)
{
    uint64_t whole = 0, frac = 0;
    unsigned ndec = 0;
    size_t i = 0, len = strlen(text);
    *out = 0;
    if (len == 0 || len >= VEIL_EPS_TEXT_MAX)
        return veil_err_set(err, VEIL_ERR_INPUT, "epsilon '%.40s' is not a decimal number",
                            text);
    for (; i < len && text[i] >= '0' && text[i] <= '9'; i++) {
        whole = whole * 10 + (uint64_t)(text[i] - '0');
        if (whole > (uint64_t)VEIL_DP_EPSILON_MAX)
            return veil_err_set(err, VEIL_ERR_INPUT, "epsilon '%s' is larger than %g", text,
                                VEIL_DP_EPSILON_MAX);
    }
    if (i == 0)
        return veil_err_set(err, VEIL_ERR_INPUT, "epsilon '%s' is not a decimal number", text);
    if (i < len && text[i] == '.') {
        i++;
        for (; i < len && text[i] >= '0' && text[i] <= '9'; i++, ndec++) {
            if (ndec == 6)
                return veil_err_set(err, VEIL_ERR_INPUT,
                                    "epsilon '%s' has more than 6 decimal places", text);
            frac = frac * 10 + (uint64_t)(text[i] - '0');
        }
        if (ndec == 0)
            return veil_err_set(err, VEIL_ERR_INPUT, "epsilon '%s' is not a decimal number",
                                text);
    }
    if (i != len)
        return veil_err_set(err, VEIL_ERR_INPUT, "epsilon '%s' is not a decimal number", text);
    for (; ndec < 6; ndec++)
        frac *= 10;
    uint64_t v = whole * VEIL_EPS_UNIT + frac;
    if (v > (uint64_t)VEIL_DP_EPSILON_MAX * VEIL_EPS_UNIT)
        return veil_err_set(err, VEIL_ERR_INPUT, "epsilon '%s' is larger than %g", text,
                            VEIL_DP_EPSILON_MAX);
    *out = v;
    return VEIL_OK;
}

void veil_eps_format(char out[VEIL_EPS_TEXT_MAX], uint64_t eps)
{
    uint64_t whole = eps / VEIL_EPS_UNIT, frac = eps % VEIL_EPS_UNIT;
    if (frac == 0) {
        snprintf(out, VEIL_EPS_TEXT_MAX, "%llu", (unsigned long long)whole);
        return;
    }
    char f[8];
    snprintf(f, sizeof f, "%06llu", (unsigned long long)frac);
    size_t n = strlen(f);
    while (n > 0 && f[n - 1] == '0')
        f[--n] = '\0';
    snprintf(out, VEIL_EPS_TEXT_MAX, "%llu.%s", (unsigned long long)whole, f);
}
