// Two pages: the Order app (index.html) and the React hooks' render-count page (hooks.html).
import { fileURLToPath } from "node:url";

const here = (path) => fileURLToPath(new URL(path, import.meta.url));

export default {
  root: here("."),
  logLevel: "warn",
  build: {
    rollupOptions: { input: { app: here("index.html"), hooks: here("hooks.html") } },
  },
};
