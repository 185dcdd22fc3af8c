#!/usr/bin/env bash
# The delivery loop end to end, on a synthetic dataset from four hospitals (README.md here):
# one hospital's lot rejected, its fix list, a redelivery that fixes it, a waiver, and the signed
# certificate verified by its recipient.
#
# Usage: examples/four_hospitals/run.sh [WORK] [SLIDES]   (default: ./four-hospitals, 24 slides)
# DQM: the dqm command to run (default: dqm).
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
WORK="${1:-four-hospitals}"
SLIDES="${2:-24}"
DQM="${DQM:-dqm}"
PYTHON="${PYTHON:-python3}"
# One masking key for every step: two audits of two deliveries name the same files the same way
# (the redelivery is matched to the first delivery by masked names), and verify masks as they did.
export DQM_MASK_KEY="${DQM_MASK_KEY:-four-hospitals-example-masking-key}"
say() { printf '\n== %s\n' "$*"; }

say "0. Two deliveries of four hospitals (Busan-B's files broken in the first), with their SHA256SUMS"
"$PYTHON" "$HERE/build.py" "$WORK" --slides "$SLIDES"

say "1. The first delivery, lot by lot (one per hospital), Daegu-C's re-scan waived: Busan-B's lot is rejected"
set +e
$DQM audit "$WORK/delivery-1" --out "$WORK/out-1" --stages syntactic --lot-by institution \
    --waivers "$WORK/waivers.yaml"
first=$?
set -e
[ "$first" -eq 1 ] || { echo "expected the first delivery to fail (exit 1), got $first"; exit 1; }

say "2. Busan-B's fix list (HTML + CSV, grouped by file)"
$DQM fixlist "$WORK/out-1/results.json" --lot Busan-B --out "$WORK/fix-busan"

say "3. The data team's signing key (the public half goes to whoever checks the certificate)"
$DQM keygen "$WORK/keys/signing.key" --force

say "4. The redelivery: compared with the first (fixed / still there / new), every lot passes, signed"
$DQM audit "$WORK/delivery-2" --out "$WORK/out-2" --stages syntactic --lot-by institution \
    --baseline "$WORK/out-1/results.json" --waivers "$WORK/waivers.yaml" \
    --sign-key "$WORK/keys/signing.key"

say "5. The gate over every lot, as CI runs it: syntactic (the one stage run), signed by the data team's key"
$DQM gate "$WORK/out-2/results.json" --require syntactic --lots --waivers "$WORK/waivers.yaml" \
    --key "$WORK/keys/signing.key.pub"

say "6. The recipient verifies the certificate: digest, signature, report and every file of the batch"
$DQM verify "$WORK/out-2" --batch "$WORK/delivery-2" --key "$WORK/keys/signing.key.pub"
