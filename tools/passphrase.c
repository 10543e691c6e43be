/* Reading passphrases without leaving copies behind. */
#include "passphrase.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "veil/keyfile.h"

void veil_pass_free(char *p)
{
    if (p != NULL)
        sodium_free(p); /* zeroizes */
}

static char *pass_alloc(void)
{
    char *p = sodium_malloc(VEIL_PASSPHRASE_MAX + 2);
    if (p != NULL)
        memset(p, 0, VEIL_PASSPHRASE_MAX + 2);
    return p;
}

/* First line of the file, without its LF (or CRLF). */
static veil_status from_file(char *buf, size_t *len, const char *path, const veil_cmd *cmd,
                             veil_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return veil_err_set(err, VEIL_ERR_IO, "%s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && (sb.st_mode & 077) != 0)
        veil_cli_warn(cmd, "%s can be read by other users; chmod 600 %s", path, path);
    size_t used = 0;
    veil_status st = VEIL_OK;
    while (used < VEIL_PASSPHRASE_MAX + 1) {
        ssize_t r = read(fd, buf + used, VEIL_PASSPHRASE_MAX + 1 - used);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            st = veil_err_set(err, VEIL_ERR_IO, "%s: %s", path, strerror(errno));
            break;
        }
        if (r == 0)
            break;
        used += (size_t)r;
        if (memchr(buf, '\n', used) != NULL)
            break;
    }
    close(fd);
    if (st != VEIL_OK)
        return st;
    char *nl = memchr(buf, '\n', used);
    size_t n = nl != NULL ? (size_t)(nl - buf) : used;
    if (nl == NULL && used > VEIL_PASSPHRASE_MAX)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: the passphrase is longer than %d bytes", path,
                            VEIL_PASSPHRASE_MAX);
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    sodium_memzero(buf + n, VEIL_PASSPHRASE_MAX + 2 - n);
    if (n == 0)
        return veil_err_set(err, VEIL_ERR_INPUT, "%s: the first line (the passphrase) is empty",
                            path);
    *len = n;
    return VEIL_OK;
}

/* Signals caught while echo is off: the terminal is restored first, then
 * the signal is delivered again with its previous disposition. */
static const int caught[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU};
#define NCAUGHT (sizeof caught / sizeof caught[0])
static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
    got_signal = sig;
}

static veil_status read_tty_line(char *buf, size_t *len, int fd, const char *prompt, veil_err *err)
{
    struct termios old, quiet;
    if (tcgetattr(fd, &old) != 0)
        return veil_err_set(err, VEIL_ERR_IO, "/dev/tty: %s", strerror(errno));
    struct sigaction sa, saved[NCAUGHT];
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: read() returns EINTR */
    sigemptyset(&sa.sa_mask);
    got_signal = 0;
    for (size_t i = 0; i < NCAUGHT; i++)
        sigaction(caught[i], &sa, &saved[i]);
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
    quiet.c_lflag |= ICANON;
    veil_status st = VEIL_OK;
    if (tcsetattr(fd, TCSAFLUSH, &quiet) != 0) {
        st = veil_err_set(err, VEIL_ERR_IO, "/dev/tty: %s", strerror(errno));
        goto done;
    }
    if (write(fd, prompt, strlen(prompt)) < 0) {
        st = veil_err_set(err, VEIL_ERR_IO, "/dev/tty: %s", strerror(errno));
        goto restore;
    }
    size_t n = 0;
    for (;;) {
        char c;
        ssize_t r = read(fd, &c, 1);
        if (r < 0 && errno == EINTR && !got_signal)
            continue;
        if (r < 0 || got_signal) {
            st = veil_err_set(err, got_signal ? VEIL_ERR_USAGE : VEIL_ERR_IO, "/dev/tty: %s",
                              got_signal ? "interrupted" : strerror(errno));
            break;
        }
        if (r == 0 || c == '\n' || c == '\r')
            break;
        if (n == VEIL_PASSPHRASE_MAX) {
            st = veil_err_set(err, VEIL_ERR_INPUT, "the passphrase is longer than %d bytes",
                              VEIL_PASSPHRASE_MAX);
            break;
        }
        buf[n++] = c;
        c = 0;
    }
    buf[n] = '\0';
    *len = n;
    if (write(fd, "\n", 1) < 0) {
        /* The newline is cosmetic. */
    }
restore:
    tcsetattr(fd, TCSAFLUSH, &old);
done:
    for (size_t i = 0; i < NCAUGHT; i++)
        sigaction(caught[i], &saved[i], NULL);
    if (got_signal)
        raise(got_signal);
    return st;
}

static veil_status from_tty(char *buf, size_t *len, int confirm, veil_err *err)
{
    int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "--ask-passphrase: no terminal to ask on (%s); use --passphrase-file",
                            strerror(errno));
    veil_status st = read_tty_line(buf, len, fd, "Passphrase: ", err);
    if (st == VEIL_OK && *len == 0)
        st = veil_err_set(err, VEIL_ERR_INPUT, "the passphrase is empty");
    if (st == VEIL_OK && confirm) {
        char *again = pass_alloc();
        size_t len2 = 0;
        if (again == NULL)
            st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
        else
            st = read_tty_line(again, &len2, fd, "Passphrase (again): ", err);
        if (st == VEIL_OK && (len2 != *len || sodium_memcmp(again, buf, *len) != 0))
            st = veil_err_set(err, VEIL_ERR_INPUT, "the two passphrases differ");
        veil_pass_free(again);
    }
    close(fd);
    return st;
}

veil_status veil_pass_get(char **out, size_t *len, const veil_pass_opts *o, int confirm,
                          const veil_cmd *cmd, veil_err *err)
{
    *out = NULL;
    *len = 0;
    if (o->file == NULL && !o->ask)
        return VEIL_OK;
    if (o->file != NULL && o->ask)
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "give either --passphrase-file or --ask-passphrase, not both");
    char *buf = pass_alloc();
    if (buf == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    veil_status st =
        o->file != NULL ? from_file(buf, len, o->file, cmd, err) : from_tty(buf, len, confirm, err);
    if (st != VEIL_OK) {
        veil_pass_free(buf);
        *len = 0;
        return st;
    }
    *out = buf;
    return VEIL_OK;
}

veil_status veil_pass_load_priv(veil_paillier_priv **out, const char *path, const veil_pass_opts *o,
                                const veil_cmd *cmd, veil_err *err)
{
    *out = NULL;
    veil_keyfile_info info;
    veil_status st = veil_keyfile_info_read(&info, path, err);
    if (st != VEIL_OK)
        return st;
    if (info.kind == VEIL_KEY_PUBLIC)
        return veil_err_set(err, VEIL_ERR_USAGE, "%s is a public key; a private key is needed",
                            path);
    if (info.kind != VEIL_KEY_PRIVATE_SEALED) {
        if (o->file != NULL || o->ask)
            veil_cli_warn(cmd, "%s is not protected by a passphrase; passphrase option ignored",
                          path);
        return veil_priv_load(out, path, NULL, 0, err);
    }
    if (o->file == NULL && !o->ask)
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "%s is protected by a passphrase: give --passphrase-file F or "
                            "--ask-passphrase",
                            path);
    char *pass = NULL;
    size_t len = 0;
    st = veil_pass_get(&pass, &len, o, 0, cmd, err);
    if (st == VEIL_OK)
        st = veil_priv_load(out, path, pass, len, err);
    veil_pass_free(pass);
    return st;
}
