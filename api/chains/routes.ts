import { createRouter } from "../http/openapi.js";

export function createChainRoutes() {
  return createRouter();
}
