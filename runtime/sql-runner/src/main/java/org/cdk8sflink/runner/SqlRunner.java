package org.cdk8sflink.runner;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/**
 * Main class of the cdk8s-flink SQL runner.
 *
 * <pre>
 *   SqlRunner --script &lt;file&gt; [--dry-run]
 * </pre>
 *
 * Reads the SQL script, splits it into statements ({@link SqlScript#split}), applies
 * {@code SET 'key' = 'value';} to the table configuration, executes DDL and other statements one
 * by one, and collects every {@code INSERT INTO} (also inside {@code EXECUTE STATEMENT SET BEGIN
 * ... END;}) into ONE StatementSet that is executed once: the whole script is one Flink job.
 *
 * <p>{@code --dry-run} prints the plan and exits without touching Flink (no Flink classes needed).
 *
 * <p>Errors are thrown as exceptions (not System.exit) so that Flink's application mode reports
 * them as the application's failure cause.
 */
public final class SqlRunner {

  private SqlRunner() {}

  static final String USAGE = "usage: SqlRunner (--script <file.sql> | --script-base64 <base64>) [--dry-run]";

  /** Parsed command line. */
  static final class Args {
    String script;
    String inline;
    boolean dryRun;
  }

  public static void main(String[] argv) throws Exception {
    Args args = parseArgs(argv);
    // A session job's submitter passes the script inline: the JobManager has no copy of the file.
    Path file = args.inline != null ? Paths.get("inline.sql") : resolve(args.script);
    String raw = args.inline != null
        ? new String(java.util.Base64.getDecoder().decode(args.inline.trim()), StandardCharsets.UTF_8)
        : read(file);
    String text = substituteEnv(raw, System.getenv(), file);
    SqlScript.Plan plan;
    try {
      plan = SqlScript.plan(text);
    } catch (SqlScript.ScriptException e) {
      throw new SqlScript.ScriptException("SQL script " + file + ": " + e.getMessage());
    }
    if (plan.steps.isEmpty() && plan.initialConfig.isEmpty()) {
      throw new SqlScript.ScriptException("SQL script " + file + " contains no SQL statements");
    }
    if (plan.insertCount() == 0) {
      throw new SqlScript.ScriptException("SQL script " + file
          + " contains no INSERT INTO statement, so there is no job to run");
    }
    if (args.dryRun) {
      System.out.println("-- plan of " + file);
      plan.initialConfig.forEach((k, v) -> System.out.println("CONFIG " + k + " = " + v));
      for (SqlScript.Step s : plan.steps) System.out.println("line " + s.line + ": " + s);
      return;
    }
    FlinkExecutor.run(plan, file);
  }

  static Args parseArgs(String[] argv) {
    Args a = new Args();
    for (int i = 0; i < argv.length; i++) {
      String arg = argv[i];
      if (arg.equals("--script") || arg.equals("-s")) {
        if (i + 1 >= argv.length) throw new IllegalArgumentException("--script needs a file. " + USAGE);
        a.script = argv[++i];
      } else if (arg.equals("--script-base64")) {
        if (i + 1 >= argv.length) throw new IllegalArgumentException("--script-base64 needs a value. " + USAGE);
        a.inline = argv[++i];
      } else if (arg.startsWith("--script=")) {
        a.script = arg.substring("--script=".length());
      } else if (arg.equals("--dry-run")) {
        a.dryRun = true;
      } else if (arg.equals("--help") || arg.equals("-h")) {
        throw new IllegalArgumentException(USAGE);
      } else {
        throw new IllegalArgumentException("unknown argument '" + arg + "'. " + USAGE);
      }
    }
    if (a.inline != null) return a;
    if (a.script == null || a.script.trim().isEmpty()) {
      throw new IllegalArgumentException("no SQL script given. " + USAGE);
    }
    return a;
  }

  private static final java.util.regex.Pattern ENV_REF =
      java.util.regex.Pattern.compile("\\$\\{env:([A-Za-z_][A-Za-z0-9_]*)\\}");

  /**
   * Replaces {@code ${env:NAME}} with the process environment's NAME, so credentials reach the
   * SQL from Kubernetes Secrets (env valueFrom secretKeyRef) and never sit in a ConfigMap. A
   * reference to an unset variable is an error naming the variable and the line.
   */
  static String substituteEnv(String text, java.util.Map<String, String> env, Path file) {
    java.util.regex.Matcher m = ENV_REF.matcher(text);
    StringBuffer out = new StringBuffer();
    while (m.find()) {
      String value = env.get(m.group(1));
      if (value == null) {
        int line = 1;
        for (int i = 0; i < m.start(); i++) if (text.charAt(i) == '\n') line++;
        throw new SqlScript.ScriptException("SQL script " + file + ", line " + line + ": environment variable "
            + m.group(1) + " is not set (the script reads it with ${env:" + m.group(1) + "}; set it on the container, from a Secret)");
      }
      m.appendReplacement(out, java.util.regex.Matcher.quoteReplacement(value));
    }
    m.appendTail(out);
    return out.toString();
  }

  static Path resolve(String script) {
    if (script.startsWith("file:")) return Paths.get(URI.create(script));
    return Paths.get(script);
  }

  static String read(Path file) throws IOException {
    if (!Files.exists(file)) {
      throw new IllegalArgumentException("SQL script not found: " + file.toAbsolutePath()
          + " (given with --script; in a container, is the ConfigMap or volume with the script mounted there?)");
    }
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException("SQL script is not a regular file: " + file.toAbsolutePath());
    }
    return new String(Files.readAllBytes(file), StandardCharsets.UTF_8);
  }
}
