/*
 * Compliance Scrub: the reference Switchboard add-on, in plain C99.
 *
 * Before each outbound message is accepted ("message.submit", synchronous), it blocks the message
 * when the recipient is on the account's suppression list (people who texted STOP, plus the
 * operator's list), when it is quiet hours in the recipient's country, or, only if the customer
 * granted the message text, when the text contains a phrase the operator has banned. It learns
 * opt-outs and opt-ins from "message.inbound" events.
 *
 * Fields, and why each is needed:
 *   usage.to      (submit)  the recipient: looked up in the suppression list, and its country
 *                           calling code picks the quiet-hours rule.
 *   usage.from    (inbound) who texted STOP or START, i.e. the number to suppress or release.
 *   usage.opt_out (inbound) whether that message was STOP ("opted_out") or START ("opted_in").
 *   content.body  (submit)  optional; without it the content rules are skipped and the other two
 *                           checks still run. It is searched in place and never stored or logged.
 *
 * State: suppression.tsv in the host's state directory, lines "account_id\tnumber\tadded_ms\n",
 * rewritten through a temporary file and rename() so a crash leaves either the old or the new list.
 * Configuration (all optional, read once in create): "suppression_list", "quiet_hours",
 * "content_rules"; see parse_config.
 *
 * Not thread-safe (flags = 0): the host serialises calls per instance. All mutable state hangs off
 * the instance pointer, so several instances can coexist in one process.
 */
#define _POSIX_C_SOURCE 200809L /* fsync, fileno, open, strerror_r: durability and thread-safe errors. */

#include "switchboard_addon.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ADDON_ID "com.switchboard.compliance-scrub"
#define ADDON_VERSION "1.0.0"

#define STATE_FILE "suppression.tsv"
#define STATE_TEMP ".suppression.tsv.tmp"

/* '+' and at most 15 digits (ITU-T E.164), the same rule the host validates numbers with. */
#define NUMBER_CAP 17
/* Host account ids are short ("acc_" + 12 characters); anything longer cannot be one of ours. */
#define ACCOUNT_CAP 128
/* Room to notice that a copied text field was longer than any value we accept. */
#define TEXT_BUF 64
#define LINE_BUF 512
#define LOG_BUF 512
#define DAY_MS 86400000

#if defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

typedef struct entry {
    char account[ACCOUNT_CAP];
    char number[NUMBER_CAP];
    int64_t added_ms;
} entry;

typedef struct quiet_rule {
    char prefix[NUMBER_CAP]; /* The calling code as written, with '+', for the reason text. */
    size_t prefix_len;
    int start_hour; /* Local quiet window [start, end), may wrap midnight. */
    int end_hour;
    int offset_min; /* Destination's UTC offset. */
} quiet_rule;

typedef struct phrase {
    char *text;
    size_t len;
} phrase;

typedef struct scrub {
    const sb_host *host;
    char *path;
    char *temp_path;
    char *dir;

    entry *entries; /* Per-account opt-outs, persisted. */
    size_t count;
    size_t capacity;
    int dirty; /* Memory is ahead of disk after a failed write; retried on the next call. */

    char (*operator_numbers)[NUMBER_CAP]; /* From config; applies to every account, never persisted. */
    size_t operator_count;
    quiet_rule *quiet;
    size_t quiet_count;
    phrase *phrases;
    size_t phrase_count;
} scrub;

/* ---------------------------------------------------------------------------------------------
 * Small helpers
 * ------------------------------------------------------------------------------------------- */

static void say(const sb_host *host, uint32_t level, const char *format, ...) PRINTF_LIKE(3, 4);

