#!/usr/bin/env bash
# bench/udp-shared-socket.sh K RATE: one 5 s blast of 200-byte datagrams at RATE/s into K processes sharing
# one UDP socket (bench/udp-shared-socket.mjs); prints sent, received, loss and kernel receive-buffer drops.
#   mkdir -p /tmp/i16 && gcc -O2 -o /tmp/i16/blast bench/blast.c
set -u
K=$1; RATE=$2; PORT=${3:-24010}
cd "$(dirname "$0")/.."
OUT=$(mktemp); BL=$(mktemp)
node bench/udp-shared-socket.mjs "$K" "$PORT" 9 > "$OUT" 2>&1 &
SP=$!
for _ in $(seq 50); do grep -q ready "$OUT" && break; sleep 0.1; done
drops() { awk '/^Udp:/{n++} /^Udp:/&&n==2{print $6}' /proc/net/snmp; }
k0=$(drops)
/tmp/i16/blast udp 127.0.0.1 "$PORT" 200 50000000 5 "$RATE" > "$BL"
wait $SP
k1=$(drops)
S=$(sed -n 's/.*sent=\([0-9]*\).*/\1/p' "$BL"); R=$(sed -n 's/received //p' "$OUT")
echo "K=$K rate=$RATE sent=$S received=$R loss=$(awk -v s="$S" -v r="$R" 'BEGIN{printf "%.2f", (s-r)*100/s}')% kdrop=$((k1-k0))"
rm -f "$OUT" "$BL"
