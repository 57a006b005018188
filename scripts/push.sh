#!/usr/bin/env bash
# Pushes an ORM^O01 from the hub through the agent to a device, waiting for the device's ACK.
# Usage: scripts/push.sh [Device/sample-device] [hub base URL]
set -euo pipefail
DEST="${1:-Device/sample-device}"
BASE="${2:-http://127.0.0.1:8103/}"
AGENT="${AGENT_ID:-sample-agent}"
TOKEN=$(curl -s -X POST "${BASE}oauth2/token" -H 'Content-Type: application/x-www-form-urlencoded' \
  -d 'grant_type=client_credentials&client_id=edge-agent&client_secret=edge-secret' | sed -E 's/.*"access_token" *: *"([^"]+)".*/\1/')
ID="ORD$(date +%s)"
curl -s -X POST "${BASE}fhir/R4/Agent/${AGENT}/\$push" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -d "{\"destination\":\"$DEST\",\"contentType\":\"x-application/hl7-v2+er7\",\"waitForResponse\":true,\"body\":\"MSH|^~\\\\&|HIS|HOSP|LAB|LAB|20250101120000||ORM^O01|$ID|P|2.5\\rPID|1||P1\\rORC|NW|O1\"}" | tr '\r' '\n'
echo
