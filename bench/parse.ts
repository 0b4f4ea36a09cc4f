/**
 * Micro-benchmark of the hand-written parsers in packages/core: lines per second for each parser over a fixed
 * corpus of realistic lines (syslog, JSON, key=value, JVM GC logs, ISO-8601 stamps). Shaped like pino's
 * benchmarks/: one fixed input per case, every case run in the same process, several rounds, the median reported.
 * Throughput is per CPU-second of this process (see round()).
 *
 *   node --import tsx bench/parse.ts            # a table
 *   node --import tsx bench/parse.ts --json     # one JSON object per case (for scripts comparing two trees)
 *   BENCH_ROUND_MS=500 BENCH_ROUNDS=9 node --import tsx bench/parse.ts
 *
 * Imports are relative (not `@unmeltable/core`) so that the same file can be run against an older copy of
 * packages/core/src to compare before and after a change (see bench/parse.md).
 */
import { FieldLimitReport } from "../packages/core/src/process/field-limits";
import { parseGcLog } from "../packages/core/src/process/gc-log";
import { parseJsonBody } from "../packages/core/src/process/json-body";
import { parseKeyValue } from "../packages/core/src/process/key-value";
import { leadingTimestamp, timestampValue } from "../packages/core/src/process/timestamps";
import { toEvent } from "../packages/core/src/process/to-event";
import { parseTime } from "../packages/core/src/query/time";
import { extractLogglySd, parseSyslog } from "../packages/core/src/syslog/parse";
import type { RawRecord } from "../packages/core/src/raw-record";
import { applyDerivedRules, compileRule } from "../packages/core/src/derived-fields/apply";
import { validateDerivedRule, type DerivedRuleSpec } from "../packages/core/src/derived-fields/derived-rule";

const TOKEN = "3efaaddc-211f-4fa5-8b8a-10e64c81708f";
const RECEIVED_AT = Date.parse("2024-03-15T10:00:05Z");

/** What real senders emit: rsyslog/syslog-ng RFC 5424 with Loggly SD, BSD lines, Cisco, rsyslog's ISO-in-3164. */
const SYSLOG = [
  `<134>1 2024-03-15T10:00:00.123456+00:00 web-01 nginx 2211 - [${TOKEN}@41058 tag="web" tag="prod"] 10.0.0.7 - - "GET /api/v1/items?id=42 HTTP/1.1" 200 512`,
  `<165>1 2024-03-15T10:00:00.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][${TOKEN}@41058 tag="app"] An application event log entry`,
  `<14>1 2024-03-15T10:00:00Z app-7 payments 4242 audit - {"level":"info","msg":"charge captured","amount":1250,"currency":"EUR"}`,
  `<134>0 2024-03-15T10:00:00.123456+00:00 host app - - [${TOKEN}@41058 tag="imfile"] Mar 15 10:00:00 worker started`,
  `<13>Mar 15 10:00:00 db-2 postgres[1234]: LOG:  checkpoint complete: wrote 112 buffers (0.7%)`,
  `<38>Mar  5 09:59:58 bastion sshd[28812]: Accepted publickey for deploy from 10.1.2.3 port 51122 ssh2`,
  `<86>2024-03-15T10:00:00.250+02:00 fw-edge kernel: [UFW BLOCK] IN=eth0 OUT= SRC=203.0.113.9 DST=10.0.0.1 PROTO=TCP`,
  `<166>Sep 14 2016 10:07:20: %ASA-6-302013: Built outbound TCP connection 1234 for outside:198.51.100.1/443 (198.51.100.1/443) to inside:10.0.0.5/51234`,
  `<189>87117903: 87117909: *Nov  5 14:01:19.115 UTC: %SYS-5-CONFIG_I: Configured from console by admin on vty0 (10.0.0.9)`,
  `<189>date=2024-03-15 time=10:00:00 devname="FG100E" devid="FG100E3G16000000" logid="0000000013" type="traffic" subtype="forward" srcip=10.0.0.5 dstip=8.8.8.8 action="accept"`,
];

