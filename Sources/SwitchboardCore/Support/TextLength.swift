extension StringProtocol {
    /// The length every limit on customer text counts ("at most 200 characters"): Unicode code
    /// points. `count` counts grapheme clusters, and one cluster may carry any number of combining
    /// marks or joined emoji: a body of 1,600 clusters could be hundreds of SMS segments, past the
    /// 255 parts a concatenated SMS can have (3GPP TS 23.040 §9.2.3.24.1), and a 200-character name
    /// megabytes.
    package var lengthInCodePoints: Int { unicodeScalars.count }

    /// Whether the text is empty or holds only white space: spaces of any width, tabs and line
    /// breaks (Unicode's White_Space property).
    package var isBlank: Bool { unicodeScalars.allSatisfy(\.properties.isWhitespace) }
}
