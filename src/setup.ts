/** EndpointV2:setup — the static rows of each chain: our deployments on it and the collections whose home it is. */
import { ponder } from "ponder:registry";
import { collection, collectionDeployment } from "ponder:schema";
import { setup } from "./indexerSetup.js";

ponder.on("EndpointV2:setup", async ({ context }) => {
  const chainId = context.chain.id;
  for (const d of setup.deployments.filter((d) => d.chainId === chainId)) {
    await context.db
      .insert(collectionDeployment)
      .values({
        chainId,
        address: d.address,
        collection: d.slug,
        kind: d.kind,
        eid: d.eid,
        token: d.token,
        owner: null,
        supply: 0,
        minted: 0,
        bridgedOut: 0,
        bridgedIn: 0,
      })
      .onConflictDoNothing();
  }
  for (const c of setup.collections.filter((c) => c.deployments[0]?.chainId === chainId)) {
    await context.db.insert(collection).values({ slug: c.slug, name: c.name, symbol: c.symbol, homeChainId: chainId }).onConflictDoNothing();
  }
});
