/*
 * A test add-on whose descriptor can take every shape the host must accept or refuse, built from the
 * header alone with plain `cc -shared -fPIC`. Each call it receives is appended to calls.log in its
 * state directory. `create` logs one line at each SB_LOG_* level and one at an unknown level (7).
 *
 * Build-time knobs (-D):
 *   ADDON_ID, ADDON_VERSION   strings for the descriptor
 *   ABI_MAJOR, ABI_MINOR      the declared ABI version (default: the header's)
 *   STRUCT_SIZE               the declared struct_size (default: sizeof(sb_addon_descriptor))
 *   OLDER_SHAPE               a descriptor shaped like an older minor: the same slots up to `check`,
 *                             without `erase`, and a struct_size that ends after `check`; the memory
 *                             right after it holds a function that must never be called
 *   ONE_ZERO_SHAPE            the 1.0 descriptor: the slots up to `erase`, ABI 1.0, a struct_size that
 *                             ends after `erase`; the memory right after it (where 1.1 has
 *                             `end_batch`) holds a function that must never be called
 *   NO_CREATE, NO_DESTROY, NO_ON_EVENT, NO_CHECK   leave that callback NULL
 *   CREATE_FAILS              create returns NULL
 *   NULL_DESCRIPTOR           the entry returns NULL
 *   NO_ENTRY                  do not export switchboard_addon_entry
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "switchboard_addon.h"

#ifndef ADDON_ID
#define ADDON_ID "com.example.shaped"
#endif
#ifndef ADDON_VERSION
#define ADDON_VERSION "1.0.0"
#endif
#ifndef ABI_MAJOR
#define ABI_MAJOR SB_ABI_VERSION_MAJOR
#endif
#ifndef ABI_MINOR
#define ABI_MINOR SB_ABI_VERSION_MINOR
#endif

/* A callback a knob leaves out of the descriptor is still compiled. */
#define MAYBE_UNUSED __attribute__((unused))

typedef struct shaped {
    const sb_host *host;
    char log_path[4096];
} shaped;

static void append(shaped *self, const char *what, const char *detail) {
    FILE *file = fopen(self->log_path, "a");
    if (file == NULL) return;
    fprintf(file, "%s|%s\n", what, detail);
    fclose(file);
}

static void say(const sb_host *host, uint32_t level, const char *text) { host->log(host, level, text, strlen(text)); }

MAYBE_UNUSED static void *create(const sb_host *host) {
    shaped *self;
    say(host, SB_LOG_DEBUG, "level debug");
    say(host, SB_LOG_INFO, "level info");
    say(host, SB_LOG_WARNING, "level warning");
    say(host, SB_LOG_ERROR, "level error");
    say(host, 7u, "level 7");
#ifdef CREATE_FAILS
    say(host, SB_LOG_ERROR, "create refuses on purpose");
    return NULL;
#endif
    self = calloc(1, sizeof(shaped));
    if (self == NULL) return NULL;
    self->host = host;
    snprintf(self->log_path, sizeof self->log_path, "%s/calls.log", host->state_dir(host));
    return self;
}

MAYBE_UNUSED static void destroy(void *instance) { free(instance); }

MAYBE_UNUSED static int32_t on_event(void *instance, const sb_event *event) {
    append(instance, "event", event->event_id);
    return SB_OK;
}

MAYBE_UNUSED static int32_t check(void *instance, const sb_event *event, sb_verdict *verdict) {
    (void)verdict;
    append(instance, "check", event->event_id);
    return SB_OK;
}

MAYBE_UNUSED static int32_t erase(void *instance, const sb_subject *subject) {
    append(instance, "erase", subject->account_id);
    return SB_OK;
}

MAYBE_UNUSED static int32_t end_batch(void *instance) {
    append(instance, "end_batch", "-");
    return SB_OK;
}

#ifdef NO_CREATE
#define CREATE NULL
#else
#define CREATE create
#endif
#ifdef NO_DESTROY
#define DESTROY NULL
#else
#define DESTROY destroy
#endif
#ifdef NO_ON_EVENT
#define ON_EVENT NULL
#else
#define ON_EVENT on_event
#endif
#ifdef NO_CHECK
#define CHECK NULL
#else
#define CHECK check
#endif

#ifdef ONE_ZERO_SHAPE

/* Whatever lies in memory after a 1.0 descriptor: a host that read an `end_batch` slot beyond
 * struct_size would find this function there and call it. */
