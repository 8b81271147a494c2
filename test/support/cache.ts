// The local runner's code, shared by the CLI's `local` command and the tests.
export * from '../../lib/local/cache';
