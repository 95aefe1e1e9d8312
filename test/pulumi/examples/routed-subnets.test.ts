import "../runner";
import "../../examples/routed-subnets.test";
