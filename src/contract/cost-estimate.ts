import { WAN_DEFAULT_PRICES, type WanResolution } from "./wan-model.ts";

/** Price per output second, by tier and audio. Defaults: the Beijing list prices in CNY. */
export interface PriceTable {
  /** ISO 4217 code, e.g. `CNY` or `USD`. */
  currency: string;
  perSecond: Record<WanResolution, { silent: number; audio: number }>;
}

/** An estimate of what a generation costs: billed seconds times the tier's price. */
export interface CostEstimate {
  currency: string;
  /** Rounded to 4 decimal places. */
  amount: number;
}

export const DEFAULT_PRICE_TABLE: PriceTable = WAN_DEFAULT_PRICES;

/** Seconds are the provider's billed output seconds (or the measured duration when the provider gives none). */
export function estimateCost(
  prices: PriceTable,
  resolution: WanResolution,
  audio: boolean,
  seconds: number,
): CostEstimate {
  const rate = prices.perSecond[resolution][audio ? "audio" : "silent"];
  return { currency: prices.currency, amount: Math.round(rate * seconds * 10_000) / 10_000 };
}
