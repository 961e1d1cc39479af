/// The console's Mustache templates, compiled into the binary so the daemon stays one file to
/// deploy. `layout` is the parent of every page (`{{<layout}}…{{/layout}}`); values are
/// HTML-escaped unless a template says otherwise, and none does.
enum ConsoleTemplates {
    static var all: [String: String] {
        var templates = [
            "layout": layout, "error": error, "sign_in": signIn, "sign_up": signUp, "second_factor": secondFactor,
            "enrol": enrol, "recovery_codes": recoveryCodes,
        ]
        templates.merge(customerPages) { first, _ in first }
        templates.merge(addonPages) { first, _ in first }
        templates.merge(operatorPages) { first, _ in first }
        return templates
    }

    static let layout = """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{title}} · Switchboard</title>
        <link rel="stylesheet" href="/console/style.css">
        </head>
        <body>
        <a class="skip" href="#main">Skip to the content</a>
        <header>
        <span class="brand">Switchboard</span>
        {{#signedIn}}
        <nav aria-label="Sections">
        <ul>{{#nav}}<li><a href="{{href}}"{{#current}} aria-current="page"{{/current}}>{{label}}</a></li>{{/nav}}</ul>
        </nav>
        <form method="post" action="{{signOutAction}}" class="inline">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <button type="submit" class="link">Sign out</button>
        </form>
        {{/signedIn}}
        {{#pendingSignOut}}
        <form method="post" action="{{signOutAction}}" class="inline">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <button type="submit" class="link">Sign out</button>
        </form>
        {{/pendingSignOut}}
        </header>
        <main id="main">
        <h1>{{title}}</h1>
        {{#notice}}<p class="notice" role="status">{{notice}}</p>{{/notice}}
        {{#hasErrors}}
        <div class="errors" role="alert">
        <p>Please fix the following:</p>
        <ul>{{#errors}}<li>{{.}}</li>{{/errors}}</ul>
        </div>
        {{/hasErrors}}
        {{$content}}{{/content}}
        </main>
        </body>
        </html>
        """

    static let error = """
        {{<layout}}{{$content}}
        {{#detail}}<p>{{detail}}</p>{{/detail}}
        <p><a href="{{back}}">Go back</a></p>
        {{/content}}{{/layout}}
        """

    static let signIn = """
        {{<layout}}{{$content}}
        <form method="post" action="/console/sign-in" class="stack">
        <input type="hidden" name="csrf" value="{{formToken}}">
        <label for="email">Email</label>
        <input id="email" name="email" type="email" autocomplete="username" required value="{{email}}">
        <label for="password">Password</label>
        <input id="password" name="password" type="password" autocomplete="current-password" required>
        <button type="submit">Sign in</button>
        </form>
        <p>No account yet? <a href="/console/sign-up">Create one</a>. Operators sign in at <a href="/console/admin/sign-in">the operator console</a>.</p>
        {{/content}}{{/layout}}
        """

    static let signUp = """
        {{<layout}}{{$content}}
        <form method="post" action="/console/sign-up" class="stack">
        <input type="hidden" name="csrf" value="{{formToken}}">
        <label for="name">Your name</label>
        <input id="name" name="name" autocomplete="name" required value="{{name}}">
        <label for="email">Email</label>
        <input id="email" name="email" type="email" autocomplete="email" required value="{{email}}">
        <label for="company">Company <span class="hint">(optional)</span></label>
        <input id="company" name="company" autocomplete="organization" value="{{company}}">
        <label for="password">Password</label>
        <input id="password" name="password" type="password" autocomplete="new-password" required aria-describedby="password-hint">
        <p class="hint" id="password-hint">At least 12 characters; not a common password, your name or your email.</p>
        <button type="submit">Create account</button>
        </form>
        <p>Already have an account? <a href="/console/sign-in">Sign in</a>.</p>
        {{/content}}{{/layout}}
        """

    static let secondFactor = """
        {{<layout}}{{$content}}
        <p>{{reason}}</p>
        {{#totp}}
        <form method="post" action="/console/second-factor" class="stack">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="method" value="totp">
        <label for="code">The 6-digit code from your authenticator app</label>
        <input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]{6,7}" required>
        <button type="submit">Verify</button>
        </form>
        {{/totp}}
        {{#sms}}
        <form method="post" action="/console/second-factor/sms" class="stack">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <p>Or get a code by SMS to {{smsNumber}}.</p>
        <button type="submit" class="secondary">Send me a code</button>
        </form>
        {{#smsSent}}
        <form method="post" action="/console/second-factor" class="stack">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="method" value="sms">
        <label for="sms-code">The 6-digit code we sent by SMS</label>
        <input id="sms-code" name="code" inputmode="numeric" autocomplete="one-time-code" required>
        <button type="submit">Verify</button>
        </form>
        {{/smsSent}}
        {{/sms}}
        <details>
        <summary>Lost your device? Use a recovery code</summary>
        <form method="post" action="/console/second-factor" class="stack">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="method" value="recovery">
        <label for="recovery">Recovery code</label>
        <input id="recovery" name="code" autocomplete="off" required>
        <button type="submit">Use recovery code</button>
        </form>
        </details>
        {{/content}}{{/layout}}
        """

