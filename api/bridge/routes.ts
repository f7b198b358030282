import { createRouter } from "../http/openapi.js";

export function createBridgeRoutes() {
  return createRouter();
}
