import "../runner";
import "../../examples/isolated-switch.test";
