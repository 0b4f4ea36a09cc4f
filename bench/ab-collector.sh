#!/usr/bin/env bash
# bench/ab-collector.sh - A/B helper of issue 16: one unmeltable build under bench/blast.c load. Prints what was made
# durable, the server's CPU-seconds per million events (/proc/PID/stat, from ready to the last growth of
# unmeltable_events_durable_total), per-connection sent counts (TCP) and kernel receive-buffer drops (UDP).
# Run builds interleaved (A, B, A, B, ...) under `nice -n 10`, and note the load it prints.
#   mkdir -p /tmp/i16 && gcc -O2 -o /tmp/i16/blast bench/blast.c
#   nice -n 10 bash bench/ab-collector.sh dist/unmeltable.mjs tcp 6            # 2 TCP connections, 6 s
#   nice -n 10 bash bench/ab-collector.sh dist/unmeltable.mjs udp 5 50000 0 start   # UDP at 50k/s into `start`
# Listens on 127.0.0.1:23010 (syslog) and 23011 (HTTP).
# usage: run.sh <dist-file> <mode tcp|udp> <seconds> [rate] [prof=1] [cmd=collector]
# prints: sent durable cpu_s events/s cpu_s_per_M per-connection counts
set -u
PROG=$1; MODE=$2; SECS=$3; RATE=${4:-0}; PROF=${5:-0}; CMD=${6:-collector}  # PROF=1: --cpu-prof into /tmp/i16/prof
D=$(mktemp -d /tmp/i16/run.XXXX)
PORT=23010; HPORT=23011
cd "$(dirname "$0")/.."
EXTRA=""; [ "$PROF" = 1 ] && EXTRA="--cpu-prof --cpu-prof-dir=/tmp/i16/prof"
node $EXTRA $PROG $CMD --host 127.0.0.1 --data-dir $D/data --syslog-port $PORT --http-port $HPORT --default-tenant default >$D/server.log 2>&1 &
SP=$!
for i in $(seq 1 300); do curl -s -o /dev/null --max-time 1 http://127.0.0.1:$HPORT/healthz && break; sleep 0.1; done
tick() { awk '{print $14+$15}' /proc/$SP/stat; }
c0=$(tick); t0=$(date +%s.%N); k0=$(awk '/^Udp:/{n++} /^Udp:/&&n==2{print $6}' /proc/net/snmp)
if [ "$MODE" = udp ]; then
  timeout $((SECS+5)) /tmp/i16/blast udp 127.0.0.1 $PORT 200 50000000 $SECS $RATE > $D/b1 &
  B1=$!; wait $B1; S=$(sed -n 's/.*sent=\([0-9]*\).*/\1/p' $D/b1)
else
  timeout $((SECS+5)) /tmp/i16/blast tcp 127.0.0.1 $PORT 200 50000000 $SECS > $D/b1 & B1=$!
  timeout $((SECS+5)) /tmp/i16/blast tcp 127.0.0.1 $PORT 200 50000000 $SECS > $D/b2 & B2=$!
  wait $B1 $B2
  S1=$(sed -n 's/.*sent=\([0-9]*\).*/\1/p' $D/b1); S2=$(sed -n 's/.*sent=\([0-9]*\).*/\1/p' $D/b2); S=$((S1+S2))
fi
# wait until durable stops growing
prev=-1; last=$(date +%s.%N)
for i in $(seq 1 600); do
  dur=$(curl -s http://127.0.0.1:$HPORT/metrics | awk '$1=="unmeltable_events_durable_total"{print $2}')
  if [ "$dur" != "$prev" ]; then prev=$dur; last=$(date +%s.%N); c1=$(tick); else
    awk -v a=$last -v b=$(date +%s.%N) 'BEGIN{exit !(b-a>1.5)}' && break; fi
  sleep 0.2
done
t1=$last
k1=$(awk '/^Udp:/{n++} /^Udp:/&&n==2{print $6}' /proc/net/snmp); ovf=$(curl -s http://127.0.0.1:$HPORT/metrics | grep udp_overflow | grep dropped | awk '{print $2}'); echo "kernel_rcvbuf_drops=$((k1-k0)) udp_overflow=${ovf:-0}"
kill -TERM $SP; wait $SP 2>/dev/null
awk -v s=$S -v d=$dur -v c0=$c0 -v c1=$c1 -v t0=$t0 -v t1=$t1 -v l="$(cut -d' ' -f1 /proc/loadavg)" -v p1="${S1:-}" -v p2="${S2:-}" 'BEGIN{cpu=(c1-c0)/100; printf "sent=%d durable=%d loss=%.2f%% secs=%.1f eps=%d cpu_s=%.1f cpu_s_per_M=%.2f conns=%s/%s load=%s\n", s,d,(s-d)*100/s,t1-t0,d/(t1-t0),cpu,cpu*1e6/d,p1,p2,l}'
rm -rf $D
