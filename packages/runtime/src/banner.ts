import path from "node:path";
import type { Tenant } from "@unmeltable/core";

/** What a newcomer needs after `npm start`: where to send, with which token, copy-paste ready. */
export function banner(opts: {
  dataDir: string;
  syslogPort: number;
  tlsPort?: number;
  httpPort: number;
  httpsPort?: number;
  tenant?: Tenant;
  defaultTenant?: string;
  /** Whether this process serves the web UI (it does when it runs the stages). */
  ui?: boolean;
}): string {
  const host = "127.0.0.1";
  const lines = [
    "",
    "unmeltable is running",
    `  data        ${opts.dataDir}`,
    `  syslog      udp+tcp ${opts.syslogPort}${opts.tlsPort ? `, tls ${opts.tlsPort}` : ""}`,
    `  http        http://localhost:${opts.httpPort}/  (ingest /inputs /bulk, /healthz, /metrics)${opts.httpsPort ? `; https ${opts.httpsPort}` : ""}`,
    ...(opts.ui ? [`  web UI      http://localhost:${opts.httpPort}/  (sign in with the API token, then invite people from Users)`] : []),
    `  no token    ${opts.defaultTenant ? `syslog without a token goes to tenant "${opts.defaultTenant}"` : "syslog without a token is refused (missing_token)"}`,
  ];
  const t = opts.tenant;
  if (t) {
    const sd = `${t.ingestToken}@41058`;
    lines.push(
      "",
      `tenant "${t.name}"`,
      `  ingest token  ${t.ingestToken}`,
      // The data dir keeps only the API token's hash: it can be shown when it was just created, never again.
      ...(t.apiToken
        ? [`  API token     ${t.apiToken}  (shown once: keep it; a new one: unmeltable tenants rotate-token ${t.name})`]
        : [`  API token     shown when created; a new one: unmeltable tenants rotate-token ${t.name}`]),
      `  search        ${searchCommand(opts.dataDir, opts.httpPort)}   (on this machine no token is needed)`,
      "",
      "send a first event:",
      `  logger -n ${host} -P ${opts.syslogPort} -d --rfc5424 --sd-id ${sd} --sd-param 'tag="demo"' "hello over UDP"`,
      `  logger -n ${host} -P ${opts.syslogPort} -T --octet-count --rfc5424 --sd-id ${sd} --sd-param 'tag="demo"' "hello over TCP"`,
      `  curl -H 'content-type:text/plain' -d 'hello over HTTP' http://localhost:${opts.httpPort}/inputs/${t.ingestToken}/tag/http/`,
      `  printf 'line one\\nline two\\n' | curl --data-binary @- http://localhost:${opts.httpPort}/bulk/${t.ingestToken}/tag/bulk/`,
      "",
      "forward a machine's logs with rsyslog (/etc/rsyslog.d/22-unmeltable.conf, then restart rsyslog):",
      `  template(name="UnmeltableFormat" type="string" string="<%pri%>%protocol-version% %timestamp:::date-rfc3339% %HOSTNAME% %app-name% %procid% %msgid% [${sd} tag=\\"rsyslog\\"] %msg%\\n")`,
      `  action(type="omfwd" protocol="tcp" target="${host}" port="${opts.syslogPort}" template="UnmeltableFormat")`,
      "",
      "more tenants: unmeltable tenants add NAME",
    );
  }
  return lines.join("\n") + "\n";
}

/** `unmeltable search hello`, with the flags this server needs when it does not run with the defaults. */
function searchCommand(dataDir: string, httpPort: number): string {
  const flags = [
    ...(path.resolve(dataDir) === path.resolve("data") ? [] : [`--data-dir ${dataDir}`]),
    ...(httpPort === 8080 ? [] : [`--url http://localhost:${httpPort}`]),
  ];
  return ["unmeltable search hello", ...flags].join(" ");
}
