/*
 * switchboard_addon.h: the C ABI between the Switchboard host and its add-ons.
 *
 * This header is the whole contract. It is self-contained C99, compiles as C and C++, and is
 * versioned: SB_ABI_VERSION_MAJOR changes only when something published changes meaning; new
 * capability arrives as a new minor version (a slot appended to a struct) or as a new extension id
 * (see sb_host.get_extension). Nothing published is ever reordered, resized, removed or reused.
 *
 * An add-on is a shared library that exports exactly one symbol, switchboard_addon_entry. The host
 * reads the add-on's consent manifest first, checks the library's SHA-256 against the manifest's pin,
 * dlopens it, calls the entry, and refuses the add-on, before calling anything else, when the
 * descriptor's ABI major differs from the host's or its minor is newer than the host's.
 *
 * Context tags used in the comments below:
 *   [any-thread]  the host may call this from any thread, but never concurrently for one instance
 *                 unless the descriptor sets SB_ADDON_THREAD_SAFE.
 *   [blocking-ok] the call may block briefly (file I/O); the host has budgeted for it.
 *   [sync-budget] the call sits on the message-sending path and must return within the manifest's
 *                 sync.timeout_ms; past it, the host applies the manifest's failure mode.
 *   [call-scoped] every pointer passed in is valid only during this call; copy what you keep.
 *
 * Rationale for call-scoped pointers: the host builds each event view for exactly one add-on and
 * frees it when the call returns; this is what lets the host prove the add-on saw only granted data,
 * and it lets the same add-on run unchanged in an isolated runner process.
 *
 * Rationale for struct_size: a host or add-on built against an older minor version passes smaller
 * structs; the receiver reads only the slots that fit in struct_size.
 */
#ifndef SWITCHBOARD_ADDON_H
#define SWITCHBOARD_ADDON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------
 * Version
 * ------------------------------------------------------------------------------------------- */

#define SB_ABI_VERSION_MAJOR 1
#define SB_ABI_VERSION_MINOR 1 /* 1.1 added sb_addon_descriptor.end_batch. */

typedef struct sb_abi_version {
    uint32_t major;
    uint32_t minor;
} sb_abi_version;

/* ---------------------------------------------------------------------------------------------
 * Events: read-only lists of typed fields
 *
 * A field the add-on was not granted is simply absent. Field ids are stable strings from the
 * privacy policy's categories: "content.body", "account.name", "account.email", "account.company",
 * "usage.to", "usage.from", "usage.status", "usage.error_code", "usage.segments", "usage.timestamp",
 * "usage.message_id", "usage.opt_out", "usage.method", "usage.path", "usage.status_code",
 * "usage.latency_ms", "usage.ip". docs/addons.md lists which event carries which field.
 * ------------------------------------------------------------------------------------------- */

/* Field kinds. */
#define SB_FIELD_TEXT 1u      /* UTF-8 text in bytes/length (not NUL-terminated). */
#define SB_FIELD_INT 2u       /* A signed integer in int_value. */
#define SB_FIELD_PSEUDONYM 3u /* A keyed token standing for the real value, in bytes/length:
                                 stable per (add-on, account), useless elsewhere. */
#define SB_FIELD_DIGEST 4u    /* A keyed digest of content (account content_mode "hash"). */

typedef struct sb_field {
    const char *id;       /* NUL-terminated field id, e.g. "usage.to". */
    uint32_t kind;        /* SB_FIELD_*. */
    uint32_t reserved;    /* Zero. */
    const uint8_t *bytes; /* TEXT, PSEUDONYM, DIGEST: the value; NULL for INT. */
    uint64_t length;      /* Bytes in `bytes`. */
    int64_t int_value;    /* INT: the value; 0 otherwise. */
} sb_field;