static int32_t beyond_struct_size(void *instance) {
    (void)instance;
    fputs("shaped_addon: a slot beyond struct_size was called\n", stderr);
    abort();
}

/* The 1.0 descriptor's slots, with the same offsets, then the memory that follows. */
typedef struct one_zero_descriptor {
    sb_abi_version abi;
    uint32_t struct_size;
    uint32_t flags;
    const char *id;
    const char *name;
    const char *vendor;
    const char *version;
    void *(*create)(const sb_host *host);
    void (*destroy)(void *instance);
    int32_t (*on_event)(void *instance, const sb_event *event);
    int32_t (*check)(void *instance, const sb_event *event, sb_verdict *verdict);
    int32_t (*erase)(void *instance, const sb_subject *subject);
    int32_t (*beyond)(void *instance);
} one_zero_descriptor;

typedef char one_zero_shape_matches_the_header[(offsetof(one_zero_descriptor, erase) == offsetof(sb_addon_descriptor, erase) &&
                                                offsetof(one_zero_descriptor, beyond) == offsetof(sb_addon_descriptor, end_batch))
                                                   ? 1
                                                   : -1];

static const one_zero_descriptor descriptor = {
    {1, 0}, (uint32_t)offsetof(one_zero_descriptor, beyond), 0,
    ADDON_ID, "Shaped", "Example Vendor", ADDON_VERSION,
    CREATE, DESTROY, ON_EVENT, CHECK, erase, beyond_struct_size,
};
#define DESCRIPTOR ((const sb_addon_descriptor *)(const void *)&descriptor)

#elif defined(OLDER_SHAPE)

/* Whatever lies in memory after an older descriptor: a host that read an `erase` slot beyond
 * struct_size would find this function there and call it. */
static int32_t beyond_struct_size(void *instance, const sb_subject *subject) {
    (void)instance;
    (void)subject;
    fputs("shaped_addon: a slot beyond struct_size was called\n", stderr);
    abort();
}

/* The 1.0 descriptor's slots up to `check`, with the same offsets, then the memory that follows. */
typedef struct older_descriptor {
    sb_abi_version abi;
    uint32_t struct_size;
    uint32_t flags;
    const char *id;
    const char *name;
    const char *vendor;
    const char *version;
    void *(*create)(const sb_host *host);
    void (*destroy)(void *instance);
    int32_t (*on_event)(void *instance, const sb_event *event);
    int32_t (*check)(void *instance, const sb_event *event, sb_verdict *verdict);
    int32_t (*beyond)(void *instance, const sb_subject *subject);
} older_descriptor;

/* C99 has no _Static_assert: a negative array size fails the build instead. */
typedef char older_shape_matches_the_header[(offsetof(older_descriptor, check) == offsetof(sb_addon_descriptor, check) &&
                                             offsetof(older_descriptor, beyond) == offsetof(sb_addon_descriptor, erase))
                                                ? 1
                                                : -1];

static const older_descriptor descriptor = {
    {ABI_MAJOR, ABI_MINOR}, (uint32_t)offsetof(older_descriptor, beyond), 0,
    ADDON_ID, "Shaped", "Example Vendor", ADDON_VERSION,
    CREATE, DESTROY, ON_EVENT, CHECK, beyond_struct_size,
};
#define DESCRIPTOR ((const sb_addon_descriptor *)(const void *)&descriptor)

#else

#ifndef STRUCT_SIZE
#define STRUCT_SIZE sizeof(sb_addon_descriptor)
#endif

static const sb_addon_descriptor descriptor = {
    {ABI_MAJOR, ABI_MINOR}, (uint32_t)(STRUCT_SIZE), 0,
    ADDON_ID, "Shaped", "Example Vendor", ADDON_VERSION,
    CREATE, DESTROY, ON_EVENT, CHECK, erase, end_batch,
};
#define DESCRIPTOR (&descriptor)

#endif

#ifdef NULL_DESCRIPTOR
SB_EXPORT const sb_addon_descriptor *switchboard_addon_entry(void) {
    (void)DESCRIPTOR;
    return NULL;
}
#elif defined(NO_ENTRY)
SB_EXPORT const sb_addon_descriptor *some_other_symbol(void) { return DESCRIPTOR; }
#else
SB_EXPORT const sb_addon_descriptor *switchboard_addon_entry(void) { return DESCRIPTOR; }
#endif
