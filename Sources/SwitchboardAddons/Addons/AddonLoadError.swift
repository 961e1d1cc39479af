import SwitchboardCore

/// Why an add-on was not loaded. The daemon logs it, lists it in `GET /v1/admin/addons`, and goes on
/// with the other add-ons.
public struct AddonLoadError: Error, CustomStringConvertible, Sendable {
    public var file: String
    public var reason: String

    public var description: String { "\(file): \(reason)" }
}