/* Event types. The string form (type_name) is what manifests subscribe to. */
#define SB_EVENT_MESSAGE_SUBMIT 1u  /* "message.submit": an outbound message before acceptance (sync). */
#define SB_EVENT_MESSAGE_STATUS 2u  /* "message.status": an outbound message changed status. */
#define SB_EVENT_MESSAGE_INBOUND 3u /* "message.inbound": a message arrived from a handset. */
#define SB_EVENT_API_REQUEST 4u     /* "api.request": the account made an API request. */
#define SB_EVENT_ACCOUNT_CHANGED 5u /* "account.changed": the account's profile changed. */

typedef struct sb_event {
    uint32_t struct_size;    /* sizeof(sb_event) of the host that built it. */
    uint32_t type;           /* SB_EVENT_*. */
    const char *type_name;   /* NUL-terminated, e.g. "message.status". */
    const char *event_id;    /* NUL-terminated, unique per event; the same on redelivery. */
    const char *account_id;  /* NUL-terminated id of the customer account the event belongs to. */
    int64_t time_ms;         /* When the event happened, milliseconds since 1970 UTC. */
    const sb_field *fields;  /* field_count fields, in no particular order. */
    uint32_t field_count;
    uint32_t reserved;       /* Zero. */
} sb_event;

/* The field with this id, or NULL when the event does not carry it (not granted, or not applicable). */
static inline const sb_field *sb_event_get(const sb_event *event, const char *id) {
    uint32_t i;
    if (event == NULL || id == NULL) return NULL;
    for (i = 0; i < event->field_count; i++) {
        if (strcmp(event->fields[i].id, id) == 0) return &event->fields[i];
    }
    return NULL;
}

/* Copies a text-like field into buf as a NUL-terminated string, truncating to capacity - 1 bytes.
 * Returns the field's full length, or -1 when the field is absent or an integer. */
static inline int64_t sb_event_copy_text(const sb_event *event, const char *id, char *buf, size_t capacity) {
    const sb_field *field = sb_event_get(event, id);
    size_t n;
    if (field == NULL || field->kind == SB_FIELD_INT || capacity == 0) return -1;
    n = field->length < capacity - 1 ? (size_t)field->length : capacity - 1;
    if (n > 0) memcpy(buf, field->bytes, n);
    buf[n] = '\0';
    return (int64_t)field->length;
}

/* The integer value of a field, or `fallback` when absent or not an integer. */
static inline int64_t sb_event_int(const sb_event *event, const char *id, int64_t fallback) {
    const sb_field *field = sb_event_get(event, id);
    return (field != NULL && field->kind == SB_FIELD_INT) ? field->int_value : fallback;
}

/* ---------------------------------------------------------------------------------------------
 * Verdicts of the synchronous pre-send check
 * ------------------------------------------------------------------------------------------- */

#define SB_VERDICT_ALLOW 0u
#define SB_VERDICT_BLOCK 1u

#define SB_REASON_CODE_CAPACITY 64
#define SB_REASON_TEXT_CAPACITY 256

/* Owned by the host, zeroed and sized before the call; the add-on fills it in. */
typedef struct sb_verdict {
    uint32_t struct_size;                       /* Set by the host. */
    uint32_t action;                            /* SB_VERDICT_ALLOW or SB_VERDICT_BLOCK. */
    char reason_code[SB_REASON_CODE_CAPACITY];  /* NUL-terminated machine code, e.g. "suppressed". */
    char reason[SB_REASON_TEXT_CAPACITY];       /* NUL-terminated text shown to the API caller. */
} sb_verdict;

/* Fills a verdict to block, truncating the strings to fit. */
static inline void sb_verdict_block(sb_verdict *verdict, const char *code, const char *reason) {
    size_t n;
    verdict->action = SB_VERDICT_BLOCK;
    n = strlen(code);
    if (n >= SB_REASON_CODE_CAPACITY) n = SB_REASON_CODE_CAPACITY - 1;
    memcpy(verdict->reason_code, code, n);
    verdict->reason_code[n] = '\0';
    n = strlen(reason);
    if (n >= SB_REASON_TEXT_CAPACITY) n = SB_REASON_TEXT_CAPACITY - 1;
    memcpy(verdict->reason, reason, n);
    verdict->reason[n] = '\0';
}