static void say(const sb_host *host, uint32_t level, const char *format, ...) {
    char buf[LOG_BUF];
    va_list args;
    int n;
    if (host == NULL || host->log == NULL) return;
    va_start(args, format);
    n = vsnprintf(buf, sizeof buf, format, args);
    va_end(args);
    if (n < 0) return;
    host->log(host, level, buf, (uint64_t)((size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1));
}

static const char *error_text(int code, char *buf, size_t capacity) {
    /* strerror() may share a static buffer between instances running on different threads. */
#if defined(_GNU_SOURCE) && defined(__GLIBC__)
    return strerror_r(code, buf, capacity); /* The GNU variant, should a build define _GNU_SOURCE. */
#else
    if (strerror_r(code, buf, capacity) != 0) snprintf(buf, capacity, "errno %d", code);
    return buf;
#endif
}

/* Keeps a quoted config item readable in the log, however long the operator made it. */
static int clip(size_t len) { return len > 200 ? 200 : (int)len; }

static int is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

static char fold(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c; }

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static void trim(const char **text, size_t *len) {
    while (*len > 0 && is_blank((*text)[0])) { (*text)++; (*len)--; }
    while (*len > 0 && is_blank((*text)[*len - 1])) (*len)--;
}

/* E.164 as the host checks it: '+', a non-zero digit, then 1 to 14 more digits. Also guarantees
 * the value cannot break a line of the state file. */
static int is_e164(const char *text, size_t len) {
    size_t i;
    if (len < 3 || len > 16 || text[0] != '+' || text[1] < '1' || text[1] > '9') return 0;
    for (i = 2; i < len; i++) if (!is_digit(text[i])) return 0;
    return 1;
}

/* Copies a text field that must fit entirely: a truncated number would match the wrong person.
 * Returns the length, -1 when absent or not plain text, -2 when too long. */
static int64_t copy_exact(const sb_event *event, const char *id, char *buf, size_t capacity) {
    const sb_field *field = sb_event_get(event, id);
    int64_t n;
    buf[0] = '\0';
    if (field == NULL || field->kind != SB_FIELD_TEXT) return -1;
    n = sb_event_copy_text(event, id, buf, capacity);
    if (n < 0) return -1;
    if ((uint64_t)n >= capacity) return -2;
    return n;
}

static int64_t floor_mod(int64_t a, int64_t b) {
    int64_t r = a % b;
    return r < 0 ? r + b : r;
}

/* UTC calendar date, without gmtime (not reentrant) or time_t range limits (H. Hinnant's algorithm). */
static void format_date(int64_t ms, char *out, size_t capacity) {
    int64_t z = ms / DAY_MS - (ms % DAY_MS < 0 ? 1 : 0) + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t day = doy - (153 * mp + 2) / 5 + 1;
    int64_t month = mp < 10 ? mp + 3 : mp - 9;
    int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
    snprintf(out, capacity, "%04lld-%02d-%02d", (long long)year, (int)month % 100, (int)day % 100);
}

static char *join_path(const char *dir, const char *name) {
    size_t a = strlen(dir), b = strlen(name);
    char *path = malloc(a + 1 + b + 1);
    if (path == NULL) return NULL;
    memcpy(path, dir, a);
    path[a] = '/';
    memcpy(path + a + 1, name, b + 1);
    return path;
}

/* ---------------------------------------------------------------------------------------------
 * The suppression list
 * ------------------------------------------------------------------------------------------- */

static int account_ok(const char *account) {
    size_t i;
    if (account == NULL || account[0] == '\0') return 0;
    for (i = 0; account[i] != '\0'; i++) {
        if (i + 1 >= ACCOUNT_CAP || (unsigned char)account[i] < 0x20) return 0; /* Tabs would break the file. */
    }
    return 1;
}

static entry *find_entry(scrub *s, const char *account, const char *number) {
    size_t i;
    for (i = 0; i < s->count; i++) {
        if (strcmp(s->entries[i].number, number) == 0 && strcmp(s->entries[i].account, account) == 0) {
            return &s->entries[i];
        }
    }
    return NULL;
}

/* Returns 1 when added, 0 when already there (keeps the first opt-out date), -1 out of memory. */
static int add_entry(scrub *s, const char *account, const char *number, int64_t added_ms) {
    entry *e;
    if (find_entry(s, account, number) != NULL) return 0;
    if (s->count == s->capacity) {
        size_t capacity = s->capacity ? s->capacity * 2 : 16;
        entry *grown;
        if (capacity > (size_t)-1 / sizeof(entry)) return -1;
        grown = realloc(s->entries, capacity * sizeof(entry));
        if (grown == NULL) return -1;
        s->entries = grown;
        s->capacity = capacity;
    }
    e = &s->entries[s->count++];
    memset(e, 0, sizeof *e);
    memcpy(e->account, account, strlen(account) + 1); /* Callers checked both lengths. */
    memcpy(e->number, number, strlen(number) + 1);
    e->added_ms = added_ms;
    return 1;
}

/* Removes matching entries (number NULL: all of the account). Order is irrelevant, so swap-remove. */
static size_t remove_entries(scrub *s, const char *account, const char *number) {
    size_t i = 0, removed = 0;
    while (i < s->count) {
        entry *e = &s->entries[i];
        if (strcmp(e->account, account) == 0 && (number == NULL || strcmp(e->number, number) == 0)) {
            *e = s->entries[--s->count];
            removed++;
        } else {
            i++;
        }
    }
    return removed;
}

static void sync_directory(const char *dir) {
    /* Makes the rename itself durable; best effort, since not every filesystem supports it. */
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        (void)fsync(fd);
        (void)close(fd);
    }
}

