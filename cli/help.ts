/**
 * The CLI's help texts, one per command, each starting with the exact command line to type.
 * @module
 */

import { SCENARIOS } from "./trigger.ts";

const R = "npx --yes deno@2.9.6 task cli --";
const ENDPOINTS = "connect-account, create-transaction, refund-transaction, capture-transaction, " +
  "void-transaction";
const KEY = "--private-key PEM    signing key (default: the local server's development key,\n" +
  "                       dev-wix-private-key.pem beside KV_PATH, i.e. ./data/)";

/** Help by command; `main` lists them all. */
export const HELP: Record<string, string> = {
  main: `Usage: ${R} <command> [options]

A local stand-in for Wix, and a back office for this server.

Try the server:
  trigger    send a named scenario to a running server, like "stripe trigger"
  call       sign and send one SPI request (a body file, or --card/--amount/...)
  sign       print the Digest header value for a request body (for curl)
  keys       generate an RS256 key pair for local use
  wix        run a fake Wix that prints and keeps the webhooks it receives
  demo       walk through every main flow against an in-process service (no set-up)
  check      conformance run against any PSP server implementing the Wix SPI
Back office (PSP API, key from PSP_API_KEY):
  tx         a transaction with its refunds, captures, voids and webhooks
  outcome    report a later outcome of a payment
  refund     record a refund made at the PSP
  webhooks   list dead-lettered webhooks, send one again, or all changed since a time
The books (the store at KV_PATH, default ./data/psp.sqlite3):
  backup        copy the store while the server runs (one consistent snapshot)
  restore       build the store from a backup (never over a store in use)
  verify-store  check every invariant of the store; exit 1 on any finding
  export        payments or refunds for finance, as CSV or JSON lines

"${R} <command> --help" shows a command's options; --version prints the version.`,
  trigger: `Usage: ${R} trigger <scenario> [--url URL] [--private-key PEM]

Sends a signed, valid request (or a few) for the scenario to a running server, prints each
request and answer, then the webhooks Wix should receive. An answer the scenario does not expect
(a 503, a decline where it expects an approval) is named with what to check, and exits 1.
Scenarios:

${Object.entries(SCENARIOS).map(([name, { about }]) => `  ${name.padEnd(28)}${about}`).join("\n")}

  --url URL            the server (default: http://localhost:8080)
  ${KEY}`,
  call: `Usage: ${R} call <endpoint> (--body FILE | --card N ...) [--plugin-transaction-id ID]
       [--url URL] [--private-key PEM] [--json]

Signs a body and POSTs it to the endpoint; prints the status, the latency, the ids it made up
(a built body's wixTransactionId, which tx, outcome and refund need next) and the JSON answer.
Exit code 0 for HTTP 200, 1 otherwise, 2 for a usage error.

  <endpoint>           ${ENDPOINTS}, or a path such as /payment
  --body FILE          the request body; "-" reads standard input (see examples/requests/)
  --card N             create-transaction only: build the body with this card number or sandbox
                       card name (approved, insufficientFunds, expired, invalidCvv, threeDSecure,
                       pendingThenApproved, pendingThenDeclined)
  --amount N           ... the amount in minor units (default: 1000)
  --currency C         ... the currency (default: USD)
  --method M           ... the paymentMethod (creditCard, paypal, ideal, sofort; default: creditCard)
  --plugin-transaction-id ID
                       set the body's pluginTransactionId: refund, capture and void name their
                       payment by the id its create-transaction was answered with
  --url URL            the server (default: http://localhost:8080)
  --json               one JSON line: {url, status, ms, madeUp, answer}
  ${KEY}`,
  sign: `Usage: ${R} sign --body FILE [--private-key PEM] [--lifetime SECONDS]

Prints the Digest header value (JWT=...) for the exact bytes of FILE, signed as Wix signs:
RS256, data.SHA256 of the body, iat now, exp two minutes later. With curl, send the same bytes
with --data-binary @FILE (-d re-encodes the body and breaks the digest).

  --body FILE          the request body; "-" reads standard input
  ${KEY}
  --lifetime SECONDS   exp - iat (default: 120)`,
  keys: `Usage: ${R} keys [--out-dir DIR] [--force]

Writes DIR/wix-private-key.pem (readable by you only; it plays Wix's signing key) and
DIR/wix-public-key.pem, and prints the WIX_APP_PUBLIC_KEY line to give the server.

  --out-dir DIR   where to write the files (default: ./keys)
  --force         overwrite existing files`,
  wix:
    `Usage: ${R} wix [--port N] [--app-id ID] [--app-secret S] [--log-file FILE] [--verbose] [--fail-rate R]

Runs a fake Wix (OAuth token endpoint and Submit Event) until Ctrl-C. Each webhook is printed
on one line (and as JSON with --verbose) and appended to the log file as a JSON line. Point
the server at it with the variables it prints.

  --port N            port (default: 8090)
  --app-id ID         expected WIX_APP_ID (default: local-app)
  --app-secret S      expected WIX_APP_SECRET (default: local-secret)
  --log-file FILE     JSON lines of received webhooks (default: ./data/wix-webhooks.jsonl)
  --verbose           also print each webhook's JSON
  --fail-rate R       fail this share (0..1) of Submit Event calls with 500/503/429`,
  demo: `Usage: ${R} demo [--processor sandbox|http]

Starts a fake Wix and the service in-process on free ports (memory KV, fresh keys) and walks
through connect, approve, decline, pending then final, 3-D Secure, partial refunds, capture,
void, a replay and a tampered request, printing each request, answer and webhook.
Exit code 0 when every step passes.

  --processor http    run it with the http processor against the reference backend
                      (examples/http-backend/server.mjs, started with node) instead of the sandbox`,
  check: `Usage: ${R} check --url URL [--private-key PEM] [options]

Conformance run against any server implementing the Wix PSP SPI. It signs requests with PEM
(default: the local server's development key; the server must trust its public key) and
receives the server's webhooks on a fake Wix at --wix-port (start the server with
WIX_API_BASE_URL=http://127.0.0.1:<port> and the app id and secret below). Each rule makes its
own payments; one that needs a payment in a given state (approved, declined, pending, redirect)
tries up to --attempts payments, for PSPs whose test outcomes are random, and otherwise says
SKIP or FAIL with the outcomes it saw. Prints rule, result (PASS, FAIL, SKIP, WARN) and evidence;
exit code 0 only if no rule fails (a warning does not).

  --url URL                  the server under test
  --private-key PEM          the key Wix signs with
  --wix-port N               port of the fake Wix (default: 8091)
  --app-id ID                WIX_APP_ID the server uses (default: wix-check-app)
  --app-secret S             WIX_APP_SECRET the server uses (default: wix-check-secret)
  --paths LIST               endpoint paths if not this project's, e.g.
                             connect=/connect,create=/payment,refund=/refund
  --scenario FILE            JSON with any of: currency, amount, connectCredentials,
                             merchantCredentials, cards {approve, decline, pending, threeDSecure},
                             failingRefundAmount; the options below win over it
  --currency C               order currency (default: USD)
  --amount N                 order total in minor units (default: 1000)
  --connect-credentials J    Connect Account credentials, JSON or a JSON file
                             (default: {"apiKey":"check-key-<run>"})
  --merchant-credentials J   merchantCredentials of payments and refunds (default: what
                             Connect Account answered, as Wix sends them)
  --approve-card N           a card approved at once (default: 4111111111111111)
  --decline-card N           a card declined (default: 4000000000000002)
  --pending-card N           a card held pending 5005, then made final; "" skips the rule
                             (default: 4000000000005005)
  --3ds-card N               a card answered with a 3-D Secure redirectUrl; "" skips the rule
                             (default: 4000000000003220)
  --failing-refund-amount N  a refund amount the PSP declines; "" skips the rule (default: 3025)
  --attempts N               payments a rule tries to reach the state it needs (default: 6)
  --failures N               Submit Events of one payment the fake Wix fails before accepting
                             (default: 1)
  --webhook-timeout D        how long to wait for each webhook (default: 20s)
  --only IDS                 only these rule ids, comma-separated
  --json                     print [{ "id", "result", "evidence", "ms" }] instead of the table
  --junit FILE               also write a JUnit XML report (one testcase per rule)
  --transcript DIR           also write each rule's requests, answers and webhooks to DIR
                             (card numbers masked, CVVs removed)`,
  tx: `Usage: PSP_API_KEY=... ${R} tx <wixTransactionId> [--url URL] [--json]

Shows a transaction: status, amounts, refunds, captures and voids, and every webhook it owed
with its delivery attempts.`,
  outcome:
    `Usage: PSP_API_KEY=... ${R} outcome <wixTransactionId> --status S [--reason-code N] [--url URL] [--json]

Reports a later outcome from your back office; it goes through the state machine (a
contradiction is refused) and owes its webhook.

  --status S          approved, declined, canceled or pending
  --reason-code N     a decline code (default 3000 for declined), 5005/5009 for pending`,
  refund:
    `Usage: PSP_API_KEY=... ${R} refund <wixTransactionId> --amount N [--plugin-refund-id ID] [--url URL] [--json]

Records a refund made at the PSP (minor units) and owes its webhook. Give your own
--plugin-refund-id to make a retry safe.`,
  webhooks: `Usage: PSP_API_KEY=... ${R} webhooks (dead | redeliver <id> | redeliver --since T)
       [--url URL] [--json]

  dead                 dead-lettered webhooks, oldest first, and how many there ever were
  redeliver <id>       sends a dead-lettered webhook again, with a fresh retry schedule
  redeliver --since T  after a restore: owes again the latest webhook of every transaction and
                       refund changed since T (ISO 8601, e.g. the backup's time), delivered or
                       not; Wix takes a repeated event as a no-op`,
  backup: `Usage: ${R} backup --out FILE [--json]

Copies the store at KV_PATH (default ./data/psp.sqlite3) to FILE while the server keeps
answering: one consistent snapshot (SQLite's backup API on a connection of its own), written
under a temporary name and renamed. FILE must not exist. A KV_PATH that is not a local file
(deploy, :memory:, a remote URL) is refused with what to use there instead.`,
  restore: `Usage: ${R} restore --from FILE [--json]

Builds the store at KV_PATH from the backup FILE. Refused while any process has KV_PATH open
(stop the server first). A store already at KV_PATH is kept aside as
KV_PATH.before-restore-<time>, never overwritten. Runs verify-store on the result: exit 1 when it
finds anything. Then start the server and run "webhooks redeliver --since <backup time>".`,
  "verify-store": `Usage: ${R} verify-store [--lease-seconds N] [--json]

Reads the store at KV_PATH (also while a server runs) and checks every invariant the code relies
on: index entries point to their records; queued webhooks have their due entry, and no due or
dead-letter entry is orphaned; refunded and reserved amounts equal their refunds, and never
exceed what was captured; statuses and their histories follow the state machine; no claim is
past its lease (--lease-seconds, default PROCESSING_LEASE's 60) with no job to settle it; no
card number is stored. Prints a summary line and each finding; exit 1 when there is any.`,
  export: `Usage: ${R} export [--kind payments|refunds] [--format csv|jsonl] [--since T]
       [--until T] [--merchant ID] [--out FILE]

Writes payments (the default) or refunds for finance, streamed: CSV with a header row (the
default) or JSON lines, to standard output or FILE (written under a temporary name, then
renamed). --since and --until (ISO 8601) select on the time of the last change; --merchant on
the wixMerchantId. Amounts are decimals in major units, with the currency's own digits.
  payments: wixTransactionId, pluginTransactionId, wixMerchantId, createdAt, updatedAt, status,
            reasonCode, amount, currency, captured, refunded, paymentMethod, cardLastFour
  refunds:  pluginRefundId, wixRefundId, wixTransactionId, wixMerchantId, initiator, createdAt,
            updatedAt, status, reasonCode, amount, currency`,
};
