// Lint for the repository's own TypeScript (end-to-end tests and the stack scripts). The dashboard
// in ui/ has its own config.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["ui/**", "build/**", "neo4j-proxy/build/**", "node_modules/**", "target/**", ".tools/**", ".keel/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
);
