/* Policy JSON (jansson, duplicate keys rejected). jansson keeps no
 * positions of parsed values, so semantic errors find the line of the key
 * they concern by a targeted scan of the text: the first `"key"` followed
 * by ':' after the position of the enclosing key. */
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_internal.h"
#include "veil/fixed.h"

typedef struct {
    const char *text;
    size_t len;
    const char *name;
    veil_err *err;
} pctx;

/* Offset just after `"key"` + blanks + ':' at or after `from`, or 0. */
static size_t find_key(const pctx *c, size_t from, const char *key)
{
    size_t kl = strlen(key);
    for (size_t i = from; i + kl + 2 <= c->len; i++) {
        if (c->text[i] != '"' || memcmp(c->text + i + 1, key, kl) != 0 ||
            c->text[i + kl + 1] != '"')
            continue;
        size_t j = i + kl + 2;
        while (j < c->len && (c->text[j] == ' ' || c->text[j] == '\t' || c->text[j] == '\r' ||
                              c->text[j] == '\n'))
            j++;
        if (j < c->len && c->text[j] == ':')
            return i + 1;
    }
    return 0;
}

static unsigned line_at(const pctx *c, size_t off)
{
    unsigned line = 1;
    for (size_t i = 0; i < off && i < c->len; i++)
        line += c->text[i] == '\n';
    return line;
}

static veil_status fail(const pctx *c, size_t off, const char *fmt, ...) VEIL_PRINTF(3, 4);
static veil_status fail(const pctx *c, size_t off, const char *fmt, ...)
{
    char msg[VEIL_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return veil_err_set(c->err, VEIL_ERR_INPUT, "%s:%u: %s", c->name, line_at(c, off), msg);
}

static char *dup(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void free_rules(pol_rule *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(r[i].column);
        for (size_t k = 0; k < r[i].nvalues; k++)
            free(r[i].values[k]);
        free(r[i].values);
    }
    free(r);
}

void veil_deid_policy_free(veil_deid_policy *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->ncols; i++) {
        free(p->cols[i].name);
        free(p->cols[i].replacement);
        free(p->cols[i].domain);
        free(p->cols[i].alphabet);
        veil_gen_num_free(p->cols[i].num);
        veil_hierarchy_free(p->cols[i].hier);
        if (p->cols[i].sens_init)
            mpz_clear(p->cols[i].sensitivity);
    }
    free(p->cols);
    free_rules(p->records, p->nrecords);
    free_rules(p->cells, p->ncells);
    free(p->cell_replacement);
    free(p->name);
    free(p);
}

int veil_deid_policy_noise_column(const veil_deid_policy *p, size_t i, const char **name,
                                  double *epsilon)
{
    for (size_t k = 0; k < p->ncols; k++) {
        if (p->cols[k].action != ACT_NOISE)
            continue;
        if (i-- == 0) {
            *name = p->cols[k].name;
            *epsilon = p->cols[k].epsilon;
            return 1;
        }
    }
    return 0;
}

int veil_deid_policy_needs_key(const veil_deid_policy *p)
{
    for (size_t i = 0; i < p->ncols; i++)
        if (p->cols[i].action == ACT_PSEUDONYMIZE || p->cols[i].action == ACT_FPE)
            return 1;
    return 0;
}

static const char *const ACTIONS[] = {"keep",         "drop", "redact",     "mask",
                                      "pseudonymize", "fpe",  "generalize", "noise"};

static int parse_action(const char *s)
{
    for (int i = 0; i < 8; i++)
        if (strcmp(s, ACTIONS[i]) == 0)
            return i;
    return -1;
}

static int parse_level(const char *s)
{
    if (s[0] == 'L' && s[1] >= '1' && s[1] <= '4' && s[2] == '\0')
        return s[1] - '0';
    return 0;
}

