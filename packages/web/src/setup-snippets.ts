/**
 * Copy-ready configurations for sending a tenant's logs, from Loggly's own templates with the
 * tenant's token (reference: Loggly's configure-linux.sh and syslog-ng's loggly() SCL driver).
 */
export interface SetupTarget {
  /** Host name or address senders reach the syslog collector at. */
  syslogHost: string;
  syslogPort: number;
  /** Scheme, host and port of the HTTP ingest, e.g. http://logs.example.com:8080 */
  httpBase: string;
  token: string;
}

export interface Snippet {
  id: string;
  title: string;
  /** Where it goes / what to do with it. */
  hint: string;
  text: string;
}

export function setupSnippets(t: SetupTarget): Snippet[] {
  const sd = `${t.token}@41058`;
  return [
    {
      id: "rsyslog",
      title: "rsyslog",
      hint: "Save as /etc/rsyslog.d/22-unmeltable.conf, then: sudo systemctl restart rsyslog",
      text: [
        "# Forward every message to unmeltable with Loggly's template (TCP, disk-assisted queue)",
        `template(name="UnmeltableFormat" type="string"`,
        `  string="<%pri%>%protocol-version% %timestamp:::date-rfc3339% %HOSTNAME% %app-name% %procid% %msgid% [${sd} tag=\\"rsyslog\\"] %msg%\\n")`,
        `action(type="omfwd" protocol="tcp" target="${t.syslogHost}" port="${t.syslogPort}" template="UnmeltableFormat"`,
        `       queue.type="LinkedList" queue.filename="fwd_unmeltable" queue.maxDiskSpace="1g"`,
        `       queue.saveOnShutdown="on" action.resumeRetryCount="-1")`,
        "",
      ].join("\n"),
    },
    {
      id: "syslog-ng",
      title: "syslog-ng",
      hint: "Save as /etc/syslog-ng/conf.d/unmeltable.conf, then: sudo systemctl restart syslog-ng",
      text: [
        "# syslog-ng's loggly() destination, pointed at unmeltable",
        "destination d_unmeltable {",
        `  loggly(host("${t.syslogHost}") port(${t.syslogPort}) token("${t.token}") tag("syslog-ng"));`,
        "};",
        "log { source(s_src); destination(d_unmeltable); };",
        "",
      ].join("\n"),
    },
    {
      id: "logger",
      title: "logger",
      hint: "Send one event from a shell (util-linux logger, over TCP)",
      text: `logger -n ${t.syslogHost} -P ${t.syslogPort} -T --octet-count --rfc5424 --sd-id ${sd} --sd-param 'tag="demo"' "hello from logger"`,
    },
    {
      id: "curl-inputs",
      title: "curl: one event (/inputs)",
      hint: "The whole body is one event; JSON is parsed into json.* fields",
      text: `curl -H 'content-type:application/json' -d '{"message":"hello from curl","level":"info"}' ${t.httpBase}/inputs/${t.token}/tag/http/`,
    },
    {
      id: "curl-bulk",
      title: "curl: many events (/bulk)",
      hint: "One event per line, up to 5 MB per request",
      text: `printf '{"message":"line one"}\\n{"message":"line two"}\\n' | curl --data-binary @- ${t.httpBase}/bulk/${t.token}/tag/bulk/`,
    },
  ];
}
