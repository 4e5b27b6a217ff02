/** Files imported `with { type: "file" }`: a path, inside the binary once compiled (`/$bunfs/...`), else on disk. */
declare module "*.wasm" {
  const path: string;
  export default path;
}
declare module "*.data" {
  const path: string;
  export default path;
}
