// Builds the UDP socket's native receive path (packages/collector/native/udp-recvmmsg.c) into
// dist/udp-recvmmsg.node, with the machine's C compiler and the running Node's headers (N-API, so one
// build serves every Node version from 20 on). Linux only. Optional: without a compiler or the headers
// the program receives UDP with Node's dgram and says so at start; this script then only warns.
//   node scripts/build-native.mjs [--out FILE]
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, renameSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const NATIVE_UDP_SOURCE = path.join(root, "packages/collector/native/udp-recvmmsg.c");

/** Where Node's own headers are: beside the binary (nodejs.org's tarballs, Debian's nodejs, nvm). */
export function nodeIncludeDir() {
  for (const dir of [path.resolve(path.dirname(process.execPath), "../include/node"), "/usr/include/node", "/usr/local/include/node"]) {
    if (existsSync(path.join(dir, "node_api.h"))) return dir;
  }
  return undefined;
}

/** Compiles source into out unless out is newer; returns a reason when it cannot. */
export function buildNativeUdp(out, source = NATIVE_UDP_SOURCE) {
  if (process.platform !== "linux") return { skipped: `recvmmsg is Linux only (this is ${process.platform})` };
  if (existsSync(out) && statSync(out).mtimeMs >= statSync(source).mtimeMs) return { upToDate: true };
  const include = nodeIncludeDir();
  if (!include) return { skipped: "Node's headers (node_api.h) were not found beside the node binary" };
  const cc = process.env.CC || "cc";
  mkdirSync(path.dirname(out), { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  try {
    execFileSync(cc, ["-O2", "-Wall", "-shared", "-fPIC", "-std=gnu11", `-I${include}`, "-o", tmp, source, "-lpthread"], { stdio: ["ignore", "pipe", "pipe"] });
  } catch (err) {
    const why = err.code === "ENOENT" ? `no C compiler (${cc})` : String(err.stderr ?? err.message).trim().split("\n").slice(0, 5).join("\n");
    return { skipped: why };
  }
  renameSync(tmp, out); // whole or not at all: a running program may be loading the previous one
  return { built: true };
}

/** Builds `out` (default: dist/ of the repository, beside the bundle) and says on stderr what came of it. */
export function buildNativeUdpAndSay(out = path.join(root, "dist/udp-recvmmsg.node")) {
  const result = buildNativeUdp(out);
  if (result.skipped) process.stderr.write(`note: the native UDP receive path was not built (${result.skipped}); syslog UDP will use Node's dgram, which loses datagrams above ~100k/s\n`);
  else if (result.built) process.stderr.write(`built ${path.relative(process.cwd(), out)}\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  buildNativeUdpAndSay(args.includes("--out") ? path.resolve(args[args.indexOf("--out") + 1]) : undefined);
}
