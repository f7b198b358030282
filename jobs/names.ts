/** Job type names (a light module: the API imports it without loading the workers). */
export const DISTRIBUTE_NFTS = "distribute-nfts";
export const GENERATE_EVENT_REPORT = "generate-event-report";
export const MINT_NFTS = "mint-nfts";
export const REFRESH_METADATA = "refresh-metadata";
export const WEBHOOK_DELIVERY = "webhook-delivery";
