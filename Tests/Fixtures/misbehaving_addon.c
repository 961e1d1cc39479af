/*
 * An add-on that follows the contract of switchboard_addon.h, built once as is and once per
 * BREAK_* define with one fault each, so the validator's tests can show every rule failing for
 * the reason it exists. As is, it keeps one line per status event ("account token") in
 * state/seen.txt, blocks messages containing BLOCKME, and emits a metric per event.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "switchboard_addon.h"

typedef struct addon {
    const sb_host *host;
    char path[4096];
    long events;
#ifdef BREAK_LIFECYCLE
    int leaked;
#endif
} addon;

#ifdef BREAK_EXPORTS
SB_EXPORT int misbehaving_helper(void) { return 42; }
#endif

static void *create(const sb_host *host) {
    addon *self = calloc(1, sizeof(addon));
#ifdef BREAK_CREATE
    abort(); /* crashes while loading */
#endif
    if (self == NULL) return NULL;
    self->host = host;
    snprintf(self->path, sizeof self->path, "%s/seen.txt", host->state_dir(host));
#ifdef BREAK_LIFECYCLE
    self->leaked = open("/dev/null", O_RDONLY); /* never closed */
#endif
#ifdef BREAK_RESTART
    fclose(fopen(self->path, "w")); /* starts afresh, losing what was kept */
#endif
    return self;
}

static void destroy(void *instance) { free(instance); }

#ifdef BREAK_THREADS
static int busy;
#endif

static int32_t on_event(void *instance, const sb_event *event) {
    addon *self = instance;
    char token[256];
    char json[64];
    int length;
    FILE *file;
#ifdef BREAK_THREADS
    /* Claims SB_ADDON_THREAD_SAFE but cannot take two calls at once. */
    if (__atomic_exchange_n(&busy, 1, __ATOMIC_SEQ_CST)) abort();
    usleep(200);
    __atomic_store_n(&busy, 0, __ATOMIC_SEQ_CST);
#endif
#ifdef BREAK_OPTIONAL
    /* Assumes the optional usage.error_code is always there. */
    if (sb_event_get(event, "usage.error_code") == NULL) abort();
#endif
#ifdef BREAK_ODD_VALUES
    {
        const sb_field *body = sb_event_get(event, "content.body");
        if (body != NULL && body->length > 65536) abort(); /* a fixed buffer, overrun */
    }
#endif
#ifdef BREAK_FORK
    {
        static int forked;
        if (!forked++ && fork() == 0) { /* a helper process nobody ends */
            sleep(60);
            _exit(0);
        }
    }
#endif
#ifdef BREAK_FORK_SETSID
    {
        static int forked;
        if (!forked++ && fork() == 0) { /* one that leaves the runner's process group too */
            setsid();
            sleep(60);
            _exit(0);
        }
    }
#endif
#ifdef BREAK_STDOUT
    printf("event %s\n", event->event_id);
    fflush(stdout);
#endif
    self->events++;
    if (sb_event_copy_text(event, "usage.to", token, sizeof token) >= 0 && strchr(token, '\n') == NULL) {
        file = fopen(self->path, "a");
        if (file == NULL) return SB_RETRY;
        fprintf(file, "%s %s\n", event->account_id, token);
        fclose(file);
    }
    length = snprintf(json, sizeof json, "{\"name\":\"events\",\"value\":%ld}", self->events);
    if (self->host->emit(self->host, "metric", event->account_id, "events", json, (uint64_t)length) < 0) {
#ifdef BREAK_REFUSALS
        abort(); /* treats a refused record as impossible */
#endif
    }
#ifdef BREAK_CODES
    return 7;
#endif
    return SB_OK;
}

static int32_t check(void *instance, const sb_event *event, sb_verdict *verdict) {
    char body[512];
    (void)instance;
#ifdef BREAK_SLOW_CHECK
    usleep(80 * 1000); /* longer than the manifest's 50 ms */
#endif
    if (sb_event_copy_text(event, "content.body", body, sizeof body) >= 0 && strstr(body, "BLOCKME") != NULL) {
        sb_verdict_block(verdict, "blocked_word", "The message contains a blocked word.");
    }
    return SB_OK;
}

/* Rewrites seen.txt without the subject's lines: the account's, or one number's within it. */
static int32_t erase(void *instance, const sb_subject *subject) {
    addon *self = instance;
    char temporary[4200];
    char line[512];
    char account[256];
    char token[256];
    FILE *in;
    FILE *out;
#ifdef BREAK_ERASE_TWICE
    static int erased;
    if (erased++ > 0) return SB_ERROR; /* a repeated erasure is taken for an error */
#endif
#ifdef BREAK_ERASE_KEEPS
    (void)self;
    (void)subject;
    return SB_OK; /* acknowledges, deletes nothing */
#endif
    in = fopen(self->path, "r");
    if (in == NULL) return SB_OK;
    snprintf(temporary, sizeof temporary, "%s.tmp", self->path);
    out = fopen(temporary, "w");
    if (out == NULL) {
        fclose(in);
        return SB_RETRY;
    }
    while (fgets(line, sizeof line, in) != NULL) {
        int matches = 0;
        int words = sscanf(line, "%255s %255s", account, token);
        if (words >= 1 && strcmp(account, subject->account_id) == 0) {
            matches = subject->kind == SB_SUBJECT_ACCOUNT ||
                      (words == 2 && subject->pseudonym != NULL && strlen(token) == subject->pseudonym_length &&
                       memcmp(token, subject->pseudonym, subject->pseudonym_length) == 0);
        }
        if (!matches) fputs(line, out);
    }
    fclose(in);
    fclose(out);
    return rename(temporary, self->path) == 0 ? SB_OK : SB_RETRY;
}

static const sb_addon_descriptor descriptor = {
    {SB_ABI_VERSION_MAJOR, SB_ABI_VERSION_MINOR},
    sizeof(sb_addon_descriptor),
#ifdef BREAK_THREADS
    SB_ADDON_THREAD_SAFE,
#else
    0,
#endif
    "com.example.misbehaving",
    "Misbehaving",
    "Example Vendor",
#ifdef BREAK_DESCRIPTOR
    "9.9.9", /* not the manifest's version */
#else
    "1.0.0",
#endif
    create,
    destroy,
    on_event,
    check,
    erase,
    NULL,
};

SB_EXPORT const sb_addon_descriptor *switchboard_addon_entry(void) { return &descriptor; }
