import Foundation
import SwitchboardCore

/// The language of a new add-on project.
public enum AddonLanguage: String, CaseIterable, Sendable {
    /// `addon.c`, built with `cc` against the header copied beside it.
    case c
    /// A Swift package on AddonKit, with the SDK copied into `sdk/`.
    case swift
}

/// Writes a new add-on project a partner can build with `make`, pin with `make pin` and check with
/// `make check` (`switchboard addons validate`) and `make load` (`switchboard addons check`).
///
/// The project needs nothing from our source tree: the header (C) or the whole SDK (Swift) is copied
/// into it, and the Makefile runs `$(SWITCHBOARD)`, `switchboard` on `PATH` unless told otherwise.
public enum AddonScaffold {
    public struct Created: Sendable {
        /// The project's own files (the SDK's files under `sdk/` are not listed one by one).
        public var files: [String]
        /// Where the SDK went (Swift projects only).
        public var sdkDirectory: String?
        /// The library `make` builds, beside the manifest.
        public var library: String
        /// The manifest's file name.
        public var manifest: String
    }

    /// Creates the project in `directory` (created if missing). Refuses, writing nothing, when any
    /// of its files already exists.
    public static func create(
        id: String, name: String, vendor: String, language: AddonLanguage = .c, sdk: AddonSDK, in directory: URL
    ) throws -> Created {
        guard Manifest.isValidID(id), id.utf8.count <= 100 else {
            throw ConfigurationError(
                source: "--id",
                problems: [
                    FieldError(
                        "id",
                        "must be a reverse-DNS id in lower case of at most 100 characters, e.g. com.example.reports")
                ])
        }
        // The name and vendor go into a C string, a C comment, Swift and JSON: characters that would
        // need escaping in one of them are refused rather than escaped four ways.
        for (option, value) in [("--name", name), ("--vendor", vendor)] {
            guard !value.isEmpty, value.count <= 100,
                !value.unicodeScalars.contains(where: {
                    $0.properties.generalCategory == .control || "\"\\".unicodeScalars.contains($0)
                }),
                !value.contains("*/")
            else {
                throw ConfigurationError(
                    source: option,
                    problems: [
                        FieldError(
                            String(option.dropFirst(2)),
                            "must be 1 to 100 characters without quotes, backslashes, line breaks or */ (it goes into C, Swift and JSON as it is)"
                        )
                    ])
            }
        }
        let manifestFile = "\(id).json"
        let project: [AddonProjectFile]
        let library: String
        var sdkFiles: [AddonProjectFile] = []
        switch language {
        case .c:
            library = "lib" + id.split(separator: ".").last!.replacingOccurrences(of: "-", with: "_") + ".so"
            project = [
                AddonProjectFile(path: "addon.c", text: source(id: id, name: name, vendor: vendor)),
                AddonProjectFile(path: "switchboard_addon.h", contents: try Data(contentsOf: sdk.header)),
                AddonProjectFile(path: "exports.map", contents: try Data(contentsOf: sdk.exportList)),
                AddonProjectFile(path: "Makefile", text: makefile(library: library, manifest: manifestFile)),
            ]
        case .swift:
            let target = swiftTargetName(id: id)
            library = "lib\(target).so"
            project = [
                AddonProjectFile(path: "Package.swift", text: swiftPackage(target: target)),
                AddonProjectFile(
                    path: "Sources/\(target)/Addon.swift", text: swiftSource(id: id, name: name, vendor: vendor)),
                AddonProjectFile(path: "exports.map", contents: try Data(contentsOf: sdk.exportList)),
                AddonProjectFile(path: "Makefile", text: swiftMakefile(target: target, manifest: manifestFile)),
                AddonProjectFile(path: ".gitignore", text: "/.build/\n/*.so\n"),
            ]
            sdkFiles = try sdk.files().map { AddonProjectFile(path: "sdk/" + $0.path, contents: $0.contents) }
        }
        let manifest = AddonProjectFile(
            path: manifestFile, text: manifest(id: id, name: name, vendor: vendor, library: library))
        let files = [project[0], manifest] + project.dropFirst()
        _ = try ProjectFiles.write(files + sdkFiles, to: directory, existing: .refuse)
        return Created(
            files: files.map { directory.appendingPathComponent($0.path).path },
            sdkDirectory: sdkFiles.isEmpty ? nil : directory.appendingPathComponent("sdk").path,
            library: library, manifest: manifestFile)
    }

    static func source(id: String, name: String, vendor: String) -> String {
        """
        /*
         * \(name): a Switchboard add-on. Build with `make`, pin with `make pin`, check with `make check`.
         * It counts delivered messages and emits the count as a metric.
         */
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>

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

        /* Designated initializers: a slot a later ABI minor appends stays NULL without a warning. */
        static const sb_addon_descriptor descriptor = {
            .abi = {SB_ABI_VERSION_MAJOR, SB_ABI_VERSION_MINOR},
            .struct_size = sizeof(sb_addon_descriptor),
            .flags = 0,
            .id = "\(id)",
            .name = "\(name)",
            .vendor = "\(vendor)",
            .version = "0.1.0",
            .create = create,
            .destroy = destroy,
            .on_event = on_event,
            .check = NULL,
            .erase = erase,
            .end_batch = NULL, /* set it to write once per delivered batch (ABI 1.1) */
        };

        SB_EXPORT const sb_addon_descriptor *switchboard_addon_entry(void) { return &descriptor; }

        """
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
          "abi": {"major": 1, "minor": 1},
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
        # SWITCHBOARD: the switchboard binary that checks the add-on (make SWITCHBOARD=/path/to/switchboard).
        SWITCHBOARD ?= switchboard
        CFLAGS ?= -std=c99 -O2 -Wall -Wextra -pedantic -Werror

        # switchboard_addon.h sits beside addon.c; exports.map makes the library export the entry only.
        \(library): addon.c switchboard_addon.h exports.map
        \tcc $(CFLAGS) -fPIC -shared -fvisibility=hidden -I. -Wl,--version-script=exports.map addon.c -o $@

        \(pinRules(library: library, manifest: manifest))
        clean:
        \trm -f \(library)

        .PHONY: pin check load clean

        """
    }

    /// The `pin`, `check` and `load` rules, the same for both languages.
    static func pinRules(library: String, manifest: String) -> String {
        """
        # Writes the library's SHA-256 into the manifest's pin.
        pin: \(library)
        \tsed -i "s/\\"sha256\\": \\"[^\\"]*\\"/\\"sha256\\": \\"$$(sha256sum \(library) | cut -d' ' -f1)\\"/" \(manifest)

        # Runs the add-on in a runner, as the daemon would, through the conformance rules.
        check: pin
        \t$(SWITCHBOARD) addons validate \(manifest)

        # Loads the library exactly as the daemon would and creates one instance.
        load: pin
        \t$(SWITCHBOARD) addons check \(manifest)

        """
    }
}
