/*
 * A test add-on built from the header alone with plain `cc -shared -fPIC`. It writes every event and
 * check it receives, field by field, to events.log in its state directory, so tests can compare what
 * an add-on actually saw with what the ledger says it was given.
 *
 * Build-time knobs (-D): ADDON_ID, ADDON_VERSION (strings), ABI_MAJOR (to fake a mismatch),
 * NO_ENTRY (to omit the entry symbol). At run time, a file named "refuse" in the state directory
 * makes on_event and erase answer SB_RETRY (to hold work in the outbox, as a crashed add-on would), and a check of a body containing
 * "BLOCKME" is blocked. A file named "hostile" in the state directory makes every call misbehave as
 * its first word says: segfault, abort, loop, sleep, leak, stdout or badverdict (the hostile suite
 * for isolated runners), or abortafter (on_event aborts right after it recorded the event: a crash
 * holding an event already read); removing the file makes the add-on behave again. "slowonce" makes only the
 * next call slow: it removes the file, sleeps one second, then behaves. With WITH_END_BATCH it sets
 * end_batch (ABI 1.1), which logs "batch|-|-|-" and answers SB_RETRY while "refuse_batch" exists.
 * With CREATE_HANGS its create never returns; with FORK_IN_CREATE it forks a process that calls
 * setsid and sleeps for ever.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "switchboard_addon.h"

#ifndef ADDON_ID
#define ADDON_ID "com.example.recorder"
#endif
#ifndef ADDON_VERSION
#define ADDON_VERSION "1.0.0"
#endif
#ifndef ABI_MAJOR
#define ABI_MAJOR SB_ABI_VERSION_MAJOR
#endif

typedef struct recorder {
    const sb_host *host;
    char log_path[4096];
    char refuse_path[4096];
    char hostile_path[4096];
} recorder;

static void *create(const sb_host *host) {
    recorder *self;
#ifdef CREATE_HANGS
    for (;;) sleep(1); /* an add-on whose create never returns */
#endif
#ifdef FORK_IN_CREATE
    if (fork() == 0) { /* a helper that leaves the process group and lives on */
        setsid();
        for (;;) sleep(1);
    }
#endif
    self = calloc(1, sizeof(recorder));
    if (self == NULL) return NULL;
    self->host = host;
    snprintf(self->log_path, sizeof self->log_path, "%s/events.log", host->state_dir(host));
    snprintf(self->refuse_path, sizeof self->refuse_path, "%s/refuse", host->state_dir(host));
    snprintf(self->hostile_path, sizeof self->hostile_path, "%s/hostile", host->state_dir(host));
    return self;
}

static void destroy(void *instance) { free(instance); }

static void record(recorder *self, const char *what, const sb_event *event) {
    uint32_t i;
    FILE *file = fopen(self->log_path, "a");
    if (file == NULL) return;
    fprintf(file, "%s|%s|%s|%s", what, event->event_id, event->type_name, event->account_id);
    for (i = 0; i < event->field_count; i++) {
        const sb_field *field = &event->fields[i];
        if (field->kind == SB_FIELD_INT) {
            fprintf(file, "|%s=int:%lld", field->id, (long long)field->int_value);
        } else {
            const char *kind = field->kind == SB_FIELD_PSEUDONYM ? "pseudonym" : field->kind == SB_FIELD_DIGEST ? "digest" : "text";
            fprintf(file, "|%s=%s:%.*s", field->id, kind, (int)field->length, (const char *)field->bytes);
        }
    }
    fputc('\n', file);
    fclose(file);
}

