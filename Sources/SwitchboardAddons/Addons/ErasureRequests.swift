import GRDB

/// What an erasure request keeps once its add-ons have answered.
enum ErasureRequests {
    /// Clears the request's `subject_value` (the erased phone number) once no add-on's part is
    /// still pending: the number was needed to show the customer what is being erased while the
    /// add-ons were asked, and keeping it afterwards would keep, in clear, the very data whose
    /// erasure was requested (GDPR article 17(1); article 5(1)(c), data minimisation). The orders
    /// still queued carry their own copy and leave with their delivery. Call it in the transaction
    /// that records an add-on's answer.
    static func settle(_ db: Database, requestID: String) throws {
        try db.cachedStatement(
            sql: """
                UPDATE erasure_requests SET subject_value = NULL
                WHERE id = ? AND subject_value IS NOT NULL
                    AND NOT EXISTS (SELECT 1 FROM erasure_tasks WHERE request_id = ? AND state = 'pending')
                """
        ).execute(arguments: [requestID, requestID])
    }
}
