import "../runner";
import "../../examples/two-namespaces.test";
