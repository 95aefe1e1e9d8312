import type { Kind } from "../sdk/internal/shim";
import type { KindProvider } from "./lib/kind";
import { netns } from "./resources/netns";

// The registry the SDK's shim loads by package name (`require("nslab/provider")`).

export const providers: Record<Kind, KindProvider> = {
  Netns: netns,
} as Record<Kind, KindProvider>;
