import Foundation
import Testing

/// An audit answered as CSV has its header line also when no share matches.
@Suite struct AuditCSVTests {
    @Test func anEmptyAuditInCSVStillNamesItsColumns() async throws {
        try await TestDaemon.withRouter { daemon in
            let csv = try await daemon.admin.get("/v1/admin/audit?format=csv")
            #expect(csv.status == 200, "\(csv.text)")
            #expect(
                csv.text
                    == "account_id,addon_id,addon_version,at,consent_receipt_id,event_id,event_type,fields,hash,seq\r\n",
                "\(csv.text)")
        }
    }
}
