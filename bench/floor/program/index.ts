import * as pulumi from "@pulumi/pulumi";
import { Nothing } from "../nothing";

// The floor the SDK and the engine set (`npm run bench:floor`): config `n` independent dynamic
// resources of one property whose provider does nothing (../nothing.ts).

const n = new pulumi.Config().requireNumber("n");
for (let i = 0; i < n; i++) new Nothing(`r${i}`);
