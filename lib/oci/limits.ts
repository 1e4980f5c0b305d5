// Size limits for the JSON documents tsbuild reads (manifests, indexes, image configs), one owner for
// every reader: the registry client, the layout store, archives and bundles. Registries commonly cap
// manifests at 4 MiB (distribution's default); image configs carry history and labels and get 8 MiB.
export const MANIFEST_LIMIT = 4 << 20;
export const CONFIG_LIMIT = 8 << 20;
