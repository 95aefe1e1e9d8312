import * as nslab from "nslab";

// Two namespaces joined by a veth pair, one address on each end.
const red = new nslab.Netns("red");
const blue = new nslab.Netns("blue");