/* Keys each action accepts besides level, action and on_invalid. */
static const char *const ACTION_KEYS[8] = {
    "allow_keep",
    "",
    "replacement",
    "preset keep_first keep_last mask_char luhn replacement",
    "method format bytes domain",
    "preset alphabet domain replacement",
    "interval origin top bottom scale date hierarchy level_index replacement",
    "epsilon sensitivity scale replacement",
};

static int key_allowed(pol_action a, const char *key)
{
    if (strcmp(key, "level") == 0 || strcmp(key, "action") == 0 || strcmp(key, "on_invalid") == 0)
        return 1;
    const char *list = ACTION_KEYS[a];
    size_t kl = strlen(key);
    if (kl == 0) /* strstr would find "" everywhere (found by fuzz_policy) */
        return 0;
    for (const char *p = list; (p = strstr(p, key)) != NULL; p += kl)
        if ((p == list || p[-1] == ' ') && (p[kl] == ' ' || p[kl] == '\0'))
            return 1;
    return 0;
}

/* A string member, or NULL; *bad set when present with another type. */
static const char *str_member(json_t *o, const char *key, int *bad)
{
    json_t *v = json_object_get(o, key);
    if (v == NULL)
        return NULL;
    if (!json_is_string(v)) {
        *bad = 1;
        return NULL;
    }
    return json_string_value(v);
}

/* A number given as a JSON integer or a decimal string, as text. */
static veil_status num_text(const pctx *c, size_t at, json_t *o, const char *key, char *buf,
                            size_t cap, const char **out)
{
    json_t *v = json_object_get(o, key);
    *out = NULL;
    if (v == NULL)
        return VEIL_OK;
    if (json_is_integer(v)) {
        snprintf(buf, cap, "%lld", (long long)json_integer_value(v));
        *out = buf;
    } else if (json_is_string(v)) {
        *out = json_string_value(v);
    } else {
        return fail(c, find_key(c, at, key), "\"%s\" must be an integer or a decimal string", key);
    }
    return VEIL_OK;
}

static veil_status uint_member(const pctx *c, size_t at, json_t *o, const char *key, unsigned max,
                               unsigned *out)
{
    json_t *v = json_object_get(o, key);
    if (v == NULL)
        return VEIL_OK;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > (json_int_t)max)
        return fail(c, find_key(c, at, key), "\"%s\" must be an integer in 0..%u", key, max);
    *out = (unsigned)json_integer_value(v);
    return VEIL_OK;
}

/* Loads a hierarchy file named relative to the policy file's directory. */
static veil_status load_hierarchy(const pctx *c, pol_column *col, const char *name,
                                  const char *file, json_t *o, size_t at)
{
    char path[4096];
    const char *slash = strrchr(c->name, '/');
    if (file[0] == '/' || slash == NULL)
        snprintf(path, sizeof path, "%s", file);
    else
        snprintf(path, sizeof path, "%.*s/%s", (int)(slash - c->name), c->name, file);
    veil_err e;
    if (veil_hierarchy_load(&col->hier, path, &e) != VEIL_OK)
        return fail(c, find_key(c, at, "hierarchy"), "column \"%s\": %s", name, e.msg);
    unsigned levels = veil_hierarchy_levels(col->hier);
    json_t *li = json_object_get(o, "level_index");
    if (!json_is_integer(li) || json_integer_value(li) < 0 ||
        json_integer_value(li) >= (json_int_t)levels)
        return fail(c, li ? find_key(c, at, "level_index") : at,
                    "column \"%s\": \"level_index\" must be an integer in 0..%u for %s", name,
                    levels - 1, path);
    col->hier_level = (unsigned)json_integer_value(li);
    return VEIL_OK;
}

