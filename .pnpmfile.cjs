/**
 * A packed package (`pnpm pack`, e.g. @stm/client) is for programs outside this repository:
 * its manifest keeps what they install and drops what only builds it here.
 */
module.exports = {
  hooks: {
    beforePacking(pkg) {
      delete pkg.devDependencies;
      delete pkg.scripts;
      return pkg;
    },
  },
};
