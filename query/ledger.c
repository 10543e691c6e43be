/* The privacy budget ledger of a dataset (veil/disclosure.h, docs/ledger.md):
 * a strict JSON file read with jansson (every field checked, unknown fields
 * refused, spends adding up to no more than the budget), written atomically
 * with mode 0600, and spent under flock on PATH.lock so that concurrent
 * queries never both get the last of a budget. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "framing.h"
#include "veil/disclosure.h"
#include "veil/dp.h"

#define LEDGER_FORMAT "veil-ledger-v1"
#define QUERY_MAX     128
#define EPS_MAX       ((uint64_t)VEIL_DP_EPSILON_MAX * VEIL_EPS_UNIT)

/* ---- field checks ---- */

static int dataset_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > VEIL_DATASET_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static int query_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > QUERY_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return 0;
    return 1;
}

static unsigned two_digits(const char *p)
{
    return (unsigned)(p[0] - '0') * 10 + (unsigned)(p[1] - '0');
}

/* Exactly "YYYY-MM-DDTHH:MM:SSZ" naming a real date and time of day. */
static int time_ok(const char *s)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
    if (strlen(s) != sizeof shape - 1)
        return 0;
    for (size_t i = 0; i < sizeof shape - 1; i++)
        if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
            return 0;
    unsigned year = two_digits(s) * 100 + two_digits(s + 2);
    unsigned month = two_digits(s + 5), day = two_digits(s + 8);
    static const unsigned mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (year == 0 || month < 1 || month > 12 || day < 1)
        return 0;
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (day > mdays[month - 1] + (month == 2 && leap ? 1u : 0u))
        return 0;
    return two_digits(s + 11) <= 23 && two_digits(s + 14) <= 59 && two_digits(s + 17) <= 59;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* 64 lowercase hex digits into 32 bytes; 0 on anything else. */
static int digest_parse(uint8_t out[32], const char *s)
{
    if (strlen(s) != 64)
        return 0;
    for (size_t i = 0; i < 32; i++) {
        int hi = hex_value(s[2 * i]), lo = hex_value(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return 0;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 1;
}

/* ---- parsing ---- */

/* Fails unless every key of obj is one of the NULL-terminated names. */
static veil_status only_keys(json_t *obj, const char *const *names, const char *name,
                             const char *where, veil_err *err)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        int known = 0;
        for (const char *const *n = names; *n != NULL; n++)
            known |= strcmp(key, *n) == 0;
        if (!known)
            return veil_err_set(err, VEIL_ERR_INPUT, "%s: %s\"%s\": unknown field", name, where,
                                key);
    }
    return VEIL_OK;
}

/* A required string field without NUL bytes. `where` is "" or "spends[i]."
 * and prefixes the field in messages. */
static veil_status get_string(json_t *obj, const char *key, const char **out, const char *name,
                              const char *where, veil_err *err)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: %s%s: missing", name, where, key);
    if (!json_is_string(v))
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: %s%s: must be a string", name, where, key);
    *out = json_string_value(v);
    if (strlen(*out) != json_string_length(v))
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: %s%s: contains a NUL character", name, where,
                            key);
    return VEIL_OK;
}

/* An epsilon written as a decimal string, > 0. */
static veil_status get_eps(json_t *obj, const char *key, uint64_t *out, const char *name,
                           const char *where, veil_err *err)
{
    const char *text;
    veil_status st = get_string(obj, key, &text, name, where, err);
    if (st != VEIL_OK)
        return st;
    if (veil_eps_parse(out, text, err) != VEIL_OK)
        return veil_err_prefix(err, "%s: %s%s", name, where, key);
    if (*out == 0)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: %s%s: must be greater than 0", name, where,
                            key);
    return VEIL_OK;
}

static veil_status parse_spend(veil_ledger_spend_entry *e, json_t *obj, size_t i, const char *name,
                               veil_err *err)
{
    static const char *const keys[] = {"time", "query", "digest", "epsilon", NULL};
    char where[48];
    snprintf(where, sizeof where, "spends[%zu].", i);
    if (!json_is_object(obj))
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: spends[%zu]: must be an object", name, i);
    char at[48];
    snprintf(at, sizeof at, "spends[%zu]: ", i);
    veil_status st = only_keys(obj, keys, name, at, err);
    const char *text;
    if (st == VEIL_OK && (st = get_string(obj, "time", &text, name, where, err)) == VEIL_OK) {
        if (!time_ok(text))
            return veil_err_set(err, VEIL_ERR_INPUT,
                                "%s: %stime: \"%.40s\" is not a UTC time YYYY-MM-DDTHH:MM:SSZ",
                                name, where, text);
        memcpy(e->time, text, strlen(text) + 1);
    }
    if (st == VEIL_OK && (st = get_string(obj, "query", &text, name, where, err)) == VEIL_OK) {
        if (!query_ok(text))
            return veil_err_set(err, VEIL_ERR_INPUT,
                                "%s: %squery: must be 1 to %d printable ASCII characters", name,
                                where, QUERY_MAX);
        memcpy(e->query, text, strlen(text) + 1);
    }
    if (st == VEIL_OK && (st = get_string(obj, "digest", &text, name, where, err)) == VEIL_OK &&
        !digest_parse(e->digest, text))
        return veil_err_set(err, VEIL_ERR_INPUT,
                            "%s: %sdigest: must be 64 lowercase hex digits (BLAKE2b-256)", name,
                            where);
    if (st == VEIL_OK)
        st = get_eps(obj, "epsilon", &e->epsilon, name, where, err);
    return st;
}