static veil_status parse_column(const pctx *c, pol_column *col, const char *name, json_t *o,
                                const int defaults[5], size_t at)
{
    int bad = 0;
    if (!json_is_object(o))
        return fail(c, at, "column \"%s\": the rule must be an object", name);
    const char *lv = str_member(o, "level", &bad);
    if (lv == NULL || !(col->level = parse_level(lv)))
        return fail(c, lv ? find_key(c, at, "level") : at,
                    "column \"%s\": \"level\" must be one of L1, L2, L3, L4", name);
    const char *act = str_member(o, "action", &bad);
    int a = act ? parse_action(act) : defaults[col->level];
    if (bad || a < 0)
        return fail(c, find_key(c, at, "action"), "column \"%s\": unknown action \"%s\"", name,
                    act ? act : "?");
    col->action = (pol_action)a;
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        if (!key_allowed(col->action, k))
            return fail(c, find_key(c, at, k),
                        "column \"%s\": key \"%s\" does not apply to action \"%s\"", name, k,
                        ACTIONS[a]);
    }
    const char *inv = str_member(o, "on_invalid", &bad);
    if (inv != NULL) {
        if (strcmp(inv, "fail") == 0)
            col->on_invalid = INVALID_FAIL;
        else if (strcmp(inv, "redact") == 0)
            col->on_invalid = INVALID_REDACT;
        else if (strcmp(inv, "suppress") == 0)
            col->on_invalid = INVALID_SUPPRESS;
        else
            bad = 2;
    }
    if (bad)
        return fail(c, find_key(c, at, "on_invalid"),
                    "column \"%s\": \"on_invalid\" must be \"fail\", \"redact\" or \"suppress\"",
                    name);
    const char *rep = str_member(o, "replacement", &bad);
    if (bad)
        return fail(c, find_key(c, at, "replacement"),
                    "column \"%s\": \"replacement\" must be a string", name);
    if ((col->replacement = strdup(rep ? rep : "")) == NULL)
        return veil_err_set(c->err, VEIL_ERR_NOMEM, "out of memory");
    veil_status st = VEIL_OK;
    switch (col->action) {
    case ACT_KEEP: {
        json_t *ak = json_object_get(o, "allow_keep");
        if (col->level >= 3 && !json_is_true(ak))
            return fail(c, at,
                        "column \"%s\": \"keep\" on an L%d column needs \"allow_keep\": true", name,
                        col->level);
        break;
    }
    case ACT_DROP:
    case ACT_REDACT: break;
    case ACT_MASK: {
        const char *pre = str_member(o, "preset", &bad);
        int has_keep = json_object_get(o, "keep_first") || json_object_get(o, "keep_last");
        if (pre != NULL && veil_mask_preset_parse(&col->mask.preset, pre) != 0)
            return fail(c, find_key(c, at, "preset"), "column \"%s\": unknown preset \"%s\"", name,
                        pre);
        if (bad || (pre == NULL) == !has_keep)
            return fail(
                c, at,
                "column \"%s\": \"mask\" needs either a \"preset\" or \"keep_first\"/\"keep_last\"",
                name);
        if ((st = uint_member(c, at, o, "keep_first", 1024, &col->mask.keep_first)) != VEIL_OK ||
            (st = uint_member(c, at, o, "keep_last", 1024, &col->mask.keep_last)) != VEIL_OK)
            return st;
        const char *mc = str_member(o, "mask_char", &bad);
        col->mask.mask_char = '*';
        if (mc != NULL &&
            (strlen(mc) != 1 || mc[0] < 0x21 || mc[0] > 0x7e || mc[0] == '"' || mc[0] == ','))
            bad = 1;
        if (bad)
            return fail(c, find_key(c, at, "mask_char"),
                        "column \"%s\": \"mask_char\" must be one printable ASCII character", name);
        if (mc != NULL)
            col->mask.mask_char = mc[0];
        json_t *lu = json_object_get(o, "luhn");
        if (lu != NULL && (col->mask.preset != VEIL_MASK_BANK_CARD || !json_is_boolean(lu)))
            return fail(c, find_key(c, at, "luhn"),
                        "column \"%s\": \"luhn\" is a true/false option of preset \"bank-card\"",
                        name);
        col->mask.luhn = json_is_true(lu);
        break;
    }
    case ACT_PSEUDONYMIZE: {
        const char *m = str_member(o, "method", &bad), *f = str_member(o, "format", &bad);
        const char *d = str_member(o, "domain", &bad);
        if (m == NULL || strcmp(m, "hmac-sha256") == 0)
            col->method = VEIL_PSEUDO_HMAC_SHA256;
        else if (strcmp(m, "blake2b") == 0)
            col->method = VEIL_PSEUDO_BLAKE2B;
        else
            return fail(c, find_key(c, at, "method"),
                        "column \"%s\": unknown method \"%s\" (hmac-sha256 or blake2b)", name, m);
        if (f == NULL || strcmp(f, "hex") == 0)
            col->format = VEIL_PSEUDO_HEX;
        else if (strcmp(f, "base32") == 0)
            col->format = VEIL_PSEUDO_BASE32;
        else
            return fail(c, find_key(c, at, "format"),
                        "column \"%s\": unknown format \"%s\" (hex or base32)", name, f);
        if (bad)
            return fail(c, at,
                        "column \"%s\": \"method\", \"format\" and \"domain\" must be strings",
                        name);
        col->bytes = 16;
        if ((st = uint_member(c, at, o, "bytes", VEIL_PSEUDO_BYTES_MAX, &col->bytes)) != VEIL_OK)
            return st;
        if (col->bytes < VEIL_PSEUDO_BYTES_MIN)
            return fail(c, find_key(c, at, "bytes"), "column \"%s\": \"bytes\" must be in %d..%d",
                        name, VEIL_PSEUDO_BYTES_MIN, VEIL_PSEUDO_BYTES_MAX);
        if ((col->domain = strdup(d ? d : "default")) == NULL)
            return veil_err_set(c->err, VEIL_ERR_NOMEM, "out of memory");
        break;
    }
    case ACT_FPE: {
        const char *pre = str_member(o, "preset", &bad), *al = str_member(o, "alphabet", &bad);
        const char *d = str_member(o, "domain", &bad);
        if (pre != NULL && strcmp(pre, "resident-id") != 0)
            return fail(c, find_key(c, at, "preset"),
                        "column \"%s\": unknown preset \"%s\" for fpe (resident-id)", name, pre);
        if (bad || (pre == NULL) == (al == NULL))
            return fail(c, at,
                        "column \"%s\": \"fpe\" needs either \"preset\": \"resident-id\" or an "
                        "\"alphabet\"",
                        name);
        if (al != NULL) {
            size_t n = strlen(al);
            int dupc = n < 2 || n > 256;
            for (size_t i = 0; i < n && !dupc; i++)
                dupc = memchr(al + i + 1, al[i], n - i - 1) != NULL || al[i] == ',' || al[i] == '"';
            if (dupc)
                return fail(c, find_key(c, at, "alphabet"),
                            "column \"%s\": \"alphabet\" must have 2..256 distinct characters (no "
                            "comma or quote)",
                            name);
        }
        col->fpe_resident_id = pre != NULL;
        if ((al && (col->alphabet = strdup(al)) == NULL) ||
            (col->domain = strdup(d ? d : "")) == NULL)
            return veil_err_set(c->err, VEIL_ERR_NOMEM, "out of memory");
        break;
    }
    case ACT_GENERALIZE: {
        const char *date = str_member(o, "date", &bad);
        const char *hier = str_member(o, "hierarchy", &bad);
        if (hier != NULL || json_object_get(o, "level_index") != NULL) {
            if (bad || hier == NULL || date != NULL || json_object_get(o, "interval") ||
                json_object_get(o, "top") || json_object_get(o, "bottom") ||
                json_object_get(o, "origin") || json_object_get(o, "scale"))
                return fail(c, find_key(c, at, hier ? "hierarchy" : "level_index"),
                            "column \"%s\": \"hierarchy\" (a file name) and \"level_index\" go "
                            "together, without other generalization keys",
                            name);
            return load_hierarchy(c, col, name, hier, o, at);
        }
        char b1[32], b2[32], b3[32], b4[32];
        const char *iv, *orig, *top, *bot;
        if (bad)
            return fail(c, find_key(c, at, "date"),
                        "column \"%s\": \"date\" must be \"day\", \"month\" or \"year\"", name);
        if ((st = num_text(c, at, o, "interval", b1, sizeof b1, &iv)) != VEIL_OK ||
            (st = num_text(c, at, o, "origin", b2, sizeof b2, &orig)) != VEIL_OK ||
            (st = num_text(c, at, o, "top", b3, sizeof b3, &top)) != VEIL_OK ||
            (st = num_text(c, at, o, "bottom", b4, sizeof b4, &bot)) != VEIL_OK)
            return st;
        int numeric = iv || orig || top || bot || json_object_get(o, "scale");
        if (date != NULL && numeric)
            return fail(c, find_key(c, at, "date"),
                        "column \"%s\": \"date\" cannot be combined with numeric generalization",
                        name);
        if (date != NULL) {
            col->is_date = 1;
            if (strcmp(date, "day") == 0)
                col->date = VEIL_DATE_DAY;
            else if (strcmp(date, "month") == 0)
                col->date = VEIL_DATE_MONTH;
            else if (strcmp(date, "year") == 0)
                col->date = VEIL_DATE_YEAR;
            else
                return fail(c, find_key(c, at, "date"),
                            "column \"%s\": \"date\" must be \"day\", \"month\" or \"year\"", name);
            break;
        }
        if (!iv && !top && !bot)
            return fail(
                c, at,
                "column \"%s\": \"generalize\" needs \"interval\", \"top\", \"bottom\" or \"date\"",
                name);
        unsigned scale = 0;
        if ((st = uint_member(c, at, o, "scale", 18, &scale)) != VEIL_OK)
            return st;
        if ((st = veil_gen_num_new(&col->num, iv, orig, top, bot, scale, c->err)) != VEIL_OK)
            return fail(c, at, "column \"%s\": %s", name, c->err->msg);
        break;
    }
    case ACT_NOISE: {
        json_t *eps = json_object_get(o, "epsilon");
        char b1[32];
        const char *sens;
        if (!json_is_number(eps) || json_number_value(eps) <= 0)
            return fail(c, eps ? find_key(c, at, "epsilon") : at,
                        "column \"%s\": \"noise\" needs a positive number \"epsilon\"", name);
        col->epsilon = json_number_value(eps);
        if ((st = uint_member(c, at, o, "scale", 18, &col->scale)) != VEIL_OK ||
            (st = num_text(c, at, o, "sensitivity", b1, sizeof b1, &sens)) != VEIL_OK)
            return st;
        if (sens == NULL)
            return fail(c, at, "column \"%s\": \"noise\" needs \"sensitivity\"", name);
        mpz_init(col->sensitivity);
        col->sens_init = 1;
        if (veil_fixed_parse(col->sensitivity, sens, strlen(sens), col->scale, c->err) != VEIL_OK ||
            mpz_sgn(col->sensitivity) <= 0)
            return fail(c, find_key(c, at, "sensitivity"),
                        "column \"%s\": \"sensitivity\" must be a positive decimal at \"scale\" %u",
                        name, col->scale);
        break;
    }
    }
    return VEIL_OK;
}

