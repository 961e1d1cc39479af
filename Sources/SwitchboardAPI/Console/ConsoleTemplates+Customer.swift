extension ConsoleTemplates {
    static let customerPages = [
        "messages": messages, "message": message, "numbers": numbers, "keys": keys, "settings": settings,
        "usage": usage, "delete": delete, "deleted": deleted,
    ]

    static let messages = """
        {{<layout}}{{$content}}
        <section aria-labelledby="send-heading">
        <h2 id="send-heading">Send a test message</h2>
        <form method="post" action="/console/messages" class="stack">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="to">To (international form)</label>
        <input id="to" name="to" type="tel" placeholder="+37255512345" required value="{{to}}">
        <label for="from">From (one of your numbers, or a sender name of up to 11 characters)</label>
        <input id="from" name="from" required value="{{from}}">
        <label for="body">Text</label>
        <textarea id="body" name="body" rows="3" maxlength="1600" required>{{body}}</textarea>
        <button type="submit">Send</button>
        </form>
        </section>
        <h2>Your messages</h2>
        <form method="get" action="/console/messages" class="inline-filters">
        <label for="status">Status</label>
        <select id="status" name="status"><option value="">any</option>{{#statuses}}<option{{#selected}} selected{{/selected}}>{{value}}</option>{{/statuses}}</select>
        <label for="direction">Direction</label>
        <select id="direction" name="direction"><option value="">any</option>{{#directions}}<option{{#selected}} selected{{/selected}}>{{value}}</option>{{/directions}}</select>
        <button type="submit" class="secondary">Filter</button>
        </form>
        {{#empty}}<p>No messages match.</p>{{/empty}}
        {{^empty}}
        <div class="scroll"><table>
        <thead><tr><th scope="col">Message</th><th scope="col">Direction</th><th scope="col">To</th><th scope="col">From</th><th scope="col">Status</th><th scope="col">Created</th></tr></thead>
        <tbody>
        {{#messages}}<tr><td><a href="/console/messages/{{id}}">{{id}}</a></td><td>{{direction}}</td><td>{{to}}</td><td>{{from}}</td><td>{{status}}</td><td>{{created_at}}</td></tr>{{/messages}}
        </tbody></table></div>
        {{#next}}<p><a href="{{next}}">Older messages</a></p>{{/next}}
        {{/empty}}
        {{/content}}{{/layout}}
        """

    static let message = """
        {{<layout}}{{$content}}
        {{#message}}
        <dl>
        <dt>Direction</dt><dd>{{direction}}</dd>
        <dt>To</dt><dd>{{to}}</dd>
        <dt>From</dt><dd>{{from}}</dd>
        <dt>Text</dt><dd>{{#body}}{{body}}{{/body}}{{^body}}{{#body_digest}}not kept (SHA-256 {{body_digest}}){{/body_digest}}{{^body_digest}}not kept{{/body_digest}}{{/body}}</dd>
        <dt>Segments</dt><dd>{{segments}} ({{encoding}})</dd>
        <dt>Status</dt><dd id="message-status">{{status}}{{#error_code}} (error {{error_code}}{{#error_message}}: {{error_message}}{{/error_message}}){{/error_code}}</dd>
        </dl>
        {{/message}}
        <h2>Status history</h2>
        <ol>{{#history}}<li>{{status}} at {{at}}</li>{{/history}}</ol>
        <p><a href="/console/messages">All messages</a></p>
        {{/content}}{{/layout}}
        """

    static let numbers = """
        {{<layout}}{{$content}}
        <h2>Your numbers</h2>
        {{#noNumbers}}<p>You have no numbers yet.</p>{{/noNumbers}}
        {{^noNumbers}}
        <div class="scroll"><table><thead><tr><th scope="col">Number</th><th scope="col">Inbound webhook</th><th scope="col">Added</th></tr></thead>
        <tbody>{{#numbers}}<tr><td>{{number}}</td><td>{{inbound_webhook}}</td><td>{{created_at}}</td></tr>{{/numbers}}</tbody></table></div>
        {{/noNumbers}}
        <form method="post" action="/console/numbers" class="stack">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="number">Add a number (international form)</label>
        <input id="number" name="number" type="tel" placeholder="+37255500000" required value="{{number}}">
        <label for="inbound_webhook">Inbound webhook URL <span class="hint">(optional)</span></label>
        <input id="inbound_webhook" name="inbound_webhook" type="url" placeholder="https://example.com/inbound" value="{{webhook}}">
        <button type="submit">Add number</button>
        </form>
        <h2>Opt-outs</h2>
        <p class="hint">Recipients who replied a STOP keyword; messages to them are refused until they reply START.</p>
        {{#noOptOuts}}<p>Nobody has opted out.</p>{{/noOptOuts}}
        {{^noOptOuts}}
        <div class="scroll"><table><thead><tr><th scope="col">Number</th><th scope="col">Keyword</th><th scope="col">Since</th></tr></thead>
        <tbody>{{#optOuts}}<tr><td>{{number}}</td><td>{{keyword}}</td><td>{{created_at}}</td></tr>{{/optOuts}}</tbody></table></div>
        {{/noOptOuts}}
        {{/content}}{{/layout}}
        """

    static let keys = """
        {{<layout}}{{$content}}
        {{#hasCreated}}
        <div class="warning" role="status">
        <p>Your new key <strong>{{created.name}}</strong>. Copy it now: it is shown only this once.</p>
        <p><code id="new-key">{{created.secret}}</code></p>
        <p class="hint">Use it as the password of HTTP Basic, with your account id <code>{{accountId}}</code> as the user name.</p>
        </div>
        {{/hasCreated}}
        <div class="scroll"><table>
        <thead><tr><th scope="col">Name</th><th scope="col">Starts with</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col">State</th></tr></thead>
        <tbody>
        {{#keys}}<tr><td>{{name}}</td><td><code>{{prefix}}</code></td><td>{{created_at}}</td><td>{{#last_used_at}}{{last_used_at}}{{/last_used_at}}{{^last_used_at}}never{{/last_used_at}}</td>
        <td>{{#revoked_at}}revoked {{revoked_at}}{{/revoked_at}}{{^revoked_at}}
        <form method="post" action="/console/keys/{{id}}/revoke" class="inline"><input type="hidden" name="csrf" value="{{csrf}}">
        <button type="submit" class="danger" aria-label="Revoke key {{name}}">Revoke</button></form>{{/revoked_at}}</td></tr>{{/keys}}
        </tbody></table></div>
        <form method="post" action="/console/keys" class="stack">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="name">New key's name</label>
        <input id="name" name="name" maxlength="100" required placeholder="billing server" value="{{name}}">
        <button type="submit">Create key</button>
        </form>
        {{/content}}{{/layout}}
        """

    static let settings = """
        {{<layout}}{{$content}}
        <section aria-labelledby="profile-heading">
        <h2 id="profile-heading">Profile</h2>
        <form method="post" action="/console/settings/profile" class="stack">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="profile-name">Name</label>
        <input id="profile-name" name="name" autocomplete="name" required maxlength="200" value="{{account.name}}">
        <label for="profile-email">Email</label>
        <input id="profile-email" name="email" type="email" autocomplete="email" required maxlength="254" value="{{account.email}}">
        <label for="profile-company">Company (optional)</label>
        <input id="profile-company" name="company" autocomplete="organization" maxlength="200" value="{{account.company}}">
        <button type="submit">Save the profile</button>
        </form>
        <form method="post" action="/console/settings/password" class="stack">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="current-password">Your present password</label>
        <input id="current-password" name="current_password" type="password" autocomplete="current-password" required>
        <label for="new-password">A new password</label>
        <input id="new-password" name="password" type="password" autocomplete="new-password" required>
        <button type="submit" class="secondary">Change the password</button>
        </form>
        <p class="hint">A new password ends every console and API sign-in session, this one included; API keys keep working.</p>
        </section>
        <section aria-labelledby="privacy-heading">
        <h2 id="privacy-heading">Message privacy</h2>
        <form method="post" action="/console/settings/privacy">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <fieldset><legend>What Switchboard keeps of your message texts</legend>
        {{#modes}}<div class="field"><input type="radio" id="mode-{{value}}" name="content_mode" value="{{value}}"{{#checked}} checked{{/checked}}>
        <label for="mode-{{value}}">{{label}}</label></div>{{/modes}}
        </fieldset>
        <p class="hint">Hashing or hiding also applies to the messages already stored, and add-ons that receive message texts get the digest or nothing.</p>
        <button type="submit">Save</button>
        </form>
        </section>
        <section aria-labelledby="webhook-heading">
        <h2 id="webhook-heading">Webhook signing secret</h2>
        <p>Status callbacks and inbound webhooks are signed with: <code>{{account.webhook_signing_secret}}</code></p>
        {{#webhookSecret.previous_secret_expires_at}}<p>The previous secret still signs too, until {{webhookSecret.previous_secret_expires_at}}.</p>{{/webhookSecret.previous_secret_expires_at}}
        <form method="post" action="/console/settings/webhook-secret">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <button type="submit" class="secondary">Rotate the secret</button>
        </form>
        </section>
        <section aria-labelledby="security-heading">
        <h2 id="security-heading">Sign-in security</h2>
        <ul>
        <li>Authenticator app: {{#totp}}on{{/totp}}{{^totp}}off{{/totp}}</li>
        <li>SMS codes: {{#hasSMS}}to {{sms}}{{/hasSMS}}{{^hasSMS}}off{{/hasSMS}}</li>
        <li>Recovery codes left: {{recoveryLeft}}</li>
        </ul>
        <p><a href="/console/enrol">Add a second factor</a></p>
        <form method="post" action="/console/settings/recovery-codes" class="stack">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="recovery-password">Your password, to make new recovery codes (the old ones stop working)</label>
        <input id="recovery-password" name="password" type="password" autocomplete="current-password" required>
        <button type="submit" class="secondary">Make new recovery codes</button>
        </form>
        <h3>Where you are signed in</h3>
        <div class="scroll"><table><thead><tr><th scope="col">Session</th><th scope="col">Country</th><th scope="col">Signed in</th><th scope="col">Last seen</th></tr></thead>
        <tbody>{{#sessions}}<tr><td>{{id}}{{#current}} (this browser){{/current}}{{#pending}} (password only: waiting for the second factor){{/pending}}</td><td>{{country}}</td><td>{{started}}</td><td>{{seen}}</td></tr>{{/sessions}}</tbody></table></div>
        <form method="post" action="/console/sign-out-everywhere">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <button type="submit" class="danger">Sign out everywhere</button>
        </form>
        <p class="hint">Ends every console and API sign-in session, this one included. API keys keep working; revoke them on the API keys page.</p>
        </section>
        <section aria-labelledby="delete-heading">
        <h2 id="delete-heading">Delete the account</h2>
        <p><a href="/console/delete">Delete your account and see what is kept</a></p>
        </section>
        {{/content}}{{/layout}}
        """

    static let usage = """
        {{<layout}}{{$content}}
        <form method="get" action="/console/usage" class="inline-filters">
        <label for="from">From</label><input id="from" name="from" type="date" value="{{from}}">
        <label for="to">To</label><input id="to" name="to" type="date" value="{{to}}">
        <button type="submit" class="secondary">Show</button>
        </form>
        <p>Messages from {{from}} to {{to}}: {{total}}.</p>
        <div class="scroll"><table>
        <thead><tr><th scope="col">Day</th><th scope="col">Messages</th><th scope="col">Segments</th><th scope="col">By status</th><th scope="col"><span class="skip">Bar</span></th></tr></thead>
        <tbody>{{#days}}<tr><td>{{date}}</td><td>{{count}}</td><td>{{segmentCount}}</td><td>{{breakdown}}</td><td aria-hidden="true">{{bar}}</td></tr>{{/days}}</tbody>
        </table></div>
        {{/content}}{{/layout}}
        """

    static let delete = """
        {{<layout}}{{$content}}
        {{#held}}<div class="warning" role="status"><p>An operator legal hold is set on this account: while it lasts, nothing is erased. A deletion you ask for now is recorded and carried out as soon as the hold is lifted.</p>{{#requested}}<p>You asked for deletion on {{requested}}; it waits on the hold.</p>{{/requested}}</div>{{/held}}
        <p>Deleting the account cannot be undone. Every add-on that received data about you is asked to erase it too, and each answer is recorded.</p>
        <h2>What is erased</h2>
        <ul>{{#erased}}<li>{{.}}</li>{{/erased}}</ul>
        <h2>What is kept, and why</h2>
        <ul>{{#kept}}<li>{{data}}: {{reason}}</li>{{/kept}}</ul>
        {{^requested}}<form method="post" action="/console/delete" class="stack">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="confirm">Type DELETE to confirm</label>
        <input id="confirm" name="confirm" autocomplete="off" required>
        <button type="submit" class="danger">Delete my account</button>
        </form>{{/requested}}
        {{/content}}{{/layout}}
        """

    static let deleted = """
        {{<layout}}{{$content}}
        {{#report}}
        <h2>Erased</h2>
        <ul>{{#erased}}<li>{{.}}</li>{{/erased}}</ul>
        <h2>Kept, and why</h2>
        <ul>{{#kept}}<li>{{data}}: {{reason}}</li>{{/kept}}</ul>
        {{#addon_erasure}}<h2 id="addon-erasure">Add-ons</h2>
        <p>Every add-on that received data about you was asked to erase it (request <code>{{id}}</code>); the operator follows each add-on's answer.</p>
        <ul>{{#addons}}<li>{{addon_id}}: {{state}}</li>{{/addons}}</ul>{{/addon_erasure}}
        {{/report}}
        <details><summary>The report as JSON</summary><pre>{{json}}</pre></details>
        <p><a href="/console/sign-up">Create a new account</a></p>
        {{/content}}{{/layout}}
        """
}
