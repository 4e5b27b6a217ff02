/** Redoc's self-contained browser bundle, imported as text (`with { type: "text" }`) so a compiled binary carries it. */
declare module "redoc/bundles/redoc.standalone.js" {
  const source: string;
  export default source;
}
