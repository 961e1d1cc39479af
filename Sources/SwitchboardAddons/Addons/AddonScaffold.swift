import Foundation
import SwitchboardCore

/// Writes a new add-on project a partner can build with `make` and check with `switchboard addons check`.
public enum AddonScaffold {
    public struct Created: Sendable {
        public var files: [String]
    }

    public static func create(id: String, name: String, vendor: String, in directory: URL) throws -> Created {
        guard Manifest.isValidID(id) else {
            throw ConfigurationError(
                source: "--id",
                problems: [FieldError("id", "must be a reverse-DNS id in lower case, e.g. com.example.reports")])
        }
        let library = "lib" + id.split(separator: ".").last!.replacingOccurrences(of: "-", with: "_") + ".so"
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let files: [(String, String)] = [
            ("addon.c", source(id: id, name: name, vendor: vendor)),
            ("\(id).json", manifest(id: id, name: name, vendor: vendor, library: library)),
            ("Makefile", makefile(library: library, manifest: "\(id).json")),
        ]
        for (file, text) in files {
            let url = directory.appendingPathComponent(file)
            if FileManager.default.fileExists(atPath: url.path) {
                throw ConfigurationError(
                    source: directory.path, problems: [FieldError(file, "already exists; choose an empty directory")])
            }
            try Data(text.utf8).write(to: url)
        }
        return Created(files: files.map { directory.appendingPathComponent($0.0).path })
    }

    static func source(id: String, name: String, vendor: String) -> String {
        """
        /*
         * \(name): a Switchboard add-on. Build with `make`, check with `make check`.
         * It counts delivered messages per account and emits the count as a metric.
         */
        #include <stdlib.h>

        #include "switchboard_addon.h"

        typedef struct counter {
            const sb_host *host;
            long delivered;
        } counter;

        static void *create(const sb_host *host) {
            counter *self = calloc(1, sizeof(counter));
            if (self != NULL) self->host = host;
            return self;
        }

        static void destroy(void *instance) { free(instance); }

        /* message.status events: only the fields granted by the customer are present. */
        static int32_t on_event(void *instance, const sb_event *event) {
            counter *self = instance;
            char status[32];
            char json[96];
            int length;
            if (sb_event_copy_text(event, "usage.status", status, sizeof status) < 0) return SB_ERROR;
            if (strcmp(status, "delivered") != 0) return SB_OK;
            self->delivered++;
            length = snprintf(json, sizeof json, "{\\"name\\":\\"delivered_messages\\",\\"value\\":%ld}", self->delivered);
            self->host->emit(self->host, "metric", event->account_id, "delivered_messages", json, (uint64_t)length);
            return SB_OK;
        }

        static int32_t erase(void *instance, const sb_subject *subject) {
            (void)instance;
            (void)subject; /* Nothing about people is kept. */
            return SB_OK;
        }

        static const sb_addon_descriptor descriptor = {
            {SB_ABI_VERSION_MAJOR, SB_ABI_VERSION_MINOR}, sizeof(sb_addon_descriptor), 0,
            "\(id)", "\(name)", "\(vendor)", "0.1.0",
            create, destroy, on_event, NULL, erase,
        };

        SB_EXPORT const sb_addon_descriptor *switchboard_addon_entry(void) { return &descriptor; }

        """.replacingOccurrences(
            of: "#include <stdlib.h>\n", with: "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n")
    }

    static func manifest(id: String, name: String, vendor: String, library: String) -> String {
        """
        {
          "manifest_version": 1,
          "id": "\(id)",
          "name": "\(name)",
          "vendor": "\(vendor)",
          "version": "0.1.0",
          "description": "Counts delivered messages per account.",
          "abi": {"major": 1, "minor": 0},
          "library": {"path": "\(library)", "sha256": "run `make pin` after building"},
          "hooks": ["message.status"],
          "fields": [
            {"id": "usage.status", "category": "usage", "purpose": "Count how many of your messages were delivered", "required": true, "pseudonym": false}
          ],
          "isolation": "isolated",
          "config": {}
        }

        """
    }

    static func makefile(library: String, manifest: String) -> String {
        """
        # SWITCHBOARD_INCLUDE: the directory holding switchboard_addon.h (Sources/PluginAPI/include).
        SWITCHBOARD_INCLUDE ?= ../Sources/PluginAPI/include
        CFLAGS ?= -std=c99 -O2 -Wall -Wextra -pedantic -Werror

        \(library): addon.c
        \tcc $(CFLAGS) -fPIC -shared -fvisibility=hidden -I$(SWITCHBOARD_INCLUDE) addon.c -o $@

        # Writes the library's SHA-256 into the manifest's pin.
        pin: \(library)
        \tsed -i "s/\\"sha256\\": \\"[^\\"]*\\"/\\"sha256\\": \\"$$(sha256sum \(library) | cut -d' ' -f1)\\"/" \(manifest)

        check: pin
        \tswitchboard addons check \(manifest)

        .PHONY: pin check

        """
    }
}
