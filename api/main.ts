/** Standalone REST server without Ponder (development): `npx tsx api/main.ts` (PORT, default 42070). */
import { serve } from "@hono/node-server";
import { createProductionApp } from "../app/deps.js";

/** Beside Ponder (42069) by default. */
const DEFAULT_PORT = 42070;

const { app, deps, close } = await createProductionApp();
const port = deps.config.port ?? DEFAULT_PORT;
const server = serve({ fetch: app.fetch, port }, (info) => deps.logger.info({ port: info.port }, "api listening"));
const shutdown = () => {
  server.close();
  void close().then(() => process.exit(0));
};
process.once("SIGINT", shutdown);
process.once("SIGTERM", shutdown);