static veil_status parse_root(veil_ledger *l, json_t *root, const char *name, veil_err *err)
{
    static const char *const keys[] = {"format", "dataset", "budget", "spends", NULL};
    if (!json_is_object(root))
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: not a JSON object", name);
    veil_status st = only_keys(root, keys, name, "", err);
    if (st != VEIL_OK)
        return st;
    const char *text;
    if ((st = get_string(root, "format", &text, name, "", err)) != VEIL_OK)
        return st;
    if (strcmp(text, LEDGER_FORMAT) != 0)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: format: \"%.40s\" is not \"%s\"", name, text,
                            LEDGER_FORMAT);
    if ((st = get_string(root, "dataset", &text, name, "", err)) != VEIL_OK)
        return st;
    if (!dataset_ok(text))
        return veil_err_set(err, VEIL_ERR_INPUT,
                            "%s: dataset: must be 1 to %d of A-Z a-z 0-9 . _ -", name,
                            VEIL_DATASET_MAX);
    memcpy(l->dataset, text, strlen(text) + 1);
    if ((st = get_eps(root, "budget", &l->budget, name, "", err)) != VEIL_OK)
        return st;
    json_t *spends = json_object_get(root, "spends");
    if (spends == NULL)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: spends: missing", name);
    if (!json_is_array(spends))
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: spends: must be a list", name);
    size_t n = json_array_size(spends);
    if (n > 0 && (l->spends = calloc(n, sizeof *l->spends)) == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        veil_ledger_spend_entry *e = &l->spends[i];
        if ((st = parse_spend(e, json_array_get(spends, i), i, name, err)) != VEIL_OK)
            return st;
        l->nspends = i + 1;
        /* Both terms are at most VEIL_DP_EPSILON_MAX: no overflow. */
        if (e->epsilon > l->budget - l->spent) {
            char total[VEIL_EPS_TEXT_MAX], budget[VEIL_EPS_TEXT_MAX];
            veil_eps_format(total, l->spent + e->epsilon);
            veil_eps_format(budget, l->budget);
            return veil_err_set(err, VEIL_ERR_INPUT,
                                "%s: spends[%zu].epsilon: the spends add up to %s, more than the "
                                "budget of %s",
                                name, i, total, budget);
        }
        l->spent += e->epsilon;
    }
    return VEIL_OK;
}

veil_status veil_ledger_parse(veil_ledger *out, const char *text, size_t len, const char *name,
                              veil_err *err)
{
    memset(out, 0, sizeof *out);
    if (len > VEIL_LEDGER_FILE_MAX)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: larger than %u bytes", name,
                            VEIL_LEDGER_FILE_MAX);
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s:%d:%d: %s", name, je.line, je.column, je.text);
    veil_status st = parse_root(out, root, name, err);
    json_decref(root);
    if (st != VEIL_OK)
        veil_ledger_free(out);
    return st;
}

void veil_ledger_free(veil_ledger *l)
{
    if (l == NULL)
        return;
    free(l->spends);
    memset(l, 0, sizeof *l);
}

/* ---- files ---- */

/* Reads the ledger at path: a regular file (not a symbolic link) that only
 * its owner can read, since spends name queries and their budget. */
