#!/bin/sh
# rgov `command` binding recipe: POST the notice (JSON on stdin) to a webhook with curl.
# The route to Slack, Teams, ntfy, Matrix and most chat tools (point URL at their incoming webhook).
#
#   spec.adapters.sender:
#     mode: command
#     timeout_ms: 15000
#     binding:
#       command: [examples/senders/curl-post.sh, "https://hooks.example/T000/B000"]
#       supports_idempotency: "true"     # only if the receiver honours Idempotency-Key
#
# Result contract: exit 0 = sent (HTTP 2xx); exit 75 = try later (408, 429, 5xx, no connection);
# exit 1 = refused (other 4xx); a timeout after the request went out prints {"outcome":"unknown"}.
url="$1"
code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time "${RGOV_CURL_MAX_TIME:-10}" -X POST \
  -H 'Content-Type: application/json' -H "Idempotency-Key: ${RGOV_IDEMPOTENCY_KEY}" \
  --data-binary @- "$url")
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
