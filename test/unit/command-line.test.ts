/**
 * The one command shape of both CLIs: the declarations parsed by Node's util.parseArgs (strict),
 * help generated from the same declarations, one exit code (64) for usage errors in both, and
 * the error markers that let a CLI recognise the errors of a second copy of the library.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PROGRAM } from '../../lib/cli/main';
import { CommandDecl, OptionDecl, ProgramDecl } from '../../lib/command-line/declaration';
import { commandHelp, programHelp } from '../../lib/command-line/help';
import { parseCommandLine } from '../../lib/command-line/parse';
import { EXIT_USAGE, UsageError, UserError, ValidationError } from '../../lib/errors';
import { OPS_PROGRAM } from '../../lib/ops/main';

const ROOT = path.join(__dirname, '..', '..', '..');
const BINS = { 'cdk8s-flink': path.join(ROOT, 'build', 'lib', 'cli', 'main.js'), 'cdk8s-flink-ops': path.join(ROOT, 'build', 'lib', 'ops', 'main.js') };
type Bin = keyof typeof BINS;

function run(bin: Bin, args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [BINS[bin], ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, CDK8S_FLINK_VERBOSE: '', ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, lines: r.stderr.split('\n').filter(Boolean) };
}

const DECL: OptionDecl[] = [
  { name: 'out', short: 'o', value: 'dir', description: 'd', env: 'T_OUT' },
  { name: 'set', value: 'k=v', repeat: true, description: 's', env: 'T_SET' },
  { name: 'json', description: 'j', env: 'T_JSON' },
  { name: 'n', type: 'integer', min: 1, max: 16, description: 'n', env: 'T_N' },
  { name: 'timeout', type: 'duration', min: 1000, description: 't' },
  { name: 'mode', choices: ['a', 'b'], description: 'm' },
  { name: 'kept', value: 'v', hidden: true, description: '' },
];
const ARGS = [{ name: 'job', description: 'a job name', required: true }, { name: 'revision', description: 'a revision' }];

/** The UsageError `parse` throws, asserted to carry the usage exit code. */
function usage(argv: string[], options = DECL, env: NodeJS.ProcessEnv = {}): string {
  try {
    parseCommandLine(argv, options, ARGS, env);
  } catch (e) {
    assert.ok(UsageError.isUsageError(e), `${argv.join(' ')}: ${e}`);
    assert.equal(UserError.exitCodeOf(e), EXIT_USAGE);
    return (e as Error).message;
  }
  assert.fail(`${argv.join(' ')} parsed`);
}

test('parse: every way of writing an option, repeats, typed values, environment fallbacks, and --', () => {
  const p = parseCommandLine(['j', '--out=a', '--set', 'x=1', '-o', 'b', '--set=y=2', '--json', '--n', '3', '--timeout', '90s', '--mode', 'b', '--kept', 'k', '--', '--json', '-o'], DECL, [...ARGS, { name: 'more', description: '' }, { name: 'rest', description: '' }], {});
  assert.deepEqual(p.options, { out: 'b', set: ['x=1', 'y=2'], json: true, n: 3, timeout: 90_000, mode: 'b', kept: 'k' });
  assert.deepEqual(p.positionals, ['j', '--json', '-o'], 'after -- everything is a positional');
  assert.deepEqual(parseCommandLine(['j', '-oc'], DECL, ARGS, {}).options, { out: 'c' }, 'a short option with its value attached');
  assert.deepEqual(parseCommandLine(['j', '--out=-x'], DECL, ARGS, {}).options, { out: '-x' }, 'a value starting with "-" written inline');
  const env = { T_OUT: 'from-env', T_SET: 'a=b', T_JSON: 'yes', T_N: '4' };
  assert.deepEqual(parseCommandLine(['j'], DECL, ARGS, env).options, { out: 'from-env', set: ['a=b'], json: true, n: 4 });
  assert.deepEqual(parseCommandLine(['j', '--out', 'given'], DECL, ARGS, env).options.out, 'given', 'the command line wins over the environment');
  assert.deepEqual(parseCommandLine(['j'], DECL, ARGS, { T_OUT: '', T_JSON: '0' }).options, { json: false }, 'an empty variable is unset');
  assert.deepEqual(parseCommandLine(['j', '7'], DECL, ARGS, {}).positionals, ['j', '7']);
});

