import "../runner";
import "../../examples/same-port-two-addresses.test";