    static let enrol = """
        {{<layout}}{{$content}}
        <p>{{reason}}</p>
        <section aria-labelledby="totp-heading">
        <h2 id="totp-heading">Authenticator app (TOTP)</h2>
        {{#totpOn}}<p>Your authenticator app is set up.</p>{{/totpOn}}
        {{^totpOn}}
        <p>Add this key to an authenticator app (Google Authenticator, 1Password, Aegis…): open the link on your phone, or type the key.</p>
        <p><a href="{{uri}}">Add to authenticator app</a></p>
        <p>Key: <code id="totp-secret">{{secret}}</code></p>
        <form method="post" action="/console/enrol/totp" class="stack">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="code">Then enter the 6-digit code the app shows</label>
        <input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" required>
        <button type="submit">Turn on</button>
        </form>
        {{/totpOn}}
        </section>
        {{#smsAvailable}}
        <section aria-labelledby="sms-heading">
        <h2 id="sms-heading">Text message (SMS)</h2>
        <form method="post" action="/console/enrol/sms" class="stack">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="number">Your mobile number, in international form</label>
        <input id="number" name="number" type="tel" autocomplete="tel" placeholder="+37255512345" value="{{number}}" required>
        <button type="submit" class="secondary">Send a code</button>
        </form>
        {{#smsSent}}
        <form method="post" action="/console/enrol/sms/confirm" class="stack">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="number" value="{{number}}">
        <label for="sms-code">The code we sent to {{number}}</label>
        <input id="sms-code" name="code" inputmode="numeric" autocomplete="one-time-code" required>
        <button type="submit">Turn on</button>
        </form>
        {{/smsSent}}
        </section>
        {{/smsAvailable}}
        {{/content}}{{/layout}}
        """

    static let recoveryCodes = """
        {{<layout}}{{$content}}
        <p>Keep these recovery codes somewhere safe. Each works once, in place of a code from your app,
        if you lose your phone. They are shown only now.</p>
        <ul class="codes" id="recovery-codes">{{#codes}}<li><code>{{.}}</code></li>{{/codes}}</ul>
        <p><a class="button" href="{{next}}">Continue</a></p>
        {{/content}}{{/layout}}
        """

    static let stylesheet = """
        :root { --ink: #1b1f24; --muted: #57606a; --line: #d0d7de; --accent: #0a5bd3; --bad: #b42318; --ok: #1a7f37; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 16px/1.5 system-ui, sans-serif; color: var(--ink); }
        header { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; padding: .75rem 1rem; border-bottom: 1px solid var(--line); }
        .brand { font-weight: 700; }
        nav ul { list-style: none; display: flex; flex-wrap: wrap; gap: .25rem 1rem; margin: 0; padding: 0; }
        nav a[aria-current] { font-weight: 700; text-decoration: underline; }
        main { max-width: 60rem; margin: 0 auto; padding: 1rem; }
        a { color: var(--accent); }
        a:focus, button:focus, input:focus, select:focus, summary:focus { outline: 3px solid var(--accent); outline-offset: 2px; }
        .skip { position: absolute; left: -999px; } .skip:focus { left: 1rem; top: .5rem; background: #fff; }
        .stack { display: grid; gap: .4rem; max-width: 28rem; margin: 1rem 0; }
        input, select, textarea { font: inherit; padding: .45rem; border: 1px solid var(--muted); border-radius: 4px; }
        button, .button { font: inherit; padding: .5rem 1rem; border: 0; border-radius: 4px; background: var(--accent); color: #fff; cursor: pointer; text-decoration: none; display: inline-block; }
        button.secondary { background: #fff; color: var(--accent); border: 1px solid var(--accent); }
        button.danger { background: var(--bad); }
        button.link { background: none; color: var(--accent); padding: 0; text-decoration: underline; }
        form.inline { display: inline; }
        .hint { color: var(--muted); font-size: .9rem; margin: 0; }
        .notice { border-left: 4px solid var(--ok); padding: .5rem 1rem; background: #eefbf1; }
        .errors { border-left: 4px solid var(--bad); padding: .5rem 1rem; background: #fff1f0; }
        .warning { border-left: 4px solid #bf8700; padding: .5rem 1rem; background: #fff8e5; }
        table { border-collapse: collapse; width: 100%; margin: 1rem 0; }
        th, td { text-align: left; padding: .4rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
        .scroll { overflow-x: auto; }
        code { font-family: ui-monospace, monospace; background: #f6f8fa; padding: 0 .25rem; overflow-wrap: anywhere; }
        .codes { columns: 2; }
        fieldset { border: 1px solid var(--line); border-radius: 4px; margin: 1rem 0; }
        .field { margin: .5rem 0; }
        form.filters { display: grid; grid-template-columns: max-content minmax(0, 22rem); gap: .4rem .75rem; align-items: center; margin: 1rem 0; }
        form.filters button { grid-column: 2; justify-self: start; }
        .inline-filters { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; margin: 1rem 0; }
        .cards { list-style: none; padding: 0; } .cards li { border-bottom: 1px solid var(--line); }
        dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; } dd { margin: 0; }
        pre { overflow-x: auto; background: #f6f8fa; padding: .75rem; }
        .tag { font-size: .8rem; border: 1px solid var(--muted); border-radius: 999px; padding: 0 .5rem; }
        @media (max-width: 40rem) { th, td { padding: .3rem; font-size: .9rem; } }
        """
}
