import { createRouter } from "../http/openapi.js";

export function createNftRoutes() {
  return createRouter();
}