test('parse: each mismatch is a usage error of one line naming the option, the value and what is expected', () => {
  const cases: Array<[string[], string]> = [
    [['j', '--bogus'], 'unknown option --bogus; expected one of --out, --set, --json, --n, --timeout, --mode'],
    [['j', '-x'], 'unknown option -x; expected one of --out, --set, --json, --n, --timeout, --mode'],
    [['j', '--out'], '--out: no value given; expected <dir>'],
    [['j', '-o'], '--out: no value given; expected <dir>'],
    [['j', '--out', '--json'], '--out: "--json" looks like an option, not a value; expected <dir> (write --out=--json for a value that starts with "-")'],
    [['j', '--json=yes'], '--json: "yes" given, but --json takes no value'],
    [['j', '--n', 'three'], '--n: "three" is invalid; expected an integer from 1 to 16'],
    [['j', '--n', '17'], '--n: "17" is invalid; expected an integer from 1 to 16'],
    [['j', '--n=1.5'], '--n: "1.5" is invalid; expected an integer from 1 to 16'],
    [['j', '--timeout', 'soon'], '--timeout: "soon" is not a duration; expected e.g. 90s, 10m or 1h'],
    [['j', '--timeout', '10ms'], '--timeout: "10ms" is too short; expected at least 1s'],
    [['j', '--mode', 'c'], '--mode: "c" is invalid; expected one of a, b'],
    [[], '<job> is missing; expected a job name'],
    [['j', '1', 'extra'], 'unexpected argument "extra"; expected at most <job> [revision]'],
  ];
  for (const [argv, message] of cases) assert.equal(usage(argv), message, argv.join(' '));
  assert.equal(usage(['j'], DECL, { T_N: 'x' }), 'T_N: "x" is invalid; expected an integer from 1 to 16', 'a bad value from the environment names the variable');
  assert.equal(usage(['j'], [...DECL, { name: 'need', value: 'v', required: true, description: '' }]), '--need is required');
});

/** Every command of a program with the program's global options, as the runner parses it. */
const commandsOf = (p: ProgramDecl): CommandDecl[] => p.groups.flatMap((g) => g.commands);

