/**
 * Loggly's retrieval API (apiv2) behind API Gateway or a function URL: the same route functions as the
 * local HTTP server (packages/api).
 */
import middy from "@middy/core";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { handleApi } from "@unmeltable/api";
import { apiRequestFromEvent, eventResponse, indexPort, logger, tenantDirectory } from "@unmeltable/lambda";

const [index, tenants] = await Promise.all([indexPort(), tenantDirectory()]);

export const handler = middy(async (event: APIGatewayProxyEventV2) => eventResponse(await handleApi(apiRequestFromEvent(event), { index, tenants }))).use(injectLambdaContext(logger));
