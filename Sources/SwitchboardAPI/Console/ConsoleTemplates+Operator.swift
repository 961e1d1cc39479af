extension ConsoleTemplates {
    static let operatorPages = [
        "admin_sign_in": adminSignIn, "admin_addons": adminAddons, "admin_audit": adminAudit,
        "admin_verify": adminVerify, "admin_accounts": adminAccounts,
    ]

    static let adminSignIn = """
        {{<layout}}{{$content}}
        <form method="post" action="/console/admin/sign-in" class="stack">
        <input type="hidden" name="csrf" value="{{formToken}}">
        <label for="token">Operator token</label>
        <input id="token" name="token" type="password" autocomplete="off" required aria-describedby="token-hint">
        <p class="hint" id="token-hint">The daemon's operator token: <code>data/secrets/operator-token</code>, or <code>operator_token</code> in its configuration, or <code>SWITCHBOARD_OPERATOR_TOKEN</code>.</p>
        <button type="submit">Sign in</button>
        </form>
        {{/content}}{{/layout}}
        """

    static let adminAddons = """
        {{<layout}}{{$content}}
        <div class="scroll"><table>
        <thead><tr><th scope="col">Add-on</th><th scope="col">Version</th><th scope="col">Isolation</th><th scope="col">State</th><th scope="col">Accounts</th><th scope="col">Events waiting</th><th scope="col">Restarts</th><th scope="col"><span class="skip">Actions</span></th></tr></thead>
        <tbody>{{#loaded}}<tr><td>{{name}}<br><code>{{id}}</code><br><span class="hint">{{vendor}}</span></td><td>{{version}}</td><td>{{isolation}}</td>
        <td>{{state}}{{#why}}<br><span class="hint">{{why}}</span>{{/why}}</td><td>{{enabled_accounts}}</td><td>{{waiting}}</td><td>{{restarts}}</td>
        <td><form method="post" action="/console/admin/addons/{{id}}/reload" class="inline"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit" class="secondary" aria-label="Reload {{name}}">Reload</button></form></td></tr>{{/loaded}}</tbody>
        </table></div>
        {{#anyFailed}}<h2>Add-ons that did not load</h2>
        <ul>{{#failed}}<li><code>{{file}}</code>: {{reason}}</li>{{/failed}}</ul>{{/anyFailed}}
        {{/content}}{{/layout}}
        """

    static let adminAudit = """
        {{<layout}}{{$content}}
        <form method="get" action="/console/admin/audit" class="filters">
        <label for="addon">Add-on</label><input id="addon" name="addon" value="{{addon}}" placeholder="reporting">
        <label for="account">Account</label><input id="account" name="account" value="{{account}}" placeholder="acc_…">
        <label for="field">Field</label><input id="field" name="field" value="{{field}}" placeholder="usage.to">
        <label for="category">Category</label>
        <select id="category" name="category"><option value="">any</option>{{#categories}}<option{{#selected}} selected{{/selected}}>{{value}}</option>{{/categories}}</select>
        <label for="since">Since</label><input id="since" name="since" value="{{since}}" placeholder="2026-01-01T00:00:00Z">
        <label for="until">Until</label><input id="until" name="until" value="{{until}}" placeholder="2026-12-31T23:59:59Z">
        <button type="submit">Search</button>
        </form>
        <p>Download: <a href="{{csv}}" id="download-csv">CSV</a> · <a href="{{ndjson}}">NDJSON</a>: every share the filters select</p>
        {{#empty}}<p>No shares match.</p>{{/empty}}
        {{^empty}}
        <div class="scroll"><table>
        <thead><tr><th scope="col">When</th><th scope="col">Add-on</th><th scope="col">Account</th><th scope="col">Event</th><th scope="col">Fields</th><th scope="col">Consent</th><th scope="col">Record</th></tr></thead>
        <tbody>{{#shares}}<tr><td>{{at}}</td><td>{{addon_id}} {{addon_version}}</td><td>{{account_id}}</td><td>{{event_type}} <code>{{event_id}}</code></td><td>{{fieldList}}</td><td>{{consent_receipt_id}}</td><td>#{{seq}}</td></tr>{{/shares}}</tbody>
        </table></div>
        {{#next}}<p>More shares match than this page of {{pageSize}} shows (oldest first). <a href="{{next}}" id="audit-next">Next {{pageSize}} shares</a></p>{{/next}}
        {{/empty}}
        {{/content}}{{/layout}}
        """

    static let adminVerify = """
        {{<layout}}{{$content}}
        {{#passed}}<p class="notice" id="verify-result">The ledger verifies: {{rows}} records chain unbroken and {{checkpointCount}} signed checkpoints match ({{signingKeys}} signing keys, {{retired}} retired).</p>{{/passed}}
        {{^passed}}<div class="errors" role="alert" id="verify-result"><p>The ledger does not verify at record {{failureSeq}}: {{failureReason}}</p></div>{{/passed}}
        <h2>Latest checkpoints</h2>
        {{^hasCheckpoints}}<p>No checkpoint yet: the daemon signs one every <code>ledger.checkpoint_interval_seconds</code> once records were added.</p>{{/hasCheckpoints}}
        {{#hasCheckpoints}}
        <div class="scroll"><table>
        <thead><tr><th scope="col">Record</th><th scope="col">Kind</th><th scope="col">When</th><th scope="col">Hash</th><th scope="col">Signing key</th></tr></thead>
        <tbody>{{#checkpoints}}<tr><td>#{{seq}}</td><td>{{kind}}</td><td>{{at}}</td><td><code>{{hash}}</code></td><td><code>{{key}}</code></td></tr>{{/checkpoints}}</tbody>
        </table></div>
        {{/hasCheckpoints}}
        {{/content}}{{/layout}}
        """

    static let adminAccounts = """
        {{<layout}}{{$content}}
        <div class="scroll"><table>
        <thead><tr><th scope="col">Account</th><th scope="col">Name</th><th scope="col">Email</th><th scope="col">Status</th><th scope="col">Legal hold</th></tr></thead>
        <tbody>{{#accounts}}<tr><td><code>{{account.id}}</code><br><span class="hint">since {{account.created_at}}</span></td><td>{{account.name}}</td><td>{{account.email}}</td><td>{{account.status}}</td>
        <td>{{#erased}}{{#legal_hold_reason}}held: {{legal_hold_reason}}{{/legal_hold_reason}}{{^legal_hold_reason}}none: erased{{/legal_hold_reason}}{{/erased}}
        {{^erased}}{{#legal_hold_reason}}held: {{legal_hold_reason}}
        {{#account.erasure_requested_at}}<br><strong>The customer asked for deletion on {{account.erasure_requested_at}}: lifting the hold erases the account.</strong>{{/account.erasure_requested_at}}
        <form method="post" action="/console/admin/accounts/{{account.id}}/legal-hold/lift" class="inline"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit" class="secondary">Lift</button></form>{{/legal_hold_reason}}
        {{^legal_hold_reason}}<form method="post" action="/console/admin/accounts/{{account.id}}/legal-hold" class="inline">
        <input type="hidden" name="csrf" value="{{csrf}}"><label for="reason-{{account.id}}">Hold reason<span class="skip"> for {{account.id}}</span></label>
        <input id="reason-{{account.id}}" name="reason" placeholder="reason" required><button type="submit" class="secondary">Hold</button></form>{{/legal_hold_reason}}{{/erased}}</td></tr>{{/accounts}}</tbody>
        </table></div>
        {{#next}}<p><a href="{{next}}">More accounts</a></p>{{/next}}
        {{/content}}{{/layout}}
        """
}