/* Misbehaves as the hostile file says; returns 1 when the caller should return a bad verdict. */
static int misbehave(recorder *self) {
    char mode[32] = {0};
    FILE *file = fopen(self->hostile_path, "r");
    if (file == NULL) return 0;
    if (fscanf(file, "%31s", mode) != 1) mode[0] = '\0';
    fclose(file);
    if (strcmp(mode, "segfault") == 0) {
        volatile int *nowhere = NULL;
        *nowhere = 1;
    } else if (strcmp(mode, "abort") == 0) {
        abort();
    } else if (strcmp(mode, "loop") == 0) {
        for (;;) {
        }
    } else if (strcmp(mode, "sleep") == 0) {
        sleep(5);
    } else if (strcmp(mode, "leak") == 0) {
        for (;;) {
            char *block = malloc(16u << 20);
            if (block == NULL) abort();
            memset(block, 1, 16u << 20);
        }
    } else if (strcmp(mode, "stdout") == 0) {
        int i;
        for (i = 0; i < 20000; i++) printf("stray output line %d from a careless add-on\n", i);
        fflush(stdout);
    } else if (strcmp(mode, "badverdict") == 0) {
        return 1;
    } else if (strcmp(mode, "slowonce") == 0) {
        remove(self->hostile_path);
        sleep(1);
    }
    return 0;
}

static int32_t on_event(void *instance, const sb_event *event) {
    recorder *self = instance;
    misbehave(self);
    FILE *refuse = fopen(self->refuse_path, "r");
    if (refuse != NULL) {
        fclose(refuse);
        return SB_RETRY;
    }
    record(self, "event", event);
    {
        /* "abortafter": crash holding an event already read, as an add-on whose bug follows the read. */
        char mode[32] = {0};
        FILE *file = fopen(self->hostile_path, "r");
        if (file != NULL) {
            if (fscanf(file, "%31s", mode) != 1) mode[0] = '\0';
            fclose(file);
            if (strcmp(mode, "abortafter") == 0) abort();
        }
    }
    return SB_OK;
}

static int32_t check(void *instance, const sb_event *event, sb_verdict *verdict) {
    const sb_field *body = sb_event_get(event, "content.body");
    if (misbehave(instance)) {
        verdict->action = 77;
        return SB_OK;
    }
    record(instance, "check", event);
    if (body != NULL && body->kind == SB_FIELD_TEXT) {
        char text[256];
        sb_event_copy_text(event, "content.body", text, sizeof text);
        if (strstr(text, "BLOCKME") != NULL) sb_verdict_block(verdict, "test_block", "the recorder was told to block this");
    }
    return SB_OK;
}

static int32_t erase(void *instance, const sb_subject *subject) {
    recorder *self = instance;
    FILE *file;
    FILE *refuse = fopen(self->refuse_path, "r");
    if (refuse != NULL) {
        fclose(refuse);
        return SB_RETRY;
    }
    file = fopen(self->log_path, "a");
    if (file == NULL) return SB_RETRY;
    fprintf(file, "erase|%u|%s|%.*s|pseudonym=%.*s\n", subject->kind, subject->account_id,
            (int)subject->value_length, subject->value != NULL ? (const char *)subject->value : "",
            (int)subject->pseudonym_length, subject->pseudonym != NULL ? (const char *)subject->pseudonym : "");
    fclose(file);
    return SB_OK;
}

#ifdef WITH_END_BATCH
static int32_t end_batch(void *instance) {
    recorder *self = instance;
    char path[4200];
    FILE *file;
    snprintf(path, sizeof path, "%s_batch", self->refuse_path);
    file = fopen(path, "r");
    if (file != NULL) {
        fclose(file);
        return SB_RETRY;
    }
    file = fopen(self->log_path, "a");
    if (file == NULL) return SB_RETRY;
    fputs("batch|-|-|-\n", file);
    fclose(file);
    return SB_OK;
}
#define END_BATCH end_batch
#else
#define END_BATCH NULL
#endif

static const sb_addon_descriptor descriptor = {
    {ABI_MAJOR, SB_ABI_VERSION_MINOR}, sizeof(sb_addon_descriptor), 0,
    ADDON_ID, "Recorder", "Example Vendor", ADDON_VERSION,
    create, destroy, on_event, check, erase, END_BATCH,
};

#ifndef NO_ENTRY
SB_EXPORT const sb_addon_descriptor *switchboard_addon_entry(void) { return &descriptor; }
#else
SB_EXPORT const sb_addon_descriptor *some_other_symbol(void) { return &descriptor; }
#endif
