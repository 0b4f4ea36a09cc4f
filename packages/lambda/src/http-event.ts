import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import type { ApiRequest, ApiResponse } from "@unmeltable/api";

/** API Gateway HTTP API (payload 2.0) and function URL requests share this shape. */
export function apiRequestFromEvent(event: APIGatewayProxyEventV2): ApiRequest {
  const headers: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(event.headers ?? {})) headers[k.toLowerCase()] = v;
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

export function eventResponse(res: ApiResponse): APIGatewayProxyStructuredResultV2 {
  return { statusCode: res.status, headers: res.headers, body: JSON.stringify(res.body) };
}