/* ---------------------------------------------------------------------------------------------
 * Erasure subjects (data-subject rights)
 * ------------------------------------------------------------------------------------------- */

#define SB_SUBJECT_ACCOUNT 1u /* Everything held about account_id. */
#define SB_SUBJECT_NUMBER 2u  /* Everything held about one phone number within account_id. */
#define SB_SUBJECT_CONTACT 3u /* One phonebook contact (its number) within account_id. */

typedef struct sb_subject {
    uint32_t struct_size;
    uint32_t kind;             /* SB_SUBJECT_*. */
    const char *account_id;    /* NUL-terminated. */
    const uint8_t *value;      /* NUMBER/CONTACT: the phone number (UTF-8), only when this add-on
                                  received this account's numbers in clear; NULL when it only ever
                                  received pseudonyms of them (an erasure request never tells an
                                  add-on more than it already had), and for ACCOUNT. */
    uint64_t value_length;
    const uint8_t *pseudonym;  /* NUMBER/CONTACT: the number as this add-on's pseudonym, always
                                  set; NULL for ACCOUNT. */
    uint64_t pseudonym_length;
} sb_subject;

/* ---------------------------------------------------------------------------------------------
 * The host vtable
 *
 * Append-only, like sqlite3_api_routines: new slots go at the end and raise
 * SB_ABI_VERSION_MINOR; an add-on checks struct_size before touching a slot newer than the
 * minor it was built against. The host owns this struct; it is valid from create until destroy
 * returns.
 * ------------------------------------------------------------------------------------------- */

#define SB_LOG_DEBUG 0u
#define SB_LOG_INFO 1u
#define SB_LOG_WARNING 2u
#define SB_LOG_ERROR 3u

typedef struct sb_host {
    uint32_t struct_size;
    sb_abi_version abi;    /* The host's ABI version. */
    void *host_data;       /* Opaque; pass the sb_host pointer back, never this. */

    /* Writes a line to the daemon's log, tagged with the add-on id. [any-thread][call-scoped] */
    void (*log)(const struct sb_host *host, uint32_t level, const char *message, uint64_t length);

    /* Emits a record the host stores and shows: kind "report" (customer-readable report rows),
     * "alert" (operator and customer alerts) or "metric" (exported to the operator on /v1/admin/metrics). `key` names the
     * record within (add-on, account, kind): emitting the same key again replaces it; NULL appends.
     * `json` is one JSON object. Returns 0 on success, negative when the record was refused
     * (unknown kind, invalid JSON, or an account this add-on is not enabled for or that was erased).
     * [any-thread][call-scoped] */
    int32_t (*emit)(const struct sb_host *host, const char *kind, const char *account_id, const char *key,
                    const char *json, uint64_t json_length);

    /* The host's clock, milliseconds since 1970 UTC. Use it instead of the system clock so tests
     * and replays see consistent time. [any-thread] */
    int64_t (*now_ms)(const struct sb_host *host);

    /* A NUL-terminated directory the add-on owns for its state; it exists and persists across
     * restarts and upgrades. The string lives as long as the sb_host. [any-thread] */
    const char *(*state_dir)(const struct sb_host *host);

    /* The operator's setting `key` for this add-on (manifest "config" defaults, overridden by
     * the host configuration), as NUL-terminated UTF-8; NULL when unset. The string lives as long
     * as the sb_host. [any-thread] */
    const char *(*config_get)(const struct sb_host *host, const char *key);

    /* An optional capability by string id (e.g. "switchboard.example/1"), or NULL when the host
     * does not offer it. The returned struct lives as long as the sb_host. [any-thread] */
    const void *(*get_extension)(const struct sb_host *host, const char *id);
} sb_host;