static veil_status parse_rules(const pctx *c, json_t *arr, const char *what, size_t at,
                               pol_rule **out, size_t *n)
{
    if (!json_is_array(arr))
        return fail(c, at, "\"%s\" must be an array of {\"column\": ..., \"in\": [...]}", what);
    size_t cnt = json_array_size(arr);
    if ((*out = calloc(cnt ? cnt : 1, sizeof **out)) == NULL)
        return veil_err_set(c->err, VEIL_ERR_NOMEM, "out of memory");
    size_t i;
    json_t *r;
    json_array_foreach(arr, i, r)
    {
        pol_rule *rule = &(*out)[i];
        *n = i + 1;
        json_t *col = json_object_get(r, "column"), *in = json_object_get(r, "in");
        if (!json_is_object(r) || json_object_size(r) != 2 || !json_is_string(col) ||
            !json_is_array(in))
            return fail(c, at, "\"%s\" rule %zu must be {\"column\": NAME, \"in\": [VALUES]}", what,
                        i + 1);
        rule->column = strdup(json_string_value(col));
        rule->line = line_at(c, at);
        rule->nvalues = json_array_size(in);
        rule->values = calloc(rule->nvalues ? rule->nvalues : 1, sizeof *rule->values);
        if (rule->column == NULL || rule->values == NULL)
            return veil_err_set(c->err, VEIL_ERR_NOMEM, "out of memory");
        for (size_t k = 0; k < rule->nvalues; k++) {
            json_t *v = json_array_get(in, k);
            if (!json_is_string(v))
                return fail(c, at, "\"%s\" rule %zu: values must be strings", what, i + 1);
            if ((rule->values[k] = strdup(json_string_value(v))) == NULL)
                return veil_err_set(c->err, VEIL_ERR_NOMEM, "out of memory");
        }
    }
    return VEIL_OK;
}

