import PluginAPI

extension EventView {
    /// The kind of a field (`SB_FIELD_TEXT`, `SB_FIELD_INT`, `SB_FIELD_PSEUDONYM`, `SB_FIELD_DIGEST`);
    /// nil when absent. Lets an add-on that promised customers it only sees pseudonyms refuse a
    /// clear value instead of storing it.
    public func kind(_ id: String) -> UInt32? {
        sb_event_get(raw, id)?.pointee.kind
    }
}