/* ---------------------------------------------------------------------------------------------
 * The add-on descriptor
 *
 * Sizes across minor versions. An add-on sets struct_size to sizeof(sb_addon_descriptor) of the
 * header it was built against; a later minor only appends slots. The host reads a slot only when
 * offsetof(sb_addon_descriptor, slot) + sizeof(slot) <= struct_size, and treats a slot beyond that
 * as NULL, so an add-on built against an older minor of the same major keeps working. The host
 * refuses, before calling anything, a descriptor whose abi.major differs from its own, whose
 * abi.minor is newer than its own, or whose struct_size is smaller than the 1.0 descriptor (which
 * ends with `erase`: 88 bytes where pointers are 8 bytes).
 * ------------------------------------------------------------------------------------------- */

/* Descriptor flags. */
#define SB_ADDON_THREAD_SAFE 1u /* The host may call one instance from several threads at once. */

/* Return codes of on_event, check and erase. */
#define SB_OK 0
#define SB_RETRY (-1) /* Temporary failure: the host keeps the event and delivers it again later. */
#define SB_ERROR (-2) /* Permanent failure for this event: the host records it and moves on. */

typedef struct sb_addon_descriptor {
    /* First, always: the ABI this add-on was built against (use the macros). */
    sb_abi_version abi;
    uint32_t struct_size; /* sizeof(sb_addon_descriptor) of the header built against; see above. */
    uint32_t flags;       /* SB_ADDON_*. */

    const char *id;      /* Reverse-DNS id; must equal the manifest's "id". */
    const char *name;    /* Human-readable name. */
    const char *vendor;  /* Who ships it. */
    const char *version; /* The add-on's own version, e.g. "1.2.0"; must equal the manifest's. */

    /* Creates an instance. `host` stays valid until destroy returns. Returns NULL on failure
     * (log why through host->log first). [blocking-ok] */
    void *(*create)(const sb_host *host);

    /* Releases the instance. The add-on must not keep threads or call the host afterwards. */
    void (*destroy)(void *instance);

    /* An asynchronous event (message.status, message.inbound, api.request, account.changed).
     * Delivery is at least once and in order per account: the same event_id may arrive again
     * after a restart. Returns SB_OK, SB_RETRY or SB_ERROR. NULL if the add-on subscribes to no
     * asynchronous event. [any-thread][blocking-ok][call-scoped] */
    int32_t (*on_event)(void *instance, const sb_event *event);

    /* The synchronous pre-send check of a "message.submit" event. Fill `verdict` (it arrives
     * zeroed, i.e. allow) and return SB_OK; any other return or a late answer is a failure and the
     * manifest's failure mode decides. NULL if the add-on has no pre-send hook.
     * [any-thread][sync-budget][call-scoped] */
    int32_t (*check)(void *instance, const sb_event *event, sb_verdict *verdict);

    /* Deletes everything the add-on holds about `subject`. Returns SB_OK once done (the host
     * records the acknowledgement), SB_RETRY to be asked again later, SB_ERROR if it cannot.
     * [any-thread][blocking-ok][call-scoped] */
    int32_t (*erase)(void *instance, const sb_subject *subject);

    /* Since 1.1. Ends a delivery: called after the on_event calls of one batch (up to 256 events,
     * in order) and after each erase, before the host records what was delivered. An add-on that
     * keeps what on_event changed in memory (journal lines, report rows to emit) writes it here,
     * once per batch instead of once per event. Return SB_OK once that is done; any other return
     * means the batch's SB_OK answers do not hold: the host records that the add-on saw the batch
     * and delivers it again, whole, after the same backoff as SB_RETRY (so on_event must be
     * idempotent, as at-least-once delivery already requires). NULL if the add-on finishes each
     * event in on_event. The host reads it only when struct_size covers it (an add-on built
     * against 1.0 has none). [any-thread][blocking-ok] */
    int32_t (*end_batch)(void *instance);
} sb_addon_descriptor;

/* The one exported symbol. Returns a descriptor with static storage duration. */
typedef const sb_addon_descriptor *(*sb_addon_entry_fn)(void);
#define SB_ADDON_ENTRY_SYMBOL "switchboard_addon_entry"

#if defined(_WIN32)
#define SB_EXPORT __declspec(dllexport)
#else
#define SB_EXPORT __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
}
#endif

#endif /* SWITCHBOARD_ADDON_H */
