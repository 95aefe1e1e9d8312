import "../runner";
import "../../examples/port-forwarding.test";