static veil_status read_ledger(char **out, size_t *len, const char *path, veil_err *err)
{
    *out = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0 && errno == ELOOP)
        return veil_err_set(err, VEIL_ERR_INPUT,
                            "%s: is a symbolic link; a ledger must be a regular file", path);
    if (fd < 0)
        return veil_err_set(err, VEIL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    veil_status st = VEIL_OK;
    char *buf = NULL;
    struct stat sb;
    if (fstat(fd, &sb) != 0)
        st = veil_err_set(err, VEIL_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    else if (!S_ISREG(sb.st_mode))
        st = veil_err_set(err, VEIL_ERR_INPUT, "%s: not a regular file", path);
    else if ((sb.st_mode & 077) != 0)
        st = veil_err_set(err, VEIL_ERR_USAGE,
                          "%s: the ledger is readable by group or others (mode %04o); run "
                          "chmod 600 %s",
                          path, (unsigned)(sb.st_mode & 07777), path);
    else if ((uint64_t)sb.st_size > VEIL_LEDGER_FILE_MAX)
        st = veil_err_set(err, VEIL_ERR_INPUT, "%s: larger than %u bytes", path,
                          VEIL_LEDGER_FILE_MAX);
    else if ((buf = malloc(VEIL_LEDGER_FILE_MAX + 2)) == NULL)
        st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    size_t used = 0;
    while (st == VEIL_OK && used <= VEIL_LEDGER_FILE_MAX) {
        ssize_t n = read(fd, buf + used, VEIL_LEDGER_FILE_MAX + 1 - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            st = veil_err_set(err, VEIL_ERR_IO, "%s: read failed: %s", path, strerror(errno));
        if (n <= 0)
            break;
        used += (size_t)n;
    }
    if (st == VEIL_OK && used > VEIL_LEDGER_FILE_MAX) /* it grew while we read */
        st = veil_err_set(err, VEIL_ERR_INPUT, "%s: larger than %u bytes", path,
                          VEIL_LEDGER_FILE_MAX);
    close(fd);
    if (st != VEIL_OK) {
        free(buf);
        return st;
    }
    buf[used] = '\0';
    *out = buf;
    *len = used;
    return VEIL_OK;
}

veil_status veil_ledger_load(veil_ledger *out, const char *path, veil_err *err)
{
    memset(out, 0, sizeof *out);
    char *buf;
    size_t len;
    veil_status st = read_ledger(&buf, &len, path, err);
    if (st != VEIL_OK)
        return st;
    st = veil_ledger_parse(out, buf, len, path, err);
    free(buf);
    return st;
}

/* The ledger as JSON text (keys in the documented order, one spend a line). */
static veil_status serialize(char **out, const veil_ledger *l, veil_err *err)
{
    *out = NULL;
    char eps[VEIL_EPS_TEXT_MAX];
    veil_eps_format(eps, l->budget);
    json_t *root = json_pack("{s:s, s:s, s:s, s:[]}", "format", LEDGER_FORMAT, "dataset",
                             l->dataset, "budget", eps, "spends");
    json_t *spends = root == NULL ? NULL : json_object_get(root, "spends");
    for (size_t i = 0; spends != NULL && i < l->nspends; i++) {
        const veil_ledger_spend_entry *e = &l->spends[i];
        char hex[65];
        for (size_t j = 0; j < 32; j++)
            snprintf(hex + 2 * j, 3, "%02x", e->digest[j]);
        veil_eps_format(eps, e->epsilon);
        if (json_array_append_new(spends,
                                  json_pack("{s:s, s:s, s:s, s:s}", "time", e->time, "query",
                                            e->query, "digest", hex, "epsilon", eps)) != 0)
            spends = NULL;
    }
    char *text = spends == NULL ? NULL : json_dumps(root, JSON_INDENT(2) | JSON_ENSURE_ASCII);
    json_decref(root);
    if (text == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    *out = text;
    return VEIL_OK;
}

static veil_status write_ledger(const char *path, const veil_ledger *l, veil_err *err)
{
    char *text;
    veil_status st = serialize(&text, l, err);
    if (st != VEIL_OK)
        return st;
    size_t n = strlen(text);
    char *line = malloc(n + 2);
    if (line == NULL) {
        free(text);
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    }
    memcpy(line, text, n);
    line[n] = '\n';
    line[n + 1] = '\0';
    free(text);
    st = veil_file_write_atomic(path, line, n + 1, 0600, err);
    free(line);
    return st;
}

/* Opens PATH.lock (mode 0600) and takes an exclusive flock on it; *fd is
 * closed by the caller, which releases the lock. */
static veil_status lock_ledger(int *fd, const char *path, veil_err *err)
{
    *fd = -1;
    size_t n = strlen(path);
    char *lock = malloc(n + sizeof ".lock");
    if (lock == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    memcpy(lock, path, n);
    memcpy(lock + n, ".lock", sizeof ".lock");
    veil_status st = VEIL_OK;
    int lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (lfd < 0) {
        st = veil_err_set(err, VEIL_ERR_IO, "%s: cannot open the lock file: %s", lock,
                          strerror(errno));
        goto done;
    }
    int rc;
    while ((rc = flock(lfd, LOCK_EX)) != 0 && errno == EINTR)
        ;
    if (rc != 0) {
        st = veil_err_set(err, VEIL_ERR_IO, "%s: cannot lock: %s", lock, strerror(errno));
        close(lfd);
        goto done;
    }
    *fd = lfd;
done:
    free(lock);
    return st;
}

veil_status veil_ledger_init(const char *path, const char *dataset, uint64_t budget, int force,
                             veil_err *err)
{
    if (!dataset_ok(dataset))
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "dataset '%.80s' must be 1 to %d of A-Z a-z 0-9 . _ -", dataset,
                            VEIL_DATASET_MAX);
    if (budget == 0)
        return veil_err_set(err, VEIL_ERR_USAGE, "the budget must be greater than 0");
    if (budget > EPS_MAX)
        return veil_err_set(err, VEIL_ERR_USAGE, "the budget must be at most %g",
                            VEIL_DP_EPSILON_MAX);
    int lfd;
    veil_status st = lock_ledger(&lfd, path, err);
    if (st != VEIL_OK)
        return st;
    struct stat sb;
    if (!force && lstat(path, &sb) == 0) {
        st = veil_err_set(err, VEIL_ERR_USAGE,
                          "%s already exists; use --force to replace it (its spends are lost)",
                          path);
    } else {
        veil_ledger l;
        memset(&l, 0, sizeof l);
        memcpy(l.dataset, dataset, strlen(dataset) + 1);
        l.budget = budget;
        st = write_ledger(path, &l, err);
    }
    close(lfd);
    return st;
}

/* VEIL_OK when epsilon is left in l, else the refusal. */
static veil_status enough_left(const veil_ledger *l, uint64_t epsilon, veil_err *err)
{
    uint64_t left = l->budget - l->spent;
    if (epsilon <= left)
        return VEIL_OK;
    char need[VEIL_EPS_TEXT_MAX], have[VEIL_EPS_TEXT_MAX], total[VEIL_EPS_TEXT_MAX];
    veil_eps_format(need, epsilon);
    veil_eps_format(have, left);
    veil_eps_format(total, l->budget);
    return veil_err_set(err, VEIL_ERR_USAGE,
                        "dataset %s: this query needs epsilon %s but only %s of %s is left",
                        l->dataset, need, have, total);
}

veil_status veil_ledger_check(const char *path, uint64_t epsilon, uint64_t *remaining,
                              veil_err *err)
{
    if (epsilon == 0)
        return veil_err_set(err, VEIL_ERR_USAGE, "a spend needs an epsilon greater than 0");
    /* No lock: writers replace the file by a rename, so this reads the
     * ledger before or after a concurrent spend, never half of one. */
    veil_ledger l;
    veil_status st = veil_ledger_load(&l, path, err);
    if (st == VEIL_OK)
        st = enough_left(&l, epsilon, err);
    if (st == VEIL_OK && remaining != NULL)
        *remaining = l.budget - l.spent;
    veil_ledger_free(&l);
    return st;
}

veil_status veil_ledger_spend(const char *path, const char *query_id, const uint8_t digest[32],
                              uint64_t epsilon, uint64_t *remaining, veil_err *err)
{
    if (epsilon == 0)
        return veil_err_set(err, VEIL_ERR_USAGE, "a spend needs an epsilon greater than 0");
    if (!query_ok(query_id))
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "query id must be 1 to %d printable ASCII characters", QUERY_MAX);
    int lfd;
    veil_status st = lock_ledger(&lfd, path, err);
    if (st != VEIL_OK)
        return st;
    veil_ledger l;
    st = veil_ledger_load(&l, path, err);
    if (st != VEIL_OK)
        goto done;
    st = enough_left(&l, epsilon, err);
    if (st != VEIL_OK)
        goto done;
    veil_ledger_spend_entry *grown = realloc(l.spends, (l.nspends + 1) * sizeof *l.spends);
    if (grown == NULL) {
        st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
        goto done;
    }
    l.spends = grown;
    veil_ledger_spend_entry *e = &l.spends[l.nspends++];
    memset(e, 0, sizeof *e);
    time_t now = time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm) == NULL ||
        strftime(e->time, sizeof e->time, "%Y-%m-%dT%H:%M:%SZ", &tm) != 20) {
        st = veil_err_set(err, VEIL_ERR_INTERNAL, "cannot format the current UTC time");
        goto done;
    }
    memcpy(e->query, query_id, strlen(query_id) + 1);
    memcpy(e->digest, digest, 32);
    e->epsilon = epsilon;
    l.spent += epsilon;
    st = write_ledger(path, &l, err);
    if (st == VEIL_OK && remaining != NULL)
        *remaining = l.budget - l.spent;
done:
    veil_ledger_free(&l);
    close(lfd);
    return st;
}
