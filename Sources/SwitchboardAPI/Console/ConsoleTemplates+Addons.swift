extension ConsoleTemplates {
    static let addonPages = [
        "addons": addons, "addon": addon, "receipt": receipt, "shares": shares, "privacy": privacy,
    ]

    static let addons = """
        {{<layout}}{{$content}}
        <p>Add-ons are made by partner companies. Each receives only the fields you grant it, from the moment you grant them, and every share is recorded.</p>
        {{#empty}}<p>No add-ons are available on this server.</p>{{/empty}}
        <ul class="cards">
        {{#addons}}<li>
        <h2><a href="/console/addons/{{short_id}}">{{name}}</a></h2>
        <p>{{description}}</p>
        <p class="hint">By {{vendor}}, version {{version}}.
        {{#enabled}}<span class="tag">enabled</span>{{/enabled}}{{^enabled}}<span class="tag">not enabled</span>{{/enabled}}
        {{#needs_reconsent}}<span class="tag">new terms to review</span>{{/needs_reconsent}}</p>
        </li>{{/addons}}
        </ul>
        {{/content}}{{/layout}}
        """

    static let addon = """
        {{<layout}}{{$content}}
        {{#addon}}
        <p>{{description}}</p>
        <p class="hint">Made by <strong>{{vendor}}</strong>, version {{version}}. {{#enabled}}Enabled under consent receipt <a href="/console/receipts/{{consent_receipt_id}}">{{consent_receipt_id}}</a>.{{/enabled}}{{^enabled}}Not enabled.{{/enabled}}</p>
        {{/addon}}
        {{#hasChanges}}
        <div class="warning" role="status">
        <h2>This add-on changed its terms</h2>
        <ul>{{#changes}}<li>{{summary}} {{#applies}}({{applies}}){{/applies}}</li>{{/changes}}</ul>
        <p>Anything new reaches the add-on only if you accept below; narrower terms apply now. To refuse, do not accept: the add-on goes on under the terms you agreed to, and what is new carries nothing. To stop it altogether, withdraw.</p>
        </div>
        {{/hasChanges}}
        <form method="post" action="/console/addons/{{addon.short_id}}/grant">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <h2>{{#addon.enabled}}What it receives{{/addon.enabled}}{{^addon.enabled}}What it would receive{{/addon.enabled}}</h2>
        <p class="hint">Required fields come with any consent; tick the optional ones you agree to share.</p>
        <div class="scroll"><table>
        <thead><tr><th scope="col">Share</th><th scope="col">What</th><th scope="col">Why</th><th scope="col">How</th><th scope="col">When</th></tr></thead>
        <tbody>
        {{#fields}}<tr>
        <td>{{#optional}}<input type="checkbox" id="field-{{id}}" name="fields" value="{{id}}"{{#checked}} checked{{/checked}}>
        <label for="field-{{id}}"><span class="skip">Share </span>{{id}}</label>{{/optional}}{{^optional}}<input type="hidden" name="fields" value="{{id}}">required<br><code>{{id}}</code>{{/optional}}</td>
        <td>{{what}} <span class="hint">({{categoryLabel}})</span></td>
        <td>{{purpose}}</td>
        <td>{{#pseudonym}}as a pseudonym: a stable code in place of the real value{{/pseudonym}}{{^pseudonym}}as it is{{/pseudonym}}{{#shared_as}}<br><span class="hint">now: {{shared_as}}</span>{{/shared_as}}</td>
        <td>{{when}}</td>
        </tr>{{/fields}}
        </tbody></table></div>
        <button type="submit">{{#addon.enabled}}{{#hasChanges}}Accept the new terms{{/hasChanges}}{{^hasChanges}}Update what it receives{{/hasChanges}}{{/addon.enabled}}{{^addon.enabled}}Enable and grant{{/addon.enabled}}</button>
        </form>
        {{#addon.enabled}}
        <h2>Withdraw</h2>
        <form method="post" action="/console/addons/{{addon.short_id}}/withdraw" class="stack">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <div class="field"><input type="checkbox" id="erase" name="erase" value="yes">
        <label for="erase">Also ask the add-on to erase what it received about me</label></div>
        <button type="submit" class="danger">{{#hasChanges}}Refuse the new terms and withdraw{{/hasChanges}}{{^hasChanges}}Withdraw consent{{/hasChanges}}</button>
        </form>
        <p><a href="/console/addons/{{addon.short_id}}/shares">What this add-on received about you</a></p>
        {{#reports.any}}<h2>Reports</h2>
        <div class="scroll"><table><thead><tr>{{#reports.columns}}<th scope="col">{{.}}</th>{{/reports.columns}}</tr></thead>
        <tbody>{{#reports.rows}}<tr>{{#.}}<td>{{.}}</td>{{/.}}</tr>{{/reports.rows}}</tbody></table></div>{{/reports.any}}
        {{#alerts.any}}<h2>Alerts</h2>
        <div class="scroll"><table><thead><tr>{{#alerts.columns}}<th scope="col">{{.}}</th>{{/alerts.columns}}</tr></thead>
        <tbody>{{#alerts.rows}}<tr>{{#.}}<td>{{.}}</td>{{/.}}</tr>{{/alerts.rows}}</tbody></table></div>{{/alerts.any}}
        {{/addon.enabled}}
        <h2>Consent history</h2>
        {{^hasHistory}}<p>You have not consented to this add-on.</p>{{/hasHistory}}
        <ul>{{#history}}<li><a href="/console/receipts/{{receipt_id}}">{{action}} {{timestamp}}</a> (version {{addon_version}})</li>{{/history}}</ul>
        {{/content}}{{/layout}}
        """

    static let receipt = """
        {{<layout}}{{$content}}
        {{#receipt}}
        <dl>
        <dt>Receipt</dt><dd id="receipt-id">{{receipt_id}}</dd>
        <dt>What</dt><dd>{{action}} on {{timestamp}}</dd>
        <dt>You (data subject)</dt><dd>{{principal}}</dd>
        <dt>Controller</dt><dd>{{controller}}</dd>
        <dt>Add-on</dt><dd><a href="/console/addons/{{addon_id}}">{{addon_name}}</a> {{addon_version}} by {{third_party}}</dd>
        </dl>
        {{/receipt}}
        {{#granted}}
        <h2>Granted</h2>
        <div class="scroll"><table><thead><tr><th scope="col">Field</th><th scope="col">What</th><th scope="col">Why</th><th scope="col">How</th></tr></thead>
        <tbody>{{#fields}}<tr><td><code>{{id}}</code></td><td>{{what}} ({{categoryLabel}})</td><td>{{purpose}}</td><td>{{how}}</td></tr>{{/fields}}</tbody></table></div>
        {{/granted}}
        {{^granted}}<p>Nothing reaches this add-on any more, including events already waiting for it.</p>
        <p><a href="/console/privacy">See erasure requests and each add-on's answer</a></p>{{/granted}}
        <details><summary>The receipt as JSON</summary><pre>{{json}}</pre></details>
        {{/content}}{{/layout}}
        """

    static let shares = """
        {{<layout}}{{$content}}
        <p>Each row is one event the add-on received, with the fields it carried and how (clear or pseudonym), under which consent. The record is hash-chained: the hash lets an auditor prove it was not altered.</p>
        {{#empty}}<p>This add-on has received nothing about you.</p>{{/empty}}
        {{^empty}}
        <div class="scroll"><table>
        <thead><tr><th scope="col">When</th><th scope="col">Event</th><th scope="col">Fields</th><th scope="col">Consent</th><th scope="col">Record</th></tr></thead>
        <tbody>{{#shares}}<tr><td>{{at}}</td><td>{{event_type}} <code>{{event_id}}</code></td><td>{{fieldList}}</td><td><a href="/console/receipts/{{consent_receipt_id}}">{{consent_receipt_id}}</a></td><td>#{{seq}}</td></tr>{{/shares}}</tbody>
        </table></div>
        {{#next}}<p><a href="{{next}}">More</a></p>{{/next}}
        {{/empty}}
        <p><a href="/console/addons/{{addonId}}">Back to the add-on</a></p>
        {{/content}}{{/layout}}
        """

    static let privacy = """
        {{<layout}}{{$content}}
        <h2>What add-ons received about you</h2>
        {{#noShares}}<p>No add-on has received anything about you.</p>{{/noShares}}
        {{^noShares}}
        <div class="scroll"><table>
        <thead><tr><th scope="col">Add-on</th><th scope="col">Events</th><th scope="col">Fields</th><th scope="col">First</th><th scope="col">Last</th><th scope="col">Erasures confirmed</th></tr></thead>
        <tbody>{{#addons}}<tr><td><a href="/console/addons/{{shortId}}/shares">{{name}}</a></td><td>{{shares}}</td><td>{{fieldList}}</td><td>{{first_at}}</td><td>{{last_at}}</td><td>{{erasure_receipts}}</td></tr>{{/addons}}</tbody>
        </table></div>
        {{/noShares}}
        <h2>Erasure requests</h2>
        {{#noErasures}}<p>You have made no erasure requests.</p>{{/noErasures}}
        {{#erasures}}
        <section class="erasure">
        <h3>{{id}}: {{subject}}{{#subject_value}} {{subject_value}}{{/subject_value}}, {{state}}</h3>
        <p class="hint">Requested {{created_at}} by {{origin}}.</p>
        <ul>{{#addons}}<li><code>{{addon_id}}</code>: <span class="erasure-state">{{state}}</span>{{#detail}} ({{detail}}){{/detail}}{{#updated_at}}, {{updated_at}}{{/updated_at}}</li>{{/addons}}</ul>
        </section>
        {{/erasures}}
        <form method="post" action="/console/privacy/erasures" class="stack">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="number">Erase everything about one phone number (international form)</label>
        <input id="number" name="number" type="tel" placeholder="+37255512345" required value="{{number}}">
        <button type="submit" class="secondary">Request erasure</button>
        </form>
        {{/content}}{{/layout}}
        """
}
