import type { Fields } from "./fields";

/**
 * An HTTP request line, `GET /path?q HTTP/1.1`, into `method`, `url` and `protocol`, as both the access
 * log (`access-log.ts`) and nginx's error log (`nginx-error.ts`, its `request:` context) write it. A line
 * without a protocol (HTTP/0.9 style) gives the rest as the url; one without a space gives nothing.
 */
export function splitRequestLine(request: string, fields: Fields): void {
  const m = request.indexOf(" ");
  if (m <= 0) return;
  fields.method = request.slice(0, m);
  const last = request.lastIndexOf(" ");
  if (last > m && request.startsWith("HTTP/", last + 1)) {
    fields.url = request.slice(m + 1, last);
    fields.protocol = request.slice(last + 1);
  } else {
    fields.url = request.slice(m + 1);
  }
}
