// Imported first by the bundle entries, before @oclif/core evaluates. oclif checks its own
// package.json "engines" at load time by require()-ing that file from disk: in a bundle the file
// is not there (and a single executable warns about any non-builtin require). The bundles are
// built for node20 and package.json "engines" says the same, so that check has nothing to add.
process.env.OCLIF_DISABLE_ENGINE_WARNING ??= '1'
export {}
