import "../runner";
import "../../examples/home-router.test";
