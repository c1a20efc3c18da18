// Type-checked (tsc --noEmit) use of the package's public types.
import { Engine } from "fieldstream";

async function main(): Promise<void> {
  const engine: Engine = await Engine.inMemory();
  const id: string = engine.clientId;
  const result: unknown = await engine.execute("Order", id, { type: "CreateOrder" }, { correlationId: "c" });
  const loaded: unknown = await engine.load("Order", id);
  const earlier: unknown = await engine.stateAt("Order", id, 1);
  const history: unknown = await engine.history("Order", id);
  console.log(result, loaded, earlier, history);
  engine.free();
}

void main();