const JSON_LINES = [
  `{"level":30,"time":1710496800123,"pid":4242,"hostname":"api-3","reqId":"req-7f","req":{"method":"GET","url":"/items/42","remoteAddress":"10.0.0.7"},"msg":"request completed","responseTime":12.5}`,
  `{"@timestamp":"2024-03-15T10:00:00.123Z","log.level":"error","message":"payment declined","service":{"name":"billing","version":"4.2.1"},"error":{"type":"CardDeclined","code":"51"},"trace":{"id":"4bf92f3577b34da6"}}`,
  `{"timestamp":"2024-03-15 10:00:00,123","level":"WARN","logger":"com.example.Cache","thread":"pool-3-thread-7","message":"evicted 1200 entries","size":48000}`,
  `[{"event":"click","ts":"2024-03-15T10:00:00+01:00","user":"u-17"},{"event":"view","ts":"2024-03-15T10:00:01+01:00","user":"u-17"}]`,
];

const KV_LINES = [
  `date=2024-03-15 time=10:00:00 devname="FG100E" devid="FG100E3G16000000" eventtime=1710496800123456789 tz="+0100" logid="0000000013" type="traffic" subtype="forward" level="notice" vd="root" srcip=10.0.0.5 srcport=51234 srcintf="port1" dstip=8.8.8.8 dstport=443 dstintf="wan1" proto=6 action="accept" policyid=12 service="HTTPS" duration=3 sentbyte=1520 rcvdbyte=4820`,
  `time=2024-03-15T10:00:00.123Z level=info msg="request handled" method=GET path=/api/v1/items status=200 duration_ms=12.5 bytes=512`,
  `ts=1710496800.123 caller=main.go:42 level=warn component=compactor msg="slow compaction" blocks=12 took=4.2s`,
  `user=alice action=login result=success ip=10.1.2.3 mfa=true`,
];

const GC_LINES = [
  `[2024-03-15T10:00:00.123+0000][info][gc] GC(12) Pause Young (Normal) (G1 Evacuation Pause) 24M->4M(256M) 3.456ms`,
  `[12.345s][info][gc] GC(3) Pause Full (System.gc()) 20M->3M(64M) 15.2ms`,
  `2013-10-30T12:34:56.789+0000: 12.345: [GC (Allocation Failure) [PSYoungGen: 1024K->512K(2048K)] 4096K->3584K(8192K), 0.0012345 secs] [Times: user=0.01 sys=0.00, real=0.00 secs]`,
  `[GC [ParNew: 19136K->2112K(19136K), 0.0105700 secs] 19136K->4392K(63360K), 0.0106690 secs]`,
  `1.234: [GC pause (G1 Evacuation Pause) (young) 24M->4M(256M), 0.0034 secs]`,
];

/** Stamps the way fields carry them (JSON `timestamp`, kv `time`, message prefixes). */
const STAMPS = [
  "2024-03-15T10:00:00.123Z",
  "2024-03-15T10:00:00.123456+02:00",
  "2024-03-15 10:00:00,123",
  "2024-03-15T10:00:00+0100",
  "2024/03/15 10:00:00",
  "1710496800123",
  "2024-03-15T10:00",
];

/** Loggly `from` / `until` values. */
const QUERY_TIMES = ["2024-03-15T10:00:00Z", "2024-03-15", "2024-03-15T10:00:00.5+01:00", "-24h", "now", "1710496800000"];

const LEADING = [
  "2024-03-15 10:00:00,123 INFO  [main] c.e.App - started in 3.2 s",
  "[2024-03-15T10:00:00.123Z] WARN disk 91% full",
  "2024-03-15T10:00:00+01:00 something happened",
];

function record(raw: string, i: number): RawRecord {
  return { id: `id${i}`, tenant: "default", receivedAt: RECEIVED_AT, transport: raw.startsWith("<") ? "tcp" : "http", remote: "10.0.0.1", collector: "vm", tags: ["bench"], raw };
}

const EVENTS = [...SYSLOG, ...JSON_LINES, ...KV_LINES, ...GC_LINES].map(record);

/** A tenant's derived-field rules as a user writes them (RE2 through re2js): one of each kind that extracts. */
function rule(input: Record<string, unknown>): DerivedRuleSpec {
  const r = validateDerivedRule({ name: "bench", ...input });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.spec;
}
const REGEX = compileRule(rule({ type: "regex", pattern: "(?<method>GET|POST|PUT|DELETE) (?<path>/\\S*)" }));
const ANCHOR = compileRule(rule({ type: "anchor", before: "[", after: "]", field: "inside" }));
const KEYVALUE = compileRule(rule({ type: "keyvalue", key: "status", field: "status" }));
const RULES = [REGEX, ANCHOR, KEYVALUE];
const MESSAGES = EVENTS_TEXT();
function EVENTS_TEXT(): string[] {
  return [...SYSLOG, ...JSON_LINES, ...KV_LINES, ...GC_LINES];
}

