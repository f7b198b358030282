/** Job type names (a light module: the API imports it without loading the workers). */
export const DISTRIBUTE_NFTS = "distribute-nfts";
export const GENERATE_EVENT_REPORT = "generate-event-report";
export const WEBHOOK_DELIVERY = "webhook-delivery";
