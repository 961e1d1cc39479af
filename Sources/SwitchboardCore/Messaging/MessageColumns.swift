import GRDB

extension Message {
    /// The `messages` columns a `Message` is read from, in the order statements return them. The
    /// one list both decoders follow: by name from a GRDB `Row`, by position from a stepped
    /// statement (`ChangedMessage`), so adding a column is one case here and one line in
    /// `init(source:)`.
    package enum Column: Int32, CaseIterable {
        case seq, id, accountID, direction, to, from, body, bodyDigest, encoding, segments, status
        case errorCode, errorMessage, statusCallback, createdAt, sentAt, completedAt, updatedAt
        case statusCallbackEvents, submitStartedAt

        /// The SQL column name.
        package var name: String {
            switch self {
            case .seq: "seq"
            case .id: "id"
            case .accountID: "account_id"
            case .direction: "direction"
            case .to: "to_number"
            case .from: "from_number"
            case .body: "body"
            case .bodyDigest: "body_digest"
            case .encoding: "encoding"
            case .segments: "segments"
            case .status: "status"
            case .errorCode: "error_code"
            case .errorMessage: "error_message"
            case .statusCallback: "status_callback"
            case .createdAt: "created_at"
            case .sentAt: "sent_at"
            case .completedAt: "completed_at"
            case .updatedAt: "updated_at"
            case .statusCallbackEvents: "status_callback_events"
            case .submitStartedAt: "submit_started_at"
            }
        }
    }

    /// Every column, comma-separated in `Column` order, for `SELECT` and `RETURNING` lists.
    package static let columns = Column.allCases.map(\.name).joined(separator: ", ")

    /// Reads a message from any source of its columns.
    init(source: some MessageColumnSource) {
        seq = source.integer(.seq) ?? 0
        id = source.text(.id) ?? ""
        accountID = source.text(.accountID) ?? ""
        direction = MessageDirection(rawValue: source.text(.direction) ?? "") ?? .outbound
        to = source.text(.to) ?? ""
        from = source.text(.from) ?? ""
        body = source.text(.body)
        bodyDigest = source.text(.bodyDigest)
        encoding = source.text(.encoding) ?? ""
        segments = Int(source.integer(.segments) ?? 0)
        status = MessageStatus(rawValue: source.text(.status) ?? "") ?? .failed
        errorCode = source.integer(.errorCode).map { Int($0) }
        errorMessage = source.text(.errorMessage)
        statusCallback = source.text(.statusCallback)
        statusCallbackEvents = CallbackEvents(storedValue: source.integer(.statusCallbackEvents))
        createdAt = source.integer(.createdAt) ?? 0
        sentAt = source.integer(.sentAt)
        completedAt = source.integer(.completedAt)
        updatedAt = source.integer(.updatedAt) ?? 0
        submitStartedAt = source.integer(.submitStartedAt)
    }

    public init(row: Row) {
        self.init(source: NamedColumns(row: row))
    }

    /// The current row of a statement that returns exactly `Message.columns` first.
    init(columnsOf row: OpaquePointer) {
        self.init(source: SQLiteColumns(row))
    }
}

/// Where a message's column values come from.
protocol MessageColumnSource {
    func text(_ column: Message.Column) -> String?
    func integer(_ column: Message.Column) -> Int64?
}

/// A GRDB row, read by column name.
private struct NamedColumns: MessageColumnSource {
    let row: Row
    func text(_ column: Message.Column) -> String? { row[column.name] }
    func integer(_ column: Message.Column) -> Int64? { row[column.name] }
}

/// A stepped statement, read by position.
extension SQLiteColumns: MessageColumnSource {
    func text(_ column: Message.Column) -> String? { text(column.rawValue) }
    func integer(_ column: Message.Column) -> Int64? { integer(column.rawValue) }
}