test('help is generated from the declarations: every option of every command of both CLIs, hidden ones left out', () => {
  for (const program of [PROGRAM, OPS_PROGRAM]) {
    const overview = programHelp(program);
    for (const c of commandsOf(program)) {
      assert.match(overview, new RegExp(`^  ${c.name} +${c.summary.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'), `${program.name}: ${c.name} in the overview`);
      const h = commandHelp(program, c);
      assert.match(h, new RegExp(`^Usage: ${program.name} ${c.name} `, 'm'));
      for (const o of [...c.options, ...program.globalOptions]) {
        if (o.hidden) assert.doesNotMatch(h, new RegExp(`--${o.name}\\b`), `${program.name} ${c.name}: hidden --${o.name}`);
        else assert.match(h, new RegExp(`^ {2}(-${o.short}, | {4})--${o.name}\\b`, 'm'), `${program.name} ${c.name}: --${o.name}`);
      }
      for (const p of c.positionals ?? []) assert.match(h, new RegExp(`^Usage: .*${p.required ? '<' : '\\['}${p.choices ? p.choices.join('\\|') : p.name}`, 'm'));
      assert.match(h, new RegExp(`^ {2}${EXIT_USAGE} +usage: `, 'm'), `${program.name} ${c.name}: the usage exit code`);
    }
  }
  assert.match(commandHelp(PROGRAM, commandsOf(PROGRAM).find((c) => c.name === 'local')!), /--taskmanagers <n> +how many TaskManagers to start .*\(1 to\s+16\)/s, 'an integer\'s range');
  const hook = commandsOf(OPS_PROGRAM).find((c) => c.name === 'cleanup')!;
  assert.ok(hook.options.some((o) => o.hidden && o.name === 'event'), 'hooks keep accepting the options of every hook');
  assert.equal(parseCommandLine(['--namespace', 'n', '--configmap', 'c', '--event', 'upgrade'], [...hook.options, ...OPS_PROGRAM.globalOptions], hook.positionals, {}).options.event, 'upgrade');
});

test('both CLIs: --help and <command> --help on stdout with exit 0; help <command> is the same', () => {
  for (const [bin, program] of [['cdk8s-flink', PROGRAM], ['cdk8s-flink-ops', OPS_PROGRAM]] as const) {
    for (const args of [['--help'], ['-h'], ['help']]) {
      const r = run(bin, args);
      assert.equal(r.code, 0, `${bin} ${args}`);
      assert.equal(r.stdout, programHelp(program));
      assert.equal(r.stderr, '');
    }
    // Two commands each (commandHelp of every command is checked above): --help wins over a mistake before it.
    for (const c of commandsOf(program).slice(-2)) {
      const r = run(bin, [c.name, '--bogus', '-h']);
      assert.equal(r.code, 0, `${bin} ${c.name} --help`);
      assert.equal(r.stdout, commandHelp(program, c));
      assert.equal(r.stderr, '');
      assert.equal(run(bin, ['help', c.name]).stdout, r.stdout);
    }
    assert.match(run(bin, ['--version']).stdout, /^\d+\.\d+\.\d+\n$/);
  }
});

test('both CLIs: a command line that does not fit exits 64 with the reason and the usage line on stderr, nothing on stdout', () => {
  const cases: Array<[Bin, string[], string, string]> = [
    ['cdk8s-flink', [], 'a command is required; expected one of synth, list, validate, diff, plan, deploy, status, rollback, suspend, resume, local', 'cdk8s-flink <command> [options]'],
    ['cdk8s-flink', ['frobnicate'], 'unknown command "frobnicate"; expected one of synth, list, validate, diff, plan, deploy, status, rollback, suspend, resume, local', 'cdk8s-flink <command> [options]'],
    ['cdk8s-flink', ['deploy', 'a', '--nope'], 'unknown option --nope; expected one of --namespace, --release, --charts, --helm, --kube-context, --timeout, --values, --set, --dry-run, --help, --verbose', 'cdk8s-flink deploy <job> [options]'],
    ['cdk8s-flink', ['deploy', 'a', '-f'], '--values: no value given; expected <file>', 'cdk8s-flink deploy <job> [options]'],
    ['cdk8s-flink', ['deploy'], '<job> is missing; expected a job name (its chart is charts/<job>)', 'cdk8s-flink deploy <job> [options]'],
    ['cdk8s-flink', ['rollback', 'a', '2', '3'], 'unexpected argument "3"; expected at most <job> [revision]', 'cdk8s-flink rollback <job> [revision] [options]'],
    ['cdk8s-flink', ['synth', '--target', 'helm'], '--target: "helm" is invalid; expected one of manifests, operator', 'cdk8s-flink synth [options]'],
    ['cdk8s-flink', ['synth', '--json=1'], '--json: "1" given, but --json takes no value', 'cdk8s-flink synth [options]'],
    ['cdk8s-flink', ['local', 'up', 'a', '--taskmanagers', 'two'], '--taskmanagers: "two" is invalid; expected an integer from 1 to 16', 'cdk8s-flink local <up|down|status> [name] [options]'],
    ['cdk8s-flink-ops', [], 'a command is required; expected one of jobs, savepoint, stop, cancel, checkpoints, preflight, handoff, cleanup, smoke, uninstall, submit, fetch-artifact, pool, autoscale', 'cdk8s-flink-ops <command> [options]'],
    ['cdk8s-flink-ops', ['jobs', '--rest-url'], '--rest-url: no value given; expected <url>', 'cdk8s-flink-ops jobs --rest-url <url> [options]'],
    ['cdk8s-flink-ops', ['jobs', '--rest-url', 'http://127.0.0.1:9', '--', 'extra'], 'unexpected argument "extra"; expected no arguments, only options', 'cdk8s-flink-ops jobs --rest-url <url> [options]'],
    ['cdk8s-flink-ops', ['handoff', '--event', 'upgrade', '--rest-url', 'http://127.0.0.1:9', '--upgrade-mode', 'savepoint', '--state', 'running', '--revision', '0'],
      '--revision: "0" is invalid; expected an integer >= 1', 'cdk8s-flink-ops handoff --event <upgrade|rollback> --rest-url <url> --upgrade-mode <stateless|savepoint|last-state> --state <running|suspended> --revision <n> [options]'],
    ['cdk8s-flink-ops', ['stop', '--rest-url', 'http://127.0.0.1:9', '--drain=yes'], '--drain: "yes" given, but --drain takes no value', 'cdk8s-flink-ops stop --rest-url <url> [options]'],
  ];
  for (const [bin, args, message, synopsis] of cases) {
    const r = run(bin, args);
    assert.equal(r.code, EXIT_USAGE, `${bin} ${args.join(' ')}: ${r.stderr}`);
    const help = args[0] && !args[0].startsWith('frob') ? ` ${args[0]}` : '';
    assert.deepEqual(r.lines, [`${bin}: error: ${message}`, `Usage: ${synopsis}   ("${bin}${help} --help" for more)`], `${bin} ${args.join(' ')}`);
    assert.equal(r.stdout, '');
  }
});

test('both CLIs: environment fallbacks and -- reach the commands', () => {
  // CDK8S_FLINK_APP names the app; a missing module is bad input (exit 1), not a usage error.
  const app = run('cdk8s-flink', ['list'], { CDK8S_FLINK_APP: '/nonexistent/from-env.js' });
  assert.equal(app.code, 1);
  assert.deepEqual(app.lines, ['cdk8s-flink: error: --app: "/nonexistent/from-env.js" does not exist; expected a compiled JavaScript module']);
  // Without --app and without a cdk8s.yaml to take it from: a required option missing.
  const noApp = spawnSync(process.execPath, [BINS['cdk8s-flink'], 'plan'], { cwd: os.tmpdir(), encoding: 'utf8', env: { ...process.env, CDK8S_FLINK_APP: '' } });
  assert.equal(noApp.status, EXIT_USAGE, noApp.stderr);
  assert.equal(noApp.stderr.split('\n')[0], 'cdk8s-flink: error: --app is required: no cdk8s.yaml with "app: node <module.js>" in the working directory; expected --app <module.js>');
  // After --, "-x" is the job argument, checked as a job name by the command.
  const job = run('cdk8s-flink', ['deploy', '--', '-x']);
  assert.equal(job.code, 1);
  assert.deepEqual(job.lines, ['cdk8s-flink: error: job: "-x" is not a job name; expected a DNS label']);
  // CDK8S_FLINK_VERBOSE turns on --verbose: the stack trace follows the one line.
  const verbose = run('cdk8s-flink-ops', ['jobs', '--rest-url', 'not-a-url'], { CDK8S_FLINK_VERBOSE: '1' });
  assert.equal(verbose.code, 1);
  assert.equal(verbose.lines[0], 'cdk8s-flink-ops: error: --rest-url: "not-a-url" is not an http(s) URL');
  assert.match(verbose.stderr, /\n\s+at /);
});

test('errors: a definition error of a second copy of the library is recognised by its marker and printed as one line without a stack', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-flink-errors-copy-'));
  const errorsJs = require.resolve('../../lib/errors');
  const cached = require.cache[errorsJs];
  try {
    // A copy of the module file, loaded fresh: its classes are not ours.
    fs.copyFileSync(errorsJs, path.join(dir, 'errors.js'));
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const copy = require(path.join(dir, 'errors.js')) as typeof import('../../lib/errors');
    // The same file loaded a second time (its cache entry dropped): another set of classes.
    delete require.cache[errorsJs];
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const again = require(errorsJs) as typeof import('../../lib/errors');
    assert.notEqual(again.ValidationError, ValidationError);
    for (const other of [copy, again]) {
      const e = new other.ValidationError('parallelism', 0, 'is invalid; expected an integer');
      assert.ok(!(e instanceof ValidationError), 'another class');
      assert.ok(ValidationError.isDefinitionError(e));
      assert.equal(UserError.exitCodeOf(e), 1);
      assert.ok(UsageError.isUsageError(new other.UsageError('x')));
      assert.ok(!ValidationError.isDefinitionError(new other.UserError('x')), 'a user error that is not a definition error');
    }
    // Neither the name nor the message makes an error one of ours.
    const impostor = Object.assign(new Error('parallelism: 0 is invalid; expected an integer'), { name: 'ValidationError' });
    assert.ok(!ValidationError.isDefinitionError(impostor));
    assert.equal(UserError.exitCodeOf(impostor), undefined);
    for (const [what, body] of [
      ['thrown while the module loads', `throw new E.ValidationError('parallelism', 0, 'is invalid; expected an integer between 1 and 32768');`],
      ['thrown by the platform function', `module.exports.default = () => { throw new E.ValidationError('parallelism', 0, 'is invalid; expected an integer between 1 and 32768'); };`],
    ]) {
      const app = path.join(dir, `app-${what.length}.js`);
      fs.writeFileSync(app, `const E = require('./errors.js');\n${body}\n`);
      const r = run('cdk8s-flink', ['validate', '--app', app]);
      assert.equal(r.code, 1, `${what}: ${r.stderr}`);
      assert.equal(r.stderr, 'cdk8s-flink: error: parallelism: 0 is invalid; expected an integer between 1 and 32768\n', what);
    }
  } finally {
    if (cached) require.cache[errorsJs] = cached;
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
