// The behaviour suite in a dedicated worker: runs the case named in each message.
import { runCase } from "./runner.mjs";

self.onmessage = async ({ data }) => {
  self.postMessage({ id: data.id, result: await runCase(data.name) });
};
