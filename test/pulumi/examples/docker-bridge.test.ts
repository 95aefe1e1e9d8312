import "../runner";
import "../../examples/docker-bridge.test";
