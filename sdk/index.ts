// The nslab SDK: `import * as nslab from "nslab"`.
export { Netns, type NetnsArgs } from "./resources/netns";
