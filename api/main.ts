/** Standalone REST server without Ponder (development): `npx tsx api/main.ts` (PORT, default 42070). */
import { serve } from "@hono/node-server";
import { createProductionApp } from "../app/deps.js";

const { app, deps, close } = await createProductionApp();
const port = Number(process.env.PORT || 42070);
const server = serve({ fetch: app.fetch, port }, (info) => deps.logger.info({ port: info.port }, "api listening"));
const shutdown = () => {
  server.close();
  void close().then(() => process.exit(0));
};
process.once("SIGINT", shutdown);
process.once("SIGTERM", shutdown);