static veil_status parse_root(const pctx *c, veil_deid_policy *p, json_t *root)
{
    int defaults[5] = {0, ACT_KEEP, ACT_GENERALIZE, ACT_PSEUDONYMIZE, ACT_DROP};
    const char *k;
    json_t *v;
    if (!json_is_object(root))
        return fail(c, 0, "the policy must be a JSON object");
    json_object_foreach(root, k, v)
    {
        if (strcmp(k, "version") && strcmp(k, "levels") && strcmp(k, "unlisted") &&
            strcmp(k, "columns") && strcmp(k, "suppress"))
            return fail(c, find_key(c, 0, k), "unknown key \"%s\"", k);
    }
    json_t *ver = json_object_get(root, "version");
    if (!json_is_integer(ver) || json_integer_value(ver) != 1)
        return fail(c, find_key(c, 0, "version"), "\"version\" must be 1");
    json_t *lv = json_object_get(root, "levels");
    if (lv != NULL) {
        size_t at = find_key(c, 0, "levels");
        if (!json_is_object(lv))
            return fail(c, at, "\"levels\" must be an object");
        json_object_foreach(lv, k, v)
        {
            int l = parse_level(k);
            int a = json_is_string(v) ? parse_action(json_string_value(v)) : -1;
            if (l == 0)
                return fail(c, find_key(c, at, k), "\"levels\": unknown level \"%s\"", k);
            if (a < 0 || a == ACT_MASK || a == ACT_FPE)
                return fail(
                    c, find_key(c, at, k),
                    "\"levels\": \"%s\" must be keep, drop, redact, pseudonymize or generalize", k);
            defaults[l] = a;
        }
    }
    json_t *un = json_object_get(root, "unlisted");
    if (un != NULL) {
        const char *s = json_is_string(un) ? json_string_value(un) : "";
        if (strcmp(s, "refuse") == 0)
            p->unlisted = UNLISTED_REFUSE;
        else if (strcmp(s, "drop") == 0)
            p->unlisted = UNLISTED_DROP;
        else if (strcmp(s, "keep") == 0)
            p->unlisted = UNLISTED_KEEP;
        else
            return fail(c, find_key(c, 0, "unlisted"),
                        "\"unlisted\" must be \"refuse\", \"drop\" or \"keep\"");
    }
    json_t *cols = json_object_get(root, "columns");
    size_t cat = find_key(c, 0, "columns");
    p->columns_line = line_at(c, cat);
    if (!json_is_object(cols) || json_object_size(cols) == 0)
        return fail(c, cat, "\"columns\" must be a non-empty object");
    if (json_object_size(cols) > VEIL_POLICY_MAX_COLUMNS)
        return fail(c, cat, "more than %d columns", VEIL_POLICY_MAX_COLUMNS);
    if ((p->cols = calloc(json_object_size(cols), sizeof *p->cols)) == NULL)
        return veil_err_set(c->err, VEIL_ERR_NOMEM, "out of memory");
    json_object_foreach(cols, k, v)
    {
        pol_column *col = &p->cols[p->ncols++];
        size_t at = find_key(c, cat, k);
        if (at == 0)
            at = cat;
        col->line = line_at(c, at);
        if ((col->name = strdup(k)) == NULL)
            return veil_err_set(c->err, VEIL_ERR_NOMEM, "out of memory");
        veil_status st = parse_column(c, col, k, v, defaults, at);
        if (st != VEIL_OK)
            return st;
    }
    json_t *sup = json_object_get(root, "suppress");
    if (sup != NULL) {
        size_t at = find_key(c, 0, "suppress");
        if (!json_is_object(sup))
            return fail(c, at, "\"suppress\" must be an object");
        json_object_foreach(sup, k, v)
        {
            size_t kat = find_key(c, at, k);
            veil_status st = VEIL_OK;
            if (strcmp(k, "records_where") == 0)
                st = parse_rules(c, v, k, kat, &p->records, &p->nrecords);
            else if (strcmp(k, "cells_where") == 0)
                st = parse_rules(c, v, k, kat, &p->cells, &p->ncells);
            else if (strcmp(k, "replacement") == 0 && json_is_string(v))
                p->cell_replacement = dup(json_string_value(v));
            else
                st = fail(c, kat, "\"suppress\": unknown key \"%s\"", k);
            if (st != VEIL_OK)
                return st;
        }
    }
    if (p->cell_replacement == NULL && (p->cell_replacement = strdup("*")) == NULL)
        return veil_err_set(c->err, VEIL_ERR_NOMEM, "out of memory");
    return VEIL_OK;
}

