import http from "node:http";

/**
 * Follows a tenant's live tail (`/apiv2/tail`, server-sent events, fed right after each index commit)
 * for `word` and calls `seen(n, at)` for every "<word> <n>" in each message, `at` = performance.now() on
 * arrival. The benches time ingest→searchable with it: a probe's arrival minus its send or acknowledgement.
 * Destroy the returned request to stop.
 */
export function followProbes(httpPort: number, apiToken: string, word: string, seen: (n: number, at: number) => void): http.ClientRequest {
  const probe = new RegExp(`${word} (\\d+)`, "g");
  return http.get({ host: "127.0.0.1", port: httpPort, path: `/apiv2/tail?q=${encodeURIComponent(word)}`, headers: { Authorization: `bearer ${apiToken}` } }, (res) => {
    let buf = "";
    res.on("data", (c: Buffer) => {
      buf += c.toString();
      let cut: number;
      while ((cut = buf.indexOf("\n\n")) >= 0) {
        const msg = buf.slice(0, cut);
        buf = buf.slice(cut + 2);
        const at = performance.now();
        // An event carries its text in several fields (raw, logmsg, ...): each probe counts once per message.
        for (const n of new Set(Array.from(msg.matchAll(probe), (m) => Number(m[1])))) seen(n, at);
      }
    });
  });
}