static int persist(scrub *s) {
    char err[128];
    FILE *f = fopen(s->temp_path, "w");
    size_t i;
    if (f == NULL) {
        say(s->host, SB_LOG_ERROR, "cannot write %s: %s", s->temp_path, error_text(errno, err, sizeof err));
        s->dirty = 1;
        return -1;
    }
    for (i = 0; i < s->count; i++) {
        const entry *e = &s->entries[i];
        if (fprintf(f, "%s\t%s\t%lld\n", e->account, e->number, (long long)e->added_ms) < 0) goto failed;
    }
    /* Flushed to disk before the rename, or a crash could publish an empty file. */
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) goto failed;
    if (fclose(f) != 0) {
        f = NULL;
        goto failed;
    }
    f = NULL;
    if (rename(s->temp_path, s->path) != 0) goto failed;
    sync_directory(s->dir);
    s->dirty = 0;
    return 0;

failed:
    say(s->host, SB_LOG_ERROR, "cannot save the suppression list to %s: %s", s->path,
        error_text(errno, err, sizeof err));
    if (f != NULL) fclose(f);
    remove(s->temp_path);
    s->dirty = 1;
    return -1;
}

/* Returns 0, or -1 when the file exists but cannot be read: starting empty would then send to
 * people who opted out and the next write would destroy the list. */