veil_status veil_deid_policy_parse(veil_deid_policy **out, const char *text, size_t len,
                                   const char *name, veil_err *err)
{
    *out = NULL;
    name = name ? name : "policy";
    if (len > VEIL_POLICY_MAX_BYTES)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: longer than %u bytes", name,
                            VEIL_POLICY_MAX_BYTES);
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s:%d: %s", name, je.line, je.text);
    pctx c = {text, len, name, err};
    veil_deid_policy *p = calloc(1, sizeof *p);
    veil_status st = p ? VEIL_OK : veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    if (st == VEIL_OK && (p->name = strdup(name)) == NULL)
        st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    if (st == VEIL_OK)
        st = parse_root(&c, p, root);
    json_decref(root);
    if (st != VEIL_OK) {
        veil_deid_policy_free(p);
        return st;
    }
    *out = p;
    return VEIL_OK;
}

veil_status veil_deid_policy_load(veil_deid_policy **out, const char *path, veil_err *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return veil_err_set(err, VEIL_ERR_IO, "%s: %s", path, strerror(errno));
    char *buf = malloc(VEIL_POLICY_MAX_BYTES + 1);
    size_t n = buf ? fread(buf, 1, VEIL_POLICY_MAX_BYTES + 1, f) : 0;
    veil_status st = VEIL_OK;
    if (buf == NULL)
        st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    else if (ferror(f))
        st = veil_err_set(err, VEIL_ERR_IO, "%s: read failed", path);
    fclose(f);
    if (st == VEIL_OK)
        st = veil_deid_policy_parse(out, buf, n, path, err);
    free(buf);
    return st;
}
