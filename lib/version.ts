/** This package's version, used for default image tags of the toolkit's own images. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const PACKAGE_VERSION: string = require('../../package.json').version;
