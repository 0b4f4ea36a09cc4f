import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import type { ApiRequest, ApiResponse } from "@unmeltable/api";

/** API Gateway HTTP API (payload 2.0) and function URL requests share this shape. */
export function apiRequestFromEvent(event: APIGatewayProxyEventV2): ApiRequest {
  const headers: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(event.headers ?? {})) headers[k.toLowerCase()] = v;
  // Payload 2.0 takes the request's cookies out of the headers into `cookies` (API Gateway's developer
  // guide, "Payload format differences"); the handlers read them as a server would, from Cookie.
  if (event.cookies && event.cookies.length > 0) headers.cookie = event.cookies.join("; ");
  const host = headers["x-forwarded-host"] ?? headers.host ?? event.requestContext?.domainName ?? "localhost";
  const proto = headers["x-forwarded-proto"] ?? "https";
  return {
    method: event.requestContext?.http?.method ?? "GET",
    path: event.rawPath ?? "/",
    query: new URLSearchParams(event.rawQueryString ?? ""),
    headers,
    origin: `${proto}://${host}`,
  };
}

/** The answer as API Gateway takes it: a cookie set goes in `cookies`, which it turns into Set-Cookie (payload 2.0). */
export function eventResponse(res: ApiResponse): APIGatewayProxyStructuredResultV2 {
  const { "Set-Cookie": cookie, ...headers } = res.headers;
  return { statusCode: res.status, headers, body: JSON.stringify(res.body), ...(cookie ? { cookies: [cookie] } : {}) };
}