static int load(scrub *s) {
    char line[LINE_BUF], err[128];
    unsigned long lineno = 0;
    FILE *f = fopen(s->path, "r");
    if (f == NULL) {
        if (errno == ENOENT) return 0;
        say(s->host, SB_LOG_ERROR, "cannot read %s: %s", s->path, error_text(errno, err, sizeof err));
        return -1;
    }
    while (fgets(line, sizeof line, f) != NULL) {
        size_t n = strlen(line);
        char *number, *added, *end;
        long long added_ms;
        lineno++;
        if (n > 0 && line[n - 1] == '\n') {
            line[--n] = '\0';
        } else if (!feof(f)) {
            int c;
            while ((c = fgetc(f)) != EOF && c != '\n') {}
            say(s->host, SB_LOG_WARNING, "%s line %lu is too long; skipped", s->path, lineno);
            continue;
        }
        if (n > 0 && line[n - 1] == '\r') line[--n] = '\0';
        if (n == 0) continue;
        number = strchr(line, '\t');
        added = number ? strchr(number + 1, '\t') : NULL;
        if (added == NULL) goto malformed;
        *number++ = '\0';
        *added++ = '\0';
        errno = 0;
        added_ms = strtoll(added, &end, 10);
        if (errno != 0 || end == added || *end != '\0') goto malformed;
        if (!account_ok(line) || !is_e164(number, strlen(number))) goto malformed;
        if (add_entry(s, line, number, (int64_t)added_ms) < 0) {
            say(s->host, SB_LOG_ERROR, "out of memory loading %s", s->path);
            fclose(f);
            return -1;
        }
        continue;
    malformed:
        say(s->host, SB_LOG_WARNING, "%s line %lu is malformed; skipped", s->path, lineno);
    }
    if (ferror(f)) {
        say(s->host, SB_LOG_ERROR, "cannot read %s: %s", s->path, error_text(errno, err, sizeof err));
        fclose(f);
        return -1;
    }
    fclose(f);
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Configuration
 * ------------------------------------------------------------------------------------------- */

typedef int (*item_fn)(scrub *s, const char *key, const char *item, size_t len);

/* Calls `fn` for every `separator`-separated item of the setting, trimmed. An unset or blank setting
 * has no items; an empty item between separators is reported as malformed. Returns -1 only when
 * `fn` runs out of memory. */
static int for_each_item(scrub *s, const char *key, char separator, item_fn fn) {
    const char *value = s->host->config_get(s->host, key);
    const char *cursor;
    size_t total;
    if (value == NULL) return 0;
    total = strlen(value);
    trim(&value, &total);
    if (total == 0) return 0;
    cursor = value;
    for (;;) {
        const char *stop = memchr(cursor, separator, (size_t)(value + total - cursor));
        const char *item = cursor;
        size_t len = (size_t)((stop ? stop : value + total) - cursor);
        trim(&item, &len);
        if (len == 0) {
            say(s->host, SB_LOG_WARNING, "config %s: empty entry skipped", key);
        } else if (fn(s, key, item, len) < 0) {
            return -1;
        }
        if (stop == NULL) return 0;
        cursor = stop + 1;
    }
}

static int add_operator_number(scrub *s, const char *key, const char *item, size_t len) {
    char (*grown)[NUMBER_CAP];
    if (!is_e164(item, len)) {
        say(s->host, SB_LOG_WARNING, "config %s: \"%.*s\" is not an E.164 number; skipped", key, clip(len), item);
        return 0;
    }
    grown = realloc(s->operator_numbers, (s->operator_count + 1) * sizeof *grown);
    if (grown == NULL) return -1;
    s->operator_numbers = grown;
    memcpy(grown[s->operator_count], item, len);
    grown[s->operator_count][len] = '\0';
    s->operator_count++;
    return 0;
}

/* Reads 1 to `max_digits` digits at text[*i]; returns -1 when there are none or too many. */
static long read_number(const char *text, size_t len, size_t *i, size_t max_digits) {
    size_t start = *i;
    long value = 0;
    while (*i < len && is_digit(text[*i])) {
        if (*i - start == max_digits) return -1;
        value = value * 10 + (text[*i] - '0');
        (*i)++;
    }
    return *i == start ? -1 : value;
}

/* "PREFIX=HH-HH@OFFSET", e.g. "+372=21-08@+120". */
static int add_quiet_rule(scrub *s, const char *key, const char *item, size_t len) {
    quiet_rule rule, *grown;
    size_t i = 1, k;
    long start, end, offset;
    int sign = 1;
    memset(&rule, 0, sizeof rule);
    if (len == 0 || item[0] != '+') goto malformed;
    while (i < len && is_digit(item[i])) i++;
    if (i == 1 || i > 16 || i >= len || item[i] != '=') goto malformed;
    rule.prefix_len = i;
    memcpy(rule.prefix, item, i);
    i++;
    start = read_number(item, len, &i, 2);
    if (start < 0 || i >= len || item[i++] != '-') goto malformed;
    end = read_number(item, len, &i, 2);
    if (end < 0 || i >= len || item[i++] != '@') goto malformed;
    if (i < len && (item[i] == '+' || item[i] == '-')) sign = item[i++] == '-' ? -1 : 1;
    offset = read_number(item, len, &i, 4);
    if (offset < 0 || i != len) goto malformed;
    offset *= sign;
    /* 24 is allowed as an end ("00-24" is all day); equal ends would be ambiguous (none or all). */
    if (start > 23 || end > 24 || start == end || offset < -720 || offset > 840) goto malformed;
    for (k = 0; k < s->quiet_count; k++) {
        if (strcmp(s->quiet[k].prefix, rule.prefix) == 0) {
            say(s->host, SB_LOG_WARNING, "config %s: \"%.*s\" repeats prefix %s; the first rule is kept", key,
                clip(len), item, rule.prefix);
            return 0;
        }
    }
    rule.start_hour = (int)start;
    rule.end_hour = (int)end;
    rule.offset_min = (int)offset;
    grown = realloc(s->quiet, (s->quiet_count + 1) * sizeof *grown);
    if (grown == NULL) return -1;
    s->quiet = grown;
    s->quiet[s->quiet_count++] = rule;
    return 0;

malformed:
    say(s->host, SB_LOG_WARNING,
        "config %s: \"%.*s\" is not PREFIX=HH-HH@OFFSET (e.g. +372=21-08@+120, hours 0-23, end up to 24, "
        "offset -720..+840 minutes); skipped",
        key, clip(len), item);
    return 0;
}

static int add_phrase(scrub *s, const char *key, const char *item, size_t len) {
    phrase *grown;
    char *text = malloc(len + 1);
    (void)key;
    if (text == NULL) return -1;
    memcpy(text, item, len);
    text[len] = '\0';
    grown = realloc(s->phrases, (s->phrase_count + 1) * sizeof *grown);
    if (grown == NULL) {
        free(text);
        return -1;
    }
    s->phrases = grown;
    s->phrases[s->phrase_count].text = text;
    s->phrases[s->phrase_count].len = len;
    s->phrase_count++;
    return 0;
}

/* Read once: the host's config strings do not change during the instance's life, and parsing once
 * keeps the sync check cheap and logs each malformed rule once rather than per message. */
static int parse_config(scrub *s) {
    if (for_each_item(s, "suppression_list", ',', add_operator_number) < 0) return -1;
    if (for_each_item(s, "quiet_hours", ',', add_quiet_rule) < 0) return -1;
    if (for_each_item(s, "content_rules", '|', add_phrase) < 0) return -1;
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Lifecycle
 * ------------------------------------------------------------------------------------------- */

static void scrub_destroy(void *instance) {
    scrub *s = instance;
    size_t i;
    if (s == NULL) return;
    /* An event or erase that failed to save was answered SB_RETRY, so disk catches up anyway;
     * trying once more here just narrows the window. */
    if (s->dirty) (void)persist(s);
    for (i = 0; i < s->phrase_count; i++) free(s->phrases[i].text);
    free(s->phrases);
    free(s->quiet);
    free(s->operator_numbers);
    free(s->entries);
    free(s->path);
    free(s->temp_path);
    free(s->dir);
    free(s);
}

static void *scrub_create(const sb_host *host) {
    scrub *s;
    const char *dir;
    /* Only the slots of ABI 1.0 that this add-on calls need to fit. */
    if (host == NULL) return NULL;
    if (host->struct_size < offsetof(sb_host, config_get) + sizeof host->config_get || host->now_ms == NULL ||
        host->state_dir == NULL || host->config_get == NULL) {
        say(host, SB_LOG_ERROR, "the host vtable lacks now_ms, state_dir or config_get");
        return NULL;
    }
    dir = host->state_dir(host);
    if (dir == NULL || dir[0] == '\0') {
        say(host, SB_LOG_ERROR, "the host gave no state directory");
        return NULL;
    }
    s = calloc(1, sizeof *s);
    if (s == NULL) {
        say(host, SB_LOG_ERROR, "out of memory");
        return NULL;
    }
    s->host = host;
    s->dir = join_path(dir, "."); /* A private copy; "dir/." names the same directory. */
    s->path = join_path(dir, STATE_FILE);
    s->temp_path = join_path(dir, STATE_TEMP);
    if (s->dir == NULL || s->path == NULL || s->temp_path == NULL || parse_config(s) < 0) {
        say(host, SB_LOG_ERROR, "out of memory");
        scrub_destroy(s);
        return NULL;
    }
    if (load(s) < 0) {
        scrub_destroy(s);
        return NULL;
    }
    say(host, SB_LOG_INFO, "loaded %lu suppressed numbers, %lu operator numbers, %lu quiet-hours rules, %lu content rules",
        (unsigned long)s->count, (unsigned long)s->operator_count, (unsigned long)s->quiet_count,
        (unsigned long)s->phrase_count);
    return s;
}

/* ---------------------------------------------------------------------------------------------
 * The pre-send check
 * ------------------------------------------------------------------------------------------- */

static const quiet_rule *quiet_rule_for(const scrub *s, const char *to) {
    const quiet_rule *best = NULL;
    size_t i;
    for (i = 0; i < s->quiet_count; i++) {
        const quiet_rule *r = &s->quiet[i];
        if (strncmp(to, r->prefix, r->prefix_len) == 0 && (best == NULL || r->prefix_len > best->prefix_len)) {
            best = r;
        }
    }
    return best;
}

static int contains_folded(const uint8_t *hay, size_t hay_len, const char *needle, size_t needle_len) {
    size_t i, j;
    if (needle_len == 0 || needle_len > hay_len) return 0;
    for (i = 0; i + needle_len <= hay_len; i++) {
        for (j = 0; j < needle_len && fold((char)hay[i + j]) == fold(needle[j]); j++) {}
        if (j == needle_len) return 1;
    }
    return 0;
}

static int32_t scrub_check(void *instance, const sb_event *event, sb_verdict *verdict) {
    scrub *s = instance;
    char to[TEXT_BUF], reason[SB_REASON_TEXT_CAPACITY];
    const char *account;
    const sb_field *body;
    const quiet_rule *rule;
    int64_t to_len;
    size_t i;

    if (s == NULL || event == NULL || verdict == NULL || event->struct_size < offsetof(sb_event, reserved) ||
        verdict->struct_size < sizeof(sb_verdict)) {
        return SB_ERROR;
    }
    account = event->account_id ? event->account_id : "";

    to_len = copy_exact(event, "usage.to", to, sizeof to);
    if (to_len == -1) {
        /* The manifest makes usage.to required, so this is a host bug; blocking would stop all mail. */
        say(s->host, SB_LOG_WARNING, "message.submit %s without a text usage.to; allowed unchecked",
            event->event_id ? event->event_id : "?");
        return SB_OK;
    }
    /* An over-long value (-2) is no number we could hold, but its start may still match a
     * quiet-hours prefix, so it goes on to that check. */
    if (to_len >= 0) {
        const entry *e = find_entry(s, account, to);
        if (e != NULL) {
            char date[40]; /* Room for any int64 year, so a corrupt timestamp cannot truncate. */
            format_date(e->added_ms, date, sizeof date);
            snprintf(reason, sizeof reason, "%s is on the suppression list of this account (opted out on %s)", to, date);
            sb_verdict_block(verdict, "suppressed", reason);
            return SB_OK;
        }
        for (i = 0; i < s->operator_count; i++) {
            if (strcmp(s->operator_numbers[i], to) == 0) {
                snprintf(reason, sizeof reason, "%s is on the suppression list of this account (listed by the operator)", to);
                sb_verdict_block(verdict, "suppressed", reason);
                return SB_OK;
            }
        }
    }

    rule = quiet_rule_for(s, to);
    if (rule != NULL) {
        /* Reduce to the time of day first so a large clock value cannot overflow. */
        int64_t local = floor_mod(floor_mod(s->host->now_ms(s->host), DAY_MS) + (int64_t)rule->offset_min * 60000, DAY_MS);
        int minute = (int)(local / 60000);
        int start = rule->start_hour * 60, end = rule->end_hour * 60;
        int quiet = start < end ? (minute >= start && minute < end) : (minute >= start || minute < end);
        if (quiet) {
            snprintf(reason, sizeof reason, "quiet hours %02d:00-%02d:00 at the destination (%s, local time %02d:%02d)",
                     rule->start_hour, rule->end_hour, rule->prefix, minute / 60, minute % 60);
            sb_verdict_block(verdict, "quiet_hours", reason);
            return SB_OK;
        }
    }

    /* Only plain text can be matched: a digest or pseudonym (content_mode "hash") says nothing about
     * phrases, and an ungranted body is simply absent. Searched in place, so long bodies are not cut. */
    body = sb_event_get(event, "content.body");
    if (body != NULL && body->kind == SB_FIELD_TEXT && body->bytes != NULL) {
        for (i = 0; i < s->phrase_count; i++) {
            if (contains_folded(body->bytes, (size_t)body->length, s->phrases[i].text, s->phrases[i].len)) {
                snprintf(reason, sizeof reason, "the message contains the blocked phrase \"%s\"", s->phrases[i].text);
                sb_verdict_block(verdict, "content_rule", reason);
                return SB_OK;
            }
        }
    }
    return SB_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Inbound opt-outs and erasure
 * ------------------------------------------------------------------------------------------- */

/* Saves when something changed, or when an earlier save failed. SB_RETRY asks the host to come
 * back: on redelivery nothing changes but `dirty` makes the save happen. */
static int32_t commit(scrub *s, int changed) {
    if (!changed && !s->dirty) return SB_OK;
    return persist(s) == 0 ? SB_OK : SB_RETRY;
}

static int32_t scrub_on_event(void *instance, const sb_event *event) {
    scrub *s = instance;
    char action[16], from[TEXT_BUF];
    int64_t from_len;
    int changed;
    const char *id;

    if (s == NULL || event == NULL || event->struct_size < offsetof(sb_event, reserved)) return SB_ERROR;
    if (event->type != SB_EVENT_MESSAGE_INBOUND) return SB_OK;
    id = event->event_id ? event->event_id : "?";

    /* Absent on ordinary inbound messages: only STOP/START keywords change consent. */
    if (copy_exact(event, "usage.opt_out", action, sizeof action) < 0) return commit(s, 0);
    if (strcmp(action, "opted_out") != 0 && strcmp(action, "opted_in") != 0) {
        /* A value from a newer host: not ours to guess at. */
        say(s->host, SB_LOG_WARNING, "message.inbound %s: unknown usage.opt_out value; ignored", id);
        return commit(s, 0);
    }

    from_len = copy_exact(event, "usage.from", from, sizeof from);
    if (from_len < 0 || !is_e164(from, (size_t)from_len)) {
        /* Permanent: redelivery cannot fix it, and the host records the failure for the operator. */
        say(s->host, SB_LOG_ERROR, "message.inbound %s: %s without a usable usage.from; opt-out not recorded", id, action);
        return SB_ERROR;
    }
    if (!account_ok(event->account_id)) {
        say(s->host, SB_LOG_ERROR, "message.inbound %s: unusable account id; opt-out not recorded", id);
        return SB_ERROR;
    }

    if (strcmp(action, "opted_out") == 0) {
        /* The event's own time, so a redelivery or a late retry keeps the real opt-out date. */
        int64_t when = event->time_ms > 0 ? event->time_ms : s->host->now_ms(s->host);
        int added = add_entry(s, event->account_id, from, when);
        if (added < 0) {
            say(s->host, SB_LOG_ERROR, "message.inbound %s: out of memory", id);
            return SB_RETRY;
        }
        changed = added;
    } else {
        changed = remove_entries(s, event->account_id, from) > 0;
    }
    return commit(s, changed);
}

static int32_t scrub_erase(void *instance, const sb_subject *subject) {
    scrub *s = instance;
    char number[TEXT_BUF];
    size_t removed = 0;

    if (s == NULL || subject == NULL || subject->struct_size < offsetof(sb_subject, pseudonym) ||
        subject->account_id == NULL) {
        return SB_ERROR;
    }
    switch (subject->kind) {
    case SB_SUBJECT_ACCOUNT:
        removed = remove_entries(s, subject->account_id, NULL);
        break;
    case SB_SUBJECT_NUMBER:
    case SB_SUBJECT_CONTACT:
        if (subject->value == NULL) {
            /* Only raw numbers are stored; acknowledging a pseudonym-only request would be false. */
            say(s->host, SB_LOG_ERROR, "erase without the number itself; cannot erase");
            return SB_ERROR;
        }
        /* Anything that does not fit is no number we hold, so there is nothing to drop. */
        if (subject->value_length < sizeof number) {
            memcpy(number, subject->value, (size_t)subject->value_length);
            number[subject->value_length] = '\0';
            removed = remove_entries(s, subject->account_id, number);
        }
        break;
    default:
        say(s->host, SB_LOG_ERROR, "erase of unknown subject kind %lu", (unsigned long)subject->kind);
        return SB_ERROR;
    }
    return commit(s, removed > 0);
}

/* ---------------------------------------------------------------------------------------------
 * Entry point
 * ------------------------------------------------------------------------------------------- */

static const sb_addon_descriptor descriptor = {
    .abi = {SB_ABI_VERSION_MAJOR, SB_ABI_VERSION_MINOR},
    .struct_size = sizeof(sb_addon_descriptor),
    .flags = 0, /* Not thread-safe: the host serialises calls per instance. */
    .id = ADDON_ID, /* Must equal the manifest's id and version. */
    .name = "Compliance Scrub",
    .vendor = "Switchboard",
    .version = ADDON_VERSION,
    .create = scrub_create,
    .destroy = scrub_destroy,
    .on_event = scrub_on_event,
    .check = scrub_check,
    .erase = scrub_erase,
};

SB_EXPORT const sb_addon_descriptor *switchboard_addon_entry(void);

SB_EXPORT const sb_addon_descriptor *switchboard_addon_entry(void) { return &descriptor; }
