#!/bin/sh
# rgov `command` binding recipe: POST the notice (JSON on stdin) to a webhook with curl.
# The route to Slack, Teams, ntfy, Matrix and most chat tools (point the URL at their incoming webhook).
#
# An incoming-webhook URL is a credential (its token is in the path): give it through the
# binding's environment, from a variable of rgov's own, never in argv (every process on the
# machine can read argv) and never in the profile:
#
#   spec.adapters.sender:
#     mode: command
#     timeout_ms: 15000
#     binding:
#       command: [examples/senders/curl-post.sh]
#       environment:
#         HOOK_URL: env:RGOV_HOOK_URL     # set RGOV_HOOK_URL where rgov runs (a systemd EnvironmentFile)
#       supports_idempotency: "true"     # only if the receiver honours Idempotency-Key
#
# A URL that is no secret may still be the first argument. rgov redacts the URL, and any piece of
# it after the host, from everything it records.
#
# Result contract: exit 0 = sent (HTTP 2xx); exit 75 = try later (408, 429, 5xx, no connection);
# exit 1 = refused (other 4xx); exit 78 = the URL cannot be used; a timeout after the request
# went out prints {"outcome":"unknown"}.
url="${HOOK_URL:-$1}"
case "$url" in
  http://*|https://*) ;;
  *) echo "no http(s) URL: set HOOK_URL through binding.environment" >&2; exit 78 ;;
esac
case "$url" in
  *'"'*|*'\'*) echo "the URL holds a quote or a backslash" >&2; exit 78 ;;
esac
# curl reads the URL from a config on descriptor 3, so it is in no process's argv.
code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time "${RGOV_CURL_MAX_TIME:-10}" -X POST \
  -H 'Content-Type: application/json' -H "Idempotency-Key: ${RGOV_IDEMPOTENCY_KEY}" \
  --data-binary @- -K /dev/fd/3 3<<CONFIG
url = "$url"
CONFIG
)
status=$?
case "$status" in
  0) ;;
  6|7) exit 75 ;;                                        # could not resolve / connect: nothing was sent
  28|52|56) echo '{"outcome":"unknown"}'; exit 0 ;;       # timeout, empty reply, reset: may have been sent
  *) echo "curl failed with exit $status" >&2; exit 75 ;;
esac
case "$code" in
  2??) echo '{"ok":true}'; exit 0 ;;
  408|429|5??) exit 75 ;;
  *) echo "HTTP $code" >&2; exit 1 ;;
esac
