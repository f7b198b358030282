import { createRouter } from "../http/openapi.js";

export function createCollectionRoutes() {
  return createRouter();
}
