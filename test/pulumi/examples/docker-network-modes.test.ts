import "../runner";
import "../../examples/docker-network-modes.test";
