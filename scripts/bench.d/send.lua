-- wrk script for Switchboard: every request is POST /v1/messages with the same JSON body.
-- The request is built once (no request() function), so wrk spends no Lua time per request,
-- as with the plain GET URL it sends to Kannel.
--   BENCH_AUTH        base64 of "account_id:api_key" (required)
--   BENCH_CALLBACK    status_callback URL to put in the body (optional); the message asks for its
--                     final status only, like Kannel's dlr-mask=8
local auth = os.getenv("BENCH_AUTH")
if not auth or auth == "" then
  io.stderr:write("send.lua: BENCH_AUTH is not set\n")
  os.exit(2)
end

local callback = os.getenv("BENCH_CALLBACK")
local body = '{"to":"+37255512345","from":"ACME","body":"hello world"'
if callback and callback ~= "" then
  body = body .. ',"status_callback":"' .. callback .. '"'
  body = body .. ',"status_callback_events":["delivered","undelivered","failed"]'
end
body = body .. "}"

wrk.method = "POST"
wrk.body = body
wrk.headers["Authorization"] = "Basic " .. auth
wrk.headers["Content-Type"] = "application/json"

