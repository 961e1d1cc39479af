import SwitchboardCore

/// Why an add-on was not loaded. The daemon logs it, lists it in `GET /v1/admin/addons`, and goes on
/// with the other add-ons.
public struct AddonLoadError: Error, CustomStringConvertible, Sendable {
    /// The manifest the add-on was described by.
    public var file: String
    /// What is wrong and how to fix it.
    public var reason: String
    /// The underlying error, when there is one: a `DescriptorError` (from `AddonABI`) names the
    /// descriptor slot at fault in its `field`.
    public var cause: (any Error & Sendable)? = nil

    public var description: String { "\(file): \(reason)" }
}