let sink = 0;
/** Keeps results alive so the optimiser cannot drop the call. */
function use(v: unknown): void {
  if (v !== null && v !== undefined) sink++;
}

interface Case {
  name: string;
  lines: number;
  run: () => void;
}

const cases: Case[] = [
  { name: "syslog.parseSyslog", lines: SYSLOG.length, run: () => { for (const l of SYSLOG) use(parseSyslog(l, { receivedAt: RECEIVED_AT })); } },
  { name: "syslog.extractLogglySd", lines: SYSLOG.length, run: () => { for (const l of SYSLOG) use(extractLogglySd(l)); } },
  { name: "json.parseJsonBody", lines: JSON_LINES.length, run: () => { for (const l of JSON_LINES) use(parseJsonBody(l, new FieldLimitReport())); } },
  { name: "kv.parseKeyValue", lines: KV_LINES.length, run: () => { for (const l of KV_LINES) use(parseKeyValue(l)); } },
  { name: "gc.parseGcLog", lines: GC_LINES.length, run: () => { for (const l of GC_LINES) use(parseGcLog(l, undefined)); } },
  { name: "time.timestampValue", lines: STAMPS.length, run: () => { for (const s of STAMPS) sink += timestampValue(s, undefined) > 0 ? 1 : 0; } },
  { name: "time.leadingTimestamp", lines: LEADING.length, run: () => { for (const s of LEADING) sink += leadingTimestamp(s, undefined) > 0 ? 1 : 0; } },
  { name: "query.parseTime", lines: QUERY_TIMES.length, run: () => { for (const s of QUERY_TIMES) sink += parseTime(s, RECEIVED_AT, 0) > 0 ? 1 : 0; } },
  { name: "toEvent (all of the above)", lines: EVENTS.length, run: () => { for (const r of EVENTS) use(toEvent(r)); } },
  { name: "derived: regex rule", lines: MESSAGES.length, run: () => { for (const m of MESSAGES) use(REGEX.extract(m)); } },
  { name: "derived: anchor rule", lines: MESSAGES.length, run: () => { for (const m of MESSAGES) use(ANCHOR.extract(m)); } },
  { name: "derived: keyvalue rule", lines: MESSAGES.length, run: () => { for (const m of MESSAGES) use(KEYVALUE.extract(m)); } },
  { name: "toEvent + 3 derived rules", lines: EVENTS.length, run: () => { for (const r of EVENTS) use(applyDerivedRules(toEvent(r), RULES)); } },
];

const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 400);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const asJson = process.argv.includes("--json");

/** CPU time this process has used, in ms (user + system). */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * Lines per CPU-second for one round of about ROUND_MS of CPU time. CPU time, not wall time: the machine this
 * runs on is shared, and time spent waiting for a core is not the parser's.
 */
function round(c: Case): number {
  let iterations = 0;
  const start = cpuMs();
  let now = start;
  while (now - start < ROUND_MS) {
    for (let k = 0; k < 50; k++) c.run();
    iterations += 50;
    now = cpuMs();
  }
  return (iterations * c.lines * 1000) / (now - start);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

// Warm every case first, so the JIT has seen all shapes before anything is timed.
for (const c of cases) for (let k = 0; k < 2000; k++) c.run();

const results: { name: string; opsPerSec: number; min: number; max: number }[] = [];
const samples = new Map<string, number[]>(cases.map((c) => [c.name, []]));
// Rounds interleave the cases, so a burst of load from another process on the machine hits all of them alike.
for (let r = 0; r < ROUNDS; r++) for (const c of cases) samples.get(c.name)!.push(round(c));
for (const c of cases) {
  const s = samples.get(c.name)!;
  results.push({ name: c.name, opsPerSec: Math.round(median(s)), min: Math.round(Math.min(...s)), max: Math.round(Math.max(...s)) });
}

if (asJson) {
  for (const r of results) console.log(JSON.stringify(r));
} else {
  console.log(`lines per CPU-second, median of ${ROUNDS} rounds of ${ROUND_MS} ms CPU (min … max)`);
  for (const r of results) {
    console.log(`${r.name.padEnd(30)} ${r.opsPerSec.toLocaleString("en").padStart(12)}   (${r.min.toLocaleString("en")} … ${r.max.toLocaleString("en")})`);
  }
}
if (sink < 0) console.log(sink);
