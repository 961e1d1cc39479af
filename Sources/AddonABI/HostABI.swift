import PluginAPI

/// The ABI this host speaks and the one place that decides whether an add-on's declared version is
/// compatible with it (`switchboard_addon.h`, sections "Version" and "The add-on descriptor").
///
/// The rules: the major must equal the host's; the minor may be older or equal, never newer; a
/// descriptor's `struct_size` must cover at least the smallest descriptor published under this major
/// (the first minor's, 1.0), and every slot past `struct_size` is read as absent.
public struct HostABI: Sendable, Equatable {
    /// `SB_ABI_VERSION_MAJOR` of the header the host was built against.
    public var major: UInt32
    /// `SB_ABI_VERSION_MINOR` of the header the host was built against.
    public var minor: UInt32
    /// The `struct_size` of the smallest descriptor published under `major`: the end of the last
    /// slot of its first minor. Appending slots in later minors does not change it.
    public var minimumDescriptorSize: Int

    public init(major: UInt32, minor: UInt32, minimumDescriptorSize: Int) {
        self.major = major
        self.minor = minor
        self.minimumDescriptorSize = minimumDescriptorSize
    }

    /// This host: the header's version, and 1.0's descriptor (which ends with `erase`) as the smallest.
    public static let current = HostABI(
        major: UInt32(SB_ABI_VERSION_MAJOR), minor: UInt32(SB_ABI_VERSION_MINOR),
        minimumDescriptorSize: DescriptorLayout.end(of: \.erase))

    /// Whether an add-on declaring `major.minor` may run here: the same major and a minor no newer.
    public func accepts(major: UInt32, minor: UInt32) -> Bool {
        major == self.major && minor <= self.minor
    }

    /// The versions this host accepts, as messages spell them: "1.0 to 1.0".
    public var acceptedRange: String { "\(major).0 to \(major).\(minor)" }

    /// The host's version: "1.0".
    public var version: String { "\(major).\(minor)" }
}
